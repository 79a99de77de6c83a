// What the engine is doing, in the terms operations need, kept up to date as it commits: one per
// engine, made on first use (the HTTP app makes it unless STOCKLEDGER_METRICS=0) and shared by the
// Prometheus metrics and the dashboard, so both read the same figures and neither scans the ledger.

import type { Engine } from '../engine.ts';
import { CommitStats } from './commit-stats.ts';
import { StockStatusIndex } from './stock-status.ts';
import { SyncLag } from './sync-lag.ts';

export interface Observability {
  readonly stockStatus: StockStatusIndex;
  readonly commits: CommitStats;
  readonly syncLag: SyncLag;
}

const observed = new WeakMap<Engine, Observability>();

/** The engine's observability, started on first call; null when metrics are turned off. */
export function observabilityOf(engine: Engine): Observability | null {
  if (!engine.config.metricsEnabled) return null;
  let found = observed.get(engine);
  if (found === undefined) {
    found = {
      stockStatus: new StockStatusIndex(engine),
      commits: new CommitStats(engine),
      syncLag: new SyncLag(engine.config.pos.lagMetricStoresMax),
    };
    observed.set(engine, found);
  }
  return found;
}

/** For adapters that feed the sync lag (POS, ecommerce): a no-op when metrics are off. */
export function observeSyncLag(engine: Engine, source: string, store: string, occurredAtMs: number): void {
  observabilityOf(engine)?.syncLag.observe(source, store, occurredAtMs);
}
