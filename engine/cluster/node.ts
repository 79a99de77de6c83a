// One node of a cluster (DESIGN.md §5): membership, shard leases, the fenced shard log, routing.
//
// - Membership: a KV bucket `stockledger-nodes` whose entries live one lease TTL (max_age); each node
//   puts its own key every third of a TTL. The live nodes are the keys present.
// - Leases: a KV bucket `stockledger-leases`, one key per shard, `{ owner, epoch, expiresAtMs }`. A lease
//   is taken with `create` (no key yet) or `update(revision)` (released or expired), and renewed with
//   `update(revision)`; never get-then-set, so two nodes cannot both take it. Each shard's preferred
//   owner is `liveNodes[shard mod n]` (sorted), which spreads shards evenly; a node that holds a shard
//   preferred elsewhere hands it over (graceful rebalance), and a lease that expired is taken by its
//   preferred node (failover after the TTL).
// - Taking a shard: lease first (epoch + 1), then an epoch marker appended to `inv.log.<shard>` (from
//   then on, the former owner's appends are refused), then catch-up: the stream's messages beyond what
//   the local LMDB holds are applied, and only then does the node serve the shard.
// - Serving: the engine asks `owns(shard)` before it takes a job and `replicate` before it commits; an
//   append is made only while the lease is valid by the local clock, and JetStream's expected last
//   subject sequence refuses it if anyone appended in between.

import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Engine } from '../engine.ts';
import type { OutboxRecord } from '../store/records.ts';
import type { ClusterHooks, ReplicatedOp, ShardWrites } from './hooks.ts';
import { FencedError } from './hooks.ts';
import type { OutboxItem } from './router.ts';
import { Router } from './router.ts';
import type { LeaseState, LogMessage } from './shard-log.ts';
import { encodeBatch, LOG_MESSAGE_BYTES_MAX, opsOf, ShardLog } from './shard-log.ts';

export const LEASES_BUCKET = 'stockledger-leases';
export const NODES_BUCKET = 'stockledger-nodes';
/** Messages applied per LMDB transaction while catching up. */
const catchUpChunk = 256;

export interface ClusterSettings {
  readonly natsUrl: string;
  readonly nodeId: string;
  readonly shardCount: number;
  readonly leaseTtlMs: number;
  readonly replicas: number;
  readonly routeRetryMs: number;
  /** Appends give up (and the commit watchdog stops the node) past this. */
  readonly appendDeadlineMs: number;
  /** Fault injection (STOCKLEDGER_FAULT_APPEND_DELAY_MS): each append waits this long first. */
  readonly appendDelayMs: number;
}

interface LeaseValue {
  readonly owner: string;
  readonly epoch: number;
  readonly expiresAtMs: number;
}

interface Held {
  readonly epoch: number;
  revision: number;
  /** When the lease runs out by this node's clock (from the time the renewal was sent). */
  expiresAtMs: number;
  /** The stream sequence of the shard's last message this node appended or read. */
  position: number;
  /** True once caught up: the node takes the shard's jobs. */
  serving: boolean;
  /** Being handed over: no more renewals (the release needs the revision as it is). */
  releasing?: boolean;
}

export interface ClusterStats {
  readonly leasesHeld: number;
  readonly failovers: number;
  readonly handovers: number;
  readonly refusedAppends: number;
  readonly liveNodes: number;
}

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const decoder = new TextDecoder();

function leaseKey(shard: number): string {
  return `shard.${shard}`;
}

function isWrongRevision(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /wrong last sequence|key exists/i.test(text);
}

async function withRetries<T>(
  what: string,
  logger: Logger,
  deadlineMs: number,
  work: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (Date.now() > deadlineMs) throw error;
      logger.warn({ err: error, attempt }, `${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 200 * attempt)));
    }
  }
}

export class ClusterNode {
  readonly settings: ClusterSettings;
  readonly nc: NatsConnection;
  readonly router: Router;
  readonly #logger: Logger;
  readonly #log: ShardLog;
  readonly #leases: KV;
  readonly #nodes: KV;
  /** The leases bucket as this node last saw it (a watch keeps it current). */
  readonly #view = new Map<number, { value: LeaseValue; revision: number }>();
  readonly #held = new Map<number, Held>();
  /** Shards being taken or handed over right now. */
  readonly #moving = new Set<number>();
  #engine: Engine | null = null;
  #members: string[] = [];
  #lastListing = '';
  #timer: NodeJS.Timeout | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  /** Shards whose renewal is under way (one at a time per shard). */
  readonly #renewing = new Set<number>();
  #ticking: Promise<void> | null = null;
  #leaving = false;
  #failovers = 0;
  #handovers = 0;
  #refusedAppends = 0;
  #settled = false;
  readonly hooks: ClusterHooks;

  private constructor(
    settings: ClusterSettings,
    logger: Logger,
    nc: NatsConnection,
    log: ShardLog,
    leases: KV,
    nodes: KV,
  ) {
    this.settings = settings;
    this.#logger = logger;
    this.nc = nc;
    this.#log = log;
    this.#leases = leases;
    this.#nodes = nodes;
    this.router = new Router(nc, logger.child({ component: 'router' }), settings.routeRetryMs);
    this.hooks = {
      owns: (shard) => this.owns(shard),
      holds: (shard) => this.#held.get(shard)?.serving === true,
      replicate: (writes) => this.#replicate(writes),
      deliver: (shard, record) => this.#deliverTo(shard, record),
    };
  }

  /** An outbox record's target job, at the owner of its shard (retried by the router while it moves). */
  async #deliverTo(shard: number, record: OutboxRecord): Promise<unknown> {
    const item: OutboxItem = { t: 'o', record };
    const result = await this.router.forward(shard, item);
    if (!result.ok)
      throw new Error(`delivery to shard ${shard}: ${result.error.code}: ${result.error.message}`);
    return result.value;
  }

  /** Connects, and declares the stream and buckets (retrying while the NATS cluster elects leaders). */
  static async connect(settings: ClusterSettings, logger: Logger): Promise<ClusterNode> {
    const nc = await connect({
      servers: settings.natsUrl.split(','),
      name: `stockledger-${settings.nodeId}`,
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 10_000,
    });
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect') {
          logger.warn({ status: status.type }, 'NATS connection status changed');
        }
      }
    })();
    const deadline = Date.now() + 60_000;
    const js: JetStreamClient = jetstream(nc, { timeout: 10_000 });
    const jsm: JetStreamManager = await jetstreamManager(nc, { timeout: 10_000 });
    const log = new ShardLog({
      js,
      jsm,
      replicas: settings.replicas,
      publishTimeoutMs: 2_000,
    });
    await withRetries('declaring the shard log stream', logger, deadline, () => log.ensure());
    const kvm = new Kvm(js);
    const leases = await withRetries('opening the leases bucket', logger, deadline, () =>
      kvm.create(LEASES_BUCKET, { replicas: settings.replicas, history: 1 }),
    );
    const nodes = await withRetries('opening the nodes bucket', logger, deadline, () =>
      kvm.create(NODES_BUCKET, { replicas: settings.replicas, history: 1, ttl: settings.leaseTtlMs }),
    );
    return new ClusterNode(settings, logger, nc, log, leases, nodes);
  }

  /** Whether this node serves the shard: caught up, and its lease valid by the local clock. */
  owns(shard: number): boolean {
    const held = this.#held.get(shard);
    return held?.serving === true && this.#leaseValid(held);
  }

  /** What an append on this shard may do now (see ShardLog.append). */
  #leaseState(shard: number, held: Held): LeaseState {
    if (this.#held.get(shard) !== held) return 'lost';
    return this.#leaseValid(held) ? 'valid' : 'lapsed';
  }

  #leaseValid(held: Held): boolean {
    // A margin for clocks and for the time between a check and the append it allows.
    return Date.now() < held.expiresAtMs - this.settings.leaseTtlMs / 6;
  }

  ownedShards(): number[] {
    return [...this.#held.keys()].filter((shard) => this.owns(shard)).sort((a, b) => a - b);
  }

  /** True once every shard has a live owner and this node took what it was due at least once. */
  get settled(): boolean {
    return this.#settled;
  }

  stats(): ClusterStats {
    return {
      leasesHeld: this.#held.size,
      failovers: this.#failovers,
      handovers: this.#handovers,
      refusedAppends: this.#refusedAppends,
      liveNodes: this.#members.length,
    };
  }

  /** The owner of a shard as this node last saw the leases bucket ('' when none). */
  ownerOf(shard: number): string {
    const entry = this.#view.get(shard);
    if (entry === undefined || entry.value.expiresAtMs < Date.now()) return '';
    return entry.value.owner;
  }

  /** Starts the lease loop; `engine` was created with this node's hooks. */
  async start(engine: Engine): Promise<void> {
    this.#engine = engine;
    this.router.setOutboxRunner((record) => engine.runOutboxTarget(record));
    // Right after the buckets are made (R3 on a cluster that is still electing their leaders), the
    // first calls may be refused for a moment ("jetstream not enabled", timeouts): retry them.
    const deadline = Date.now() + 60_000;
    await withRetries('watching the leases bucket', this.#logger, deadline, () => this.#watchLeases());
    await withRetries('joining the membership', this.#logger, deadline, () => this.#heartbeat());
    const tickMs = Math.max(50, Math.floor(this.settings.leaseTtlMs / 3));
    this.#timer = setInterval(() => {
      if (this.#ticking !== null) return;
      this.#ticking = this.#tick().finally(() => {
        this.#ticking = null;
      });
    }, tickMs);
    this.#timer.unref();
    // Renewals on their own timer: a slow membership listing or a take never delays them.
    this.#renewTimer = setInterval(() => this.#renew(), tickMs);
    this.#renewTimer.unref();
  }

  async #watchLeases(): Promise<void> {
    const watch = await this.#leases.watch({ key: 'shard.>' });
    void (async () => {
      for await (const entry of watch) this.#see(entry);
    })();
  }

  #see(entry: KvEntry): void {
    const shard = Number(entry.key.slice('shard.'.length));
    if (!Number.isInteger(shard)) return;
    if (entry.operation !== 'PUT') {
      this.#view.delete(shard);
      return;
    }
    const value = JSON.parse(decoder.decode(entry.value)) as LeaseValue;
    const seen = this.#view.get(shard);
    if (seen === undefined || seen.revision < entry.revision)
      this.#view.set(shard, { value, revision: entry.revision });
    // A lease just released (a handover) is taken at once by its preferred node, not at its next tick.
    if (
      value.owner === '' &&
      !this.#leaving &&
      this.#engine !== null &&
      !this.#held.has(shard) &&
      !this.#moving.has(shard) &&
      this.#preferred(shard) === this.settings.nodeId
    ) {
      void this.#take(shard);
    }
  }

  async #heartbeat(): Promise<void> {
    if (this.#leaving) return;
    await this.#nodes.put(`node.${this.settings.nodeId}`, encoder.encode(String(Date.now())));
    const members: string[] = [];
    for await (const key of await this.#nodes.keys()) members.push(key.slice('node.'.length));
    if (!members.includes(this.settings.nodeId)) members.push(this.settings.nodeId);
    const listed = members.sort().join(',');
    // A listing can miss a key being rewritten at that moment: a change counts once two listings in a
    // row agree on it, so one odd listing does not move shards back and forth.
    if (this.#members.length === 0 || listed === this.#lastListing) this.#members = members;
    this.#lastListing = listed;
  }

  #preferred(shard: number): string {
    const members = this.#members;
    return members[shard % members.length] ?? this.settings.nodeId;
  }

  async #tick(): Promise<void> {
    if (this.#leaving) return;
    try {
      await this.#heartbeat();
    } catch (error) {
      this.#logger.warn({ err: error }, 'membership heartbeat failed');
    }
    if (this.#leaving) return;
    const now = Date.now();
    // Takes and handovers run in the background (#moving marks them), so a long catch-up never holds
    // up the renewals of the leases this node has.
    for (let shard = 0; shard < this.settings.shardCount; shard++) {
      if (this.#moving.has(shard)) continue;
      const preferred = this.#preferred(shard);
      const held = this.#held.get(shard);
      if (held !== undefined) {
        if (held.serving && preferred !== this.settings.nodeId && this.#members.includes(preferred))
          void this.#handOver(shard);
        continue;
      }
      const seen = this.#view.get(shard);
      const free = seen === undefined || seen.value.owner === '' || seen.value.expiresAtMs < now;
      // The preferred node takes a free shard; anyone takes one left free for a whole TTL more.
      const abandoned = seen !== undefined && seen.value.expiresAtMs < now - this.settings.leaseTtlMs;
      if (free && (preferred === this.settings.nodeId || abandoned)) void this.#take(shard);
    }
    if (!this.#settled) {
      // Settled (ready) once every shard has an owner and this node holds just the shards it is due.
      let covered = 0;
      let balanced = this.#moving.size === 0;
      for (let shard = 0; shard < this.settings.shardCount; shard++) {
        if (this.ownerOf(shard) !== '') covered++;
        if ((this.#preferred(shard) === this.settings.nodeId) !== this.owns(shard)) balanced = false;
      }
      if (covered === this.settings.shardCount && balanced) {
        this.#settled = true;
        this.#logger.info(
          { owned: this.ownedShards().length, nodes: this.#members },
          'cluster: every shard has an owner',
        );
      }
    }
  }

  #renew(): void {
    if (this.#leaving) return;
    for (const [shard, held] of this.#held) {
      if (this.#renewing.has(shard) || held.releasing === true) continue;
      this.#renewing.add(shard);
      void this.#renewOne(shard, held).finally(() => this.#renewing.delete(shard));
    }
  }

  async #renewOne(shard: number, held: Held): Promise<void> {
    const sentMs = Date.now();
    const value: LeaseValue = {
      owner: this.settings.nodeId,
      epoch: held.epoch,
      expiresAtMs: sentMs + this.settings.leaseTtlMs,
    };
    try {
      held.revision = await this.#leases.update(
        leaseKey(shard),
        encoder.encode(JSON.stringify(value)),
        held.revision,
      );
      held.expiresAtMs = value.expiresAtMs;
    } catch (error) {
      if (this.#held.get(shard) !== held) return;
      if (isWrongRevision(error)) {
        this.#logger.warn({ shard, epoch: held.epoch }, 'cluster: lease lost to another node; stepping down');
        await this.#stepDown(shard);
      } else {
        // NATS unreachable for a moment: the lease stays ours until it runs out by our clock.
        this.#logger.warn({ err: error, shard }, 'cluster: lease renewal failed');
      }
    }
  }

  async #take(shard: number): Promise<void> {
    const engine = this.#engine;
    if (engine === null) return;
    this.#moving.add(shard);
    try {
      const seen = this.#view.get(shard);
      const epoch = (seen?.value.epoch ?? 0) + 1;
      const sentMs = Date.now();
      const value: LeaseValue = {
        owner: this.settings.nodeId,
        epoch,
        expiresAtMs: sentMs + this.settings.leaseTtlMs,
      };
      const bytes = encoder.encode(JSON.stringify(value));
      let revision: number;
      try {
        revision =
          seen === undefined
            ? await this.#leases.create(leaseKey(shard), bytes)
            : await this.#leases.update(leaseKey(shard), bytes, seen.revision);
      } catch (error) {
        if (!isWrongRevision(error))
          this.#logger.warn({ err: error, shard }, 'cluster: taking a lease failed');
        return;
      }
      const tookOver =
        seen !== undefined && seen.value.owner !== '' && seen.value.owner !== this.settings.nodeId;
      const held: Held = { epoch, revision, expiresAtMs: value.expiresAtMs, position: 0, serving: false };
      this.#held.set(shard, held);
      const startedMs = performance.now();
      // The epoch marker: from now on, an append that expects an older last sequence is refused.
      let marker = 0;
      for (;;) {
        const last = await this.#log.lastPosition(shard);
        try {
          marker = await this.#log.append(
            shard,
            last,
            { epoch, node: this.settings.nodeId, batches: [] },
            Date.now() + this.settings.appendDeadlineMs,
            () => this.#leaseState(shard, held),
          );
          break;
        } catch (error) {
          if (!(error instanceof FencedError) || !this.#leaseValid(held)) throw error;
          // The former owner appended between our read and our marker: read again.
        }
      }
      let caughtUp = 0;
      let chunk: { position: number; ops: ReplicatedOp[] }[] = [];
      for await (const { position, message } of this.#log.readAfter(
        shard,
        engine.streamPosition(shard),
        marker,
      )) {
        chunk.push({ position, ops: opsOf(message) });
        caughtUp++;
        if (chunk.length >= catchUpChunk) {
          await engine.catchUpShard(shard, chunk);
          chunk = [];
        }
      }
      chunk.push({ position: marker, ops: [] });
      await engine.catchUpShard(shard, chunk);
      engine.adoptShard(shard);
      held.position = marker;
      held.serving = true;
      this.router.serve(shard);
      if (tookOver) this.#failovers++;
      this.#logger.info(
        {
          shard,
          epoch,
          from: seen?.value.owner ?? '',
          caughtUp,
          position: marker,
          ms: Math.round(performance.now() - startedMs),
        },
        'cluster: shard taken',
      );
    } catch (error) {
      this.#logger.warn({ err: error, shard }, 'cluster: taking the shard failed; letting it go');
      await this.#stepDown(shard);
    } finally {
      this.#moving.delete(shard);
    }
  }

  /** Stops serving a shard this node no longer holds (lost, or the take failed); no release written. */
  async #stepDown(shard: number): Promise<void> {
    const held = this.#held.get(shard);
    if (held === undefined) return;
    held.serving = false;
    this.router.unserve(shard);
    this.#held.delete(shard);
    await this.#engine?.releaseShard(shard);
  }

  /** Graceful: stop taking the shard's jobs, let its batches under way commit, then release the lease. */
  async #handOver(shard: number): Promise<void> {
    const held = this.#held.get(shard);
    if (held === undefined) return;
    this.#moving.add(shard);
    try {
      held.serving = false;
      this.router.unserve(shard);
      await this.#engine?.releaseShard(shard);
      held.releasing = true;
      while (this.#renewing.has(shard)) await sleep(5);
      const value: LeaseValue = { owner: '', epoch: held.epoch, expiresAtMs: 0 };
      try {
        await this.#leases.update(leaseKey(shard), encoder.encode(JSON.stringify(value)), held.revision);
      } catch (error) {
        // Lost meanwhile, or NATS away: the lease runs out on its own.
        this.#logger.warn({ err: error, shard }, 'cluster: releasing a lease failed');
      }
      this.#held.delete(shard);
      this.#handovers++;
      this.#logger.info({ shard, epoch: held.epoch }, 'cluster: shard handed over');
    } finally {
      this.#moving.delete(shard);
    }
  }

  /** Appends each shard's writes after its last known position; resolves with the new positions. */
  async #replicate(writes: readonly ShardWrites[]): Promise<ReadonlyMap<number, number>> {
    const positions = new Map<number, number>();
    await Promise.all(
      writes.map(async ({ shard, batches }) => {
        const held = this.#held.get(shard);
        if (held === undefined) {
          this.#refusedAppends++;
          this.#logger.warn(
            { shard, refusedAppends: this.#refusedAppends },
            'cluster: append refused: lease not held',
          );
          throw new FencedError(shard, `shard ${shard}: this node no longer holds its lease; append refused`);
        }
        for (const message of this.#messagesOf(held.epoch, batches)) {
          if (this.settings.appendDelayMs > 0) await sleep(this.settings.appendDelayMs);
          try {
            // No deadline: while the lease is ours (or lapsed but not lost) the append is retried, through
            // NATS leader elections and outages; the mailboxes fill meanwhile and answer 503 OVERLOADED.
            held.position = await this.#log.append(
              shard,
              held.position,
              message,
              Number.POSITIVE_INFINITY,
              () => this.#leaseState(shard, held),
            );
          } catch (error) {
            if (error instanceof FencedError) {
              this.#refusedAppends++;
              this.#logger.warn(
                { shard, epoch: held.epoch, refusedAppends: this.#refusedAppends, reason: error.message },
                'cluster: append refused',
              );
            }
            throw error;
          }
        }
        positions.set(shard, held.position);
      }),
    );
    return positions;
  }

  /** Whole batches per message, as many as fit under the message size bound. */
  *#messagesOf(epoch: number, batches: ShardWrites['batches']): Generator<LogMessage> {
    let encoded: Uint8Array[] = [];
    let bytes = 0;
    for (const batch of batches) {
      const one = encodeBatch(batch);
      if (encoded.length > 0 && bytes + one.length > LOG_MESSAGE_BYTES_MAX) {
        yield { epoch, node: this.settings.nodeId, batches: encoded };
        encoded = [];
        bytes = 0;
      }
      encoded.push(one);
      bytes += one.length;
    }
    if (encoded.length > 0) yield { epoch, node: this.settings.nodeId, batches: encoded };
  }

  /** Leaves gracefully: out of the membership, every shard handed over, then disconnects. */
  async leave(): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#renewTimer !== null) clearInterval(this.#renewTimer);
    await this.#ticking;
    try {
      await this.#nodes.delete(`node.${this.settings.nodeId}`);
    } catch (error) {
      this.#logger.warn({ err: error }, 'cluster: leaving the membership failed');
    }
    await Promise.all([...this.#held.keys()].map((shard) => this.#handOver(shard)));
    this.#logger.info({ handovers: this.#handovers }, 'cluster: left; every shard handed over');
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#renewTimer !== null) clearInterval(this.#renewTimer);
    await this.nc.drain().catch(() => {});
  }
}
