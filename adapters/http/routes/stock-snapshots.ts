// `POST /v1/stock-snapshots`: an ERP stock snapshot (text/csv, `location,sku,onHand`) compared with the
// ledger, answered with the variance report; `?post=true` also records each variance as a count,
// idempotent by the snapshot id and the row's line. Bad rows become dead letters. A location-limited key
// may send a snapshot only of its own locations (every good row's location is checked before anything).

import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import {
  isSnapshotId,
  parseSnapshot,
  reconcileSnapshot,
  snapshotIdLengthMax,
} from '../../erp/stock-snapshot.ts';
import { ImportRefusedError } from '../../mapping/imports.ts';
import { importRowsMax } from '../../mapping/master-data.ts';
import type { AppServices } from '../app.ts';
import { requireLocations } from '../auth.ts';
import { HttpError, validationFailed } from '../errors.ts';
import { CsvBody } from '../master-data-schemas.ts';
import { routeSchema } from '../route-schema.ts';
import { CSV_TYPES, csvBodyBytesMax } from './master-data.ts';

export const STOCK_SNAPSHOT_ADAPTER = 'http:stock-snapshots';

const SnapshotQuery = Type.Object(
  {
    post: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
    snapshotId: Type.Optional(
      Type.String({
        pattern: `^[A-Za-z0-9][A-Za-z0-9._:/-]{0,${snapshotIdLengthMax - 1}}$`,
        description: 'Default: derived from the body (`snapshot-` and 16 hex digits of its SHA-256)',
      }),
    ),
  },
  { additionalProperties: false },
);

const VarianceLine = Type.Object(
  {
    line: Type.Integer(),
    location: Type.String(),
    sku: Type.String(),
    ledgerOnHand: Type.Integer(),
    erpOnHand: Type.Integer(),
    variance: Type.Integer({ description: 'ERP minus ledger' }),
    posted: Type.Optional(
      Type.String({ description: '`applied`, `replayed` (posted before under this snapshot id) or a code' }),
    ),
    commandId: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const ReconcileReport = Type.Object(
  {
    snapshotId: Type.String(),
    posted: Type.Boolean(),
    rows: Type.Integer(),
    matching: Type.Integer(),
    variances: Type.Array(VarianceLine),
    rejected: Type.Array(
      Type.Object(
        { line: Type.Integer(), reason: Type.String(), deadLetterId: Type.String() },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export function stockSnapshotRoutes({ engine }: AppServices): FastifyPluginAsync {
  const scopes = ['supply:write', 'admin'] as const;
  return async (app) => {
    app.addContentTypeParser(
      [...CSV_TYPES],
      { parseAs: 'string', bodyLimit: csvBodyBytesMax },
      (_request, body, done) => done(null, body),
    );
    app.post<{ Body: string; Querystring: Static<typeof SnapshotQuery> }>(
      '/v1/stock-snapshots',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'supply',
          summary:
            'Reconcile an ERP stock snapshot (CSV) with the ledger; with post=true, post the variances',
          description:
            'Columns `location`, `sku`, `onHand` (all three, any order). Each row is compared with the ' +
            "ledger's onHand; SKU-locations the file does not name are not compared. Nothing changes unless " +
            '`post=true`: then each variance becomes a count (onHand set to the ERP figure), its command id ' +
            '`snapshot:<snapshotId>:<line>`, so posting the same snapshot again applies nothing twice. Bad ' +
            'rows (malformed, not an id, not a whole number, a SKU-location named twice) go to the dead ' +
            `letters. At most ${importRowsMax} rows and ${csvBodyBytesMax} bytes; a header that cannot be ` +
            'read is a 400 and nothing changes.',
          scopes,
          querystring: SnapshotQuery,
          body: { content: { 'text/csv': { schema: CsvBody } } },
          responses: { 200: ReconcileReport },
        }),
      },
      async (request) => {
        const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
        if (typeof request.body !== 'string' || !(CSV_TYPES as readonly string[]).includes(mediaType)) {
          throw validationFailed([{ path: '/headers/content-type', message: 'must be text/csv' }]);
        }
        let snapshot: ReturnType<typeof parseSnapshot>;
        try {
          snapshot = parseSnapshot(request.body);
        } catch (error) {
          if (!(error instanceof ImportRefusedError)) throw error;
          if (error.tooLarge) throw new HttpError('PAYLOAD_TOO_LARGE', error.message);
          throw validationFailed([{ path: '', message: error.message }]);
        }
        requireLocations(
          request.access,
          snapshot.rows.map((row) => row.location),
        );
        const snapshotId = request.query.snapshotId ?? snapshot.contentId;
        if (!isSnapshotId(snapshotId)) {
          throw validationFailed([{ path: '/querystring/snapshotId', message: 'must be a snapshot id' }]);
        }
        return reconcileSnapshot(engine, snapshot, {
          snapshotId,
          post: request.query.post === 'true',
          adapter: STOCK_SNAPSHOT_ADAPTER,
          meta: { correlationId: request.correlationId, source: STOCK_SNAPSHOT_ADAPTER },
        });
      },
    );
  };
}
