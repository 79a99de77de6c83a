// POS sales, live (`POST /v1/sales`) or as an offline backlog (`POST /v1/sales:batch`, NDJSON, one sale a
// line). Every line of a backlog is the same idempotent sale request as a live one, so a backlog
// replayed twice, in any order, is applied once: the second time every line is a duplicate. A bad line
// becomes a dead letter and does not stop the rest.

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { priorityGateOf } from '../../pos/priority-gate.ts';
import { registerTrackerOf } from '../../pos/registers.ts';
import type { AppServices } from '../app.ts';
import { requireLocations } from '../auth.ts';
import { errorReply, HttpError, toHttpError, validationFailed } from '../errors.ts';
import type { Outcome } from '../idempotency.ts';
import { callerOf, runMutation, sendOutcome } from '../idempotency.ts';
import { saleMutation } from '../mutations/sales.ts';
import { checkPayload } from '../payload.ts';
import { routeSchema } from '../route-schema.ts';
import type { SalesBatchResult } from '../schemas.ts';
import { Sale, SaleResult, SalesBatchBody, SalesBatchResult as SalesBatchResultSchema } from '../schemas.ts';

export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson'] as const;
/** An NDJSON backlog larger than this is refused with 413. */
export const ndjsonBodyBytesMax = 16 * 1024 * 1024;
/** Sales one backlog request may carry. */
export const salesPerBatchMax = 10_000;
/** Sales queued at once while a backlog is applied, so one backlog cannot fill a mailbox. */
const salesInFlightMax = 1_000;
export const SALES_BATCH_ADAPTER = 'http:sales:batch';

type LineResult =
  | { readonly line: number; readonly outcome: Outcome }
  | { readonly line: number; readonly error: HttpError };

export function salesRoutes(services: AppServices): FastifyPluginAsync {
  const scopes = ['sales:write'] as const;
  return async (app) => {
    app.addContentTypeParser(
      [...NDJSON_TYPES],
      { parseAs: 'string', bodyLimit: ndjsonBodyBytesMax },
      (_request, body, done) => done(null, body),
    );

    app.post<{ Body: Static<typeof Sale> }>(
      '/v1/sales',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'sales',
          summary: 'A POS sale: each line a sale at the location, committed together',
          description:
            'A sale is never refused for stock; a reserved unit sold makes the position `oversold`.',
          scopes,
          body: Sale,
          responses: { 201: SaleResult },
          errors: [409],
        }),
      },
      async (request, reply) => {
        // Live: queued at once, ahead of any backlog sale not yet admitted (adapters/pos/priority-gate.ts).
        const outcome = await priorityGateOf(services.engine).live(() =>
          runMutation(services, saleMutation, request.body, callerOf(request, 'http:sales')),
        );
        registerTrackerOf(services.engine).observe(request.body, outcome.replayed, services.engine.now());
        return sendOutcome(reply, outcome);
      },
    );

    app.post<{ Body: string }>(
      '/v1/sales::batch',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'sales',
          summary: 'An offline backlog: NDJSON, one sale (the body of POST /v1/sales) a line',
          description:
            `At most ${salesPerBatchMax} sales and ${ndjsonBodyBytesMax} bytes. Each line is idempotent by its ` +
            'transactionId; a bad line goes to the dead letters (`deadLetterId`) and does not stop the rest. ' +
            'When the engine is overloaded the whole request answers 503: retry it, lines already applied ' +
            'count as duplicates. A line naming a location the key may not touch refuses the whole backlog (403) ' +
            'before anything is applied.',
          scopes,
          body: {
            content: Object.fromEntries(NDJSON_TYPES.map((type) => [type, { schema: SalesBatchBody }])),
          },
          responses: { 200: SalesBatchResultSchema },
        }),
      },
      async (request, reply) => {
        // A JSON body that happens to be a string ("...") is not a backlog: only NDJSON is.
        const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
        if (typeof request.body !== 'string' || !(NDJSON_TYPES as readonly string[]).includes(mediaType)) {
          throw validationFailed([
            { path: '/headers/content-type', message: `must be ${NDJSON_TYPES.join(' or ')}` },
          ]);
        }
        const lines = request.body.split('\n').flatMap((text, at) => {
          const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
          return trimmed.trim() === '' ? [] : [{ line: at + 1, text: trimmed }];
        });
        if (lines.length > salesPerBatchMax) {
          throw new HttpError('PAYLOAD_TOO_LARGE', `a backlog carries at most ${salesPerBatchMax} sales`, {
            sales: lines.length,
          });
        }
        const caller = callerOf(request, SALES_BATCH_ADAPTER);
        const checkedLines = lines.map(({ line, text }) => ({
          line,
          checked: checkPayload<Static<typeof Sale>>(request, Sale, text),
        }));
        // A location the key may not touch refuses the whole backlog before anything is applied, as for
        // any multi-line body; such a line is not bad input, and must not become a dead letter that an
        // unrestricted key could later retry.
        requireLocations(
          caller.access,
          checkedLines.flatMap(({ checked }) => (checked.ok ? [checked.value.location] : [])),
        );
        const results: LineResult[] = [];
        for (let start = 0; start < checkedLines.length; start += salesInFlightMax) {
          const chunk = checkedLines.slice(start, start + salesInFlightMax).map(({ line, checked }) => {
            if (!checked.ok) return Promise.resolve<LineResult>({ line, error: checked.error });
            // A backlog yields to live sales: admitted by the engine's priority gate, in line order.
            return priorityGateOf(services.engine)
              .backlog(() => runMutation(services, saleMutation, checked.value, caller))
              .then(
                (outcome): LineResult => {
                  if (outcome.status < 300) {
                    registerTrackerOf(services.engine).observe(
                      checked.value,
                      outcome.replayed,
                      services.engine.now(),
                    );
                  }
                  return { line, outcome };
                },
                (error: unknown): LineResult => ({ line, error: toHttpError(error) }),
              );
          });
          results.push(...(await Promise.all(chunk)));
        }
        const transient = results.find((result) => 'error' in result && result.error.status === 503);
        if (transient !== undefined && 'error' in transient) throw transient.error;
        const answer: { accepted: number; duplicates: number; rejected: SalesBatchResult['rejected'] } = {
          accepted: 0,
          duplicates: 0,
          rejected: [],
        };
        const bad: { line: number; error: SalesBatchResult['rejected'][number]['error'] }[] = [];
        for (const result of results) {
          if ('outcome' in result && result.outcome.status < 300) {
            if (result.outcome.replayed) answer.duplicates++;
            else answer.accepted++;
          } else {
            const error = 'error' in result ? errorReply(result.error).error : errorOf(result.outcome.body);
            bad.push({ line: result.line, error });
          }
        }
        const textOf = new Map(lines.map(({ line, text }) => [line, text]));
        const letters = await services.engine.deadLetters.addMany(
          bad.map(({ line, error }) => ({
            adapter: SALES_BATCH_ADAPTER,
            reason: `${error.code}: line ${line}: ${error.message}`,
            payload: textOf.get(line) ?? '',
          })),
        );
        for (const [at, { line, error }] of bad.entries()) {
          answer.rejected.push({ line, error, deadLetterId: letters[at]!.id });
        }
        return reply.status(200).send(answer);
      },
    );
  };
}

function errorOf(body: unknown): { code: string; message: string; details: Record<string, unknown> } {
  return (body as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
}
