// Per-location counts of SKU-locations by stock status (in, low, out of stock, oversold, negative),
// kept incrementally: each committed batch updates the SKU-locations it touched, so a dashboard tick or
// a scrape reads counts and never scans the ledger. At start the counts are seeded by one pass over the
// SKU index in the background, a few thousand SKU-locations per turn of the event loop, so the engine
// opens as fast as before and serves meanwhile; `ready` says when the seed is complete.
//
// Memory: one entry per SKU-location known (its key and a status code), about 100-150 bytes each.

import type { Ledger } from '../../actors/index.ts';
import { actorKeyOf, availabilityOf, integrityOf, locationId, sku as skuOf } from '../../actors/index.ts';
import type { CommittedBatch, Engine } from '../engine.ts';

export const STOCK_STATUSES = ['inStock', 'lowStock', 'outOfStock', 'oversold', 'negative'] as const;
export type StockStatus = (typeof STOCK_STATUSES)[number];
const statusCount = STOCK_STATUSES.length;
const NEGATIVE = 4;
const OVERSOLD = 3;

/** SKU-locations read per turn of the event loop while seeding. */
const seedChunkMax = 2_000;

/** The status code (index in STOCK_STATUSES): integrity first, since an oversold SKU is also out. */
export function statusOf(ledger: Ledger): number {
  const integrity = integrityOf(ledger);
  if (integrity === 'negative') return NEGATIVE;
  if (integrity === 'oversold') return OVERSOLD;
  const availability = availabilityOf(ledger);
  return availability === 'inStock' ? 0 : availability === 'lowStock' ? 1 : 2;
}

export interface LocationStatus {
  readonly location: string;
  /** Position in `locations()`, stable for the life of the process. */
  readonly index: number;
  /** SKU-locations of this location in each status, indexed like STOCK_STATUSES. */
  readonly counts: Int32Array;
  /** The `change` number of the last change here: a reader sends what changed since it last looked. */
  changed: number;
}

export class StockStatusIndex {
  readonly #engine: Engine;
  readonly #statuses = new Map<string, number>();
  readonly #byLocation = new Map<string, LocationStatus>();
  readonly #locations: LocationStatus[] = [];
  readonly #totals = new Int32Array(statusCount);
  #change = 0;
  #ready = false;
  #stopped = false;
  readonly #unsubscribe: () => void;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#unsubscribe = engine.onCommit((batch) => this.#onCommit(batch));
    setImmediate(() => this.#seed(undefined));
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Grows by one with every status change; `LocationStatus.changed` holds the number of its last. */
  get change(): number {
    return this.#change;
  }

  /** SKU-locations known (with a snapshot) in each status, over every location. */
  totals(): Readonly<Int32Array> {
    return this.#totals;
  }

  skuLocations(): number {
    return this.#statuses.size;
  }

  /** Every location seen, in the order first seen. */
  locations(): readonly LocationStatus[] {
    return this.#locations;
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
  }

  #onCommit(batch: CommittedBatch): void {
    for (const { record } of batch.records) {
      for (const entry of record.entries) {
        if (entry.kind !== 'command' || entry.events.length === 0) continue;
        const { location, sku } = entry.command;
        this.#set(actorKeyOf(location, sku), location, statusOf(this.#engine.committedLedger(location, sku)));
      }
    }
  }

  #set(key: string, location: string, status: number): void {
    const before = this.#statuses.get(key);
    if (before === status) return;
    this.#statuses.set(key, status);
    const place = this.#placeOf(location);
    if (before !== undefined) {
      place.counts[before]!--;
      this.#totals[before]!--;
    }
    place.counts[status]!++;
    this.#totals[status]!++;
    place.changed = ++this.#change;
  }

  #placeOf(location: string): LocationStatus {
    let place = this.#byLocation.get(location);
    if (place === undefined) {
      place = { location, index: this.#locations.length, counts: new Int32Array(statusCount), changed: 0 };
      this.#byLocation.set(location, place);
      this.#locations.push(place);
    }
    return place;
  }

  /**
   * One chunk of the seed, then the next on a later turn. A SKU-location already counted was committed
   * since the seed began, and the commit's figure is newer than anything the seed could read.
   */
  #seed(after: [string, string] | undefined): void {
    // The store closes only after the engine begins closing, and a chunk runs in one synchronous turn.
    if (this.#stopped || this.#engine.closing) return;
    let last: [string, string] | undefined;
    let read = 0;
    for (const key of this.#engine.store.skuLocations.getKeys({
      ...(after === undefined ? {} : { start: after, exclusiveStart: true }),
      limit: seedChunkMax,
    })) {
      const [sku, location] = key;
      last = key;
      read++;
      const actorKey = actorKeyOf(locationId(location), skuOf(sku));
      if (!this.#statuses.has(actorKey))
        this.#set(actorKey, location, statusOf(this.#engine.committedLedger(location, sku)));
    }
    if (read < seedChunkMax || last === undefined) {
      this.#ready = true;
      return;
    }
    const next = last;
    setImmediate(() => this.#seed(next));
  }
}
