// Master data over HTTP (DESIGN.md §7): the item master (SKUs, GTIN barcodes of units and cases, case
// sizes, kits), source store codes, their CSV imports, and reservations of kits. Writes need `admin`
// with no location limit (master data steers every location's commands); reads need `stock:read`, and a
// location-limited key reads only the store codes of its locations. Each write is answered only once it
// is on disk. A single write that breaks a
// rule answers 400 with the rule's reason (its caller is there to fix it); a bad row of an import
// becomes a dead letter and does not stop the other rows.

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ImportRefusedError, importItemsCsv, importLocationsCsv } from '../../mapping/imports.ts';
import { expandKitReservation } from '../../mapping/kits.ts';
import { importRowsMax, masterDataOf } from '../../mapping/master-data.ts';
import type { AppServices } from '../app.ts';
import { requireLocations } from '../auth.ts';
import { forbidden, HttpError, validationFailed } from '../errors.ts';
import { callerOf, runMutation, sendOutcome } from '../idempotency.ts';
import {
  Barcode,
  BarcodeParams,
  CsvBody,
  ImportResult,
  Item,
  ItemBody,
  ItemParams,
  ItemWritten,
  itemView,
  KitReservation,
  LocationCode,
  LocationCodeBody,
  LocationCodeParams,
  LocationCodeWritten,
  locationCodeView,
} from '../master-data-schemas.ts';
import { reserveMutation } from '../mutations/reservations.ts';
import { routeSchema } from '../route-schema.ts';
import { Reservation } from '../schemas.ts';

export const CSV_TYPES = ['text/csv'] as const;
/** A CSV import larger than this is refused with 413. */
export const csvBodyBytesMax = 16 * 1024 * 1024;

/** Master data is every location's: a key limited to some locations may not change it. */
function requireUnrestricted(request: FastifyRequest): void {
  if (request.access.locations !== null) {
    throw forbidden(
      `master data applies to every location; the key "${request.access.name}" is limited to some`,
    );
  }
}

function refused(reason: string, path: string): HttpError {
  return new HttpError('VALIDATION_FAILED', reason, { issues: [{ path, message: reason }] });
}

export function masterDataRoutes(services: AppServices): FastifyPluginAsync {
  const { engine } = services;
  const master = masterDataOf(engine);
  const writeScopes = ['admin'] as const;
  const readScopes = ['stock:read'] as const;

  const importRoute = (kind: 'items' | 'locations') => async (request: FastifyRequest) => {
    requireUnrestricted(request);
    const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
    if (typeof request.body !== 'string' || !(CSV_TYPES as readonly string[]).includes(mediaType)) {
      throw validationFailed([{ path: '/headers/content-type', message: 'must be text/csv' }]);
    }
    try {
      return kind === 'items'
        ? await importItemsCsv(engine, request.body)
        : await importLocationsCsv(engine, request.body);
    } catch (error) {
      if (!(error instanceof ImportRefusedError)) throw error;
      if (error.tooLarge) throw new HttpError('PAYLOAD_TOO_LARGE', error.message);
      throw refused(error.message, '');
    }
  };

  return async (app) => {
    app.addContentTypeParser(
      [...CSV_TYPES],
      { parseAs: 'string', bodyLimit: csvBodyBytesMax },
      (_request, body, done) => done(null, body),
    );

    app.put<{ Params: Static<typeof ItemParams>; Body: Static<typeof ItemBody> }>(
      '/v1/items/:sku',
      {
        config: { scopes: writeScopes },
        schema: routeSchema({
          tag: 'master-data',
          summary: 'Create or replace an item: description, barcodes, case size, kit components',
          description:
            'Barcodes are GTIN-8/12/13/14 with a valid check digit, stored as 14 digits, each naming one SKU. ' +
            "A kit's components must be items that are not kits. The same body again changes nothing (`unchanged`).",
          scopes: writeScopes,
          params: ItemParams,
          body: ItemBody,
          responses: { 200: ItemWritten, 201: ItemWritten },
        }),
      },
      async (request, reply) => {
        requireUnrestricted(request);
        const outcome = await master.putItem({ sku: request.params.sku, ...request.body });
        if (outcome.status === 'rejected') throw refused(outcome.reason, '');
        return reply
          .status(outcome.status === 'created' ? 201 : 200)
          .send({ change: outcome.status, item: itemView(outcome.record) });
      },
    );

    app.get<{ Params: Static<typeof ItemParams> }>(
      '/v1/items/:sku',
      {
        config: { scopes: readScopes },
        schema: routeSchema({
          tag: 'master-data',
          summary: 'An item of the item master',
          scopes: readScopes,
          params: ItemParams,
          responses: { 200: Item },
          errors: [404],
        }),
      },
      async (request) => {
        const item = master.item(request.params.sku);
        if (item === undefined) {
          throw new HttpError('NOT_FOUND', `no item ${request.params.sku}`, { sku: request.params.sku });
        }
        return itemView(item);
      },
    );

    app.get<{ Params: Static<typeof BarcodeParams> }>(
      '/v1/barcodes/:gtin',
      {
        config: { scopes: readScopes },
        schema: routeSchema({
          tag: 'master-data',
          summary: 'The SKU a barcode names, and whether it is a unit or a case',
          scopes: readScopes,
          params: BarcodeParams,
          responses: { 200: Barcode },
          errors: [404],
        }),
      },
      async (request) => {
        const found = master.barcode(request.params.gtin);
        if (found === undefined) {
          throw new HttpError('NOT_FOUND', `no item has the barcode ${request.params.gtin}`, {
            gtin: request.params.gtin,
          });
        }
        return { barcode: request.params.gtin.padStart(14, '0'), sku: found.sku, unit: found.unit };
      },
    );

    app.post<{ Body: string }>(
      '/v1/items::import',
      {
        config: { scopes: writeScopes },
        schema: routeSchema({
          tag: 'master-data',
          summary: 'Import items from CSV: good rows applied together, bad rows to the dead letters',
          description:
            'Columns (a header line names them, in any order; only `sku` is required): `sku`, `description`, ' +
            '`barcodes` (unit GTINs separated by `;`), `case_barcodes` (case GTINs, `;`), `case_size`, ' +
            "`components` (a kit's `SKU*qty` separated by `;`). The rows are checked as a set, in no particular " +
            `order. At most ${importRowsMax} rows and ${csvBodyBytesMax} bytes. A header that cannot be read is a ` +
            '400 and nothing is applied.',
          scopes: writeScopes,
          body: { content: { 'text/csv': { schema: CsvBody } } },
          responses: { 200: ImportResult },
        }),
      },
      importRoute('items'),
    );

    app.put<{ Params: Static<typeof LocationCodeParams>; Body: Static<typeof LocationCodeBody> }>(
      '/v1/locations/:code',
      {
        config: { scopes: writeScopes },
        schema: routeSchema({
          tag: 'master-data',
          summary: "Map a source system's store code to a location",
          description:
            'The code is free text (percent-encoded in the path), trimmed, 1 to 128 characters: a POS store ' +
            'number, a warehouse code, a country name in a sales log.',
          scopes: writeScopes,
          params: LocationCodeParams,
          body: LocationCodeBody,
          responses: { 200: LocationCodeWritten, 201: LocationCodeWritten },
        }),
      },
      async (request, reply) => {
        requireUnrestricted(request);
        const outcome = await master.putLocationCode({ code: request.params.code, ...request.body });
        if (outcome.status === 'rejected') throw refused(outcome.reason, '');
        return reply
          .status(outcome.status === 'created' ? 201 : 200)
          .send({ change: outcome.status, locationCode: locationCodeView(outcome.record) });
      },
    );

    app.get<{ Params: Static<typeof LocationCodeParams> }>(
      '/v1/locations/:code',
      {
        config: { scopes: readScopes },
        schema: routeSchema({
          tag: 'master-data',
          summary: 'The location a store code stands for',
          scopes: readScopes,
          params: LocationCodeParams,
          responses: { 200: LocationCode },
          errors: [404],
        }),
      },
      async (request) => {
        const found = master.locationCode(request.params.code);
        if (found === undefined) {
          throw new HttpError('NOT_FOUND', `no location code ${JSON.stringify(request.params.code)}`, {
            code: request.params.code,
          });
        }
        requireLocations(request.access, [found.location]);
        return locationCodeView(found);
      },
    );

    app.post<{ Body: string }>(
      '/v1/locations::import',
      {
        config: { scopes: writeScopes },
        schema: routeSchema({
          tag: 'master-data',
          summary: 'Import store codes from CSV: columns `code`, `location`, `name` (optional)',
          description: `At most ${importRowsMax} rows; bad rows go to the dead letters and do not stop the rest.`,
          scopes: writeScopes,
          body: { content: { 'text/csv': { schema: CsvBody } } },
          responses: { 200: ImportResult },
        }),
      },
      importRoute('locations'),
    );

    app.post<{ Body: Static<typeof KitReservation> }>(
      '/v1/kit-reservations',
      {
        config: { scopes: ['reservations:write'] },
        schema: routeSchema({
          tag: 'master-data',
          summary: 'Reserve kits: each kit line becomes its component lines, held all or nothing',
          description:
            'The body of POST /v1/reservations without `mode`: lines may name kits, plain SKUs or barcodes. The ' +
            'reservation is made, and answered, as POST /v1/reservations would with the component lines ' +
            '(summed per SKU-location) and `mode: all-or-nothing`; commit, fulfil and release it there.',
          scopes: ['reservations:write'],
          body: KitReservation,
          responses: { 201: Reservation },
          errors: [409],
        }),
      },
      async (request, reply) => {
        const { reservationId, channel, ttlSeconds, lines } = request.body;
        const expanded = expandKitReservation(master, {
          reservationId,
          channel,
          ttlSeconds: ttlSeconds ?? null,
          lines,
        });
        if (!expanded.ok) throw refused(expanded.reason, '/lines');
        const input = {
          reservationId,
          channel,
          ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
          mode: 'all-or-nothing' as const,
          lines: expanded.value.lines.map((line) => ({ ...line })),
        };
        return sendOutcome(
          reply,
          await runMutation(services, reserveMutation, input, callerOf(request, 'http:kit-reservations')),
        );
      },
    );
  };
}
