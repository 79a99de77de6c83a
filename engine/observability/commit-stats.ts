// The group commit as the dashboard sees it: commands made durable and the commit latency of recent
// batches. Fed by the engine's write listener (two numbers per batch); latencies go into a fixed ring,
// so recording one allocates nothing and the memory is bounded whatever the load.

import type { Engine } from '../engine.ts';

/** Latency samples kept: the last this many batches. */
const samplesMax = 4_096;

export interface CommitWindow {
  /** Commands made durable per second over the window. */
  readonly commandsPerSecond: number;
  readonly batches: number;
  /** Commit latency of the window's batches (null when none committed). */
  readonly commitMsP50: number | null;
  readonly commitMsP99: number | null;
}

export class CommitStats {
  readonly #samples = new Float64Array(samplesMax);
  /** Batches recorded since start; the ring slot of batch n is n mod samplesMax. */
  #batches = 0;
  #commands = 0;
  #windowBatches = 0;
  #windowCommands = 0;
  #windowStartMs = performance.now();
  readonly #unsubscribe: () => void;

  constructor(engine: Engine) {
    this.#unsubscribe = engine.onWrite((commands, commitMs) => {
      this.#samples[this.#batches % samplesMax] = commitMs;
      this.#batches++;
      this.#commands += commands;
    });
  }

  /** Commands made durable since start. */
  get commands(): number {
    return this.#commands;
  }

  /** What committed since the previous call (at most the last `samplesMax` batches' latencies). */
  takeWindow(): CommitWindow {
    const nowMs = performance.now();
    const seconds = Math.max(0.001, (nowMs - this.#windowStartMs) / 1_000);
    const batches = this.#batches - this.#windowBatches;
    const commands = this.#commands - this.#windowCommands;
    const kept = Math.min(batches, samplesMax);
    const latest: number[] = [];
    for (let n = this.#batches - kept; n < this.#batches; n++) latest.push(this.#samples[n % samplesMax]!);
    latest.sort((a, b) => a - b);
    this.#windowStartMs = nowMs;
    this.#windowBatches = this.#batches;
    this.#windowCommands = this.#commands;
    return {
      commandsPerSecond: commands / seconds,
      batches,
      commitMsP50: quantile(latest, 0.5),
      commitMsP99: quantile(latest, 0.99),
    };
  }

  stop(): void {
    this.#unsubscribe();
  }
}

/** The nearest-rank quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
