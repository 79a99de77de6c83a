// The replicated, fenced log of the shards: one JetStream stream, `INV_LOG`, one subject per shard,
// `inv.log.<shard>`. Every append names the sequence of the subject's last message it expects
// (JetStream refuses the append if another message came in between) and carries the writer's lease
// epoch. A node that takes a shard appends an epoch marker first: after that, an append by the node
// that held the shard before, which still expects the older last sequence, is refused, even if that
// node does not know yet that it lost the lease. JetStream's duplicate window is used only to make a
// retried append (after a timeout) safe; the engine's idempotency table is what makes commands exactly
// once.

import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import { ensureStream } from '../../adapters/nats/jetstream-setup.ts';
import type { ReplicatedOp } from './hooks.ts';
import { FencedError } from './hooks.ts';

export const LOG_STREAM = 'INV_LOG';
/** Whether an append may be made now: valid, lapsed (not renewed in time: wait), or lost to another node. */
export type LeaseState = 'valid' | 'lapsed' | 'lost';
const EPOCH_HEADER = 'Stockledger-Epoch';
const NODE_HEADER = 'Stockledger-Node';
/** A message stays well under nats-server's default 1 MB max_payload; batches are split between them. */
export const LOG_MESSAGE_BYTES_MAX = 768 * 1024;

/**
 * One message: the writes of one or more whole batches of the shard, each batch's operations encoded
 * on their own (so a message is put together from encoded batches without encoding them again); none
 * for an epoch marker.
 */
export interface LogMessage {
  readonly epoch: number;
  readonly node: string;
  readonly batches: readonly Uint8Array[];
}

// Plain msgpack (no shared structures): each message decodes on its own, on any node.
const packr = new Packr({ useRecords: false, moreTypes: true });

export function encodeLogMessage(message: LogMessage): Uint8Array {
  return packr.pack(message);
}

export function decodeLogMessage(bytes: Uint8Array): LogMessage {
  return packr.unpack(bytes) as LogMessage;
}

export function encodeBatch(ops: readonly ReplicatedOp[]): Uint8Array {
  return packr.pack(ops);
}

/** Every operation of a message, in order. */
export function opsOf(message: LogMessage): ReplicatedOp[] {
  const ops: ReplicatedOp[] = [];
  for (const batch of message.batches) ops.push(...(packr.unpack(batch) as ReplicatedOp[]));
  return ops;
}

export function logSubject(shard: number): string {
  return `inv.log.${shard}`;
}

function isWrongLastSequence(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === 10164)
  );
}

export interface ShardLogOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly replicas: number;
  /** How long one publish waits for its acknowledgement before it is retried. */
  readonly publishTimeoutMs: number;
}

export class ShardLog {
  readonly #options: ShardLogOptions;

  constructor(options: ShardLogOptions) {
    this.#options = options;
  }

  /** Declares the stream (file storage, kept in full: a node with no local data catches up from it). */
  async ensure(): Promise<void> {
    await ensureStream(this.#options.jsm, {
      name: LOG_STREAM,
      subjects: ['inv.log.>'],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      num_replicas: this.#options.replicas,
      max_msg_size: 1024 * 1024,
      duplicate_window: 120_000_000_000,
    });
  }

  /** The stream sequence of the shard's last message, 0 when it has none. */
  async lastPosition(shard: number): Promise<number> {
    const message = await this.#options.jsm.streams.getMessage(LOG_STREAM, {
      last_by_subj: logSubject(shard),
    });
    return message?.seq ?? 0;
  }

  /**
   * Appends after `expected` (the stream sequence of the shard's last message as this writer knows
   * it). Retries a publish that timed out or met a moving stream leader, under the same message id, so
   * a retry of an append that was in fact stored is answered as the duplicate it is. Rejects with
   * FencedError when JetStream refuses it for its expected sequence.
   */
  async append(
    shard: number,
    expected: number,
    message: LogMessage,
    deadlineMs: number,
    lease: () => LeaseState,
  ): Promise<number> {
    const bytes = encodeLogMessage(message);
    const msgID = `${shard}.${expected}.${message.epoch}`;
    for (let attempt = 0; ; attempt++) {
      const state = lease();
      if (state === 'lost') {
        throw new FencedError(
          shard,
          `shard ${shard}: this node no longer holds the lease of epoch ${message.epoch}; append refused`,
        );
      }
      if (state === 'lapsed') {
        // Not renewed in time (NATS unreachable, or this process was paused): never append on a lease
        // that may have run out. Wait: either the renewal gets through (nobody took the lease, so nobody
        // appended) or it is refused (lost: the append is refused too).
        if (Date.now() >= deadlineMs)
          throw new FencedError(shard, `shard ${shard}: lease lapsed; append given up`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const headers = natsHeaders();
      headers.set(EPOCH_HEADER, String(message.epoch));
      headers.set(NODE_HEADER, message.node);
      try {
        const ack = await this.#options.js.publish(logSubject(shard), bytes, {
          msgID,
          expect: { lastSubjectSequence: expected, streamName: LOG_STREAM },
          headers,
          timeout: this.#options.publishTimeoutMs,
        });
        return ack.seq;
      } catch (error) {
        if (isWrongLastSequence(error)) {
          throw new FencedError(
            shard,
            `shard ${shard}: append after stream sequence ${expected} refused (another writer appended; epoch ${message.epoch})`,
            { cause: error },
          );
        }
        if (Date.now() >= deadlineMs) throw error;
        // No leader for a moment, a server restarting, a timeout: the same append again, shortly.
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  /** The shard's messages after stream sequence `after`, up to and including `until`, in order. */
  async *readAfter(
    shard: number,
    after: number,
    until: number,
  ): AsyncGenerator<{ position: number; message: LogMessage }> {
    let next = after + 1;
    while (next <= until) {
      // The first message of the subject at or after `next` (the API's next_by_subj, which the
      // client's type for this call leaves out).
      const query = { seq: next, next_by_subj: logSubject(shard) } as unknown as { seq: number };
      const stored = await this.#options.jsm.streams.getMessage(LOG_STREAM, query);
      if (stored === null || stored.seq > until) return;
      yield { position: stored.seq, message: decodeLogMessage(stored.data) };
      next = stored.seq + 1;
    }
  }
}
