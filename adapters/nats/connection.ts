// One NATS connection per adapter, with the options spelled out (STYLE.md rule 7): async traces off
// (they capture a stack per request, which costs on the hot path), reconnect forever with a fixed
// wait, and the connection's status changes logged, object first.

import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';

const reconnectWaitMs = 1_000;
const connectTimeoutMs = 10_000;

export async function connectNats(url: string, name: string, logger: Logger): Promise<NatsConnection> {
  const connection = await connect({
    servers: url.split(','),
    name,
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: reconnectWaitMs,
    timeout: connectTimeoutMs,
    waitOnFirstConnect: false,
  });
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        logger.warn({ nats: name, status: status.type }, 'NATS connection status changed');
      }
    }
  })();
  return connection;
}
