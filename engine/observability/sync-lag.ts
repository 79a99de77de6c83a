// Sync lag by source and store: how far the ledger is behind what a source system says happened. For
// each source (`pos`, `ecommerce`) and store, now minus the newest occurrence time among what that
// source's adapter applied for the store; a late event never moves it back. Adapters call `observe`
// when something they received is applied (POS: the sale's occurredAt; ecommerce: the webhook's signed
// timestamp). File imports (ERP, WMS) carry no occurrence time, so they have no lag to report.
//
// Labels stay bounded: per source, the first `labelledStoresMax` stores seen get their own `store`
// label, a stable set; the rest are reported together as `_other` (their largest lag), and past
// `storesMax` stores per source the least recently updated one is forgotten.

export const OTHER_STORES = '_other';
const storesMax = 100_000;

export interface StoreLag {
  readonly source: string;
  readonly store: string;
  readonly lagSeconds: number;
}

interface Seen {
  newestMs: number;
  readonly rank: number;
}

export class SyncLag {
  readonly #labelledStoresMax: number;
  readonly #sources = new Map<string, { stores: Map<string, Seen>; ranked: number }>();

  constructor(labelledStoresMax: number) {
    this.#labelledStoresMax = labelledStoresMax;
  }

  observe(source: string, store: string, occurredAtMs: number): void {
    if (!Number.isFinite(occurredAtMs)) return;
    let entry = this.#sources.get(source);
    if (entry === undefined) {
      entry = { stores: new Map(), ranked: 0 };
      this.#sources.set(source, entry);
    }
    const seen = entry.stores.get(store);
    if (seen !== undefined) {
      if (occurredAtMs > seen.newestMs) seen.newestMs = occurredAtMs;
      return;
    }
    if (entry.stores.size >= storesMax) {
      const oldest = entry.stores.keys().next().value;
      if (oldest !== undefined) entry.stores.delete(oldest);
    }
    entry.stores.set(store, { newestMs: occurredAtMs, rank: entry.ranked++ });
  }

  /** Every store's lag, largest first, at most `limit`. */
  worst(nowMs: number, limit: number): StoreLag[] {
    const all: StoreLag[] = [];
    for (const [source, { stores }] of this.#sources) {
      for (const [store, seen] of stores)
        all.push({ source, store, lagSeconds: Math.max(0, (nowMs - seen.newestMs) / 1_000) });
    }
    all.sort((a, b) => b.lagSeconds - a.lagSeconds);
    return all.slice(0, limit);
  }

  /** The lags with bounded labels: the first stores of each source by name, the rest as `_other`. */
  labelled(nowMs: number): StoreLag[] {
    const lags: StoreLag[] = [];
    for (const [source, { stores }] of this.#sources) {
      let other = -1;
      for (const [store, seen] of stores) {
        const lagSeconds = Math.max(0, (nowMs - seen.newestMs) / 1_000);
        if (seen.rank < this.#labelledStoresMax) lags.push({ source, store, lagSeconds });
        else other = Math.max(other, lagSeconds);
      }
      if (other >= 0) lags.push({ source, store: OTHER_STORES, lagSeconds: other });
    }
    return lags;
  }
}
