// `POST /v1/receipts:import` (`receiptId,location,sku,qty`) and `POST /v1/transfers:import`
// (`transferId,from,to,sku,qty`), text/csv: rows grouped by document id into the ordinary receipt or
// transfer request, one idempotent job each. Bad rows, and every row of a document the request refuses,
// become dead letters with the reason; the other documents are applied. A location-limited key must be
// allowed every location the file's documents name, checked before anything is applied.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { EngineError } from '../../../engine/errors.ts';
import type { BadDocumentRow, CsvDocument, DocumentKind } from '../../erp/grouped-csv.ts';
import { parseDocuments, sortedLines } from '../../erp/grouped-csv.ts';
import { ImportRefusedError } from '../../mapping/imports.ts';
import { importRowsMax } from '../../mapping/master-data.ts';
import type { AppServices } from '../app.ts';
import { requireLocations } from '../auth.ts';
import { HttpError, validationFailed } from '../errors.ts';
import { callerOf, runMutation } from '../idempotency.ts';
import { CsvBody } from '../master-data-schemas.ts';
import { receiveMutation, transferMutation } from '../mutations/supply.ts';
import { routeSchema } from '../route-schema.ts';
import { CSV_TYPES, csvBodyBytesMax } from './master-data.ts';

const DocumentsImported = Type.Object(
  {
    documents: Type.Array(
      Type.Object(
        {
          id: Type.String(),
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

interface ImportSpec {
  readonly path: string;
  readonly adapter: string;
  readonly kind: DocumentKind;
  readonly summary: string;
  locations(document: CsvDocument): string[];
  run(services: AppServices, document: CsvDocument, request: FastifyRequest): ReturnType<typeof runMutation>;
}

const RECEIPTS: ImportSpec = {
  path: '/v1/receipts::import',
  adapter: 'http:receipts:import',
  kind: { idColumn: 'receiptId', fieldColumns: ['location'] },
  summary:
    'Receipts from CSV (`receiptId,location,sku,qty`), grouped per receipt; bad rows to the dead letters',
  locations: (document) => [document.fields.location!],
  run: (services, document, request) =>
    runMutation(
      services,
      receiveMutation,
      { receiptId: document.id, location: document.fields.location!, lines: sortedLines(document) },
      callerOf(request, 'http:receipts:import'),
    ),
};

const TRANSFERS: ImportSpec = {
  path: '/v1/transfers::import',
  adapter: 'http:transfers:import',
  kind: { idColumn: 'transferId', fieldColumns: ['from', 'to'] },
  summary:
    'Transfers from CSV (`transferId,from,to,sku,qty`), grouped per transfer; bad rows to the dead letters',
  locations: (document) => [document.fields.from!, document.fields.to!],
  run: (services, document, request) =>
    runMutation(
      services,
      transferMutation,
      {
        transferId: document.id,
        from: document.fields.from!,
        to: document.fields.to!,
        lines: sortedLines(document),
      },
      callerOf(request, 'http:transfers:import'),
    ),
};

export function supplyImportRoutes(services: AppServices): FastifyPluginAsync {
  const { engine } = services;
  const scopes = ['supply:write'] as const;
  return async (app) => {
    app.addContentTypeParser(
      [...CSV_TYPES],
      { parseAs: 'string', bodyLimit: csvBodyBytesMax },
      (_request, body, done) => done(null, body),
    );
    for (const spec of [RECEIPTS, TRANSFERS]) {
      app.post<{ Body: string }>(
        spec.path,
        {
          config: { scopes },
          schema: routeSchema({
            tag: 'supply',
            summary: spec.summary,
            description:
              `The rows of one \`${spec.kind.idColumn}\` make one request (all its lines or none), its lines in SKU ` +
              'order, so the same document sent again, in any row order, applies nothing twice. A bad row ' +
              '(malformed, not an id, not a positive whole number, a SKU named twice, document fields that ' +
              'differ from its first row) and every row of a refused document become dead letters. ' +
              `At most ${importRowsMax} rows; a header that cannot be read is a 400 and nothing is applied.`,
            scopes,
            body: { content: { 'text/csv': { schema: CsvBody } } },
            responses: { 200: DocumentsImported },
          }),
        },
        async (request) => {
          const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
          if (typeof request.body !== 'string' || !(CSV_TYPES as readonly string[]).includes(mediaType)) {
            throw validationFailed([{ path: '/headers/content-type', message: 'must be text/csv' }]);
          }
          let parsed: ReturnType<typeof parseDocuments>;
          try {
            parsed = parseDocuments(request.body, spec.kind);
          } catch (error) {
            if (!(error instanceof ImportRefusedError)) throw error;
            if (error.tooLarge) throw new HttpError('PAYLOAD_TOO_LARGE', error.message);
            throw validationFailed([{ path: '', message: error.message }]);
          }
          requireLocations(request.access, parsed.documents.flatMap(spec.locations));
          const bad: BadDocumentRow[] = [...parsed.bad];
          const documents = await Promise.all(
            parsed.documents.map(async (document) => {
              const summary = { id: document.id, lines: document.lines.length };
              try {
                const outcome = await spec.run(services, document, request);
                return {
                  ...summary,
                  outcome: outcome.replayed ? ('replayed' as const) : ('applied' as const),
                };
              } catch (error) {
                if (!(error instanceof HttpError || error instanceof EngineError)) throw error;
                for (const line of document.lines) {
                  bad.push({
                    payload: { line: line.line, text: line.text },
                    reason: `${error.code}: ${error.message}`,
                  });
                }
                return { ...summary, outcome: 'rejected' as const };
              }
            }),
          );
          bad.sort((left, right) => left.payload.line - right.payload.line);
          const letters = await engine.deadLetters.addMany(
            bad.map(({ payload, reason }) => ({ adapter: spec.adapter, reason, payload })),
          );
          return {
            documents,
            rejected: bad.map(({ payload, reason }, at) => ({
              line: payload.line,
              reason,
              deadLetterId: letters[at]!.id,
            })),
          };
        },
      );
    }
  };
}
