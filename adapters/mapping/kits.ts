// Kits: a kit SKU is a set of components (SKU × quantity) that is never stocked as such. What a channel
// may sell of a kit at a location is what its scarcest component allows: min over components of
// ⌊component available-to-sell ÷ qty⌋ (and the same of each component's channel exposure). Reserving a
// kit reserves its components, all or nothing, through the reservation coordinator: either every
// component line is held or none is.

import { exposedTo } from '../../actors/index.ts';
import type { Engine, JobResult } from '../../engine/engine.ts';
import { EngineError } from '../../engine/errors.ts';
import { positionOf } from '../../engine/inputs.ts';
import type { CreateReservation, CreateResult, LineRequest } from '../../engine/reservations.ts';
import type { CommandMeta, ItemRecord } from '../../engine/store/records.ts';
import type { Checked } from './items.ts';
import type { MasterData } from './master-data.ts';
import { Resolver } from './resolver.ts';

export interface KitAvailability {
  readonly location: string;
  readonly availableToSell: number;
  readonly exposed: number;
  readonly status: 'inStock' | 'lowStock' | 'outOfStock';
}

/**
 * A kit's figures at one location. `status` is `outOfStock` when no whole kit is available, `lowStock`
 * when any component is low, `inStock` otherwise.
 */
export function kitAvailability(
  engine: Engine,
  kit: ItemRecord,
  location: string,
  channel: string | null,
): KitAvailability {
  let availableToSell = Number.POSITIVE_INFINITY;
  let exposed = Number.POSITIVE_INFINITY;
  let low = false;
  for (const component of kit.components) {
    const ledger = engine.committedLedger(location, component.sku);
    const position = positionOf(ledger);
    availableToSell = Math.min(availableToSell, Math.floor(position.availableToSell / component.qty));
    exposed = Math.min(exposed, Math.floor(exposedTo(ledger, channel) / component.qty));
    low ||= position.status === 'lowStock';
  }
  if (!Number.isFinite(availableToSell)) availableToSell = 0;
  if (!Number.isFinite(exposed)) exposed = 0;
  const status = availableToSell === 0 ? 'outOfStock' : low ? 'lowStock' : 'inStock';
  return { location, availableToSell, exposed, status };
}

/** Locations where every component of the kit has a position, in order, at most `limit`. */
export function kitLocations(engine: Engine, kit: ItemRecord, limit: number): string[] {
  const [first, ...others] = kit.components;
  if (first === undefined) return [];
  const locations: string[] = [];
  for (const location of engine.locationsOf(first.sku, Number.MAX_SAFE_INTEGER)) {
    if (others.every((component) => engine.committedLedger(location, component.sku).version > 0)) {
      locations.push(location);
      if (locations.length === limit) break;
    }
  }
  return locations;
}

export interface KitReservationRequest {
  readonly reservationId: string;
  readonly channel: string;
  readonly ttlSeconds: number | null;
  /** Lines naming kits (and plain SKUs, or barcodes) at locations. */
  readonly lines: readonly LineRequest[];
}

/**
 * A reservation whose kit lines are replaced by their components (summed per SKU-location with any
 * plain line of the same SKU), all-or-nothing: a kit is never half held.
 */
export function expandKitReservation(
  master: MasterData,
  request: KitReservationRequest,
): Checked<CreateReservation> {
  const resolver = new Resolver(master, { codesAreSkus: true });
  const byLocation = new Map<string, LineRequest[]>();
  for (const line of request.lines)
    byLocation.set(line.location, [...(byLocation.get(line.location) ?? []), line]);
  const lines: LineRequest[] = [];
  for (const [location, located] of byLocation) {
    const resolved = resolver.lines(located.map((line) => ({ code: line.sku, qty: line.qty })));
    if (!resolved.ok) return resolved;
    for (const line of resolved.value) lines.push({ sku: line.sku, location, qty: line.qty });
  }
  return {
    ok: true,
    value: {
      reservationId: request.reservationId,
      channel: request.channel,
      ttlSeconds: request.ttlSeconds,
      mode: 'all-or-nothing',
      lines,
    },
  };
}

/** Reserves kits through the engine's coordinator; VALIDATION_FAILED (with the reason) if they do not expand. */
export function reserveKit(
  engine: Engine,
  master: MasterData,
  request: KitReservationRequest,
  meta: CommandMeta,
): Promise<JobResult<CreateResult>> {
  const expanded = expandKitReservation(master, request);
  if (!expanded.ok) {
    return Promise.reject(
      new EngineError('VALIDATION_FAILED', expanded.reason, {
        issues: [{ path: '/lines', message: expanded.reason }],
      }),
    );
  }
  return engine.reservations.create(expanded.value, meta);
}
