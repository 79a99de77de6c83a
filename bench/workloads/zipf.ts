// Zipf-distributed picks over a catalogue: rank r (0-based) is drawn with probability proportional to
// 1 / (r + 1)^exponent, by inverting a precomputed cumulative distribution (binary search, 8 bytes per
// item). Ranks are then scattered over the catalogue by a fixed bijection, so the hottest SKU-locations
// fall in different locations (and so different shards) instead of all in the first store.

import type { Random } from './random.ts';

function greatestCommonDivisor(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

export class Zipf {
  readonly size: number;
  readonly #cumulative: Float64Array;
  /** Multiplier of the scattering bijection rank → index: coprime with the size. */
  readonly #stride: number;

  constructor(size: number, exponent: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError('a Zipf distribution needs at least one item');
    this.size = size;
    this.#cumulative = new Float64Array(size);
    let total = 0;
    for (let rank = 0; rank < size; rank++) {
      total += 1 / (rank + 1) ** exponent;
      this.#cumulative[rank] = total;
    }
    for (let rank = 0; rank < size; rank++) this.#cumulative[rank] = this.#cumulative[rank]! / total;
    let stride = Math.max(1, Math.floor(size * 0.618_033_988_7)) | 1;
    while (greatestCommonDivisor(stride, size) !== 1) stride += 2;
    this.#stride = stride;
  }

  /** The rank whose cumulative probability first reaches `uniform` (in [0, 1)). */
  rankOf(uniform: number): number {
    let low = 0;
    let high = this.size - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#cumulative[middle]! < uniform) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Where rank `rank` sits in the catalogue: a bijection of [0, size). */
  indexOfRank(rank: number): number {
    return (rank * this.#stride) % this.size;
  }

  /** A catalogue index, Zipf-distributed by rank. */
  pick(random: Random): number {
    return this.indexOfRank(this.rankOf(random.next()));
  }
}
