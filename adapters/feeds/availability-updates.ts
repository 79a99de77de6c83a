// Which committed changes are worth telling the channels about. Not every unit: an update is made for a
// SKU-location when, in one committed batch, its availability status changed (the actor recorded an
// `AvailabilityChanged`: in → low → out → back in stock), its policy changed, or a channel's exposed
// quantity crossed one of the configured thresholds (STOCKLEDGER_FEED_THRESHOLDS). Several changes of
// one SKU-location within one batch make one update with the state after the batch.
//
// An update carries the figures after the batch and, per channel, the exposed quantity: floor of
// available-to-sell × the channel's share from the actor's policy (actors' `exposedTo`), for every
// channel of the policy and every channel named in the thresholds (a channel without a share sees all
// of available-to-sell). It runs inside the engine's commit listener, so it only does arithmetic on
// what is in memory; encoding and I/O happen later, off the engine's path.

import type { Ledger } from '../../actors/index.ts';
import { availabilityOf, availableToSell, exposedTo } from '../../actors/index.ts';
import type { CommittedBatch, Engine } from '../../engine/engine.ts';

/** The threshold list that applies to the unshared figure and to channels without a list of their own. */
export const ANY_CHANNEL = '*';

export type UpdateReason = 'status' | 'threshold' | 'policy';

export interface AvailabilityUpdate {
  readonly sku: string;
  readonly location: string;
  readonly status: 'inStock' | 'lowStock' | 'outOfStock';
  readonly availableToSell: number;
  /** Exposed quantity per channel. */
  readonly channels: Readonly<Record<string, number>>;
  readonly reasons: readonly UpdateReason[];
  /** The actor's version after the batch: a consumer keeps the highest it has seen. */
  readonly version: number;
  /** ISO time of the commit. */
  readonly at: string;
  /** The commit feed position of the batch (`GET /v1/events?after=`). */
  readonly position: number;
}

interface Touched {
  readonly location: string;
  readonly sku: string;
  onHandDelta: number;
  reservedDelta: number;
  statusChanged: boolean;
  policyChanged: boolean;
  position: number;
  atMs: number;
}

function crossed(before: number, after: number, thresholds: readonly number[]): boolean {
  for (const threshold of thresholds) if (before < threshold !== after < threshold) return true;
  return false;
}

export class AvailabilityUpdates {
  readonly #engine: Engine;
  readonly #thresholds: Readonly<Record<string, readonly number[]>>;
  readonly #thresholdChannels: readonly string[];

  constructor(engine: Engine, thresholds: Readonly<Record<string, readonly number[]>>) {
    this.#engine = engine;
    this.#thresholds = thresholds;
    this.#thresholdChannels = Object.keys(thresholds).filter((channel) => channel !== ANY_CHANNEL);
  }

  #thresholdsOf(channel: string): readonly number[] {
    return (
      (Object.hasOwn(this.#thresholds, channel) ? this.#thresholds[channel] : undefined) ??
      this.#thresholds[ANY_CHANNEL] ??
      []
    );
  }

  /** The updates a committed batch calls for, in the order its SKU-locations were first touched. */
  of(batch: CommittedBatch): AvailabilityUpdate[] {
    const touched = new Map<string, Touched>();
    for (const { position, record } of batch.records) {
      for (const entry of record.entries) {
        if (entry.kind !== 'command') continue;
        const { location, sku } = entry.command;
        const key = `${location}|${sku}`;
        let state = touched.get(key);
        if (state === undefined) {
          state = {
            location,
            sku,
            onHandDelta: 0,
            reservedDelta: 0,
            statusChanged: false,
            policyChanged: false,
            position,
            atMs: record.atMs,
          };
          touched.set(key, state);
        }
        state.position = position;
        state.atMs = record.atMs;
        for (const event of entry.events) {
          state.onHandDelta += event.deltas.onHand ?? 0;
          state.reservedDelta += event.deltas.reserved ?? 0;
          if (event.type === 'AvailabilityChanged') state.statusChanged = true;
          else if (event.type === 'PolicyChanged') state.policyChanged = true;
        }
      }
    }
    const updates: AvailabilityUpdate[] = [];
    for (const state of touched.values()) {
      const update = this.#updateOf(state);
      if (update !== null) updates.push(update);
    }
    return updates;
  }

  #updateOf(state: Touched): AvailabilityUpdate | null {
    // Read in the commit listener: the state as of this batch, which is what the deltas led to.
    const after = this.#engine.committedLedger(state.location, state.sku);
    const before: Ledger = {
      ...after,
      onHand: after.onHand - state.onHandDelta,
      reserved: after.reserved - state.reservedDelta,
    };
    const channels = new Set([...Object.keys(after.policy.channels), ...this.#thresholdChannels]);
    const reasons: UpdateReason[] = [];
    if (state.statusChanged) reasons.push('status');
    if (state.policyChanged) reasons.push('policy');
    let thresholdCrossed = crossed(
      availableToSell(before),
      availableToSell(after),
      this.#thresholdsOf(ANY_CHANNEL),
    );
    const exposed: Record<string, number> = {};
    for (const channel of channels) {
      const now = exposedTo(after, channel);
      exposed[channel] = now;
      if (!thresholdCrossed && crossed(exposedTo(before, channel), now, this.#thresholdsOf(channel))) {
        thresholdCrossed = true;
      }
    }
    if (thresholdCrossed) reasons.push('threshold');
    if (reasons.length === 0) return null;
    return {
      sku: state.sku,
      location: state.location,
      status: availabilityOf(after),
      availableToSell: availableToSell(after),
      channels: exposed,
      reasons,
      version: after.version,
      at: new Date(state.atMs).toISOString(),
      position: state.position,
    };
  }
}
