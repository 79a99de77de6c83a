// Issue 5: stockledger against the alternatives, same workloads, same run, same machine.
// Systems (each a `Peer`, opened fresh for every workload): stockledger (embedded engine), PostgreSQL
// (conditional UPDATE + reservation row + idempotency key per transaction), Redis + Lua with
// appendfsync always and everysec (own redis-server each), and a plain Map + LMDB single writer (no
// actors). Raw ceilings: XState `send`, LMDB puts, NATS request/reply (the Fastify echo is the http
// suite's). Phases:
//   ceilings  the LMDB and NATS ceilings
//   w1        mixed commands over 100k SKU-locations: closed loop for throughput, then an open loop at
//             half of it for latency measured from each operation's due time (no coordinated omission);
//             the XState ceiling is measured here, right before stockledger's own window
//   w4        an offline POS backlog (5% duplicates) replayed while W1 runs open-loop at half load:
//             drain rate and the online latency; runs on W1's instance, after it
//   w2        one hot SKU-location, 10x demand, from few to many clients: exactly `units` holds succeed
//   w3        Zipf over 1M SKU-locations, the engine's resident actors capped well below: memory
//   w5        kill -9 of `stockledger serve` under load: kill to the first answered request
// Every run ends with the system's own store audited: oversold units 0, holds in the store equal to
// the holds acknowledged, the store consistent with itself. A result that fails is printed WRONG.

import type { Issue, LoopResult } from '../driver.ts';
import { closedLoop, openLoop } from '../driver.ts';
import { fromGenerator, fromList, issueFrom, setScene } from '../issue.ts';
import { describeNoise, NoiseMonitor } from '../noise.ts';
import { killRecovery } from '../recovery.ts';
import type { BenchRecord } from '../report.ts';
import { median } from '../stats.ts';
import { checkOf } from '../systems/audit.ts';
import { lmdbPutCeiling, natsRequestCeiling, xstateSendCeiling } from '../systems/ceilings.ts';
import { mapLmdbPeer } from '../systems/map-lmdb.ts';
import { postgresPeer } from '../systems/postgres.ts';
import { redisPeer } from '../systems/redis.ts';
import { stockledgerPeer } from '../systems/stockledger-peer.ts';
import type {
  LedgerSystem,
  Operation,
  OperationKind,
  Outcome,
  Peer,
  PeerInstance,
  Target,
} from '../systems/system.ts';
import { posBacklog, posTargets } from '../workloads/backlog.ts';
import type { Catalogue } from '../workloads/catalogue.ts';
import { HUNDRED_THOUSAND, sizeOf, targetAt } from '../workloads/catalogue.ts';
import { HOT_TARGET, hotReservations } from '../workloads/hot.ts';
import { LazilyStocked } from '../workloads/lazy-stock.ts';
import { MixedWorkload, prestockUnits } from '../workloads/mixed.ts';
import { Zipf } from '../workloads/zipf.ts';
import type { Suite, SuiteContext } from './suite.ts';

const PHASES = ['ceilings', 'w1', 'w4', 'w2', 'w3', 'w5'] as const;
type Phase = (typeof PHASES)[number];

const PEERS: readonly Peer[] = [
  stockledgerPeer('direct'),
  postgresPeer,
  redisPeer('always'),
  redisPeer('everysec'),
  mapLmdbPeer,
];
const STOCKLEDGER = 'stockledger:direct';
const XSTATE_CEILING = 'ceiling:xstate-send';

const W1 = 'w1-mixed-100k';
const W3 = 'w3-zipf-1m';
const W4 = 'w4-pos-backlog';
const W5 = 'w5-kill-9';
const w2Name = (clients: number) => `w2-hot-${clients}-clients`;

/** Open-loop offered load as a share of the same system's closed-loop maximum. */
const openLoopShare = 0.5;
/** An open loop sheds rather than queue more than this, so a stalled system cannot eat the memory. */
const openLoopOutstandingMax = 100_000;
/** Operations in flight while setting a scene (priming): enough to fill big batches. */
const loadOutstandingMax = 1_024;
const demandFactor = 10;
const zipfExponent = 0.99;
/** 10,000 locations × 100 SKUs. */
const MILLION: Catalogue = { locations: 10_000, skusPerLocation: 100 };
const posUnits = 1_000;
const duplicateShare = 0.05;
/** Online load during W4 stops at the drain's end; this only bounds a drain that never ends. */
const backlogOnlineMs = 600_000;
const ceilingRequestsInFlight = 256;
const natsPayload = JSON.stringify({
  reservationId: 'r-000001',
  channel: 'web',
  ttlSeconds: 3600,
  lines: [{ sku: 'sku-000001', location: 'store-00001', qty: 1 }],
});
/** Targets: reported as measured, never asserted. */
const TARGETS = { w1ToXstate: 0.6, w2ToPostgres: 8, w2ToRedisAlways: 1.5 } as const;

const formatCount = (value: number) => Math.round(value).toLocaleString('en-US');
const formatMs = (value: number | null) =>
  value === null ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(value < 100 ? 1 : 0);

function describeCodes(codes: ReadonlyMap<string, number>): string {
  if (codes.size === 0) return 'none';
  return [...codes.entries()].map(([code, count]) => `${code} ${formatCount(count)}`).join(', ');
}

function allTargets(catalogue: Catalogue): Target[] {
  return Array.from({ length: sizeOf(catalogue) }, (_, index) => targetAt(catalogue, index));
}

/** Counts what the system acknowledged, by kind, over the whole run (scene, warm-up and window). */
class Tallied implements LedgerSystem {
  readonly name: string;
  readonly durable: boolean;
  readonly accepted = new Map<OperationKind, number>();
  readonly #inner: PeerInstance;

  constructor(inner: PeerInstance) {
    this.#inner = inner;
    this.name = inner.name;
    this.durable = inner.durable;
  }

  apply(operation: Operation, id: string): Promise<Outcome> {
    return this.#inner.apply(operation, id).then((outcome) => {
      if (outcome.ok) this.accepted.set(operation.kind, (this.accepted.get(operation.kind) ?? 0) + 1);
      return outcome;
    });
  }

  /** Holds the store must show: reservations acknowledged minus releases acknowledged (commits keep theirs). */
  expectedHolds(): number {
    return (this.accepted.get('reserve') ?? 0) - (this.accepted.get('release') ?? 0);
  }
}

class PeersSuiteRun {
  readonly #context: SuiteContext;
  readonly records: BenchRecord[] = [];
  readonly #catalogueTargets = allTargets(HUNDRED_THOUSAND);

  constructor(context: SuiteContext) {
    this.#context = context;
  }

  #wants(phase: Phase): boolean {
    return this.#context.only === null || this.#context.only.has(phase);
  }

  get #profile() {
    return this.#context.profile.peers;
  }

  async run(): Promise<BenchRecord[]> {
    if (this.#wants('ceilings')) await this.#ceilings();
    if (this.#wants('w1') || this.#wants('w4')) for (const peer of PEERS) await this.#w1w4(peer);
    if (this.#wants('w2')) {
      for (const clients of this.#profile.hotClients) for (const peer of PEERS) await this.#w2(peer, clients);
    }
    if (this.#wants('w3')) {
      const zipf = new Zipf(sizeOf(MILLION), zipfExponent);
      for (const peer of PEERS) await this.#w3(peer, zipf);
    }
    if (this.#wants('w5')) await this.#w5();
    this.#ratios();
    // Grouped by workload (W1..W5, then the ceilings; W2's client counts in the order run), each
    // workload's ceiling first, then the systems in PEERS order.
    const firstSeen = new Map<string, number>();
    for (const [at, record] of this.records.entries())
      if (!firstSeen.has(record.workload)) firstSeen.set(record.workload, at);
    const workloadRank = (workload: string) =>
      workload.startsWith('ceiling') ? 9 : Number(/^w(\d)/.exec(workload)?.[1] ?? 8);
    const systemRank = (system: string) =>
      system.startsWith('ceiling') ? -1 : PEERS.findIndex((peer) => peer.name === system);
    return this.records.toSorted(
      (a, b) =>
        workloadRank(a.workload) - workloadRank(b.workload) ||
        (firstSeen.get(a.workload) ?? 0) - (firstSeen.get(b.workload) ?? 0) ||
        systemRank(a.system) - systemRank(b.system),
    );
  }

  /** Opens a peer; when it cannot, or the workload fails, its rows say so instead of vanishing. */
  async #withPeer(
    peer: Peer,
    open: () => Promise<PeerInstance>,
    workloads: readonly string[],
    body: (instance: PeerInstance) => Promise<void>,
  ): Promise<void> {
    const { progress } = this.#context;
    let instance: PeerInstance;
    try {
      instance = await open();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      progress(`${peer.name}: MISSING (${reason})`);
      for (const workload of workloads) this.#missing(workload, peer.name, `could not be opened: ${reason}`);
      return;
    }
    try {
      await body(instance);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      progress(`${peer.name}: FAILED during ${workloads.join(', ')} (${reason})`);
      for (const workload of workloads) {
        if (!this.records.some((record) => record.workload === workload && record.system === peer.name))
          this.#missing(workload, peer.name, `failed during the run: ${reason}`);
      }
    } finally {
      await instance.close().catch(() => {});
    }
  }

  #missing(workload: string, system: string, reason: string): void {
    this.records.push({
      workload,
      system,
      throughput_per_s: null,
      p50_ms: null,
      p99_ms: null,
      p999_ms: null,
      errors: 0,
      durable: false,
      oversold: null,
      correct: null,
      missing: true,
      notes: `MISSING: ${reason}`,
      metrics: {},
    });
  }

  /**
   * The maximum from a closed loop of `clients` in flight, then latency from an open loop offered half
   * of it, measured from each operation's due time (no coordinated omission).
   */
  async #closedThenOpen(issue: Issue): Promise<{ closed: LoopResult; rate: number; open: LoopResult }> {
    const profile = this.#profile;
    const closed = await closedLoop({
      issue,
      outstandingMax: profile.clients,
      warmupMs: profile.warmupMs,
      durationMs: profile.closedLoopMs,
    });
    const rate = Math.max(100, Math.round(closed.throughputPerSecond * openLoopShare));
    const open = await openLoop({
      issue,
      ratePerSecond: rate,
      warmupMs: profile.warmupMs,
      durationMs: profile.openLoopMs,
      outstandingMax: openLoopOutstandingMax,
    });
    return { closed, rate, open };
  }

  // ---- ceilings --------------------------------------------------------------------------------------

  async #ceilings(): Promise<void> {
    const { progress } = this.#context;
    const profile = this.#profile;
    const monitor = new NoiseMonitor();
    const ceiling = async (
      workload: string,
      system: string,
      durable: boolean,
      what: string,
      run: () => Promise<LoopResult>,
    ) => {
      monitor.restart();
      try {
        const result = await run();
        const noise = monitor.read();
        const latency = result.latency.summary();
        progress(`${workload}: ${formatCount(result.throughputPerSecond)}/s; ${describeNoise(noise)}`);
        this.records.push({
          workload,
          system,
          throughput_per_s: Math.round(result.throughputPerSecond),
          p50_ms: latency.p50Ms,
          p99_ms: latency.p99Ms,
          p999_ms: latency.p999Ms,
          errors: result.failed + result.refused,
          durable,
          notes: `Raw ceiling: ${what} Closed loop, ${profile.closedLoopMs / 1000} s after ${profile.warmupMs / 1000} s warm-up. Errors: ${describeCodes(result.codes)}. ${describeNoise(noise)}.`,
          metrics: { other_cpu_percent: noise.otherCpuPercent ?? Number.NaN },
        });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        progress(`${workload}: MISSING (${reason})`);
        this.#missing(workload, system, reason);
      }
    };
    await ceiling(
      'ceiling-lmdb-put',
      'ceiling:lmdb-put',
      true,
      `lmdb-js db.put of a stocked ledger (snapshot-sized, msgpack) over 100k keys, ${formatCount(this.#context.profile.outstandingMax)} in flight, ` +
        'lmdb-js batching them into transactions, overlappingSync false (each resolves after the fsync of its batch).',
      () =>
        lmdbPutCeiling({
          keys: sizeOf(HUNDRED_THOUSAND),
          outstandingMax: this.#context.profile.outstandingMax,
          warmupMs: profile.warmupMs,
          durationMs: profile.closedLoopMs,
        }),
    );
    await ceiling(
      'ceiling-nats-request',
      'ceiling:nats-request-reply',
      false,
      `request/reply of a ${natsPayload.length}-byte reservation body through a nats-server started here (loopback, free port), ` +
        `a responder on its own connection answering the payload, ${ceilingRequestsInFlight} requests in flight, @nats-io/transport-node with noAsyncTraces.`,
      () =>
        natsRequestCeiling({
          payload: natsPayload,
          outstandingMax: ceilingRequestsInFlight,
          warmupMs: profile.warmupMs,
          durationMs: profile.closedLoopMs,
        }),
    );
  }

  /** The XState send ceiling, measured in the W1 phase right before stockledger's own W1 window. */
  #xstateCeiling(): void {
    const { progress } = this.#context;
    const profile = this.#profile;
    const monitor = new NoiseMonitor();
    progress(
      `ceiling xstate send: ${formatCount(sizeOf(HUNDRED_THOUSAND))} actors, W1 mix, one synchronous loop`,
    );
    const sends = xstateSendCeiling({
      catalogue: HUNDRED_THOUSAND,
      warmupMs: profile.warmupMs,
      durationMs: profile.closedLoopMs,
      primeReservations: profile.primeReservations,
      primeReturns: profile.primeReturns,
    });
    const sendNoise = monitor.read();
    const sendLatency = sends.latency.summary();
    progress(
      `ceiling xstate send: ${formatCount(sends.throughputPerSecond)} sends/s; ${describeNoise(sendNoise)}`,
    );
    this.records.push({
      workload: W1,
      system: XSTATE_CEILING,
      throughput_per_s: Math.round(sends.throughputPerSecond),
      p50_ms: sendLatency.p50Ms,
      p99_ms: sendLatency.p99Ms,
      p999_ms: sendLatency.p999Ms,
      errors: sends.refused,
      durable: false,
      notes:
        `Raw ceiling: actor.send of the W1 mix to the real skuLocationMachine, one started actor per SKU-location (${formatCount(sends.actors)}, created stocked), ` +
        `outcome read from the context, in one synchronous loop with no I/O, ${profile.closedLoopMs / 1000} s after ${profile.warmupMs / 1000} s warm-up; ` +
        `latency is the time of one send. Refused: ${formatCount(sends.refused)}. ${describeNoise(sendNoise)}.`,
      metrics: { other_cpu_percent: sendNoise.otherCpuPercent ?? Number.NaN },
    });
  }

  // ---- W1 and W4 -------------------------------------------------------------------------------------

  async #w1w4(peer: Peer): Promise<void> {
    const { progress } = this.#context;
    const profile = this.#profile;
    const workloads = [...(this.#wants('w1') ? [W1] : []), ...(this.#wants('w4') ? [W4] : [])];
    const options = { clients: profile.clients };
    const { cacheDir } = this.#context;
    // Stockledger opens on a cached stocked data dir (the same state as stocking it, without 100k
    // receives every run); the others are stocked in bulk through their own fastest path.
    const open = async () => {
      if (peer.openStocked !== undefined) return peer.openStocked({ ...options, cacheDir, progress });
      const instance = await peer.open(options);
      try {
        await instance.stock(this.#catalogueTargets, prestockUnits);
      } catch (error) {
        await instance.close().catch(() => {});
        throw error;
      }
      return instance;
    };
    const sceneStartedMs = performance.now();
    await this.#withPeer(peer, open, workloads, async (instance) => {
      const system = new Tallied(instance);
      if (this.#wants('w4')) await instance.stock(posTargets(), posUnits);
      // The same seed on every system: each is offered the same operations in the same order.
      const workload = new MixedWorkload(HUNDRED_THOUSAND, 0xc0ffee, 'w1');
      await setScene(
        system,
        workload.prime(profile.primeReservations, profile.primeReturns),
        'priming',
        loadOutstandingMax,
      );
      workload.resetIssued();
      progress(
        `${peer.name}: W1 scene set in ${((performance.now() - sceneStartedMs) / 1000).toFixed(1)} s (${formatCount(sizeOf(HUNDRED_THOUSAND))} stocked, primed)`,
      );
      if (instance.name === STOCKLEDGER && this.#wants('w1')) this.#xstateCeiling();
      const monitor = new NoiseMonitor();
      const { closed, rate, open } = await this.#closedThenOpen(issueFrom(() => workload.next(), system));
      const noise = monitor.read();
      const audit = await instance.audit(this.#catalogueTargets);
      const check = checkOf(audit, system.expectedHolds());
      const latency = open.latency.summary();
      const closedLatency = closed.latency.summary();
      progress(
        `${peer.name}: W1 ${formatCount(closed.throughputPerSecond)} ops/s closed loop; open loop at ${formatCount(rate)}/s p50 ${formatMs(latency.p50Ms)} ms ` +
          `p99 ${formatMs(latency.p99Ms)} ms; ${check.correct ? 'check ok' : check.text}; ${describeNoise(noise)}`,
      );
      if (this.#wants('w1')) {
        this.records.push({
          workload: W1,
          system: peer.name,
          throughput_per_s: Math.round(closed.throughputPerSecond),
          p50_ms: latency.p50Ms,
          p99_ms: latency.p99Ms,
          p999_ms: latency.p999Ms,
          errors: closed.refused + closed.failed + open.refused + open.failed,
          durable: instance.durable,
          oversold: audit.oversoldUnits,
          correct: check.correct,
          notes:
            `${check.correct ? '' : `${check.text} `}${peer.description}. W1 mix over ${formatCount(sizeOf(HUNDRED_THOUSAND))} SKU-locations (each stocked with ${formatCount(prestockUnits)}). ` +
            `Throughput: closed loop, ${formatCount(profile.clients)} in flight, ${profile.closedLoopMs / 1000} s after ${profile.warmupMs / 1000} s warm-up ` +
            `(closed-loop p50 ${formatMs(closedLatency.p50Ms)} ms, p99 ${formatMs(closedLatency.p99Ms)} ms: queueing). Latency columns: open loop at ${formatCount(rate)}/s ` +
            `(${Math.round(openLoopShare * 100)}% of that), ${profile.openLoopMs / 1000} s, measured from each operation's due time to its answer ` +
            `(${formatCount(open.throughputPerSecond)}/s answered). Not accepted: closed ${describeCodes(closed.codes)}; open ${describeCodes(open.codes)}. ` +
            `${check.correct ? check.text : ''} ${describeNoise(noise)}.`,
          metrics: {
            offered_per_s: rate,
            closed_p99_ms: closedLatency.p99Ms ?? Number.NaN,
            holds: audit.holds,
            other_cpu_percent: noise.otherCpuPercent ?? Number.NaN,
          },
        });
      }
      if (this.#wants('w4')) await this.#w4(peer, instance, system, workload, rate);
    });
  }

  async #w4(
    peer: Peer,
    instance: PeerInstance,
    system: Tallied,
    workload: MixedWorkload,
    rate: number,
  ): Promise<void> {
    const { progress } = this.#context;
    const profile = this.#profile;
    const backlog = posBacklog({
      sales: profile.backlogSales,
      duplicateShare,
      seed: 0x9051,
      prefix: 'w4',
    });
    const targets = posTargets();
    const before = await instance.audit(targets);
    const monitor = new NoiseMonitor();
    const stop = new AbortController();
    const online = openLoop({
      issue: issueFrom(() => workload.next(), system),
      ratePerSecond: rate,
      warmupMs: profile.warmupMs,
      durationMs: backlogOnlineMs,
      outstandingMax: openLoopOutstandingMax,
      signal: stop.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, profile.warmupMs));
    const drainStartedMs = performance.now();
    const drained = await closedLoop({
      issue: issueFrom(fromList(backlog.operations), system),
      outstandingMax: profile.backlogInFlight,
      warmupMs: 0,
      durationMs: Number.POSITIVE_INFINITY,
    });
    const drainMs = performance.now() - drainStartedMs;
    stop.abort();
    const onlineResult = await online;
    const noise = monitor.read();
    const after = await instance.audit(targets);
    const sold = before.onHandUnits - after.onHandUnits;
    const audit = await instance.audit(this.#catalogueTargets);
    const check = checkOf(audit, system.expectedHolds(), [
      [
        sold === backlog.unique,
        `on-hand of the POS SKU-locations fell by ${formatCount(sold)}, but the backlog holds ${formatCount(backlog.unique)} unique sales`,
      ],
      [drained.accepted === drained.completed, `backlog sales not accepted: ${describeCodes(drained.codes)}`],
    ]);
    const drainRate = (backlog.operations.length * 1000) / drainMs;
    const latency = onlineResult.latency.summary();
    progress(
      `${peer.name}: W4 drained ${formatCount(backlog.operations.length)} sales at ${formatCount(drainRate)}/s while online W1 at ${formatCount(rate)}/s had ` +
        `p99 ${formatMs(latency.p99Ms)} ms; ${check.correct ? 'check ok' : check.text}`,
    );
    this.records.push({
      workload: W4,
      system: peer.name,
      throughput_per_s: Math.round(drainRate),
      p50_ms: latency.p50Ms,
      p99_ms: latency.p99Ms,
      p999_ms: latency.p999Ms,
      errors: drained.completed - drained.accepted + onlineResult.refused + onlineResult.failed,
      durable: instance.durable,
      oversold: audit.oversoldUnits,
      correct: check.correct,
      notes:
        `${check.correct ? '' : `${check.text} `}Throughput: the drain rate of an offline POS backlog of ${formatCount(backlog.operations.length)} one-unit sales ` +
        `(${formatCount(backlog.duplicates)} duplicates, ${Math.round(duplicateShare * 100)}%, resent with the same id) over ${formatCount(targets.length)} POS SKU-locations, ` +
        `replayed ${profile.backlogInFlight} in flight, in ${(drainMs / 1000).toFixed(1)} s. Latency columns: the online W1 mix offered open-loop at ${formatCount(rate)}/s ` +
        `(half the W1 closed-loop maximum) during the drain, from due time to answer (${formatCount(onlineResult.throughputPerSecond)}/s answered; ` +
        `not accepted ${describeCodes(onlineResult.codes)}). POS on-hand fell by ${formatCount(sold)} for ${formatCount(backlog.unique)} unique sales. ` +
        `${check.correct ? check.text : ''} ${describeNoise(noise)}.`,
      metrics: {
        unique_sales: backlog.unique,
        duplicates: backlog.duplicates,
        drain_s: Number((drainMs / 1000).toFixed(1)),
        online_offered_per_s: rate,
        online_answered_per_s: Math.round(onlineResult.throughputPerSecond),
        other_cpu_percent: noise.otherCpuPercent ?? Number.NaN,
      },
    });
  }

  // ---- W2 --------------------------------------------------------------------------------------------

  async #w2(peer: Peer, clients: number): Promise<void> {
    const { progress } = this.#context;
    const units = this.#profile.hotUnits;
    const workload = w2Name(clients);
    await this.#withPeer(
      peer,
      () => peer.open({ clients }),
      [workload],
      async (instance) => {
        const system = new Tallied(instance);
        await instance.stock([HOT_TARGET], units);
        let successes = 0;
        let lastSuccessMs = 0;
        const attempts = hotReservations({ units, demandFactor, prefix: `w2c${clients}` });
        const next = fromGenerator(attempts);
        const issue: Issue = () => {
          const pending = issueFrom(next, system)();
          return (
            pending?.then((outcome) => {
              if (outcome.ok) {
                successes++;
                lastSuccessMs = performance.now();
              }
              return outcome;
            }) ?? null
          );
        };
        const monitor = new NoiseMonitor();
        const startedMs = performance.now();
        const result = await closedLoop({
          issue,
          outstandingMax: clients,
          warmupMs: 0,
          durationMs: Number.POSITIVE_INFINITY,
        });
        const elapsedMs = performance.now() - startedMs;
        const noise = monitor.read();
        const audit = await instance.audit([HOT_TARGET]);
        const check = checkOf(audit, system.expectedHolds(), [
          [
            successes === units,
            `${formatCount(successes)} holds succeeded, not exactly ${formatCount(units)}`,
          ],
          [
            result.failed === 0,
            `${formatCount(result.failed)} attempts failed: ${describeCodes(result.codes)}`,
          ],
        ]);
        const throughput = (result.completed * 1000) / elapsedMs;
        const latency = result.latency.summary();
        progress(
          `${peer.name}: W2 ${clients} clients: ${formatCount(throughput)} attempts/s, ${formatCount(successes)} held, sold out after ` +
            `${((lastSuccessMs - startedMs) / 1000).toFixed(2)} s; ${check.correct ? 'check ok' : check.text}`,
        );
        this.records.push({
          workload,
          system: peer.name,
          throughput_per_s: Math.round(throughput),
          p50_ms: latency.p50Ms,
          p99_ms: latency.p99Ms,
          p999_ms: latency.p999Ms,
          errors: result.failed,
          durable: instance.durable,
          oversold: audit.oversoldUnits,
          correct: check.correct,
          notes:
            `${check.correct ? '' : `${check.text} `}One hot SKU-location holding ${formatCount(units)} units under ${demandFactor}x demand: ${formatCount(result.completed)} ` +
            `one-unit reservations with unique ids from ${clients} clients (closed loop: each client sends its next attempt when answered). ` +
            `Throughput is attempts answered per second over the whole run (${(elapsedMs / 1000).toFixed(2)} s); the ${formatCount(units)} holds were all taken ` +
            `after ${((lastSuccessMs - startedMs) / 1000).toFixed(2)} s. Latency columns: per attempt, send to answer, closed loop (service time under contention). ` +
            `Refused as expected: ${describeCodes(result.codes)}. ${check.correct ? check.text : ''} ${describeNoise(noise)}.`,
          metrics: {
            clients,
            holds: audit.holds,
            successes,
            sold_out_s: Number(((lastSuccessMs - startedMs) / 1000).toFixed(2)),
            other_cpu_percent: noise.otherCpuPercent ?? Number.NaN,
          },
        });
      },
    );
  }

  // ---- W3 --------------------------------------------------------------------------------------------

  async #w3(peer: Peer, zipf: Zipf): Promise<void> {
    const { progress } = this.#context;
    const profile = this.#profile;
    const settings = { STOCKLEDGER_MAX_RESIDENT_ACTORS: String(profile.maxResidentActors) };
    await this.#withPeer(
      peer,
      () => peer.open({ clients: profile.clients, engineSettings: settings }),
      [W3],
      async (instance) => {
        const system = new Tallied(instance);
        const mixed = new MixedWorkload(MILLION, 0x21bf, 'w3', (random) => zipf.pick(random));
        const workload = new LazilyStocked(mixed, 'w3');
        const monitor = new NoiseMonitor();
        const { closed, rate, open } = await this.#closedThenOpen(workload.issue(system));
        const noise = monitor.read();
        const memory = await instance.memory();
        const targets = workload.targets();
        const audit = await instance.audit(targets);
        const check = checkOf(audit, system.expectedHolds());
        const latency = open.latency.summary();
        const memoryText = Object.entries(memory)
          .map(([name, value]) =>
            name.endsWith('_bytes')
              ? `${name.replace(/_bytes$/, '')} ${formatCount(value / 2 ** 20)} MiB`
              : `${name} ${formatCount(value)}`,
          )
          .join(', ');
        progress(
          `${peer.name}: W3 ${formatCount(closed.throughputPerSecond)} ops/s over ${formatCount(targets.length)} SKU-locations touched; p99 ${formatMs(latency.p99Ms)} ms; ` +
            `${memoryText}; ${check.correct ? 'check ok' : check.text}`,
        );
        this.records.push({
          workload: W3,
          system: peer.name,
          throughput_per_s: Math.round(closed.throughputPerSecond),
          p50_ms: latency.p50Ms,
          p99_ms: latency.p99Ms,
          p999_ms: latency.p999Ms,
          errors: closed.refused + closed.failed + open.refused + open.failed,
          durable: instance.durable,
          oversold: audit.oversoldUnits,
          correct: check.correct,
          notes:
            `${check.correct ? '' : `${check.text} `}The W1 mix over ${formatCount(sizeOf(MILLION))} SKU-locations picked by Zipf (exponent ${zipfExponent}, ranks scattered over stores), ` +
            `each stocked by a receive the first time it is addressed (applied first, the operation once it is answered; the pair counts as one); ${formatCount(targets.length)} were touched. ` +
            `${peer.name.startsWith('stockledger') ? `STOCKLEDGER_MAX_RESIDENT_ACTORS=${formatCount(profile.maxResidentActors)}, so actors are passivated and restored from snapshots. ` : ''}` +
            `Throughput: closed loop, ${formatCount(profile.clients)} in flight, ${profile.closedLoopMs / 1000} s; latency columns: open loop at ${formatCount(rate)}/s from due time. ` +
            `Memory after the run: ${memoryText}${peer.name.startsWith('stockledger') || peer.name === 'map+lmdb' ? ' (the whole bench process: heap includes the harness)' : ''}. ` +
            `Not accepted: closed ${describeCodes(closed.codes)}; open ${describeCodes(open.codes)}. ${check.correct ? check.text : ''} ${describeNoise(noise)}.`,
          metrics: {
            touched: targets.length,
            ...Object.fromEntries(
              Object.entries(memory).map(([name, value]) =>
                name.endsWith('_bytes')
                  ? [name.replace(/_bytes$/, '_mib'), Math.round(value / 2 ** 20)]
                  : [name, value],
              ),
            ),
            other_cpu_percent: noise.otherCpuPercent ?? Number.NaN,
          },
        });
      },
    );
  }

  // ---- W5 --------------------------------------------------------------------------------------------

  async #w5(): Promise<void> {
    const { progress } = this.#context;
    const profile = this.#profile;
    const catalogue: Catalogue = { locations: profile.killSkuLocations / 100, skusPerLocation: 100 };
    const monitor = new NoiseMonitor();
    try {
      const result = await killRecovery({
        cycles: profile.killCycles,
        catalogue,
        loadMs: profile.killLoadMs,
        progress,
      });
      const noise = monitor.read();
      const correct = result.lost === 0 && result.oversoldUnits === 0 && result.unacknowledgedHolds >= 0;
      const recovery = median(result.recoveriesMs);
      this.records.push({
        workload: W5,
        system: 'stockledger:serve',
        throughput_per_s: null,
        p50_ms: null,
        p99_ms: null,
        p999_ms: null,
        errors: result.lost,
        durable: true,
        oversold: result.oversoldUnits,
        correct,
        notes:
          `${correct ? '' : `WRONG: ${formatCount(result.lost)} acknowledged reservations lost. `}kill -9 of a \`stockledger serve\` child (node --import tsx engine/cli.ts serve) ` +
          `after ${profile.killLoadMs / 1000} s of single-command reservations over HTTP (32 connections) on ${formatCount(sizeOf(catalogue))} stocked SKU-locations, ` +
          `restarted at once on the same data dir and port; recovery is kill to the first reservation answered 2xx by the new process (Node and tsx start-up, ` +
          `engine open, listen included): ${result.recoveriesMs.map((value) => formatCount(value)).join(' / ')} ms over ${result.recoveriesMs.length} cycles. ` +
          `Afterwards every acknowledged reservation (${formatCount(result.acknowledged)}) was looked up in the data dir: ${formatCount(result.lost)} missing; ` +
          `${formatCount(result.unacknowledgedHolds)} holds committed but not acknowledged (of ${formatCount(result.inFlightAtKills)} in flight at the kills); ` +
          `oversold ${formatCount(result.oversoldUnits)}. PostgreSQL and Redis are services here and are not killed. ${describeNoise(noise)}.`,
        metrics: {
          recovery_median_ms: Math.round(recovery),
          recovery_max_ms: Math.round(Math.max(...result.recoveriesMs)),
          cycles: result.recoveriesMs.length,
          acknowledged: result.acknowledged,
          lost: result.lost,
        },
      });
      progress(`W5: recovery median ${formatCount(recovery)} ms; lost ${result.lost}`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      progress(`W5: FAILED (${reason})`);
      this.#missing(W5, 'stockledger:serve', `failed: ${reason}`);
    }
  }

  // ---- ratios ----------------------------------------------------------------------------------------

  #ratios(): void {
    const { progress } = this.#context;
    const find = (workload: string, system: string) =>
      this.records.find(
        (record) => record.workload === workload && record.system === system && record.missing !== true,
      );
    const annotate = (workload: string, text: string, metrics: Record<string, number>) => {
      const at = this.records.findIndex(
        (record) => record.workload === workload && record.system === STOCKLEDGER,
      );
      const record = this.records[at];
      if (record === undefined) return;
      this.records[at] = {
        ...record,
        notes: `${record.notes} ${text}`,
        metrics: { ...record.metrics, ...metrics },
      };
      progress(`${workload}: ${text}`);
    };
    const ratio = (workload: string, system: string) => {
      const ours = find(workload, STOCKLEDGER)?.throughput_per_s;
      const theirs = find(workload, system)?.throughput_per_s;
      return ours == null || theirs == null || theirs === 0 ? null : ours / theirs;
    };
    const w1 = ratio(W1, XSTATE_CEILING);
    const w1Map = ratio(W1, 'map+lmdb');
    if (w1 !== null) {
      annotate(
        W1,
        `Ratio to the raw XState send ceiling: ${w1.toFixed(3)} (target ≥ ${TARGETS.w1ToXstate}).` +
          (w1Map === null ? '' : ` Ratio to map+lmdb (no actors): ${w1Map.toFixed(2)}.`),
        {
          ratio_to_xstate: Number(w1.toFixed(3)),
          ...(w1Map === null ? {} : { ratio_to_map_lmdb: Number(w1Map.toFixed(2)) }),
        },
      );
    }
    for (const clients of this.#profile.hotClients) {
      const workload = w2Name(clients);
      const postgres = ratio(workload, 'postgresql');
      const redis = ratio(workload, 'redis-lua:always');
      const parts: string[] = [];
      const metrics: Record<string, number> = {};
      if (postgres !== null) {
        parts.push(`${postgres.toFixed(2)}x PostgreSQL (target ≥ ${TARGETS.w2ToPostgres})`);
        metrics.ratio_to_postgresql = Number(postgres.toFixed(2));
      }
      if (redis !== null) {
        parts.push(`${redis.toFixed(2)}x Redis+Lua appendfsync always (target ≥ ${TARGETS.w2ToRedisAlways})`);
        metrics.ratio_to_redis_always = Number(redis.toFixed(2));
      }
      if (parts.length > 0) annotate(workload, `Ratios: ${parts.join(', ')}.`, metrics);
    }
  }
}

export const peersSuite: Suite = {
  name: 'peers',
  description:
    'stockledger against PostgreSQL, Redis+Lua (appendfsync always/everysec), Map+LMDB and the raw ceilings on workloads W1-W5',
  phases: PHASES,
  run: (context) => new PeersSuiteRun(context).run(),
};
