// Per-register sequence tracking and per-store sync lag (issue 6). Each POS register numbers its sales;
// the tracker keeps, per store and register, the highest sequence seen and the ranges still missing
// below it. A sale whose sequence jumps ahead opens a gap (reported: logged, counted, listed by
// `GET /v1/pos/registers`); a late sale inside a gap closes that part of it; a sequence seen before is
// a duplicate (the ledger absorbed it through idempotency). Sync lag is, per store, now minus the
// newest `occurredAt` of the sales applied: how far behind the ledger is with that store's tills. A
// late sale keeps its own `occurredAt` and never moves that figure back.
//
// The tracker lives in memory, one per engine, and is bounded: at most `registersMax` registers and
// `storesMax` stores (the least recently updated are forgotten first) and `gapsPerRegisterMax` open
// gaps per register (the oldest is dropped, its sales counted as missing no more). After a restart each
// register's next sale sets its baseline again.

import type { Engine } from '../../engine/engine.ts';
import { observeSyncLag } from '../../engine/observability/observability.ts';

export const registersMax = 100_000;
export const storesMax = 100_000;
export const gapsPerRegisterMax = 64;

export interface SaleSighting {
  readonly location: string;
  readonly register?: string | undefined;
  readonly sequence?: number | undefined;
  readonly occurredAt?: string | undefined;
}

export interface Gap {
  /** The first and last missing sequence, inclusive. */
  readonly from: number;
  readonly to: number;
}

export interface RegisterView {
  readonly location: string;
  readonly register: string;
  readonly lastSequence: number;
  readonly sales: number;
  readonly duplicates: number;
  /** Sales missing below `lastSequence`, summed over `gaps`. */
  readonly missing: number;
  readonly gaps: readonly Gap[];
  readonly lastOccurredAtMs: number | null;
  readonly updatedAtMs: number;
}

export interface StoreView {
  readonly location: string;
  readonly lastOccurredAtMs: number;
  readonly sales: number;
}

interface RegisterState {
  readonly location: string;
  readonly register: string;
  lastSequence: number;
  sales: number;
  duplicates: number;
  gaps: Gap[];
  lastOccurredAtMs: number | null;
  updatedAtMs: number;
}

interface StoreState {
  readonly location: string;
  lastOccurredAtMs: number;
  sales: number;
}

export type Sighting = 'first' | 'next' | 'gap' | 'late' | 'duplicate' | 'untracked';

export interface TrackerTotals {
  /** Sales found missing when their gaps opened, since the process started. */
  readonly gapSales: number;
  /** Gaps opened since the process started. */
  readonly gaps: number;
  /** Sales seen again (same register and sequence, or replayed by idempotency). */
  readonly duplicates: number;
  /** Late sales that filled a gap. */
  readonly late: number;
}

function missingOf(gaps: readonly Gap[]): number {
  let missing = 0;
  for (const gap of gaps) missing += gap.to - gap.from + 1;
  return missing;
}

export class RegisterTracker {
  readonly #registers = new Map<string, RegisterState>();
  readonly #stores = new Map<string, StoreState>();
  /** Stores in the order first seen; the sync-lag metric labels the first few (a stable label set). */
  readonly #storeOrder = new Map<string, number>();
  #gapSales = 0;
  #gaps = 0;
  #duplicates = 0;
  #late = 0;
  #missing = 0;
  readonly #gapListeners = new Set<(register: RegisterView, gap: Gap) => void>();
  /** Told each store's occurrence time of every sale applied (the engine's sync lag by source). */
  readonly #onStoreSale: (location: string, occurredAtMs: number) => void;

  constructor(onStoreSale: (location: string, occurredAtMs: number) => void = () => {}) {
    this.#onStoreSale = onStoreSale;
  }

  /** Called when a register's sequence jumps ahead (a gap opens); returns the unsubscribe. */
  onGap(listener: (register: RegisterView, gap: Gap) => void): () => void {
    this.#gapListeners.add(listener);
    return () => this.#gapListeners.delete(listener);
  }

  /**
   * Records a sale that the ledger applied (`replayed` when it was an idempotent duplicate). `nowMs`
   * stands in for `occurredAt` when the sale names none.
   */
  observe(sale: SaleSighting, replayed: boolean, nowMs: number): Sighting {
    const occurredAtMs = sale.occurredAt === undefined ? nowMs : Date.parse(sale.occurredAt);
    if (!replayed) {
      const atMs = Number.isFinite(occurredAtMs) ? occurredAtMs : nowMs;
      this.#observeStore(sale.location, atMs);
      this.#onStoreSale(sale.location, atMs);
    }
    if (sale.register === undefined || sale.sequence === undefined) {
      if (replayed) this.#duplicates++;
      return 'untracked';
    }
    const key = `${sale.location}\u001f${sale.register}`;
    let state = this.#registers.get(key);
    if (state === undefined) {
      state = {
        location: sale.location,
        register: sale.register,
        lastSequence: sale.sequence,
        sales: replayed ? 0 : 1,
        duplicates: replayed ? 1 : 0,
        gaps: [],
        lastOccurredAtMs: Number.isFinite(occurredAtMs) ? occurredAtMs : null,
        updatedAtMs: nowMs,
      };
      if (replayed) this.#duplicates++;
      this.#remember(this.#registers, key, state, registersMax);
      return 'first';
    }
    this.#remember(this.#registers, key, state, registersMax);
    state.updatedAtMs = nowMs;
    if (Number.isFinite(occurredAtMs) && (state.lastOccurredAtMs ?? -Infinity) < occurredAtMs) {
      state.lastOccurredAtMs = occurredAtMs;
    }
    const sequence = sale.sequence;
    if (sequence > state.lastSequence) {
      const sighting: Sighting = sequence === state.lastSequence + 1 ? 'next' : 'gap';
      if (sighting === 'gap') this.#openGap(state, { from: state.lastSequence + 1, to: sequence - 1 });
      state.lastSequence = sequence;
      this.#count(state, replayed);
      return sighting;
    }
    const at = state.gaps.findIndex((gap) => gap.from <= sequence && sequence <= gap.to);
    if (at === -1) {
      state.duplicates++;
      this.#duplicates++;
      return 'duplicate';
    }
    const gap = state.gaps[at]!;
    const rest: Gap[] = [];
    if (gap.from < sequence) rest.push({ from: gap.from, to: sequence - 1 });
    if (sequence < gap.to) rest.push({ from: sequence + 1, to: gap.to });
    state.gaps.splice(at, 1, ...rest);
    this.#missing--;
    this.#late++;
    this.#count(state, replayed);
    return 'late';
  }

  #count(state: RegisterState, replayed: boolean): void {
    if (replayed) {
      state.duplicates++;
      this.#duplicates++;
    } else {
      state.sales++;
    }
  }

  #openGap(state: RegisterState, gap: Gap): void {
    const size = gap.to - gap.from + 1;
    state.gaps.push(gap);
    this.#gaps++;
    this.#gapSales += size;
    this.#missing += size;
    while (state.gaps.length > gapsPerRegisterMax) {
      const dropped = state.gaps.shift()!;
      this.#missing -= dropped.to - dropped.from + 1;
    }
    if (this.#gapListeners.size === 0) return;
    const view = viewOf(state);
    for (const listener of this.#gapListeners) listener(view, gap);
  }

  #observeStore(location: string, occurredAtMs: number): void {
    let store = this.#stores.get(location);
    if (store === undefined) {
      store = { location, lastOccurredAtMs: occurredAtMs, sales: 0 };
      if (!this.#storeOrder.has(location) && this.#storeOrder.size < storesMax) {
        this.#storeOrder.set(location, this.#storeOrder.size);
      }
    }
    store.sales++;
    if (occurredAtMs > store.lastOccurredAtMs) store.lastOccurredAtMs = occurredAtMs;
    this.#remember(this.#stores, location, store, storesMax);
  }

  /** Re-inserts `key` as the most recently updated, forgetting the least recent past `max`. */
  #remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
    map.delete(key);
    map.set(key, value);
    if (map.size <= max) return;
    const oldest = map.keys().next().value as string;
    const forgotten = map.get(oldest) as RegisterState | StoreState;
    if ('gaps' in forgotten) this.#missing -= missingOf(forgotten.gaps);
    map.delete(oldest);
  }

  /** Registers ordered by store then register; `withGaps` lists only those with sales missing. */
  registers(filter: { location?: string; withGaps?: boolean; limit: number }): RegisterView[] {
    const views: RegisterView[] = [];
    for (const state of this.#registers.values()) {
      if (filter.location !== undefined && state.location !== filter.location) continue;
      if (filter.withGaps === true && state.gaps.length === 0) continue;
      views.push(viewOf(state));
    }
    views.sort((a, b) =>
      a.location === b.location ? compare(a.register, b.register) : compare(a.location, b.location),
    );
    return views.slice(0, filter.limit);
  }

  stores(): StoreView[] {
    return [...this.#stores.values()]
      .map((store) => ({ ...store }))
      .sort((a, b) => compare(a.location, b.location));
  }

  /** The rank in which a store was first seen (0 first), for a stable, capped metric label set. */
  storeRank(location: string): number {
    return this.#storeOrder.get(location) ?? Number.MAX_SAFE_INTEGER;
  }

  /** Sales missing now, across every register tracked. */
  missing(): number {
    return this.#missing;
  }

  totals(): TrackerTotals {
    return { gapSales: this.#gapSales, gaps: this.#gaps, duplicates: this.#duplicates, late: this.#late };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function viewOf(state: RegisterState): RegisterView {
  return {
    location: state.location,
    register: state.register,
    lastSequence: state.lastSequence,
    sales: state.sales,
    duplicates: state.duplicates,
    missing: missingOf(state.gaps),
    gaps: state.gaps.map((gap) => ({ ...gap })),
    lastOccurredAtMs: state.lastOccurredAtMs,
    updatedAtMs: state.updatedAtMs,
  };
}

const trackers = new WeakMap<Engine, RegisterTracker>();

/** The engine's one tracker, fed by every way a POS sale arrives (NATS, `POST /v1/sales`, backlogs). */
export function registerTrackerOf(engine: Engine): RegisterTracker {
  let tracker = trackers.get(engine);
  if (tracker === undefined) {
    tracker = new RegisterTracker((location, occurredAtMs) =>
      observeSyncLag(engine, 'pos', location, occurredAtMs),
    );
    trackers.set(engine, tracker);
  }
  return tracker;
}
