// Latency percentiles from an HdrHistogram (hdr-histogram-js): constant memory whatever the number of
// samples, and p99.9 stays exact to three significant digits. Latencies are recorded in microseconds.

import type { Histogram } from 'hdr-histogram-js';
import { build } from 'hdr-histogram-js';

/** The largest latency tracked; anything slower is clamped to it (and is a finding in itself). */
const latencyMicrosecondsMax = 3_600_000_000;
const significantDigits = 3;

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly p999Ms: number | null;
  readonly maxMs: number | null;
  readonly meanMs: number | null;
}

export class LatencyRecorder {
  readonly #histogram: Histogram;

  constructor() {
    this.#histogram = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: latencyMicrosecondsMax,
      numberOfSignificantValueDigits: significantDigits,
    });
  }

  recordMs(latencyMs: number): void {
    const microseconds = Math.round(latencyMs * 1000);
    this.#histogram.recordValue(Math.min(latencyMicrosecondsMax, Math.max(1, microseconds)));
  }

  /** Adds every sample of `other` to this recorder (pooling repetitions). */
  add(other: LatencyRecorder): void {
    this.#histogram.add(other.#histogram);
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  summary(): LatencySummary {
    const histogram = this.#histogram;
    if (histogram.totalCount === 0) {
      return { count: 0, p50Ms: null, p99Ms: null, p999Ms: null, maxMs: null, meanMs: null };
    }
    const ms = (microseconds: number) => microseconds / 1000;
    return {
      count: histogram.totalCount,
      p50Ms: ms(histogram.getValueAtPercentile(50)),
      p99Ms: ms(histogram.getValueAtPercentile(99)),
      p999Ms: ms(histogram.getValueAtPercentile(99.9)),
      maxMs: ms(histogram.maxValue),
      meanMs: ms(histogram.mean),
    };
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** How far repetitions spread: (max - min) / median, so 0.1 means the runs differed by 10% of the median. */
export function relativeSpread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const middle = median(values);
  if (middle === 0) return 0;
  return (Math.max(...values) - Math.min(...values)) / middle;
}
