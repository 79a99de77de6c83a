// Streams and durable consumers are declared by the adapter that owns them, idempotently: created when
// missing, updated to the declared configuration when present (so a restart with new settings takes
// effect), never deleted. JetStream refuses updates it cannot make (a stream's storage type, say);
// that refusal stops the adapter's start with the server's own message.

import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

function isMissing(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

export async function ensureStream(
  manager: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    const info = await manager.streams.info(config.name);
    await manager.streams.update(config.name, { ...info.config, ...config });
  } catch (error) {
    if (!isMissing(error, JetStreamApiCodes.StreamNotFound)) throw error;
    await manager.streams.add(config);
  }
}

export async function ensureConsumer(
  manager: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string; ack_policy: ConsumerConfig['ack_policy'] },
): Promise<void> {
  try {
    await manager.consumers.info(stream, config.durable_name);
    await manager.consumers.update(stream, config.durable_name, config);
  } catch (error) {
    if (!isMissing(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    await manager.consumers.add(stream, config);
  }
}
