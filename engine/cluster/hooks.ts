// What the engine needs from cluster mode, and the replicated form of a batch's writes.
//
// In cluster mode a batch belongs to one shard. Its writes (log record, snapshot rows, history pointers,
// idempotency records, deadlines, headers, outbox) are recorded as operations on the store's tables
// instead of being put at once; the operations go to the shard's stream (`inv.log.<shard>`), fenced, and
// only once the stream has stored them are they applied to LMDB. A node taking the shard over applies
// the same operations from the stream: what it writes is exactly what the owner wrote.

import type { Store } from '../store/lmdb-store.ts';
import type { OutboxRecord } from '../store/records.ts';

/** A table of the store a batch writes to; `feed` is node-local and never replicated. */
export type ReplicatedTable =
  | 'log'
  | 'snapshots'
  | 'snapshotEntries'
  | 'history'
  | 'idempotency'
  | 'idempotencyAge'
  | 'deadlines'
  | 'reservations'
  | 'transfers'
  | 'returns'
  | 'outbox'
  | 'skuLocations'
  | 'feed';

/** [table, key, value] puts; [table, key] removes. */
export type ReplicatedOp = readonly [ReplicatedTable, unknown, unknown] | readonly [ReplicatedTable, unknown];

/** A group commit's writes to one shard: the operations of each of its batches, in order. */
export interface ShardWrites {
  readonly shard: number;
  readonly batches: readonly (readonly ReplicatedOp[])[];
}

export interface ClusterHooks {
  /** Whether this node owns the shard now (and may take and commit its jobs). */
  owns(shard: number): boolean;
  /** Whether this node serves the shard, even while its lease is lapsing (renewal under way). */
  holds(shard: number): boolean;
  /**
   * Stores each shard's writes on its stream. Resolves with each shard's new stream position once all
   * are stored; rejects with FencedError when an append is refused (the lease was lost).
   */
  replicate(writes: readonly ShardWrites[]): Promise<ReadonlyMap<number, number>>;
  /**
   * Runs an outbox record's delivery job at the owner of `shard` (another node) and resolves with the
   * job's result; rejects when the owner could not be reached or refused the job (the caller retries).
   */
  deliver(shard: number, record: OutboxRecord): Promise<unknown>;
}

/** An append to a shard's stream was refused: another node owns it, or this node's lease ran out. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  readonly shard: number;
  constructor(shard: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.shard = shard;
  }
}

const TABLES: readonly ReplicatedTable[] = [
  'log',
  'snapshots',
  'snapshotEntries',
  'history',
  'idempotency',
  'idempotencyAge',
  'deadlines',
  'reservations',
  'transfers',
  'returns',
  'outbox',
  'skuLocations',
  'feed',
];

/** Stands in for the store while a batch is written: every put and remove becomes an operation. */
export class WriteRecorder {
  readonly #replicated: ReplicatedOp[];
  readonly #local: ReplicatedOp[];

  constructor(replicated: ReplicatedOp[], local: ReplicatedOp[]) {
    this.#replicated = replicated;
    this.#local = local;
  }

  asStore(): Store {
    const tables: Record<string, { put(key: unknown, value: unknown): void; remove(key: unknown): void }> =
      {};
    for (const table of TABLES) {
      const ops = table === 'feed' ? this.#local : this.#replicated;
      tables[table] = {
        put: (key, value) => {
          ops.push([table, key, value]);
        },
        remove: (key) => {
          ops.push([table, key]);
        },
      };
    }
    return tables as unknown as Store;
  }
}

/**
 * Header tables are shared by shards: a transfer between shards has a copy in each shard's stream (the
 * source writes it shipped, the destination arrived and received). A node that takes both shards over
 * applies their streams in whatever order it takes them, so from a stream a header is only ever replaced
 * by a later revision of itself. (An owner's own writes always carry the newest revision: they are made
 * from the copy its table holds.)
 */
const HEADER_TABLES: ReadonlySet<ReplicatedTable> = new Set(['reservations', 'transfers', 'returns']);

function revisionOf(value: unknown): number {
  const revision = (value as { revision?: unknown } | undefined)?.revision;
  return typeof revision === 'number' ? revision : -1;
}

/**
 * Applies operations inside the current LMDB write transaction. `fromStream`: they are caught up from a
 * shard's stream (another owner's writes), not this node's own batch.
 */
export function applyOps(store: Store, ops: readonly ReplicatedOp[], fromStream = false): void {
  for (const op of ops) {
    const table = store[op[0]] as unknown as {
      get(key: unknown): unknown;
      put(key: unknown, value: unknown): void;
      remove(key: unknown): void;
    };
    if (op.length !== 3) table.remove(op[1]);
    else if (!fromStream || !HEADER_TABLES.has(op[0]) || revisionOf(table.get(op[1])) <= revisionOf(op[2]))
      table.put(op[1], op[2]);
  }
}
