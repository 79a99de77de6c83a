// `GET /v1/returns/quarantine`: open quarantine by age, for inspection teams. Each line is one SKU of one
// return with units still awaiting disposition (returned less disposed, from the return header), with
// its age since the return was recorded, oldest first. A location-limited key sees only its locations.
// The path is static, so it wins over `/v1/returns/{returnId}`: a return whose id is `quarantine` is read
// through this report instead.

import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ReturnHeader } from '../../../engine/store/records.ts';
import type { AppServices } from '../app.ts';
import { allowsLocation } from '../auth.ts';
import { routeSchema } from '../route-schema.ts';
import { iso } from '../views.ts';
import { boundedInteger } from './stock.ts';

const quarantineLinesDefault = 500;
const quarantineLinesMax = 5_000;
const hourMs = 3_600_000;

const QuarantineQuery = Type.Object(
  {
    olderThanHours: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,6}$', description: 'Only lines at least this many hours old' }),
    ),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Lines at most' })),
  },
  { additionalProperties: false },
);

const QuarantineLine = Type.Object(
  {
    returnId: Type.String(),
    location: Type.String(),
    sku: Type.String(),
    quarantine: Type.Integer({ description: 'Units of this return still awaiting disposition' }),
    returnedAt: Type.String(),
    ageHours: Type.Number(),
  },
  { additionalProperties: false },
);

const QuarantineReport = Type.Object(
  {
    asOf: Type.String(),
    lines: Type.Array(QuarantineLine),
    truncated: Type.Boolean({ description: 'More lines matched than `limit`' }),
  },
  { additionalProperties: false },
);
type QuarantineLine = Static<typeof QuarantineLine>;

function openLines(header: ReturnHeader, nowMs: number): QuarantineLine[] {
  const ageHours = Math.floor(((nowMs - header.createdAtMs) / hourMs) * 100) / 100;
  return header.lines.flatMap((line) => {
    const left = line.returned - line.disposed.restock - line.disposed.scrap - line.disposed.vendor;
    if (left <= 0) return [];
    return [
      {
        returnId: header.returnId,
        location: header.location,
        sku: line.sku,
        quarantine: left,
        returnedAt: iso(header.createdAtMs),
        ageHours,
      },
    ];
  });
}

export function quarantineRoutes({ engine }: AppServices): FastifyPluginAsync {
  const scopes = ['stock:read', 'returns:write'] as const;
  return async (app) => {
    app.get<{ Querystring: Static<typeof QuarantineQuery> }>(
      '/v1/returns/quarantine',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'returns',
          summary: 'Open quarantine by age: units of each return still awaiting disposition, oldest first',
          description:
            `\`olderThanHours\` keeps lines at least that old (default 0); \`limit\` defaults to ${quarantineLinesDefault} ` +
            `(at most ${quarantineLinesMax}), and \`truncated\` says more matched. A location-limited key sees only its locations.`,
          scopes,
          querystring: QuarantineQuery,
          responses: { 200: QuarantineReport },
        }),
      },
      async (request) => {
        const limit = boundedInteger(
          request.query.limit,
          'limit',
          quarantineLinesDefault,
          quarantineLinesMax,
        );
        const olderThanMs = Number(request.query.olderThanHours ?? '0') * hourMs;
        const nowMs = engine.now();
        const lines: QuarantineLine[] = [];
        for (const { value: header } of engine.store.returns.getRange({})) {
          if (nowMs - header.createdAtMs < olderThanMs) continue;
          if (!allowsLocation(request.access, header.location)) continue;
          for (const line of openLines(header, nowMs)) lines.push(line);
        }
        lines.sort(
          (left, right) =>
            left.returnedAt.localeCompare(right.returnedAt) ||
            left.returnId.localeCompare(right.returnId) ||
            left.sku.localeCompare(right.sku),
        );
        return { asOf: iso(nowMs), lines: lines.slice(0, limit), truncated: lines.length > limit };
      },
    );
  };
}
