// The mixed workload of issue 3: reserve 40%, release 15%, commit 20%, sale 15%, return 5%,
// disposition 3%, other 2% (receive, adjust, count in equal parts), uniformly over the catalogue.
// Every step is meant to be accepted: releases and commits pick a reservation this workload saw held,
// dispositions a return it saw recorded, and nothing is picked twice while it is in flight. Every
// SKU-location is stocked with `prestockUnits` first (stocked-engine.ts, or each peer's bulk `stock`;
// W3 stocks on first touch), generously enough that a run never runs dry.

import type { Operation, OperationKind, Outcome, Target } from '../systems/system.ts';
import type { Catalogue } from './catalogue.ts';
import { sizeOf, targetAt } from './catalogue.ts';
import { Random } from './random.ts';

/** Percent of operations of each kind; `other` is split between receive, adjust and count. */
export const MIXED_WEIGHTS = {
  reserve: 40,
  release: 15,
  commit: 20,
  sale: 15,
  return: 5,
  dispose: 3,
  other: 2,
} as const;

type Step = keyof typeof MIXED_WEIGHTS;

/** Units each SKU-location receives before the run: far above what a run reserves or sells there. */
export const prestockUnits = 10_000;
/** Reservations live an hour, so none expires during a run (expiry is not what is measured here). */
const reservationTtlSeconds = 3_600;
const dispositions = ['restock', 'scrap', 'vendor'] as const;

export interface Issued {
  readonly operation: Operation;
  readonly id: string;
  /** Tells the workload how the operation ended, so later steps only target what exists. */
  settle(outcome: Outcome | null): void;
}

interface HeldReservation extends Target {
  readonly reservationId: string;
}

interface OpenReturn extends Target {
  readonly returnId: string;
}

function cumulative(): [Step, number][] {
  let total = 0;
  return (Object.entries(MIXED_WEIGHTS) as [Step, number][]).map(([step, weight]) => {
    total += weight;
    return [step, total];
  });
}

export class MixedWorkload {
  readonly #catalogue: Catalogue;
  readonly #random: Random;
  /** Prefixes every id, so two workloads (or two runs on one data directory) never collide. */
  readonly #prefix: string;
  readonly #thresholds = cumulative();
  readonly #held: HeldReservation[] = [];
  readonly #returns: OpenReturn[] = [];
  readonly #issued = new Map<OperationKind, number>();
  /** Which catalogue index the next operation addresses: uniform unless a picker is given (W3: Zipf). */
  readonly #pickIndex: (random: Random) => number;
  #sequence = 0;

  constructor(catalogue: Catalogue, seed: number, prefix: string, pickIndex?: (random: Random) => number) {
    this.#catalogue = catalogue;
    this.#random = new Random(seed);
    this.#prefix = prefix;
    this.#pickIndex = pickIndex ?? ((random) => random.below(sizeOf(catalogue)));
  }

  /** Reservations and returns to start from, so the first releases and dispositions have targets. */
  *prime(reservations: number, returns: number): Generator<Issued> {
    for (let at = 0; at < reservations; at++) yield this.#reserve();
    for (let at = 0; at < returns; at++) yield this.#return();
  }

  next(): Issued {
    const roll = this.#random.below(100);
    const step = this.#thresholds.find(([, upTo]) => roll < upTo)?.[0] ?? 'other';
    switch (step) {
      case 'reserve':
        return this.#reserve();
      case 'release':
      case 'commit':
        return this.#resolve(step);
      case 'sale':
        return this.#plain({ ...this.#target(), kind: 'sale', qty: 1 });
      case 'return':
        return this.#return();
      case 'dispose':
        return this.#dispose();
      case 'other':
        return this.#other();
    }
  }

  /** Operations issued since the last `resetIssued`, by kind (the mix actually run, after fallbacks). */
  issuedByKind(): ReadonlyMap<OperationKind, number> {
    return this.#issued;
  }

  /** Starts counting the mix afresh, e.g. once prestock and priming are done. */
  resetIssued(): void {
    this.#issued.clear();
  }

  /** Reservations seen held and not yet picked, and returns seen recorded and not yet disposed. */
  poolSizes(): { held: number; returns: number } {
    return { held: this.#held.length, returns: this.#returns.length };
  }

  #id(kind: string): string {
    return `${this.#prefix}.${kind}.${(this.#sequence++).toString(36)}`;
  }

  #target(): Target {
    return targetAt(this.#catalogue, this.#pickIndex(this.#random));
  }

  #plain(operation: Operation): Issued {
    this.#issued.set(operation.kind, (this.#issued.get(operation.kind) ?? 0) + 1);
    return { operation, id: this.#id(operation.kind.slice(0, 3)), settle: () => {} };
  }

  #reserve(): Issued {
    const target = this.#target();
    const reservationId = this.#id('res');
    const issued = this.#plain({
      ...target,
      kind: 'reserve',
      reservationId,
      qty: 1,
      ttlSeconds: reservationTtlSeconds,
    });
    return {
      ...issued,
      settle: (outcome) => {
        if (outcome?.ok === true) this.#held.push({ ...target, reservationId });
      },
    };
  }

  #return(): Issued {
    const target = this.#target();
    const returnId = this.#id('ret');
    const issued = this.#plain({ ...target, kind: 'return', returnId, qty: 1 });
    return {
      ...issued,
      settle: (outcome) => {
        if (outcome?.ok === true) this.#returns.push({ ...target, returnId });
      },
    };
  }

  /** Commits or releases a held reservation; with none known yet, reserves instead. */
  #resolve(kind: 'commit' | 'release'): Issued {
    const held = takeRandom(this.#held, this.#random);
    if (held === undefined) return this.#reserve();
    const { reservationId, location, sku } = held;
    // A committed reservation is an order: it stays reserved (fulfilment is not part of this mix).
    return this.#plain({ kind, reservationId, location, sku });
  }

  #dispose(): Issued {
    const lot = takeRandom(this.#returns, this.#random);
    if (lot === undefined) return this.#return();
    return this.#plain({
      kind: 'dispose',
      returnId: lot.returnId,
      location: lot.location,
      sku: lot.sku,
      qty: 1,
      disposition: this.#random.pick(dispositions),
    });
  }

  #other(): Issued {
    const target = this.#target();
    switch (this.#random.below(3)) {
      case 0:
        return this.#plain({ ...target, kind: 'receive', qty: 1 });
      case 1:
        return this.#plain({ ...target, kind: 'adjust', delta: this.#random.below(2) === 0 ? -1 : 1 });
      default:
        return this.#plain({ ...target, kind: 'count', counted: prestockUnits });
    }
  }
}

/** Removes and returns a random element in O(1) (order does not matter in a pool). */
function takeRandom<T>(pool: T[], random: Random): T | undefined {
  if (pool.length === 0) return undefined;
  const at = random.below(pool.length);
  const chosen = pool[at];
  const last = pool.pop();
  if (at < pool.length && last !== undefined) pool[at] = last;
  return chosen;
}
