// The runtime: shards with bounded mailboxes, resident actors, and group commit.
//
// Work arrives as jobs in the mailbox of a shard. The engine drains mailboxes round-robin into a batch,
// runs each job synchronously against the actors (one command at a time per actor, in arrival order),
// and writes everything the batch did (log records, snapshots, idempotency records, history index,
// deadlines, headers, outbox) in ONE LMDB write transaction. Callers are answered, and events
// published, only after that transaction is on disk. Batch N+1 is applied while batch N commits; its
// answers still wait for its own commit. A failed or stalled commit is fatal: `onFatal` is called and
// the process is expected to exit non-zero; recovery from disk brings it back.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Actor, AnyActorRef } from 'xstate';
import { createActor, setup, stopChild } from 'xstate';
import type { Expire, Ledger, LedgerEvent, Refusal, SkuLocationCommand } from '../actors/index.ts';
import {
  AssertionError,
  actorKeyOf,
  assert,
  canonicalJson,
  commandId as commandIdOf,
  emptyLedger,
  findEntry,
  fold,
  locationId,
  refusalFor,
  reservationId as reservationIdOf,
  skuLocationMachine,
  sku as skuOf,
} from '../actors/index.ts';
import { EngineClock } from './clock.ts';
import type { ClusterHooks, ReplicatedOp, ShardWrites } from './cluster/hooks.ts';
import { applyOps, FencedError, WriteRecorder } from './cluster/hooks.ts';
import type { Config } from './config.ts';
import { DeadLetters } from './dead-letters.ts';
import { DeadlineHeap } from './deadline-heap.ts';
import {
  EngineClosedError,
  EngineError,
  FatalCommitError,
  IdempotencyConflictError,
  OverloadedError,
  ShardUnavailableError,
} from './errors.ts';
import type { CommandInput, StockPosition } from './inputs.ts';
import { positionOf, stamp } from './inputs.ts';
import { ReservationCoordinator } from './reservations.ts';
import { ReturnCoordinator } from './returns.ts';
import { shardOf } from './shard-of.ts';
import type { Layout, Store } from './store/lmdb-store.ts';
import {
  decodeLogRecord,
  encodeLogRecord,
  GENESIS_HASH,
  hashOf,
  lastFeedPosition,
  lastLogRecord,
  openStore,
} from './store/lmdb-store.ts';
import type {
  CommandEntry,
  CommandMeta,
  IdempotencyRecord,
  LogEntry,
  LogRecord,
  OutboxRecord,
  ReservationHeader,
  ReturnHeader,
  TransferHeader,
} from './store/records.ts';
import type { WrittenSnapshot } from './store/snapshots.ts';
import { readSnapshot, writeSnapshot } from './store/snapshots.ts';
import { TransferCoordinator } from './transfers.ts';

/** Batches applied but not yet durable, at most; beyond this, draining waits (back-pressure on the disk). */
const inflightBatchesMax = 8;
/** The same in cluster mode, where a batch is one shard's: as many as there are shards busy, within reason. */
const inflightClusterBatchesMax = 64;
/** Idempotency records pruned per background pass, so pruning never holds the writer for long. */
const prunePerPassMax = 5_000;
/** The longest delay setTimeout keeps (2^31 - 1 ms); beyond it, it fires at once. */
const timerDelayMaxMs = 2_147_483_647;
const pruneIntervalMs = 60_000;

export type CommandOutcome =
  | {
      readonly ok: true;
      readonly commandId: string;
      readonly events: readonly LedgerEvent[];
      readonly position: StockPosition;
    }
  | {
      readonly ok: false;
      readonly commandId: string;
      readonly refusal: Refusal;
      readonly position: StockPosition;
    };

export interface JobResult<T> {
  readonly result: T;
  /** True when the answer is the stored first outcome of an earlier request with the same key. */
  readonly replayed: boolean;
}

/** What a job may do inside a batch. Everything it does is committed atomically with the batch. */
export interface BatchContext {
  readonly atMs: number;
  /** Applies one command to its actor and records what happened. */
  apply(input: CommandInput, meta: CommandMeta): CommandOutcome;
  /** Applies an engine-internal command (expiry). */
  applyInternal(command: Omit<Expire, 'atMs'>, meta: CommandMeta): CommandOutcome;
  /** Would this command be refused right now? Nothing is recorded. */
  check(input: CommandInput): Refusal | null;
  ledger(location: string, sku: string): Ledger;
  reservation(reservationId: string): ReservationHeader | undefined;
  putReservation(shard: number, header: ReservationHeader): void;
  transfer(transferId: string): TransferHeader | undefined;
  putTransfer(shard: number, header: TransferHeader): void;
  returnHeader(returnId: string): ReturnHeader | undefined;
  putReturn(shard: number, header: ReturnHeader): void;
  addOutbox(record: OutboxRecord): void;
  ackOutbox(id: string): void;
  /**
   * Replaces the stored first outcome of an earlier job's idempotency key (same fingerprint), so its
   * replays answer `result`: a reservation across shards stores its final answer once it is known.
   */
  replaceOutcome(key: string, result: unknown): void;
}

/**
 * How an outbox record is delivered: `target` is the job that does its work (in the shard it names);
 * `settle`, when given, is the job in the record's home shard that takes the target's result and removes
 * the record. Without `settle` (or when it returns null) the target job removes the record itself.
 */
export interface OutboxHandler {
  target(record: OutboxRecord): JobSpec<unknown>;
  settle?(record: OutboxRecord, result: unknown): JobSpec<unknown> | null;
}

export interface JobSpec<T> {
  /** The shard whose mailbox takes the job (its primary owner). */
  readonly shard: number;
  /** Idempotency key: the same key returns the first result; null for jobs that need none. */
  readonly key: string | null;
  /** Canonical text of what the job says, compared on replays of the same key. */
  readonly body: unknown;
  run(context: BatchContext): T;
}

export interface CommittedRecord {
  /** Position in this node's commit feed (`GET /v1/events?after=`). */
  readonly position: number;
  readonly record: LogRecord;
}

export interface CommittedBatch {
  readonly records: readonly CommittedRecord[];
}

export type CommitListener = (batch: CommittedBatch) => void;

/**
 * Told once per batch made durable: the commands it applied and how long its write transaction took,
 * from being handed to LMDB to fsynced (batches written together share one). Two numbers, so observing
 * the group commit costs no allocation.
 */
export type WriteListener = (commands: number, commitMs: number) => void;

/** Commands applied and refused by the actors, for one command type. */
export interface CommandCounts {
  accepted: number;
  refused: number;
}

export interface HistoryEntry {
  readonly event: LedgerEvent;
  readonly command: SkuLocationCommand;
  readonly meta: CommandMeta;
}

export interface HistoryPage {
  readonly entries: readonly HistoryEntry[];
  /** Pass as `beforeVersion` for the next page; null on the last page. */
  readonly next: number | null;
}

export interface EngineStats {
  readonly residentActors: number;
  readonly mailboxDepth: number;
  readonly batchesCommitted: number;
  readonly commandsApplied: number;
  readonly idempotentReplays: number;
  /** Jobs refused because their key was used before with another body. */
  readonly idempotencyConflicts: number;
  /** Actors stopped by passivation since start (they are restored from snapshots when used again). */
  readonly passivations: number;
  readonly openDeadlines: number;
}

interface Resident {
  readonly key: string;
  readonly shard: number;
  readonly actor: Actor<typeof skuLocationMachine>;
  /** The state as of the last committed batch; reads use it, so they never run ahead of disk. */
  committed: Ledger;
  /** Batches under way that touched this actor; it cannot be passivated before they commit. */
  pending: number;
  /** False until the actor's first snapshot is written: then it joins the SKU's location index. */
  known: boolean;
  /** What the store holds of it as of the last batch written (set in write order, ahead of commit). */
  written: WrittenSnapshot;
}

interface QueuedJob {
  readonly spec: JobSpec<unknown>;
  readonly fingerprint: string;
  resolve(value: JobResult<unknown>): void;
  reject(error: unknown): void;
}

interface ShardState {
  readonly id: number;
  readonly mailbox: QueuedJob[];
  mailboxHead: number;
  sequence: number;
  lastHash: Uint8Array;
  deadlines: DeadlineHeap;
}

interface PreparedRecord {
  readonly key: [shard: number, sequence: number];
  readonly bytes: Uint8Array;
  readonly record: LogRecord;
  readonly position: number;
}

interface Acknowledgement {
  readonly job: QueuedJob;
  readonly value: JobResult<unknown>;
}

/** Everything one batch does before it is committed. */
class Batch {
  readonly number: number;
  readonly atMs: number;
  /** Cluster mode: the one shard this batch's jobs belong to (null in embedded mode: any shards). */
  shard: number | null = null;
  readonly entries = new Map<number, LogEntry[]>();
  readonly snapshots = new Map<
    string,
    { ledger: Ledger; shard: number; isNew: boolean; resident: Resident }
  >();
  readonly history: { actorKey: string; version: number; shard: number; entry: number }[] = [];
  readonly idempotency = new Map<string, IdempotencyRecord>();
  /** In the order they happened: a hold added and closed in one batch must end up absent. */
  readonly deadlineChanges: { key: [number, number, string, string]; held: boolean }[] = [];
  readonly reservations = new Map<string, ReservationHeader>();
  readonly transfers = new Map<string, TransferHeader>();
  readonly returns = new Map<string, ReturnHeader>();
  readonly outboxAdded: OutboxRecord[] = [];
  readonly outboxAcked: string[] = [];
  readonly touched = new Set<Resident>();
  readonly acknowledgements: Acknowledgement[] = [];
  commands = 0;
  /** Header and outbox writes, counted so a job that throws after writing is recognised. */
  writes = 0;
  context: BatchContext | null = null;
  /** The batch's log records, sealed with their sequences and hashes. */
  records: readonly PreparedRecord[] = [];

  constructor(number: number, atMs: number) {
    this.number = number;
    this.atMs = atMs;
  }

  entriesOf(shard: number): LogEntry[] {
    let list = this.entries.get(shard);
    if (list === undefined) {
      list = [];
      this.entries.set(shard, list);
    }
    return list;
  }

  get isEmpty(): boolean {
    return this.acknowledgements.length === 0 && this.entries.size === 0 && this.outboxAcked.length === 0;
  }
}

/**
 * The parent of every resident actor. Children of one parent share one actor system (2.4 KB of heap per
 * started actor here, against 4.2 KB for a root actor with its own system); a child can only be stopped
 * by its parent, so passivation asks the parent to stop it.
 */
const residentsRoot = setup({
  types: { events: {} as { type: 'passivate'; actor: AnyActorRef } },
  actions: { stop: stopChild(({ event }) => event.actor) },
}).createMachine({ id: 'residents', on: { passivate: { actions: 'stop' } } });

export function fingerprintOf(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url').slice(0, 32);
}

export interface EngineOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Called when a commit fails or stalls; the default throws, main exits the process non-zero. */
  readonly onFatal?: (error: Error) => void;
  readonly wallClockMs?: () => number;
  /** Cluster mode (engine/cluster): which shards this node owns, and the replicated log. */
  readonly cluster?: ClusterHooks;
}

export class Engine {
  readonly config: Config;
  readonly store: Store;
  readonly layout: Layout;
  readonly #logger: Logger;
  readonly #onFatal: (error: Error) => void;
  readonly #clock: EngineClock;
  readonly #shards: ShardState[];
  readonly #resident = new Map<string, Resident>();
  /** Idempotency records of batches applied but not yet committed, by key. */
  readonly #pendingKeys = new Map<string, IdempotencyRecord>();
  readonly #pendingReservations = new Map<string, ReservationHeader>();
  readonly #pendingTransfers = new Map<string, TransferHeader>();
  readonly #pendingReturns = new Map<string, ReturnHeader>();
  readonly #listeners = new Set<CommitListener>();
  readonly #writeListeners = new Set<WriteListener>();
  /** By command type: a closed set (actors/commands.ts), so the map stays a handful of entries. */
  readonly #commandCounts = new Map<string, CommandCounts>();
  #batchNumber = 0;
  #feedPosition = 0;
  #committedFeedPosition = 0;
  #inflight = 0;
  /** Batches sealed and waiting for the write transaction under way to finish. */
  readonly #sealed: Batch[] = [];
  #writing = false;
  #drainScheduled = false;
  #closing = false;
  #fatal: Error | null = null;
  #nextShard = 0;
  #mailboxDepth = 0;
  #batchesCommitted = 0;
  #commandsApplied = 0;
  #idempotentReplays = 0;
  #idempotencyConflicts = 0;
  #passivations = 0;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #idle: (() => void)[] = [];
  readonly #outboxHandlers = new Map<string, OutboxHandler>();
  /** Outbox records being delivered now, by id: one delivery at a time per record. */
  readonly #delivering = new Set<string>();
  /** Callers waiting for outbox records to be removed (delivered and settled), by record id. */
  readonly #outboxWaiters = new Map<string, (() => void)[]>();
  /** The root of the actor system that every resident SKU-location actor belongs to. */
  readonly #root = createActor(residentsRoot);
  readonly #cluster: ClusterHooks | null;
  /** Cluster mode: batches sealed and not yet committed, by shard, so a shard can be handed over idle. */
  readonly #inflightByShard = new Map<number, number>();
  readonly #shardIdle = new Map<number, (() => void)[]>();
  readonly reservations: ReservationCoordinator;
  readonly transfers: TransferCoordinator;
  readonly returns: ReturnCoordinator;
  readonly deadLetters: DeadLetters;

  constructor(options: EngineOptions) {
    this.config = options.config;
    this.#logger = options.logger;
    this.#onFatal =
      options.onFatal ??
      ((error) => {
        throw error;
      });
    this.#clock = new EngineClock(0, options.wallClockMs);
    this.#cluster = options.cluster ?? null;
    this.#root.start();
    this.store = openStore({
      dataDir: this.config.dataDir,
      shardCount: this.config.shardCount,
      nowMs: this.#clock.now(),
    });
    this.layout = this.store.layout;
    this.#shards = [];
    for (let id = 0; id < this.config.shardCount; id++) {
      const last = lastLogRecord(this.store, id);
      if (last !== null) this.#clock.raiseFloor(last.atMs);
      this.#shards.push({
        id,
        mailbox: [],
        mailboxHead: 0,
        sequence: last?.sequence ?? 0,
        lastHash: last?.hash ?? GENESIS_HASH,
        deadlines: new DeadlineHeap(),
      });
    }
    for (const { key } of this.store.deadlines.getRange({})) {
      const [shard, expiresAtMs, actorKey, reservationId] = key;
      this.#shards[shard]?.deadlines.push({ expiresAtMs, actorKey, reservationId });
    }
    this.#feedPosition = lastFeedPosition(this.store);
    this.#committedFeedPosition = this.#feedPosition;
    this.deadLetters = new DeadLetters(this.store, () => this.#clock.now());
    this.reservations = new ReservationCoordinator(this);
    this.transfers = new TransferCoordinator(this);
    this.returns = new ReturnCoordinator(this);
  }

  /** Starts the background work: expiry ticks, outbox delivery of what recovery found, pruning. */
  start(): void {
    this.#expireDue();
    // In cluster mode a shard's outbox is delivered when the node takes the shard (adoptShard).
    if (this.#cluster === null)
      this.#deliverOutbox([...this.store.outbox.getRange({})].map(({ value }) => value));
    this.#timers.push(setInterval(() => this.#expireDue(), this.config.expiryTickMs));
    this.#timers.push(setInterval(() => void this.#pruneIdempotency(), pruneIntervalMs));
    for (const timer of this.#timers) timer.unref();
  }

  now(): number {
    return this.#clock.now();
  }

  /** True once `close` has begun: no new work is taken, and the store closes when the last commits. */
  get closing(): boolean {
    return this.#closing;
  }

  shardOfLocation(location: string): number {
    return shardOf(location, this.config.shardCount);
  }

  shardOfKey(key: string): number {
    return shardOf(key, this.config.shardCount);
  }

  /** True in cluster mode: this node owns some shards, and jobs touch one shard each. */
  get clustered(): boolean {
    return this.#cluster !== null;
  }

  /**
   * The shard of a reservation's header: hash(reservationId) in embedded mode. In cluster mode the
   * header lives with its lines, in the shard of its first line's location, so one owner does a
   * reservation's every step; `firstLocation` is given when the header does not exist yet.
   */
  reservationShard(reservationId: string, firstLocation?: string): number {
    if (this.#cluster === null) return this.shardOfKey(reservationId);
    const header = this.#pendingReservations.get(reservationId) ?? this.store.reservations.get(reservationId);
    const location = header?.lines[0]?.location ?? firstLocation;
    return location === undefined ? this.shardOfKey(reservationId) : this.shardOfLocation(location);
  }

  /** Cluster mode: the stream sequence of the last replicated write of a shard that LMDB holds (0: none). */
  streamPosition(shard: number): number {
    return this.store.streamPositions.get(shard) ?? 0;
  }

  /**
   * Cluster mode, when this node takes a shard: writes what the shard's stream holds beyond what LMDB
   * has (in stream order, one transaction per call), then reloads the shard's sequence, hash and
   * deadlines from disk and forgets any resident actor of it, so nothing stale serves the new term.
   */
  async catchUpShard(shard: number, writes: readonly { position: number; ops: readonly ReplicatedOp[] }[]) {
    if (writes.length === 0) return;
    // The log records taken from the stream join this node's commit feed (the feed is not replicated),
    // in stream order, so `GET /v1/events` and verify see every record this node's log holds.
    const feed: [number, { shard: number; sequence: number }][] = [];
    for (const { ops } of writes) {
      for (const op of ops) {
        if (op[0] !== 'log' || op.length !== 3) continue;
        const [logShard, sequence] = op[1] as [number, number];
        feed.push([++this.#feedPosition, { shard: logShard, sequence }]);
      }
    }
    await this.store.root.transaction(() => {
      for (const { ops } of writes) applyOps(this.store, ops, true);
      for (const [position, pointer] of feed) this.store.feed.put(position, pointer);
      this.store.streamPositions.put(shard, writes.at(-1)!.position);
    });
    // Readers follow the feed up to the committed position and skip nothing below it, so it may pass these
    // positions only when no batch sealed before them is still being written (that batch's commit, or the
    // next one's, moves it on otherwise).
    const newest = feed.at(-1)?.[0];
    if (newest !== undefined && this.#inflight === 0)
      this.#committedFeedPosition = Math.max(this.#committedFeedPosition, newest);
  }

  /** Cluster mode: after catch-up, before the shard takes jobs: its in-memory state from disk. */
  adoptShard(shard: number): void {
    const state = this.#shards[shard]!;
    this.#evictShard(shard);
    const last = lastLogRecord(this.store, shard);
    if (last !== null) this.#clock.raiseFloor(last.atMs);
    state.sequence = last?.sequence ?? 0;
    state.lastHash = last?.hash ?? GENESIS_HASH;
    state.deadlines = new DeadlineHeap();
    for (const key of this.store.deadlines.getKeys({ start: [shard], end: [shard + 1] })) {
      const [, expiresAtMs, actorKey, reservationId] = key;
      state.deadlines.push({ expiresAtMs, actorKey, reservationId });
    }
    const outbox: OutboxRecord[] = [];
    for (const { value } of this.store.outbox.getRange({})) {
      if (this.#homeOf(value) === shard) outbox.push(value);
    }
    this.#deliverOutbox(outbox, true);
  }

  /**
   * Cluster mode, when this node gives a shard up (it no longer `owns` it): resolves once the shard's
   * batches under way have committed, then forgets its resident actors and deadlines.
   */
  async releaseShard(shard: number): Promise<void> {
    const state = this.#shards[shard]!;
    this.#refuseQueued(state);
    if ((this.#inflightByShard.get(shard) ?? 0) > 0) {
      await new Promise<void>((resolve) => {
        const waiting = this.#shardIdle.get(shard) ?? [];
        waiting.push(resolve);
        this.#shardIdle.set(shard, waiting);
      });
    }
    this.#evictShard(shard);
    state.deadlines = new DeadlineHeap();
  }

  #shardBatchDone(shard: number): void {
    const left = (this.#inflightByShard.get(shard) ?? 1) - 1;
    if (left > 0) {
      this.#inflightByShard.set(shard, left);
      return;
    }
    this.#inflightByShard.delete(shard);
    for (const resolve of this.#shardIdle.get(shard)?.splice(0) ?? []) resolve();
  }

  #evictShard(shard: number): void {
    for (const resident of [...this.#resident.values()]) {
      if (resident.shard !== shard) continue;
      assert(resident.pending === 0, `actor ${resident.key} of shard ${shard} has batches under way`);
      this.#root.send({ type: 'passivate', actor: resident.actor });
      this.#resident.delete(resident.key);
    }
  }

  onCommit(listener: CommitListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onWrite(listener: WriteListener): () => void {
    this.#writeListeners.add(listener);
    return () => this.#writeListeners.delete(listener);
  }

  /** Queues a job. Resolves once its batch is durable; rejects with OVERLOADED when the mailbox is full. */
  run<T>(spec: JobSpec<T>): Promise<JobResult<T>> {
    if (this.#fatal instanceof FencedError) {
      // Stepping down: the caller retries at the shard's new owner.
      return Promise.reject(
        new ShardUnavailableError(spec.shard, 'this node is stepping down; retry shortly'),
      );
    }
    if (this.#fatal !== null) return Promise.reject(this.#fatal);
    if (this.#closing) return Promise.reject(new EngineClosedError());
    const shard = this.#shards[spec.shard];
    assert(shard !== undefined, `no shard ${spec.shard}`);
    if (this.#cluster !== null && !this.#cluster.owns(spec.shard))
      return Promise.reject(new ShardUnavailableError(spec.shard));
    const depth = shard.mailbox.length - shard.mailboxHead;
    if (depth >= this.config.mailboxCommandsMax) return Promise.reject(new OverloadedError(shard.id, depth));
    return new Promise<JobResult<T>>((resolve, reject) => {
      shard.mailbox.push({
        spec: spec as JobSpec<unknown>,
        fingerprint: spec.key === null ? '' : fingerprintOf(spec.body),
        resolve: resolve as (value: JobResult<unknown>) => void,
        reject,
      });
      this.#mailboxDepth++;
      this.#scheduleDrain();
    });
  }

  /** Submits independent commands; each is its own idempotent job keyed by its command id. */
  submit(commands: readonly CommandInput[], meta: CommandMeta): Promise<JobResult<CommandOutcome>[]> {
    return Promise.all(
      commands.map((command) =>
        this.run({
          shard: this.shardOfLocation(command.location),
          key: `command:${command.commandId}`,
          body: command,
          run: (context) => context.apply(command, meta),
        }),
      ),
    );
  }

  /** The committed position of a SKU-location (all zero for one never seen). */
  position(location: string, sku: string): StockPosition {
    return positionOf(this.committedLedger(location, sku));
  }

  committedLedger(location: string, sku: string): Ledger {
    const key = actorKeyOf(locationId(location), skuOf(sku));
    const resident = this.#resident.get(key);
    if (resident !== undefined) return resident.committed;
    return readSnapshot(this.store, key)?.ledger ?? emptyLedger(skuOf(sku), locationId(location));
  }

  reservationHeader(reservationId: string): ReservationHeader | undefined {
    return this.store.reservations.get(reservationId);
  }

  transferHeader(transferId: string): TransferHeader | undefined {
    return this.store.transfers.get(transferId);
  }

  returnHeader(returnId: string): ReturnHeader | undefined {
    return this.store.returns.get(returnId);
  }

  /** The audit ledger of one SKU-location, newest first: events with versions below `beforeVersion`. */
  history(location: string, sku: string, limit: number, beforeVersion: number | null): HistoryPage {
    const actorKey = actorKeyOf(locationId(location), skuOf(sku));
    const entries: HistoryEntry[] = [];
    let next: number | null = null;
    const end = beforeVersion ?? Number.MAX_SAFE_INTEGER;
    // The index has one pointer per command, keyed by the version of its first event.
    for (const { key, value } of this.store.history.getRange({
      start: [actorKey, end],
      end: [actorKey, 0],
      reverse: true,
    })) {
      const entry = this.#commandEntry(value.shard, value.sequence, value.entry);
      const events = entry.events.filter((event) => event.version < end).reverse();
      for (const event of events) {
        if (entries.length === limit) {
          next = event.version + 1;
          break;
        }
        entries.push({ event, command: entry.command, meta: entry.meta });
      }
      if (next !== null) break;
      if (entries.length === limit) {
        next = key[1];
        break;
      }
    }
    if (next !== null && next <= 1) next = null;
    return { entries, next };
  }

  /** The position as it was at `asOfMs`: the actor's events up to then, folded from empty. */
  positionAsOf(location: string, sku: string, asOfMs: number): StockPosition {
    const actorKey = actorKeyOf(locationId(location), skuOf(sku));
    let ledger = emptyLedger(skuOf(sku), locationId(location));
    for (const { value } of this.store.history.getRange({
      start: [actorKey, 0],
      end: [actorKey, Number.MAX_SAFE_INTEGER],
    })) {
      if (value.atMs > asOfMs) break;
      ledger = fold(ledger, this.#commandEntry(value.shard, value.sequence, value.entry).events);
    }
    return positionOf(ledger);
  }

  /** Locations that have a position for this SKU, in order. */
  locationsOf(sku: string, limit: number): string[] {
    const locations: string[] = [];
    for (const key of this.store.skuLocations.getKeys({ start: [sku, ''], end: [sku, '\uffff'], limit })) {
      locations.push(key[1]);
    }
    return locations;
  }

  /** Committed log records after a feed position, in commit order. */
  *readFeed(afterPosition: number, limit: number): Generator<CommittedRecord> {
    for (const { key, value } of this.store.feed.getRange({ start: afterPosition + 1, limit })) {
      const bytes = this.store.log.get([value.shard, value.sequence]);
      assert(bytes !== undefined, `feed position ${key} points at a missing log record`);
      yield { position: key, record: decodeLogRecord(bytes) };
    }
  }

  /** The newest feed position whose record is durable (later positions may still be committing). */
  feedPosition(): number {
    return this.#committedFeedPosition;
  }

  #commandEntry(shard: number, sequence: number, at: number): CommandEntry {
    const bytes = this.store.log.get([shard, sequence]);
    assert(bytes !== undefined, `history points at missing log record ${shard}/${sequence}`);
    const entry = decodeLogRecord(bytes).entries[at];
    assert(
      entry !== undefined && entry.kind === 'command',
      `history points at a non-command entry ${shard}/${sequence}/${at}`,
    );
    return entry;
  }

  stats(): EngineStats {
    let openDeadlines = 0;
    for (const shard of this.#shards) openDeadlines += shard.deadlines.size;
    return {
      residentActors: this.#resident.size,
      mailboxDepth: this.#mailboxDepth,
      batchesCommitted: this.#batchesCommitted,
      commandsApplied: this.#commandsApplied,
      idempotentReplays: this.#idempotentReplays,
      idempotencyConflicts: this.#idempotencyConflicts,
      passivations: this.#passivations,
      openDeadlines,
    };
  }

  /** Commands applied and refused since start, by command type. */
  commandCounts(): ReadonlyMap<string, Readonly<CommandCounts>> {
    return this.#commandCounts;
  }

  /** Jobs waiting in each shard's mailbox, by shard id. */
  mailboxDepths(): number[] {
    return this.#shards.map((shard) => shard.mailbox.length - shard.mailboxHead);
  }

  /** Deadlines of holds due within `withinMs` from now, across shards. */
  deadlinesDueWithin(withinMs: number): number {
    const by = this.#clock.now() + withinMs;
    let due = 0;
    for (const shard of this.#shards) due += shard.deadlines.countDueBy(by);
    return due;
  }

  /** Stops accepting work, drains and commits what was accepted, stops the actors, closes the store. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#whenIdle();
    for (const resident of this.#resident.values())
      this.#root.send({ type: 'passivate', actor: resident.actor });
    this.#resident.clear();
    this.#root.stop();
    await this.store.close();
  }

  // ---- draining and committing -------------------------------------------------------------------

  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    setImmediate(() => {
      this.#drainScheduled = false;
      this.#drain();
    });
  }

  #whenIdle(): Promise<void> {
    if (this.#mailboxDepth === 0 && this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #drain(): void {
    if (this.#fatal !== null) return;
    const inflightMax = this.#cluster === null ? inflightBatchesMax : inflightClusterBatchesMax;
    while (this.#inflight < inflightMax && this.#mailboxDepth > 0) {
      const batch = new Batch(++this.#batchNumber, this.#clock.now());
      this.#fill(batch);
      if (batch.isEmpty) continue;
      this.#commit(batch);
    }
    if (this.#mailboxDepth === 0 && this.#inflight === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #fill(batch: Batch): void {
    const shardCount = this.#shards.length;
    let emptyInARow = 0;
    while (
      batch.commands < this.config.batchCommandsMax &&
      this.#mailboxDepth > 0 &&
      emptyInARow < shardCount
    ) {
      const shard = this.#shards[this.#nextShard]!;
      this.#nextShard = (this.#nextShard + 1) % shardCount;
      if (shard.mailboxHead >= shard.mailbox.length) {
        emptyInARow++;
        continue;
      }
      emptyInARow = 0;
      if (this.#cluster !== null) {
        // Cluster mode: a batch is one shard's, so its writes go to that shard's stream alone, and the
        // jobs of a shard this node no longer owns are refused (the router retries them at the owner).
        if (!this.#cluster.owns(shard.id)) {
          this.#refuseQueued(shard);
          continue;
        }
        if (batch.shard !== null && batch.shard !== shard.id) break;
        batch.shard = shard.id;
      }
      // Take a run of jobs from this shard, bounded so one hot shard cannot starve the others.
      const take = Math.min(
        shard.mailbox.length - shard.mailboxHead,
        256,
        this.config.batchCommandsMax - batch.commands,
      );
      for (let i = 0; i < take; i++) {
        const job = shard.mailbox[shard.mailboxHead]!;
        shard.mailbox[shard.mailboxHead] = undefined as unknown as QueuedJob;
        shard.mailboxHead++;
        this.#mailboxDepth--;
        this.#runJob(job, batch);
      }
      if (shard.mailboxHead === shard.mailbox.length) {
        shard.mailbox.length = 0;
        shard.mailboxHead = 0;
      } else if (shard.mailboxHead > 4096) {
        shard.mailbox.splice(0, shard.mailboxHead);
        shard.mailboxHead = 0;
      }
      if (batch.shard !== null) break;
    }
  }

  #refuseQueued(shard: ShardState): void {
    for (let at = shard.mailboxHead; at < shard.mailbox.length; at++) {
      shard.mailbox[at]!.reject(new ShardUnavailableError(shard.id));
      this.#mailboxDepth--;
    }
    shard.mailbox.length = 0;
    shard.mailboxHead = 0;
  }

  /** Cluster mode: a job may touch only its batch's shard; refused before it writes anything. */
  #guard(batch: Batch, shard: number): void {
    if (batch.shard !== null && shard !== batch.shard) {
      throw new EngineError(
        'VALIDATION_FAILED',
        `in cluster mode one request may touch one shard; this one also touches shard ${shard} (its own is ${batch.shard})`,
        { shard, ownShard: batch.shard },
      );
    }
  }

  #runJob(job: QueuedJob, batch: Batch): void {
    const key = job.spec.key;
    if (key !== null) {
      const earlier =
        batch.idempotency.get(key) ?? this.#pendingKeys.get(key) ?? this.store.idempotency.get(key);
      if (earlier !== undefined) {
        if (earlier.fingerprint !== job.fingerprint) {
          this.#idempotencyConflicts++;
          job.reject(new IdempotencyConflictError(key));
          return;
        }
        this.#idempotentReplays++;
        // Answered with this batch, which commits after the batch that recorded the first outcome.
        batch.acknowledgements.push({ job, value: { result: earlier.result, replayed: true } });
        return;
      }
    }
    const context = batch.context ?? this.#contextFor(batch);
    batch.context = context;
    const appliedBefore = batch.commands;
    const writesBefore = batch.writes;
    let result: unknown;
    try {
      result = job.spec.run(context);
    } catch (error) {
      if (
        error instanceof AssertionError ||
        batch.commands !== appliedBefore ||
        batch.writes !== writesBefore
      ) {
        // A job that fails half-way, or any broken invariant, leaves state we cannot answer for.
        this.#fail(error instanceof Error ? error : new Error(String(error)));
      }
      job.reject(error);
      return;
    }
    if (key !== null) batch.idempotency.set(key, { fingerprint: job.fingerprint, result, atMs: batch.atMs });
    batch.acknowledgements.push({ job, value: { result, replayed: false } });
  }

  #countsOf(type: string): CommandCounts {
    let counts = this.#commandCounts.get(type);
    if (counts === undefined) {
      counts = { accepted: 0, refused: 0 };
      this.#commandCounts.set(type, counts);
    }
    return counts;
  }

  /** The one context of a batch, shared by its jobs. */
  #contextFor(batch: Batch): BatchContext {
    const applyStamped = (command: SkuLocationCommand, meta: CommandMeta): CommandOutcome => {
      const shard = this.shardOfLocation(command.location);
      this.#guard(batch, shard);
      const resident = this.#residentFor(command.location, command.sku, shard);
      const before = resident.actor.getSnapshot().context.ledger;
      resident.actor.send(command);
      const snapshot = resident.actor.getSnapshot();
      // XState reports an error thrown inside a machine (a broken invariant) through the snapshot, not
      // to the sender: surface it here, where the engine stops.
      if (snapshot.status !== 'active') {
        throw new AssertionError(
          `actor ${resident.key} stopped on ${command.type}: ${String(snapshot.error)}`,
        );
      }
      const outcome = snapshot.context.outcome;
      assert(outcome !== null, 'the actor answered nothing');
      const counts = this.#countsOf(command.type);
      if (!outcome.ok) {
        counts.refused++;
        return {
          ok: false,
          commandId: command.commandId,
          refusal: outcome.refusal,
          position: positionOf(before),
        };
      }
      const after = snapshot.context.ledger;
      const entries = batch.entriesOf(shard);
      const entry: CommandEntry = { kind: 'command', command, meta, events: outcome.events };
      batch.history.push({
        actorKey: resident.key,
        version: outcome.events[0]!.version,
        shard,
        entry: entries.length,
      });
      entries.push(entry);
      const isNew = !resident.known || batch.snapshots.get(resident.key)?.isNew === true;
      resident.known = true;
      batch.snapshots.set(resident.key, { ledger: after, shard, isNew, resident });
      if (!batch.touched.has(resident)) {
        batch.touched.add(resident);
        resident.pending++;
      }
      if ('reservationId' in command)
        this.#trackDeadline(batch, shard, resident.key, command.reservationId, before, after);
      batch.commands++;
      counts.accepted++;
      this.#commandsApplied++;
      return { ok: true, commandId: command.commandId, events: outcome.events, position: positionOf(after) };
    };
    const context: BatchContext = {
      atMs: batch.atMs,
      apply: (input, meta) => applyStamped(stamp(input, batch.atMs), meta),
      applyInternal: (command, meta) => applyStamped({ ...command, atMs: batch.atMs }, meta),
      check: (input) => {
        const command = stamp(input, batch.atMs);
        const shard = this.shardOfLocation(command.location);
        this.#guard(batch, shard);
        const refusal = refusalFor(
          this.#residentFor(command.location, command.sku, shard).actor.getSnapshot().context.ledger,
          command,
        );
        // A command refused on its check is never sent to the actor; it counts as refused all the same.
        if (refusal !== null) this.#countsOf(command.type).refused++;
        return refusal;
      },
      ledger: (location, sku) => {
        const shard = this.shardOfLocation(location);
        this.#guard(batch, shard);
        return this.#residentFor(location, sku, shard).actor.getSnapshot().context.ledger;
      },
      reservation: (id) =>
        batch.reservations.get(id) ?? this.#pendingReservations.get(id) ?? this.store.reservations.get(id),
      putReservation: (shard, header) => {
        this.#guard(batch, shard);
        batch.writes++;
        batch.reservations.set(header.reservationId, header);
        batch.entriesOf(shard).push({ kind: 'reservation', header });
      },
      transfer: (id) =>
        batch.transfers.get(id) ?? this.#pendingTransfers.get(id) ?? this.store.transfers.get(id),
      putTransfer: (shard, header) => {
        this.#guard(batch, shard);
        batch.writes++;
        batch.transfers.set(header.transferId, header);
        batch.entriesOf(shard).push({ kind: 'transfer', header });
      },
      returnHeader: (id) =>
        batch.returns.get(id) ?? this.#pendingReturns.get(id) ?? this.store.returns.get(id),
      putReturn: (shard, header) => {
        this.#guard(batch, shard);
        batch.writes++;
        batch.returns.set(header.returnId, header);
        batch.entriesOf(shard).push({ kind: 'return', header });
      },
      addOutbox: (record) => {
        batch.writes++;
        batch.outboxAdded.push(record);
      },
      ackOutbox: (id) => {
        batch.writes++;
        batch.outboxAcked.push(id);
      },
      replaceOutcome: (key, result) => {
        const earlier =
          batch.idempotency.get(key) ?? this.#pendingKeys.get(key) ?? this.store.idempotency.get(key);
        if (earlier === undefined) return;
        batch.writes++;
        batch.idempotency.set(key, { ...earlier, result });
      },
    };
    return context;
  }

  #trackDeadline(
    batch: Batch,
    shard: number,
    actorKey: string,
    reservationId: string,
    before: Ledger,
    after: Ledger,
  ) {
    const earlier = findEntry(before.reservations, reservationId);
    const later = findEntry(after.reservations, reservationId);
    const was = earlier?.state === 'held' ? earlier.expiresAtMs : null;
    const is = later?.state === 'held' ? later.expiresAtMs : null;
    if (was === is) return;
    if (was !== null) batch.deadlineChanges.push({ key: [shard, was, actorKey, reservationId], held: false });
    if (is !== null) {
      batch.deadlineChanges.push({ key: [shard, is, actorKey, reservationId], held: true });
      this.#shards[shard]!.deadlines.push({ expiresAtMs: is, actorKey, reservationId });
    }
  }

  #residentFor(location: string, sku: string, shard: number): Resident {
    const key = actorKeyOf(locationId(location), skuOf(sku));
    const found = this.#resident.get(key);
    if (found !== undefined) {
      // Map order is recency order: re-inserting marks it most recently used.
      this.#resident.delete(key);
      this.#resident.set(key, found);
      return found;
    }
    const snapshot = readSnapshot(this.store, key);
    const stored = snapshot?.ledger;
    const ledger = stored ?? emptyLedger(skuOf(sku), locationId(location));
    // Every SKU-location actor is a child of one root actor, so they share one actor system instead of
    // each carrying its own: measured here, 2.4 KB of heap per started actor instead of 4.2 KB.
    const actor = createActor(skuLocationMachine, { input: { ledger }, parent: this.#root });
    actor.start();
    const resident: Resident = {
      key,
      shard,
      actor,
      committed: ledger,
      pending: 0,
      known: stored !== undefined,
      written: { ledger, spilled: snapshot?.record.spilled === true },
    };
    this.#resident.set(key, resident);
    return resident;
  }

  #passivate(): void {
    const excess = this.#resident.size - this.config.maxResidentActors;
    if (excess <= 0) return;
    let evicted = 0;
    for (const resident of this.#resident.values()) {
      if (evicted >= excess) break;
      if (resident.pending > 0) continue;
      this.#root.send({ type: 'passivate', actor: resident.actor });
      this.#resident.delete(resident.key);
      evicted++;
    }
    this.#passivations += evicted;
  }

  /**
   * Seals a batch: its log records get their sequences and hashes now, in batch order, and the batch
   * joins the queue of batches waiting to be written.
   */
  #commit(batch: Batch): void {
    const records: PreparedRecord[] = [];
    for (const [shardId, entries] of batch.entries) {
      const shard = this.#shards[shardId]!;
      const record: LogRecord = {
        shard: shardId,
        sequence: shard.sequence + 1,
        previousHash: shard.lastHash,
        atMs: batch.atMs,
        entries,
      };
      const bytes = encodeLogRecord(record);
      shard.sequence = record.sequence;
      shard.lastHash = hashOf(bytes);
      records.push({ key: [shardId, record.sequence], bytes, record, position: ++this.#feedPosition });
    }
    batch.records = records;
    for (const [key, record] of batch.idempotency) this.#pendingKeys.set(key, record);
    for (const [id, header] of batch.reservations) this.#pendingReservations.set(id, header);
    for (const [id, header] of batch.transfers) this.#pendingTransfers.set(id, header);
    for (const [id, header] of batch.returns) this.#pendingReturns.set(id, header);
    this.#inflight++;
    if (batch.shard !== null)
      this.#inflightByShard.set(batch.shard, (this.#inflightByShard.get(batch.shard) ?? 0) + 1);
    this.#sealed.push(batch);
    this.#writeSealed();
  }

  /**
   * One LMDB write transaction at a time. Batch N+1 is applied in memory while batch N is written, but
   * it is handed to LMDB only after N is durable: its state builds on N's, so it must never reach the
   * disk, nor be answered, if N does not. Batches sealed meanwhile are written together, in order, in the
   * next transaction (a larger group commit, one fsync). The writes run in a child transaction, so a
   * failure anywhere in them rolls all of them back.
   */
  #writeSealed(): void {
    if (this.#writing || this.#sealed.length === 0 || this.#fatal !== null) return;
    const group = this.#sealed.splice(0);
    this.#writing = true;
    const faults = this.config.faults;
    const stalled = group.some((batch) => batch.number === faults.stallCommitAtBatch);
    const failing = group.find((batch) => batch.number === faults.failCommitAtBatch);
    const numbers = `${group[0]!.number}..${group.at(-1)!.number}`;
    const startedMs = performance.now();
    // The watchdog times the disk. In cluster mode it starts when the group reaches LMDB: the stream
    // append before it waits out NATS outages for as long as the lease holds (engine/cluster/node.ts).
    let watchdog: NodeJS.Timeout | null = null;
    const arm = () => {
      watchdog ??= setTimeout(() => {
        this.#fail(
          new FatalCommitError(
            `commit of batches ${numbers} did not reach the disk in ${this.config.commitWatchdogMs} ms`,
          ),
        );
      }, this.config.commitWatchdogMs);
    };
    const written = stalled
      ? new Promise<void>(() => {})
      : this.#cluster !== null
        ? this.#replicateThenWrite(this.#cluster, group, failing, () => arm())
        : this.store.root.childTransaction(() => {
            for (const batch of group) this.#write(batch, this.store);
            if (failing !== undefined) {
              throw new FatalCommitError(`injected write failure in batch ${failing.number}`);
            }
          });
    if (this.#cluster === null || stalled) arm();
    written.then(
      () => {
        if (watchdog !== null) clearTimeout(watchdog);
        this.#writing = false;
        if (this.#fatal !== null) return;
        const commitMs = performance.now() - startedMs;
        for (const batch of group) {
          this.#committed(batch);
          for (const listener of this.#writeListeners) {
            try {
              listener(batch.commands, commitMs);
            } catch (error) {
              this.#logger.error({ err: error }, 'a write listener failed');
            }
          }
        }
        this.#passivate();
        this.#writeSealed();
        this.#drain();
      },
      (error: unknown) => {
        if (watchdog !== null) clearTimeout(watchdog);
        if (error instanceof FencedError) {
          // Another node holds the shard now: nothing of these batches may be answered as done. The
          // callers are told to retry (at the new owner), and the node stops; it recovers from disk.
          for (const batch of [...group, ...this.#sealed.splice(0)]) {
            for (const { job } of batch.acknowledgements) job.reject(new ShardUnavailableError(error.shard));
          }
          for (const shard of this.#shards) this.#refuseQueued(shard);
          this.#fail(error);
          return;
        }
        this.#fail(new FatalCommitError(`commit of batches ${numbers} failed`, { cause: error }));
      },
    );
  }

  /**
   * Cluster mode: the group's writes are recorded per shard, stored on the shards' streams (fenced by
   * the expected last sequence and the lease epoch), and only then written to LMDB, in one transaction
   * with the streams' positions. A refused append rejects with FencedError and nothing reaches LMDB.
   */
  async #replicateThenWrite(
    cluster: ClusterHooks,
    group: readonly Batch[],
    failing: Batch | undefined,
    armWatchdog: () => void,
  ) {
    const byShard = new Map<number, ReplicatedOp[][]>();
    const local: ReplicatedOp[] = [];
    for (const batch of group) {
      if (batch.shard === null) continue;
      let batches = byShard.get(batch.shard);
      if (batches === undefined) {
        batches = [];
        byShard.set(batch.shard, batches);
      }
      const ops: ReplicatedOp[] = [];
      this.#write(batch, new WriteRecorder(ops, local).asStore());
      batches.push(ops);
    }
    const writes: ShardWrites[] = [...byShard].map(([shard, batches]) => ({ shard, batches }));
    const positions = writes.length === 0 ? new Map<number, number>() : await cluster.replicate(writes);
    armWatchdog();
    await this.store.root.childTransaction(() => {
      for (const { batches } of writes) for (const ops of batches) applyOps(this.store, ops);
      applyOps(this.store, local);
      for (const [shard, position] of positions) this.store.streamPositions.put(shard, position);
      if (failing !== undefined) {
        throw new FatalCommitError(`injected write failure in batch ${failing.number}`);
      }
    });
  }

  /** Everything one batch did, written inside the current LMDB write transaction (or recorded). */
  #write(batch: Batch, store: Store): void {
    const sequences = new Map<number, number>();
    for (const { key, bytes, position } of batch.records) {
      store.log.put(key, bytes);
      store.feed.put(position, { shard: key[0], sequence: key[1] });
      sequences.set(key[0], key[1]);
    }
    for (const [key, snapshot] of batch.snapshots) {
      if (snapshot.isNew) store.skuLocations.put([snapshot.ledger.sku, snapshot.ledger.location], true);
      snapshot.resident.written = writeSnapshot(
        store,
        key,
        { ledger: snapshot.ledger, shard: snapshot.shard, sequence: sequences.get(snapshot.shard)! },
        snapshot.resident.written,
        this.config.snapshotInlineEntriesMax,
      );
    }
    for (const pointer of batch.history) {
      store.history.put([pointer.actorKey, pointer.version], {
        shard: pointer.shard,
        sequence: sequences.get(pointer.shard)!,
        entry: pointer.entry,
        atMs: batch.atMs,
      });
    }
    for (const [key, record] of batch.idempotency) {
      store.idempotency.put(key, record);
      store.idempotencyAge.put([record.atMs, key], true);
    }
    for (const { key, held } of batch.deadlineChanges) {
      if (held) store.deadlines.put(key, true);
      else store.deadlines.remove(key);
    }
    for (const [id, header] of batch.reservations) store.reservations.put(id, header);
    for (const [id, header] of batch.transfers) store.transfers.put(id, header);
    for (const [id, header] of batch.returns) store.returns.put(id, header);
    for (const record of batch.outboxAdded) store.outbox.put(record.id, record);
    for (const id of batch.outboxAcked) store.outbox.remove(id);
  }

  #committed(batch: Batch): void {
    const records: CommittedRecord[] = batch.records.map(({ record, position }) => ({ record, position }));
    const newest = records.at(-1);
    if (newest !== undefined)
      this.#committedFeedPosition = Math.max(this.#committedFeedPosition, newest.position);
    this.#inflight--;
    this.#batchesCommitted++;
    if (batch.shard !== null) this.#shardBatchDone(batch.shard);
    for (const resident of batch.touched) {
      const snapshot = batch.snapshots.get(resident.key);
      if (snapshot !== undefined) resident.committed = snapshot.ledger;
      resident.pending--;
    }
    for (const [key, record] of batch.idempotency) {
      if (this.#pendingKeys.get(key) === record) this.#pendingKeys.delete(key);
    }
    for (const [id, header] of batch.reservations) {
      if (this.#pendingReservations.get(id) === header) this.#pendingReservations.delete(id);
    }
    for (const [id, header] of batch.transfers) {
      if (this.#pendingTransfers.get(id) === header) this.#pendingTransfers.delete(id);
    }
    for (const [id, header] of batch.returns) {
      if (this.#pendingReturns.get(id) === header) this.#pendingReturns.delete(id);
    }
    for (const { job, value } of batch.acknowledgements) job.resolve(value);
    if (records.length > 0) {
      const committed: CommittedBatch = { records };
      for (const listener of this.#listeners) {
        try {
          listener(committed);
        } catch (error) {
          this.#logger.error({ err: error }, 'a commit listener failed');
        }
      }
    }
    if (batch.outboxAdded.length > 0) this.#deliverOutbox(batch.outboxAdded);
    for (const id of batch.outboxAcked) {
      const waiting = this.#outboxWaiters.get(id);
      if (waiting === undefined) continue;
      this.#outboxWaiters.delete(id);
      for (const done of waiting) done();
    }
  }

  /**
   * Resolves true once every one of these outbox records has been delivered and removed (at once for
   * records not on disk), false when `timeoutMs` passes first.
   */
  async outboxSettled(ids: readonly string[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (const id of ids) {
      if (this.store.outbox.get(id) === undefined) continue;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const settled = await new Promise<boolean>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          const list = this.#outboxWaiters.get(id) ?? [];
          list.splice(list.indexOf(done), 1);
          if (list.length === 0) this.#outboxWaiters.delete(id);
          resolve(false);
        }, left);
        const list = this.#outboxWaiters.get(id) ?? [];
        list.push(done);
        this.#outboxWaiters.set(id, list);
      });
      if (!settled) return false;
    }
    return true;
  }

  #fail(error: Error): void {
    if (this.#fatal !== null) return;
    this.#fatal = error;
    this.#logger.fatal({ err: error }, 'stopping: state in memory can no longer be vouched for by the disk');
    for (const timer of this.#timers) clearInterval(timer);
    this.#onFatal(error);
  }

  // ---- background work ---------------------------------------------------------------------------

  /** Turns due deadlines into `expire` commands that go through the log like any other. */
  #expireDue(): void {
    if (this.#closing || this.#fatal !== null) return;
    const nowMs = this.#clock.now();
    for (const shard of this.#shards) {
      if (this.#cluster !== null && !this.#cluster.owns(shard.id)) continue;
      for (;;) {
        const due = shard.deadlines.popDue(nowMs);
        if (due === undefined) break;
        const { location, sku } = splitKey(due.actorKey);
        this.run({
          shard: shard.id,
          key: null,
          body: null,
          run: (context) => {
            const line = findEntry(context.ledger(location, sku).reservations, due.reservationId);
            // Lazy deletion: the line may have been committed, closed or re-held since.
            if (line === undefined || line.state !== 'held' || line.expiresAtMs !== due.expiresAtMs)
              return null;
            const outcome = context.applyInternal(
              {
                type: 'expire',
                commandId: commandIdOf(expireCommandId(due.reservationId, due.actorKey, due.expiresAtMs)),
                sku: skuOf(sku),
                location: locationId(location),
                reservationId: reservationIdOf(due.reservationId),
              },
              { correlationId: null, source: 'engine:expiry' },
            );
            // In cluster mode a header in another shard learns of the expiry by its own timer (its
            // `watch` outbox record, engine/reservations.ts); only a header of this shard is updated here.
            const headerShard = this.reservationShard(due.reservationId);
            if (outcome.ok && (this.#cluster === null || headerShard === shard.id))
              expireHeaderLine(context, headerShard, due.reservationId, location, sku);
            return outcome.ok;
          },
        }).catch((error: unknown) => {
          if (error instanceof OverloadedError) {
            shard.deadlines.push(due);
            return;
          }
          if (!(error instanceof EngineClosedError)) this.#logger.error({ err: error }, 'expiry failed');
        });
      }
    }
  }

  /** `later`: not in the caller's turn (a node adopting a shard serves it only once adoptShard returns). */
  #deliverOutbox(records: readonly OutboxRecord[], later = false): void {
    if (this.config.faults.pauseOutbox) return;
    for (const record of records) {
      if (this.#delivering.has(record.id)) continue;
      this.#delivering.add(record.id);
      // A timer fires at most ~24.8 days out, so a later instant is waited for in steps.
      const arm = () => {
        const delayMs = (record.notBeforeMs ?? 0) - this.#clock.now();
        if (delayMs > timerDelayMaxMs) setTimeout(arm, timerDelayMaxMs).unref();
        else if (delayMs > 0 || later)
          setTimeout(() => void this.#deliver(record, 0), Math.max(0, delayMs)).unref();
        else void this.#deliver(record, 0);
      };
      arm();
    }
  }

  /** The shard whose owner delivers a record: where it was written. */
  #homeOf(record: OutboxRecord): number {
    if (record.home !== undefined) return record.home;
    return this.#handlerOf(record).target(record).shard;
  }

  #handlerOf(record: OutboxRecord): OutboxHandler {
    const handler = this.#outboxHandlers.get(record.command.kind);
    assert(handler !== undefined, `no outbox handler for ${record.command.kind}`);
    return handler;
  }

  /**
   * Delivers one record until acknowledged: its target job here or at the target shard's owner, then
   * its settling job at home. A redelivery repeats the target job under its idempotency key, so it is
   * answered its first result. Delivery stops when this node no longer owns the record's home shard
   * (the new owner delivers it when it takes the shard).
   */
  async #deliver(record: OutboxRecord, attempt: number): Promise<void> {
    const handler = this.#handlerOf(record);
    const cluster = this.#cluster;
    try {
      // Given up only when this node no longer serves the home shard: a lease that is lapsing (a renewal
      // held up by NATS) is waited out by the retries below.
      if (cluster !== null && !cluster.holds(this.#homeOf(record))) {
        this.#delivering.delete(record.id);
        return;
      }
      const target = handler.target(record);
      const result =
        cluster === null || cluster.owns(target.shard)
          ? (await this.run(target)).result
          : await cluster.deliver(target.shard, record);
      const settle = handler.settle?.(record, result) ?? null;
      if (settle !== null) await this.run(settle);
      this.#delivering.delete(record.id);
    } catch (error) {
      if (error instanceof EngineClosedError || this.#fatal !== null || this.#closing) {
        this.#delivering.delete(record.id);
        return;
      }
      // Delivery retries with backoff until acknowledged; the outbox record stays on disk meanwhile.
      const delayMs = Math.min(30_000, 50 * 2 ** Math.min(attempt, 10));
      this.#logger.warn({ err: error, outbox: record.id, attempt }, 'outbox delivery failed; retrying');
      setTimeout(() => void this.#deliver(record, attempt + 1), delayMs).unref();
    }
  }

  /** Cluster mode, at the owner of a record's target shard: runs its target job here. */
  async runOutboxTarget(record: OutboxRecord): Promise<unknown> {
    const target = this.#handlerOf(record).target(record);
    return (await this.run(target)).result;
  }

  registerOutboxHandler(kind: string, handler: OutboxHandler): void {
    this.#outboxHandlers.set(kind, handler);
  }

  /** The stored first outcome of an idempotency key, committed or in a batch under way. */
  storedOutcome(key: string): unknown {
    return (this.#pendingKeys.get(key) ?? this.store.idempotency.get(key))?.result;
  }

  async #pruneIdempotency(): Promise<void> {
    if (this.#closing || this.#fatal !== null) return;
    const cutoffMs = this.#clock.now() - this.config.idempotencyRetentionMs;
    const store = this.store;
    try {
      await store.root.transaction(() => {
        let pruned = 0;
        for (const { key } of store.idempotencyAge.getRange({
          start: [0, ''],
          end: [cutoffMs, ''],
          limit: prunePerPassMax,
        })) {
          const [atMs, idempotencyKey] = key;
          const record = store.idempotency.get(idempotencyKey);
          // The key may have been used again since; only the old record goes.
          if (record !== undefined && record.atMs === atMs) store.idempotency.remove(idempotencyKey);
          store.idempotencyAge.remove(key);
          pruned++;
        }
        if (pruned > 0) this.#logger.debug({ pruned }, 'pruned idempotency records past retention');
      });
    } catch (error) {
      this.#fail(new FatalCommitError('idempotency pruning failed to commit', { cause: error }));
    }
  }
}

function splitKey(actorKey: string): { location: string; sku: string } {
  const at = actorKey.indexOf('|');
  return { location: actorKey.slice(0, at), sku: actorKey.slice(at + 1) };
}

/** A deterministic id for the engine's own expiry of one hold, within the id grammar. */
function expireCommandId(reservationId: string, actorKey: string, expiresAtMs: number): string {
  const digest = createHash('sha256')
    .update(`${reservationId}|${actorKey}|${expiresAtMs}`)
    .digest('base64url');
  return `expire.${digest.slice(0, 27)}`;
}

/** Marks an expired line on its reservation header; the header expires when no line is held any more. */
function expireHeaderLine(
  context: BatchContext,
  shard: number,
  reservationId: string,
  location: string,
  sku: string,
) {
  const header = context.reservation(reservationId);
  if (header === undefined) return;
  const lines = header.lines.map((line) =>
    line.location === location && line.sku === sku && line.status === 'held'
      ? { ...line, status: 'expired' as const, expired: line.held - line.fulfilled - line.released }
      : line,
  );
  const anyHeld = lines.some((line) => line.status === 'held');
  // A create across shards still waiting for other shards' answers is decided by their settling job.
  const open = anyHeld || header.status === 'pending';
  context.putReservation(shard, {
    ...header,
    lines,
    status: open ? header.status : 'expired',
    revision: header.revision + 1,
  });
}

/** Opens the data directory, recovers, and starts the background work. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const engine = new Engine(options);
  engine.start();
  return engine;
}

export { EngineError };
