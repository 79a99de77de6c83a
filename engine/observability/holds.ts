// Holds about to expire, read from the persistent deadline index (written in the same transaction as
// the holds, so it has exactly the open held lines: the in-memory heaps keep closed lines until they are
// popped). One range read per shard, bounded by the window and a limit.

import type { ActorKey } from '../../actors/index.ts';
import { splitActorKey } from '../../actors/index.ts';
import type { Engine } from '../engine.ts';

export const holdsWindowMs = 5 * 60_000;
/** Deadlines counted per shard at most, so a flood of holds cannot make one read unbounded. */
const countedPerShardMax = 100_000;

export interface ExpiringHold {
  readonly reservationId: string;
  readonly location: string;
  readonly sku: string;
  readonly expiresAtMs: number;
}

export interface ExpiringHolds {
  /** Held lines whose deadline falls within the window from now (per shard at most 100,000). */
  readonly count: number;
  /** The soonest of them, soonest first. */
  readonly soonest: readonly ExpiringHold[];
}

export function expiringHolds(engine: Engine, withinMs: number, listed: number): ExpiringHolds {
  const nowMs = engine.now();
  const byMs = nowMs + withinMs;
  const deadlines = engine.store.deadlines;
  let count = 0;
  const soonest: ExpiringHold[] = [];
  for (let shard = 0; shard < engine.config.shardCount; shard++) {
    count += deadlines.getCount({
      start: [shard, 0, '', ''],
      end: [shard, byMs, '\uffff', ''],
      limit: countedPerShardMax,
    });
    if (listed === 0) continue;
    for (const key of deadlines.getKeys({
      start: [shard, 0, '', ''],
      end: [shard, byMs, '\uffff', ''],
      limit: listed,
    })) {
      const [, expiresAtMs, actorKey, reservationId] = key;
      const { location, sku } = splitActorKey(actorKey as ActorKey);
      soonest.push({ reservationId, location, sku, expiresAtMs });
    }
  }
  soonest.sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  return { count, soonest: soonest.slice(0, listed) };
}
