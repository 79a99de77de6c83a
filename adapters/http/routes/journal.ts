// `GET /v1/journal`: the movement journal for an ERP, one page after a cursor, as NDJSON or CSV. The
// cursor to resume from comes back in the `Journal-Cursor` header, and `Journal-End: true` says the page
// reached the newest durable record. The journal spans every location, so a location-limited key may
// not read it.

import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { JournalFormat } from '../../erp/journal.ts';
import {
  csvHeader,
  formatCursor,
  formatLines,
  JOURNAL_FORMATS,
  JOURNAL_START,
  journalPageLinesMax,
  parseCursor,
  readJournal,
} from '../../erp/journal.ts';
import type { AppServices } from '../app.ts';
import { forbidden, validationFailed } from '../errors.ts';
import { routeSchema } from '../route-schema.ts';
import { boundedInteger } from './stock.ts';

const journalPageLinesDefault = 1_000;

const JournalQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,15}\\.[0-9]{1,6}$',
        description: 'A cursor: `<feed position>.<entry>`',
      }),
    ),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Lines at most' })),
    format: Type.Optional(Type.Union(JOURNAL_FORMATS.map((format) => Type.Literal(format)))),
  },
  { additionalProperties: false },
);

const MEDIA_TYPES: Record<JournalFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export function journalRoutes({ engine }: AppServices): FastifyPluginAsync {
  const scopes = ['supply:write', 'admin'] as const;
  return async (app) => {
    app.get<{ Querystring: Static<typeof JournalQuery> }>(
      '/v1/journal',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'supply',
          summary: 'The movement journal after a cursor, as NDJSON or CSV (resumable, exactly once)',
          description:
            'One line per recorded event, in commit order: `position, shard, sequence, entry, event, at, ' +
            'location, sku, type, version, onHand, reserved, inTransit, quarantine` (deltas), `commandId, ' +
            'correlationId, source, reason`. `after` is a cursor from an earlier page (omitted: from the ' +
            `start); \`limit\` defaults to ${journalPageLinesDefault} (at most ${journalPageLinesMax}); an ` +
            'entry is never split, so a page exceeds it only when one entry alone does. The response ' +
            'header `Journal-Cursor` is the cursor to pass as `after` next; `Journal-End: true` says ' +
            'nothing more is recorded yet. A CSV page starts with its header row. Keys limited to some ' +
            'locations are refused (the journal spans every location).',
          scopes,
          querystring: JournalQuery,
          responses: { 200: Type.String({ description: 'application/x-ndjson or text/csv' }) },
        }),
      },
      async (request, reply) => {
        if (request.access.locations !== null) {
          throw forbidden(
            `the journal spans every location; the key "${request.access.name}" is limited to some`,
          );
        }
        const cursor = request.query.after === undefined ? JOURNAL_START : parseCursor(request.query.after);
        if (cursor === null) {
          throw validationFailed([{ path: '/querystring/after', message: 'must be a journal cursor' }]);
        }
        const limit = boundedInteger(
          request.query.limit,
          'limit',
          journalPageLinesDefault,
          journalPageLinesMax,
        );
        const format = request.query.format ?? 'ndjson';
        const page = readJournal(engine, cursor, limit);
        const header = format === 'csv' ? csvHeader() : '';
        return reply
          .status(200)
          .header('content-type', MEDIA_TYPES[format])
          .header('journal-cursor', formatCursor(page.next))
          .header('journal-end', String(page.end))
          .send(header + formatLines(page.lines, format));
      },
    );
  };
}
