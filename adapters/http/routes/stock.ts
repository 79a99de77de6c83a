// Stock reads: a SKU-location's position (now or as of an instant), its audit history, and a SKU's
// availability across locations as a channel sees it.

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { exposedTo } from '../../../actors/index.ts';
import { positionOf } from '../../../engine/inputs.ts';
import { kitAvailability, kitLocations } from '../../mapping/kits.ts';
import { masterDataOf } from '../../mapping/master-data.ts';
import type { AppServices } from '../app.ts';
import { allowsLocation, requireLocations } from '../auth.ts';
import { validationFailed } from '../errors.ts';
import { routeSchema } from '../route-schema.ts';
import {
  Availability,
  AvailabilityParams,
  AvailabilityQuery,
  History,
  HistoryQuery,
  Position,
  StockParams,
  StockQuery,
} from '../schemas.ts';
import { historyEntryView, positionView } from '../views.ts';

export const historyPageDefault = 100;
export const historyPageMax = 1_000;
/** Locations one availability answer lists at most. */
export const availabilityLocationsMax = 1_000;

/** A decimal-digit query parameter as a number within bounds, or a 400 naming it. */
export function boundedInteger(
  text: string | undefined,
  name: string,
  fallback: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (value < 1 || value > max) {
    throw validationFailed([{ path: `/querystring/${name}`, message: `must be from 1 to ${max}` }]);
  }
  return value;
}

export function stockRoutes({ engine }: AppServices): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: Static<typeof StockParams>; Querystring: Static<typeof StockQuery> }>(
      '/v1/stock/:location/:sku',
      {
        config: { scopes: ['stock:read'] },
        schema: routeSchema({
          tag: 'stock',
          summary: 'The position of a SKU at a location, now or as of an instant',
          description: 'An unknown pair answers every bucket 0 and version 0.',
          scopes: ['stock:read'],
          params: StockParams,
          querystring: StockQuery,
          responses: { 200: Position },
        }),
      },
      async (request) => {
        const { location, sku } = request.params;
        requireLocations(request.access, [location]);
        const asOf = request.query.asOf;
        if (asOf === undefined) return positionView(engine.position(location, sku));
        return positionView(engine.positionAsOf(location, sku, Date.parse(asOf)));
      },
    );

    app.get<{ Params: Static<typeof StockParams>; Querystring: Static<typeof HistoryQuery> }>(
      '/v1/stock/:location/:sku/history',
      {
        config: { scopes: ['stock:read'] },
        schema: routeSchema({
          tag: 'stock',
          summary: 'The audit ledger of a SKU at a location, newest first',
          description: `\`limit\` defaults to ${historyPageDefault} (at most ${historyPageMax}); pass \`next\` as \`before\` for the next page.`,
          scopes: ['stock:read'],
          params: StockParams,
          querystring: HistoryQuery,
          responses: { 200: History },
        }),
      },
      async (request) => {
        const { location, sku } = request.params;
        requireLocations(request.access, [location]);
        const limit = boundedInteger(request.query.limit, 'limit', historyPageDefault, historyPageMax);
        const before =
          request.query.before === undefined
            ? null
            : boundedInteger(request.query.before, 'before', 0, Number.MAX_SAFE_INTEGER);
        const page = engine.history(location, sku, limit, before);
        return { entries: page.entries.map(historyEntryView), next: page.next };
      },
    );

    app.get<{ Params: Static<typeof AvailabilityParams>; Querystring: Static<typeof AvailabilityQuery> }>(
      '/v1/availability/:sku',
      {
        config: { scopes: ['stock:read'] },
        schema: routeSchema({
          tag: 'stock',
          summary: "A SKU's availability across locations, as a channel sees it",
          description:
            "`exposed` applies the channel's share of available-to-sell; `total` sums `exposed`. For a kit, each figure is the minimum over its components of ⌊component figure ÷ quantity per kit⌋. Without `locations`, every location that has a position for the SKU (for a kit: for every component) that the key may see, up to " +
            `${availabilityLocationsMax}.`,
          scopes: ['stock:read'],
          params: AvailabilityParams,
          querystring: AvailabilityQuery,
          responses: { 200: Availability },
        }),
      },
      async (request) => {
        const { sku } = request.params;
        const channel = request.query.channel ?? null;
        // A kit is never stocked as such: its figures are its components' (adapters/mapping/kits.ts).
        const kit = masterDataOf(engine).kit(sku);
        const locationsOf = (limit: number) =>
          kit === null ? engine.locationsOf(sku, limit) : kitLocations(engine, kit, limit);
        let locations: string[];
        if (request.query.locations === undefined) {
          locations =
            request.access.locations === null
              ? locationsOf(availabilityLocationsMax)
              : locationsOf(Number.MAX_SAFE_INTEGER)
                  .filter((location) => allowsLocation(request.access, location))
                  .slice(0, availabilityLocationsMax);
        } else {
          locations = [...new Set(request.query.locations.split(','))];
          if (locations.length > availabilityLocationsMax) {
            throw validationFailed([
              {
                path: '/querystring/locations',
                message: `names at most ${availabilityLocationsMax} locations`,
              },
            ]);
          }
          requireLocations(request.access, locations);
        }
        const rows = locations.map((location) => {
          if (kit !== null) return kitAvailability(engine, kit, location, channel);
          const ledger = engine.committedLedger(location, sku);
          const position = positionOf(ledger);
          return {
            location,
            availableToSell: position.availableToSell,
            exposed: exposedTo(ledger, channel),
            status: position.status,
          };
        });
        return { sku, total: rows.reduce((sum, row) => sum + row.exposed, 0), locations: rows };
      },
    );
  };
}
