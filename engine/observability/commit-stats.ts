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

export interface CommitCursor {
  batches: number;
  commands: number;
  atMs: number;
}

export class CommitStats {
  readonly #samples = new Float64Array(samplesMax);
  /** Batches recorded since start; the ring slot of batch n is n mod samplesMax. */
  #batches = 0;
  #commands = 0;
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

  /** Where a reader's next window starts: now. */
  cursor(): CommitCursor {
    return { batches: this.#batches, commands: this.#commands, atMs: performance.now() };
  }

  /** What committed since `cursor` (latencies of at most the last 4,096 batches); moves the cursor on. */
  windowSince(cursor: CommitCursor): CommitWindow {
    const nowMs = performance.now();
    const seconds = Math.max(0.001, (nowMs - cursor.atMs) / 1_000);
    const batches = this.#batches - cursor.batches;
    const commands = this.#commands - cursor.commands;
    const kept = Math.min(batches, samplesMax);
    const latest: number[] = [];
    for (let n = this.#batches - kept; n < this.#batches; n++) latest.push(this.#samples[n % samplesMax]!);
    latest.sort((a, b) => a - b);
    cursor.batches = this.#batches;
    cursor.commands = this.#commands;
    cursor.atMs = nowMs;
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
