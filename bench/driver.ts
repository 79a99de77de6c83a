// Load drivers. A closed loop keeps a fixed number of operations outstanding and issues a new one as
// each is answered: it finds the maximum throughput, and its latencies are mostly queueing. An open loop
// issues at a fixed rate whatever the answers do, and measures each latency from the instant the
// operation was due (not when the timer got round to it), so a stall shows up in the percentiles
// instead of silently lowering the offered load (coordinated omission).

import { LatencyRecorder } from './stats.ts';
import type { Outcome } from './systems/system.ts';

/**
 * A pause this long between two answers starts a new burst. A system with group commit answers a whole
 * batch at once; see `closedLoop` for why that matters. Any system doing over a thousand operations a
 * second that goes this long without answering is between bursts (or stalled).
 */
const burstGapMs = 20;

/** Issues one operation; null when the workload has no more to issue. */
export type Issue = () => Promise<Outcome> | null;

export interface LoopResult {
  /** Operations answered inside the measured window. */
  readonly completed: number;
  readonly accepted: number;
  readonly refused: number;
  /** Rejections: operating errors such as OVERLOADED, or operations shed by the open loop. */
  readonly failed: number;
  /** Refusal and error codes with their counts, for the notes. */
  readonly codes: ReadonlyMap<string, number>;
  readonly measuredMs: number;
  readonly throughputPerSecond: number;
  readonly latency: LatencyRecorder;
  /** Bursts of answers seen in the window (see `closedLoop`); 0 where not tracked. */
  readonly bursts: number;
  /** Mean answers per burst; 0 where not tracked. */
  readonly answersPerBurst: number;
}

interface Tally {
  completed: number;
  accepted: number;
  refused: number;
  failed: number;
  readonly codes: Map<string, number>;
}

function tally(): Tally {
  return { completed: 0, accepted: 0, refused: 0, failed: 0, codes: new Map() };
}

function count(codes: Map<string, number>, code: string): void {
  codes.set(code, (codes.get(code) ?? 0) + 1);
}

function codeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return error instanceof Error ? error.name : 'ERROR';
}

function resultOf(counts: Tally, measuredMs: number, latency: LatencyRecorder): LoopResult {
  return {
    ...counts,
    measuredMs,
    throughputPerSecond: measuredMs > 0 ? (counts.completed * 1000) / measuredMs : 0,
    latency,
    bursts: 0,
    answersPerBurst: 0,
  };
}

/** Answers per second over whole burst periods: from the second burst's start to the last one's. */
function overWholeBursts(bursts: readonly { startMs: number; answers: number }[]): number {
  const inner = bursts.slice(1, -1).reduce((sum, burst) => sum + burst.answers, 0);
  const spanMs = bursts[bursts.length - 1]!.startMs - bursts[1]!.startMs;
  return (inner * 1000) / spanMs;
}

export interface ClosedLoopOptions {
  readonly issue: Issue;
  readonly outstandingMax: number;
  /** Run before measuring, so caches, JIT and batch sizes settle. */
  readonly warmupMs: number;
  /** How long to measure; Infinity runs until `issue` returns null (a load phase). */
  readonly durationMs: number;
}

/** Keeps `outstandingMax` operations in flight; resolves when every issued one has been answered. */
export function closedLoop(options: ClosedLoopOptions): Promise<LoopResult> {
  const latency = new LatencyRecorder();
  const counts = tally();
  // Answers often come in bursts (group commit answers a whole batch at once, a burst a second or so),
  // and counting answers over a fixed window is then off by up to one burst: ±10% of an 8 s window.
  // When the window holds three bursts or more, throughput is measured over whole burst periods: the
  // answers from the start of the second burst to the start of the last, over that time.
  const bursts: { startMs: number; answers: number }[] = [];
  let lastAnswerMs = Number.NEGATIVE_INFINITY;
  const startMs = performance.now();
  const measureFromMs = startMs + options.warmupMs;
  let measureUntilMs = measureFromMs + options.durationMs;
  let outstanding = 0;
  let stopped = false;
  return new Promise<LoopResult>((resolve) => {
    const finishIfDone = () => {
      if (!stopped || outstanding > 0) return;
      clearTimeout(timer);
      const endMs = Math.min(performance.now(), measureUntilMs);
      const result = {
        ...resultOf(counts, Math.max(0, endMs - measureFromMs), latency),
        bursts: bursts.length,
        answersPerBurst: bursts.length === 0 ? 0 : counts.completed / bursts.length,
      };
      resolve(bursts.length >= 3 ? { ...result, throughputPerSecond: overWholeBursts(bursts) } : result);
    };
    const settle = (issuedAtMs: number, outcome: Outcome | null, error: unknown) => {
      outstanding--;
      const nowMs = performance.now();
      if (nowMs >= measureFromMs && nowMs <= measureUntilMs) {
        counts.completed++;
        if (nowMs - lastAnswerMs > burstGapMs) bursts.push({ startMs: nowMs, answers: 0 });
        bursts[bursts.length - 1]!.answers++;
        lastAnswerMs = nowMs;
        if (outcome === null) {
          counts.failed++;
          count(counts.codes, codeOf(error));
        } else if (outcome.ok) {
          counts.accepted++;
        } else {
          counts.refused++;
          count(counts.codes, outcome.refusal);
        }
      }
      if (issuedAtMs >= measureFromMs && issuedAtMs <= measureUntilMs) latency.recordMs(nowMs - issuedAtMs);
      pump();
      finishIfDone();
    };
    const pump = () => {
      while (!stopped && outstanding < options.outstandingMax) {
        const issuedAtMs = performance.now();
        let pending: Promise<Outcome> | null;
        try {
          pending = options.issue();
        } catch (error) {
          pending = Promise.reject(error);
        }
        if (pending === null) {
          // The workload is exhausted: the window ends with the last answer.
          stopped = true;
          measureUntilMs = Number.POSITIVE_INFINITY;
          break;
        }
        outstanding++;
        pending.then(
          (outcome) => settle(issuedAtMs, outcome, null),
          (error: unknown) => settle(issuedAtMs, null, error),
        );
      }
    };
    const timer = setTimeout(
      () => {
        stopped = true;
        finishIfDone();
      },
      Number.isFinite(options.durationMs) ? options.warmupMs + options.durationMs : 2 ** 31 - 1,
    );
    pump();
    finishIfDone();
  });
}

export interface OpenLoopOptions {
  readonly issue: Issue;
  readonly ratePerSecond: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Beyond this many outstanding, a due operation is shed and counted as failed (`SHED`). */
  readonly outstandingMax: number;
  /** Ends the measured window early (W4 stops its online load when the backlog has drained). */
  readonly signal?: AbortSignal;
}

/** How often the open loop wakes to issue what has become due. */
const openLoopTickMs = 1;

/** Issues at `ratePerSecond` for warmup + duration; resolves when every issued one has been answered. */
export function openLoop(options: OpenLoopOptions): Promise<LoopResult> {
  const latency = new LatencyRecorder();
  const counts = tally();
  const startMs = performance.now();
  const measureFromMs = startMs + options.warmupMs;
  let measureUntilMs = measureFromMs + options.durationMs;
  const intervalMs = 1000 / options.ratePerSecond;
  let issued = 0;
  let outstanding = 0;
  let stopped = false;
  return new Promise<LoopResult>((resolve) => {
    const finishIfDone = () => {
      if (stopped && outstanding === 0)
        resolve(resultOf(counts, Math.max(0, measureUntilMs - measureFromMs), latency));
    };
    const inWindow = (atMs: number) => atMs >= measureFromMs && atMs <= measureUntilMs;
    const settle = (dueAtMs: number, outcome: Outcome | null, error: unknown) => {
      outstanding--;
      const nowMs = performance.now();
      if (inWindow(nowMs)) {
        counts.completed++;
        if (outcome === null) {
          counts.failed++;
          count(counts.codes, codeOf(error));
        } else if (outcome.ok) {
          counts.accepted++;
        } else {
          counts.refused++;
          count(counts.codes, outcome.refusal);
        }
      }
      if (inWindow(dueAtMs)) latency.recordMs(nowMs - dueAtMs);
      finishIfDone();
    };
    const tick = () => {
      const nowMs = performance.now();
      if (options.signal?.aborted === true && nowMs < measureUntilMs)
        measureUntilMs = Math.max(measureFromMs, nowMs);
      const dueUntilMs = Math.min(nowMs, measureUntilMs);
      while (startMs + issued * intervalMs <= dueUntilMs) {
        const dueAtMs = startMs + issued * intervalMs;
        issued++;
        if (outstanding >= options.outstandingMax) {
          if (inWindow(dueAtMs)) {
            counts.failed++;
            count(counts.codes, 'SHED');
          }
          continue;
        }
        let pending: Promise<Outcome> | null;
        try {
          pending = options.issue();
        } catch (error) {
          pending = Promise.reject(error);
        }
        if (pending === null) break;
        outstanding++;
        pending.then(
          (outcome) => settle(dueAtMs, outcome, null),
          (error: unknown) => settle(dueAtMs, null, error),
        );
      }
      if (nowMs >= measureUntilMs) {
        stopped = true;
        finishIfDone();
        return;
      }
      setTimeout(tick, openLoopTickMs);
    };
    tick();
  });
}
