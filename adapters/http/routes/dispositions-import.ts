// `POST /v1/returns:dispositions-import`: an inspection CSV (`returnId,sku,qty,disposition`), its rows
// grouped per return into the ordinary disposition request (`POST /v1/returns/{returnId}/dispositions`,
// one idempotent job each). Bad rows, and the rows of a group the disposition refuses, become dead
// letters with the reason; the other groups are applied. A location-limited key may dispose only of
// returns at its locations: every known return of the file is checked before anything is applied.

import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { EngineError } from '../../../engine/errors.ts';
import { ImportRefusedError } from '../../mapping/imports.ts';
import { importRowsMax } from '../../mapping/master-data.ts';
import type { BadRow } from '../../returns/dispositions-import.ts';
import { dispositionIdOf, dispositionLines, parseDispositions } from '../../returns/dispositions-import.ts';
import type { AppServices } from '../app.ts';
import { requireLocations } from '../auth.ts';
import { HttpError, validationFailed } from '../errors.ts';
import { callerOf, runMutation } from '../idempotency.ts';
import { CsvBody } from '../master-data-schemas.ts';
import { disposeMutation } from '../mutations/returns.ts';
import { routeSchema } from '../route-schema.ts';
import { CSV_TYPES, csvBodyBytesMax } from './master-data.ts';

export const DISPOSITIONS_IMPORT_ADAPTER = 'http:dispositions:import';

const ImportQuery = Type.Object(
  {
    importId: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$',
        description: "Used as every group's disposition id; default: derived from each group's lines",
      }),
    ),
  },
  { additionalProperties: false },
);

const DispositionsImported = Type.Object(
  {
    returns: Type.Array(
      Type.Object(
        {
          returnId: Type.String(),
          dispositionId: Type.String(),
          outcome: Type.Union([Type.Literal('applied'), Type.Literal('replayed'), Type.Literal('rejected')]),
          lines: Type.Integer(),
        },
        { additionalProperties: false },
      ),
    ),
    rejected: Type.Array(
      Type.Object(
        { line: Type.Integer(), reason: Type.String(), deadLetterId: Type.String() },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
type DispositionsImported = Static<typeof DispositionsImported>;

export function dispositionsImportRoutes(services: AppServices): FastifyPluginAsync {
  const { engine } = services;
  const scopes = ['returns:write'] as const;
  return async (app) => {
    app.addContentTypeParser(
      [...CSV_TYPES],
      { parseAs: 'string', bodyLimit: csvBodyBytesMax },
      (_request, body, done) => done(null, body),
    );
    app.post<{ Body: string; Querystring: Static<typeof ImportQuery> }>(
      '/v1/returns::dispositions-import',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'returns',
          summary: 'Dispositions from an inspection CSV, grouped per return; bad rows to the dead letters',
          description:
            'Columns `returnId`, `sku`, `qty`, `disposition` (`restock | scrap | vendor`). The rows of a return ' +
            'make one disposition request (all its lines or none); its disposition id is `importId` or derived ' +
            'from its lines, so the same inspection sent again, in any order, applies nothing twice. A bad row ' +
            '(malformed, not an id, not a positive whole number, an unknown disposition, a SKU of a return ' +
            "named twice) and every row of a refused group (unknown return, more than the return's " +
            `quarantine) become dead letters. At most ${importRowsMax} rows; a header that cannot be read is a ` +
            '400 and nothing is applied.',
          scopes,
          querystring: ImportQuery,
          body: { content: { 'text/csv': { schema: CsvBody } } },
          responses: { 200: DispositionsImported },
        }),
      },
      async (request): Promise<DispositionsImported> => {
        const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
        if (typeof request.body !== 'string' || !(CSV_TYPES as readonly string[]).includes(mediaType)) {
          throw validationFailed([{ path: '/headers/content-type', message: 'must be text/csv' }]);
        }
        let parsed: ReturnType<typeof parseDispositions>;
        try {
          parsed = parseDispositions(request.body);
        } catch (error) {
          if (!(error instanceof ImportRefusedError)) throw error;
          if (error.tooLarge) throw new HttpError('PAYLOAD_TOO_LARGE', error.message);
          throw validationFailed([{ path: '', message: error.message }]);
        }
        const locations: string[] = [];
        for (const group of parsed.groups) {
          const header = engine.returnHeader(group.returnId);
          if (header !== undefined) locations.push(header.location);
        }
        requireLocations(request.access, locations);
        const caller = callerOf(request, DISPOSITIONS_IMPORT_ADAPTER);
        const bad: BadRow[] = [...parsed.bad];
        const returns = await Promise.all(
          parsed.groups.map(async (group) => {
            const dispositionId = dispositionIdOf(group, request.query.importId);
            const summary = { returnId: group.returnId, dispositionId, lines: group.rows.length };
            try {
              const outcome = await runMutation(
                services,
                disposeMutation,
                { returnId: group.returnId, dispositionId, lines: dispositionLines(group) },
                caller,
              );
              return { ...summary, outcome: outcome.replayed ? ('replayed' as const) : ('applied' as const) };
            } catch (error) {
              if (!(error instanceof HttpError || error instanceof EngineError)) throw error;
              for (const row of group.rows) {
                bad.push({
                  payload: { line: row.line, text: row.text },
                  reason: `${error.code}: ${error.message}`,
                });
              }
              return { ...summary, outcome: 'rejected' as const };
            }
          }),
        );
        bad.sort((left, right) => left.payload.line - right.payload.line);
        const letters = await engine.deadLetters.addMany(
          bad.map(({ payload, reason }) => ({ adapter: DISPOSITIONS_IMPORT_ADAPTER, reason, payload })),
        );
        return {
          returns,
          rejected: bad.map(({ payload, reason }, at) => ({
            line: payload.line,
            reason,
            deadLetterId: letters[at]!.id,
          })),
        };
      },
    );
  };
}
