// The engine's Prometheus metrics, registered on a registry the HTTP app owns. Counters read the
// engine's running totals at scrape time; the two histograms are observed at the group-commit point,
// once per batch (not per command). Labels are bounded: command type and outcome (closed sets), shard
// (STOCKLEDGER_SHARDS of them), stock status (five), sync-lag source and the first stores seen (see
// sync-lag.ts). No SKU is ever a label, nor a location on the stock gauges: a retailer has thousands.

import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Engine } from '../engine.ts';
import { expiringHolds, holdsWindowMs } from './holds.ts';
import type { Observability } from './observability.ts';
import { STOCK_STATUSES } from './stock-status.ts';

/** Commands per batch: powers of two up to the largest batch (STOCKLEDGER_BATCH_MAX, 2048 by default). */
export const batchCommandBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
/** Commit latency: from 1 ms (a fast fsync) to 5 s (a disk in trouble; the watchdog is at 15 s). */
export const commitSecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Adds to a labelled counter what a running total grew by since the last scrape. */
function grower() {
  const seen = new Map<string, number>();
  return (key: string, now: number, add: (amount: number) => void) => {
    const before = seen.get(key) ?? 0;
    if (now > before) add(now - before);
    seen.set(key, now);
  };
}

export function registerEngineMetrics(registry: Registry, engine: Engine, observed: Observability): void {
  const registers = [registry];
  const grow = grower();
  new Counter({
    name: 'stockledger_commands_total',
    help: 'Actor commands decided, by command type and outcome (accepted: events recorded; refused)',
    labelNames: ['type', 'outcome'] as const,
    registers,
    collect() {
      for (const [type, counts] of engine.commandCounts()) {
        grow(`${type}:accepted`, counts.accepted, (n) => this.inc({ type, outcome: 'accepted' }, n));
        grow(`${type}:refused`, counts.refused, (n) => this.inc({ type, outcome: 'refused' }, n));
      }
    },
  });
  const batchCommands = new Histogram({
    name: 'stockledger_batch_commands',
    help: 'Commands applied per committed batch',
    buckets: batchCommandBuckets,
    registers,
  });
  const commitSeconds = new Histogram({
    name: 'stockledger_commit_duration_seconds',
    help: 'Group commit latency: a batch handed to LMDB until its transaction is fsynced',
    buckets: commitSecondsBuckets,
    registers,
  });
  engine.onWrite((commands, commitMs) => {
    batchCommands.observe(commands);
    commitSeconds.observe(commitMs / 1_000);
  });
  new Gauge({
    name: 'stockledger_shard_mailbox_depth',
    help: 'Jobs waiting in each shard mailbox',
    labelNames: ['shard'] as const,
    registers,
    collect() {
      const depths = engine.mailboxDepths();
      for (let shard = 0; shard < depths.length; shard++) this.set({ shard: String(shard) }, depths[shard]!);
    },
  });
  new Gauge({
    name: 'stockledger_actors',
    help: 'SKU-location actors: resident in memory, or passivated (known, restored from their snapshot when used)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const resident = engine.stats().residentActors;
      this.set({ state: 'resident' }, resident);
      // The known count is complete once the status index has seeded; until then it is a lower bound.
      this.set({ state: 'passivated' }, Math.max(0, observed.stockStatus.skuLocations() - resident));
    },
  });
  new Counter({
    name: 'stockledger_actor_passivations_total',
    help: 'Actors stopped to keep at most STOCKLEDGER_MAX_RESIDENT_ACTORS in memory',
    registers,
    collect() {
      grow('passivations', engine.stats().passivations, (n) => this.inc(n));
    },
  });
  new Counter({
    name: 'stockledger_idempotency_conflicts_total',
    help: 'Requests refused because their id was used before with a different body',
    registers,
    collect() {
      grow('conflicts', engine.stats().idempotencyConflicts, (n) => this.inc(n));
    },
  });
  new Gauge({
    name: 'stockledger_holds_expiring',
    help: `Held reservation lines whose deadline falls within the next ${holdsWindowMs / 60_000} minutes`,
    registers,
    collect() {
      this.set(expiringHolds(engine, holdsWindowMs, 0).count);
    },
  });
  new Gauge({
    name: 'stockledger_sku_locations',
    help: 'SKU-locations by stock status (inStock, lowStock, outOfStock, oversold, negative)',
    labelNames: ['status'] as const,
    registers,
    collect() {
      const totals = observed.stockStatus.totals();
      for (let status = 0; status < STOCK_STATUSES.length; status++)
        this.set({ status: STOCK_STATUSES[status]! }, totals[status]!);
    },
  });
  new Gauge({
    name: 'stockledger_stock_status_ready',
    help: '1 once the SKU-location status counts are seeded from the data directory (0 while counting at start)',
    registers,
    collect() {
      this.set(observed.stockStatus.ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'stockledger_sync_lag_seconds',
    help: 'Now minus the newest occurrence time applied, by source (pos, ecommerce) and store (first stores seen; the rest as _other)',
    labelNames: ['source', 'store'] as const,
    registers,
    collect() {
      this.reset();
      for (const { source, store, lagSeconds } of observed.syncLag.labelled(engine.now()))
        this.set({ source, store }, lagSeconds);
    },
  });
}
