// Issue 3's measurements of the embedded engine:
//   mixed       durable operations/s of the mixed workload over 100k SKU-locations (closed loop), with
//               the latency of each (submit to durable answer), for both reservation paths;
//   open-loop   the same mix offered at half the measured maximum, so latency is not just queueing;
//   heap        heap bytes per resident actor, engine-made and bare XState (child with --expose-gc);
//   restart     time from a fresh process opening the data dir to a ready engine: empty, 1M, 10M events;
//   verify      engine/verify.ts over a cached data dir (200k events quick, 1M full), in events/s.

import type { ChildRun } from '../children.ts';
import { runChild } from '../children.ts';
import type { LoopResult } from '../driver.ts';
import { closedLoop, openLoop } from '../driver.ts';
import { issueFrom, setScene } from '../issue.ts';
import { describeNoise, NoiseMonitor } from '../noise.ts';
import type { BenchRecord } from '../report.ts';
import { LatencyRecorder, median, relativeSpread } from '../stats.ts';
import type { OpenedEngine, ReservationPath } from '../systems/engine.ts';
import type { LedgerSystem } from '../systems/system.ts';
import { HUNDRED_THOUSAND, sizeOf } from '../workloads/catalogue.ts';
import type { CachedEventLog } from '../workloads/event-log.ts';
import { cachedEventLog } from '../workloads/event-log.ts';
import type { Issued } from '../workloads/mixed.ts';
import { MixedWorkload } from '../workloads/mixed.ts';
import { openStockedEngine } from '../workloads/stocked-engine.ts';
import type { Suite, SuiteContext } from './suite.ts';

const PHASES = ['mixed', 'open-loop', 'heap', 'restart', 'verify'] as const;
const PATHS: readonly ReservationPath[] = ['coordinator', 'direct'];
/** Operations in flight while loading (prestock, priming): enough to fill big batches. */
const loadOutstandingMax = 20_000;
/** Held reservations and open returns each workload starts from. */
const primeReservations = 20_000;
const primeReturns = 5_000;
/** Open-loop offered load as a share of the closed-loop maximum. */
const openLoopShare = 0.5;
/** An open loop sheds rather than queue more than this (a stalled engine must not eat the memory). */
const openLoopOutstandingMax = 100_000;
const calibrationMs = 5_000;

const PATH_NOTES: Readonly<Record<ReservationPath, string>> = {
  coordinator:
    'reserve/commit/release through engine.reservations (the API path: header + line in one job), other steps engine.submit',
  direct:
    'reserve/commit/release as engine.submit commands straight to the actor (no header), other steps engine.submit',
};

const formatCount = (value: number) => Math.round(value).toLocaleString('en-US');
const percent = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
const eventsLabel = (events: number) =>
  events >= 1_000_000 && events % 1_000_000 === 0
    ? `${events / 1_000_000}M`
    : events >= 1_000 && events % 1_000 === 0
      ? `${events / 1_000}k`
      : formatCount(events);

/** Runs a finite generator of operations to the end; every one must be accepted (it sets the scene). */
function load(system: LedgerSystem, generator: Generator<Issued>, what: string): Promise<LoopResult> {
  return setScene(system, generator, what, loadOutstandingMax);
}

function describeCodes(codes: ReadonlyMap<string, number>): string {
  if (codes.size === 0) return 'none';
  return [...codes.entries()].map(([code, count]) => `${code} ${formatCount(count)}`).join(', ');
}

function describeMix(workload: MixedWorkload): string {
  const issued = [...workload.issuedByKind().entries()];
  const total = issued.reduce((sum, [, count]) => sum + count, 0);
  return issued
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => `${kind} ${percent(count, total).toFixed(1)}%`)
    .join(', ');
}

interface PathRuns {
  readonly throughputs: number[];
  readonly noise: number[];
  readonly loads: number[];
  readonly latency: LatencyRecorder;
  readonly codes: Map<string, number>;
  readonly answersPerBurst: number[];
  readonly burstsPerSecond: number[];
  completed: number;
  notAccepted: number;
  batches: number;
  commands: number;
}

function emptyRuns(): PathRuns {
  return {
    throughputs: [],
    noise: [],
    loads: [],
    latency: new LatencyRecorder(),
    codes: new Map(),
    answersPerBurst: [],
    burstsPerSecond: [],
    completed: 0,
    notAccepted: 0,
    batches: 0,
    commands: 0,
  };
}

class EngineSuiteRun {
  readonly #context: SuiteContext;
  readonly records: BenchRecord[] = [];
  /** Median closed-loop throughput by path, for the open loop's offered load. */
  readonly #maximum = new Map<ReservationPath, number>();
  readonly #eventLogs = new Map<number, CachedEventLog | null>();

  constructor(context: SuiteContext) {
    this.#context = context;
  }

  #wants(phase: (typeof PHASES)[number]): boolean {
    return this.#context.only === null || this.#context.only.has(phase);
  }

  async run(): Promise<BenchRecord[]> {
    if (this.#wants('mixed') || this.#wants('open-loop')) await this.#mixed();
    if (this.#wants('heap')) await this.#heap();
    if (this.#wants('restart')) await this.#restart();
    if (this.#wants('verify')) await this.#verify();
    return this.records;
  }

  async #mixed(): Promise<void> {
    const { profile, progress } = this.#context;
    const catalogue = HUNDRED_THOUSAND;
    // A copy of the cached stocked data dir, every actor made resident: the state 100k receives leave,
    // without paying for them on every run.
    const opened = await openStockedEngine({ cacheDir: this.#context.cacheDir, progress });
    try {
      const workloads: Record<ReservationPath, MixedWorkload> = {
        coordinator: new MixedWorkload(catalogue, 0xc0, 'c'),
        direct: new MixedWorkload(catalogue, 0xd1, 'd'),
      };
      progress(
        `opened a copy of the stocked ${formatCount(sizeOf(catalogue))}-SKU-location data dir, all resident, in ${(opened.openMs / 1000).toFixed(1)} s (not timed)`,
      );
      for (const path of PATHS) {
        await load(
          opened.view(path),
          workloads[path].prime(primeReservations, primeReturns),
          `priming ${path}`,
        );
        workloads[path].resetIssued();
      }
      if (this.#wants('mixed')) await this.#closedLoops(opened, workloads);
      if (this.#wants('open-loop')) {
        for (const path of PATHS) {
          if (!this.#maximum.has(path)) {
            progress(`calibrating ${path}: ${calibrationMs / 1000} s closed loop`);
            const calibration = await closedLoop({
              issue: issueFrom(() => workloads[path].next(), opened.view(path)),
              outstandingMax: profile.outstandingMax,
              warmupMs: profile.warmupMs,
              durationMs: calibrationMs,
            });
            this.#maximum.set(path, calibration.throughputPerSecond);
          }
          await this.#openLoop(opened, path, workloads[path]);
        }
      }
    } finally {
      await opened.close();
    }
  }

  async #closedLoops(opened: OpenedEngine, workloads: Record<ReservationPath, MixedWorkload>): Promise<void> {
    const { profile, progress } = this.#context;
    const runs: Record<ReservationPath, PathRuns> = { coordinator: emptyRuns(), direct: emptyRuns() };
    const monitor = new NoiseMonitor();
    for (let repetition = 0; repetition < profile.repetitions; repetition++) {
      // Alternate which path goes first, so a drift in the machine's load does not favour one.
      const order = repetition % 2 === 0 ? PATHS : PATHS.toReversed();
      for (const path of order) {
        const before = opened.engine.stats();
        monitor.restart();
        const result = await closedLoop({
          issue: issueFrom(() => workloads[path].next(), opened.view(path)),
          outstandingMax: profile.outstandingMax,
          warmupMs: profile.warmupMs,
          durationMs: profile.closedLoopMs,
        });
        const noise = monitor.read();
        const after = opened.engine.stats();
        const run = runs[path];
        run.throughputs.push(result.throughputPerSecond);
        run.noise.push(noise.otherCpuPercent ?? Number.NaN);
        run.loads.push(noise.loadAverage);
        run.latency.add(result.latency);
        run.answersPerBurst.push(result.answersPerBurst);
        run.burstsPerSecond.push(result.measuredMs > 0 ? (1000 * result.bursts) / result.measuredMs : 0);
        run.completed += result.completed;
        run.notAccepted += result.refused + result.failed;
        for (const [code, count] of result.codes) run.codes.set(code, (run.codes.get(code) ?? 0) + count);
        run.batches += after.batchesCommitted - before.batchesCommitted;
        run.commands += after.commandsApplied - before.commandsApplied;
        const summary = result.latency.summary();
        progress(
          `mixed ${path} ${repetition + 1}/${profile.repetitions}: ${formatCount(result.throughputPerSecond)} ops/s, ` +
            `p50 ${summary.p50Ms?.toFixed(0)} ms, p99 ${summary.p99Ms?.toFixed(0)} ms; ${describeNoise(noise)}`,
        );
      }
    }
    for (const path of PATHS) {
      const run = runs[path];
      const throughput = median(run.throughputs);
      this.#maximum.set(path, throughput);
      const latency = run.latency.summary();
      const noise = run.noise.filter((value) => !Number.isNaN(value));
      this.records.push({
        workload: 'mixed-closed',
        system: `stockledger:${path}`,
        throughput_per_s: Math.round(throughput),
        p50_ms: latency.p50Ms,
        p99_ms: latency.p99Ms,
        p999_ms: latency.p999Ms,
        errors: run.notAccepted,
        durable: true,
        notes:
          `${PATH_NOTES[path]}. Closed loop, ${formatCount(profile.outstandingMax)} outstanding, ` +
          `median of ${profile.repetitions} × ${profile.closedLoopMs / 1000} s after ${profile.warmupMs / 1000} s warm-up ` +
          `(runs ${run.throughputs.map(formatCount).join(' / ')} ops/s); latency pooled over runs, submit to durable answer, ` +
          `mostly queueing at this depth. Answers came in bursts of ~${formatCount(median(run.answersPerBurst))} ` +
          `(${median(run.burstsPerSecond).toFixed(1)} bursts/s), so throughput is counted over whole burst periods. Accepted ${percent(run.completed - run.notAccepted, run.completed).toFixed(2)}% ` +
          `(not accepted: ${describeCodes(run.codes)}). ${formatCount(sizeOf(HUNDRED_THOUSAND))} SKU-locations, all resident. ` +
          `Mix issued: ${describeMix(workloads[path])}. Other processes used ${noise.length === 0 ? 'unknown' : `${median(noise).toFixed(0)}%`} of the CPUs (median), load ${median(run.loads).toFixed(1)}.`,
        metrics: {
          runs: profile.repetitions,
          best_per_s: Math.round(Math.max(...run.throughputs)),
          spread_percent: Math.round(100 * relativeSpread(run.throughputs)),
          commands_per_batch: run.batches === 0 ? 0 : Math.round(run.commands / run.batches),
          other_cpu_percent: noise.length === 0 ? Number.NaN : Math.round(median(noise)),
        },
      });
    }
  }

  async #openLoop(opened: OpenedEngine, path: ReservationPath, workload: MixedWorkload): Promise<void> {
    const { profile, progress } = this.#context;
    const rate = Math.max(100, Math.round((this.#maximum.get(path) ?? 0) * openLoopShare));
    progress(
      `open loop ${path}: ${formatCount(rate)} ops/s offered for ${(profile.warmupMs + profile.openLoopMs) / 1000} s`,
    );
    const monitor = new NoiseMonitor();
    const result = await openLoop({
      issue: issueFrom(() => workload.next(), opened.view(path)),
      ratePerSecond: rate,
      warmupMs: profile.warmupMs,
      durationMs: profile.openLoopMs,
      outstandingMax: openLoopOutstandingMax,
    });
    const noise = monitor.read();
    const latency = result.latency.summary();
    progress(
      `open loop ${path}: ${formatCount(result.throughputPerSecond)} ops/s answered, p50 ${latency.p50Ms?.toFixed(1)} ms, ` +
        `p99 ${latency.p99Ms?.toFixed(1)} ms; ${describeNoise(noise)}`,
    );
    this.records.push({
      workload: `mixed-open-${Math.round(openLoopShare * 100)}pct`,
      system: `stockledger:${path}`,
      throughput_per_s: Math.round(result.throughputPerSecond),
      p50_ms: latency.p50Ms,
      p99_ms: latency.p99Ms,
      p999_ms: latency.p999Ms,
      errors: result.refused + result.failed,
      durable: true,
      notes:
        `Open loop at ${formatCount(rate)} ops/s offered (${Math.round(openLoopShare * 100)}% of this path's closed-loop median), ` +
        `one ${profile.openLoopMs / 1000} s run after ${profile.warmupMs / 1000} s warm-up; latency from the instant each operation was due ` +
        `to its durable answer. Not accepted: ${describeCodes(result.codes)}. ${describeNoise(noise)}.`,
      metrics: { offered_per_s: rate, other_cpu_percent: noise.otherCpuPercent ?? Number.NaN },
    });
  }

  async #heap(): Promise<void> {
    const { profile, progress } = this.#context;
    const actors = profile.heapActors;
    const measure = async (task: 'heap-engine' | 'heap-actor') => {
      const runs: ChildRun[] = [];
      for (let repetition = 0; repetition < profile.heapRepetitions; repetition++) {
        const run = await runChild(task, { actors }, { exposeGc: true });
        progress(
          `${task} ${repetition + 1}/${profile.heapRepetitions}: ${run.result.heapBytesPerActor} bytes per actor`,
        );
        runs.push(run);
      }
      return runs;
    };
    progress(`heap per resident actor: ${formatCount(actors)} actors, child processes with --expose-gc`);
    const engineRuns = await measure('heap-engine');
    const actorRuns = await measure('heap-actor');
    const numbers = (runs: readonly ChildRun[], name: string) =>
      runs.map((run) => run.result[name]).filter((value): value is number => typeof value === 'number');
    const engineBytes = numbers(engineRuns, 'heapBytesPerActor');
    const actorBytes = numbers(actorRuns, 'heapBytesPerActor');
    this.records.push({
      workload: 'resident-heap',
      system: 'stockledger:engine',
      throughput_per_s: null,
      p50_ms: null,
      p99_ms: null,
      p999_ms: null,
      errors: 0,
      durable: true,
      notes:
        `heapUsed delta / actors after gc, for ${formatCount(actors)} SKU-locations made resident by one receive each through engine.submit ` +
        `(STOCKLEDGER_MAX_RESIDENT_ACTORS above that); includes the XState actor, the committed ledger and the engine's resident record; ` +
        `LMDB's memory is off-heap and not counted. Median of ${engineBytes.length} child processes (${engineBytes.join(' / ')}).`,
      metrics: { heap_bytes_per_actor: Math.round(median(engineBytes)), actors },
    });
    this.records.push({
      workload: 'resident-heap',
      system: 'xstate-actor',
      throughput_per_s: null,
      p50_ms: null,
      p99_ms: null,
      p999_ms: null,
      errors: 0,
      durable: false,
      notes:
        `The bare SKU-location machine: createActor + start on an empty ledger, kept in an array; heapUsed delta / actors after gc. ` +
        `Median of ${actorBytes.length} child processes (${actorBytes.join(' / ')}).`,
      metrics: {
        heap_bytes_per_actor: Math.round(median(actorBytes)),
        create_us_per_actor: median(numbers(actorRuns, 'createMicrosecondsPerActor')),
        actors,
      },
    });
  }

  async #eventLog(events: number, generate: boolean): Promise<CachedEventLog | null> {
    if (this.#eventLogs.has(events)) return this.#eventLogs.get(events) ?? null;
    const { progress, cacheDir } = this.#context;
    const log = await cachedEventLog({ cacheDir, events, generate, progress });
    if (log?.generatedNow === true) {
      progress(
        `generated the ${eventsLabel(events)}-event data dir in ${(log.meta.generationMs / 1000).toFixed(0)} s ` +
          `(${formatCount((log.meta.events * 1000) / log.meta.generationMs)} events/s, ${formatCount(log.sizeBytes / 2 ** 20)} MiB)`,
      );
    }
    this.#eventLogs.set(events, log);
    return log;
  }

  async #restartRuns(task: 'restart' | 'restart-empty', dataDir: string | null): Promise<ChildRun[]> {
    const runs: ChildRun[] = [];
    for (let repetition = 0; repetition < this.#context.profile.restartRepetitions; repetition++) {
      runs.push(await runChild(task, dataDir === null ? {} : { dataDir }));
    }
    return runs;
  }

  async #restart(): Promise<void> {
    const { profile, progress } = this.#context;
    const summarise = (runs: readonly ChildRun[]) => {
      const values = (name: string) =>
        runs.map((run) => run.result[name]).filter((value): value is number => typeof value === 'number');
      return {
        ready_ms: median(values('readyMs')),
        close_ms: median(values('closeMs')),
        process_ms: Math.round(median(runs.map((run) => run.processMs))),
        readies: values('readyMs'),
      };
    };
    const restartRecord = (
      workload: string,
      notes: string,
      metrics: Record<string, number>,
    ): BenchRecord => ({
      workload,
      system: 'stockledger:engine',
      throughput_per_s: null,
      p50_ms: null,
      p99_ms: null,
      p999_ms: null,
      errors: 0,
      durable: true,
      notes,
      metrics,
    });
    const monitor = new NoiseMonitor();
    const empty = summarise(await this.#restartRuns('restart-empty', null));
    progress(`restart empty: ready in ${empty.ready_ms} ms`);
    this.records.push(
      restartRecord(
        'restart-empty',
        `createEngine on an empty data dir (64 shards) in a fresh process, until it resolves; median of ${empty.readies.length} ` +
          `(${empty.readies.join(' / ')} ms). process_ms is the child's whole life, Node and tsx start-up included.`,
        { ready_ms: empty.ready_ms, close_ms: empty.close_ms, process_ms: empty.process_ms },
      ),
    );
    const sizes = [
      ...profile.generateEventLogs.map((events) => ({ events, generate: true })),
      ...profile.cachedEventLogs.map((events) => ({ events, generate: false })),
    ].toSorted((a, b) => a.events - b.events);
    for (const { events, generate } of sizes) {
      const workload = `restart-${eventsLabel(events)}`;
      const log = await this.#eventLog(events, generate);
      if (log === null) {
        progress(`${workload}: no cached data dir; --full builds it`);
        this.records.push(
          restartRecord(
            workload,
            `Not measured: no cached ${eventsLabel(events)}-event data dir under bench/.cache; \`npm run bench -- engine --full\` builds it once.`,
            {},
          ),
        );
        continue;
      }
      monitor.restart();
      const measured = summarise(await this.#restartRuns('restart', log.dataDir));
      const noise = monitor.read();
      progress(`${workload}: ready in ${measured.ready_ms} ms; ${describeNoise(noise)}`);
      this.records.push(
        restartRecord(
          workload,
          `createEngine on a data dir of ${formatCount(log.meta.events)} logged events (${formatCount(log.meta.commands)} receives and sales over ` +
            `${formatCount(log.meta.skuLocations)} SKU-locations, built through engine.submit${log.generatedNow ? ' in this run' : `, cached from ${log.meta.createdAt}`} ` +
            `by commit ${log.meta.git.commit?.slice(0, 7) ?? 'unknown'}${log.meta.git.dirty === true ? ' + changes' : ''}, ` +
            `generation took ${(log.meta.generationMs / 1000).toFixed(0)} s) in a fresh process, until it resolves; median of ${measured.readies.length} ` +
            `(${measured.readies.join(' / ')} ms), warm page cache. Actors are restored lazily from snapshots on first use, so ready time does not replay the log.`,
          {
            ready_ms: measured.ready_ms,
            close_ms: measured.close_ms,
            process_ms: measured.process_ms,
            events: log.meta.events,
            data_mib: Math.round(log.sizeBytes / 2 ** 20),
            generation_s: Math.round(log.meta.generationMs / 1000),
          },
        ),
      );
    }
  }

  async #verify(): Promise<void> {
    const { profile, progress } = this.#context;
    const events = profile.verifyEvents;
    const log = await this.#eventLog(events, true);
    if (log === null) return;
    const runs: ChildRun[] = [];
    for (let repetition = 0; repetition < profile.verifyRepetitions; repetition++) {
      const run = await runChild('verify', { dataDir: log.dataDir });
      if (run.result.available !== true) break;
      progress(
        `verify ${repetition + 1}/${profile.verifyRepetitions}: ${formatCount(Number(run.result.eventsPerSecond))} events/s, ok ${run.result.ok}`,
      );
      runs.push(run);
    }
    const base = {
      workload: `verify-${eventsLabel(events)}`,
      system: 'stockledger:verify',
      p50_ms: null,
      p99_ms: null,
      p999_ms: null,
      durable: true,
    };
    if (runs.length === 0) {
      this.records.push({
        ...base,
        throughput_per_s: null,
        errors: 0,
        notes: 'Not measured: engine/verify.ts (verifyDataDir) is not in this checkout.',
        metrics: {},
      });
      return;
    }
    const rates = runs.map((run) => Number(run.result.eventsPerSecond));
    const problems = Math.max(...runs.map((run) => Number(run.result.problems ?? 0)));
    const first = runs[0]?.result;
    const findings =
      problems === 0
        ? 'no problems found'
        : `${formatCount(problems)} problem sentences listed, e.g. "${String(first?.firstProblem)}"; last: "${String(first?.lastProblem)}"`;
    this.records.push({
      ...base,
      throughput_per_s: Math.round(median(rates)),
      errors: problems,
      notes:
        `verifyDataDir on the ${eventsLabel(events)}-event data dir (hash chain, replay equals snapshots, indexes), in a fresh process; ` +
        `throughput is in events/s; median of ${runs.length} (${rates.map(formatCount).join(' / ')}). ok: ${runs.every((run) => run.result.ok === true)}; ` +
        `errors counts the problems it listed: ${findings}.`,
      metrics: {
        events: Number(runs[0]?.result.events ?? 0),
        elapsed_ms: median(runs.map((run) => Number(run.result.elapsedMs))),
      },
    });
  }
}

export const engineSuite: Suite = {
  name: 'engine',
  description: 'the embedded stockledger engine: mixed workload, latency, heap per actor, restart, verify',
  phases: PHASES,
  run: (context) => new EngineSuiteRun(context).run(),
};
