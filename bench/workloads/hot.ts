// W2: one hot SKU-location holding `units` units under `demandFactor` times that demand: every
// operation is a reservation of one unit with a unique id. Exactly `units` of them can be held; the rest
// must be refused. Reservations live an hour, so none expires during a run and frees a unit.

import type { Target } from '../systems/system.ts';
import type { Issued } from './mixed.ts';

export const HOT_TARGET: Target = { location: 'store-hot', sku: 'sku-hot' };
const reservationTtlSeconds = 3_600;

export function* hotReservations(options: {
  readonly units: number;
  readonly demandFactor: number;
  readonly prefix: string;
}): Generator<Issued> {
  const attempts = options.units * options.demandFactor;
  for (let at = 0; at < attempts; at++) {
    const id = `${options.prefix}.hot.${at.toString(36)}`;
    yield {
      operation: {
        ...HOT_TARGET,
        kind: 'reserve',
        reservationId: id,
        qty: 1,
        ttlSeconds: reservationTtlSeconds,
      },
      id,
      settle: () => {},
    };
  }
}
