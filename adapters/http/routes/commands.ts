// The bulk path for adapters and benchmarks: `POST /v1/commands` takes up to 1,000 commands, each the
// body of its endpoint (with the ids of its path) plus `type`, and answers one outcome per command, in
// order: the status and body its endpoint would have answered. Commands are never all-or-nothing
// across each other. Each runs exactly as its endpoint does, under the same idempotency key, so a sale
// sent here and later to POST /v1/sales is applied once. The commands of one request go through one
// mailbox, so they are applied in the order given.

import type { FastifyPluginAsync } from 'fastify';
import type { AppServices } from '../app.ts';
import { SCOPES } from '../auth.ts';
import { errorReply, toHttpError } from '../errors.ts';
import type { Outcome } from '../idempotency.ts';
import { callerOf, runMutation } from '../idempotency.ts';
import { MUTATIONS } from '../mutations/index.ts';
import type { Mutation } from '../mutations/mutation.ts';
import { routeSchema } from '../route-schema.ts';
import type { CommandResults, Commands } from '../schemas.ts';
import { CommandResults as CommandResultsSchema, Commands as CommandsSchema } from '../schemas.ts';

export function commandRoutes(services: AppServices): FastifyPluginAsync {
  const scopes = SCOPES.filter((scope) => scope !== 'stock:read');
  return async (app) => {
    app.post<{ Body: Commands }>(
      '/v1/commands',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'commands',
          summary: 'Many commands at once, one outcome each, in order',
          description:
            'Each command is the body of its endpoint plus `type` (receive = POST /v1/receipts, sale, reserve, ' +
            'commit, fulfil, release, return, dispose, transfer, transferReceipt, adjust = POST /v1/adjustments, ' +
            'count, setPolicy) with the path ids in the body (`reservationId`, `returnId`, `transferId`, ' +
            '`location`/`sku`). Each needs the scope and locations its endpoint needs; a command the key may not ' +
            'send answers 403 and the others go on.',
          scopes,
          body: CommandsSchema,
          responses: { 200: CommandResultsSchema },
        }),
      },
      async (request) => {
        const caller = callerOf(request, 'http:commands');
        const shard = services.engine.shardOfKey(request.correlationId);
        const outcomes = request.body.commands.map((command) => {
          const { type, ...input } = command;
          const mutation = MUTATIONS[type] as unknown as Mutation<typeof input>;
          const id = mutation.id(input);
          return runMutation(services, mutation, input, caller, shard).then(
            (outcome: Outcome) => ({ type, id, ...outcome }),
            (error: unknown) => {
              const http = toHttpError(error);
              return { type, id, status: http.status, replayed: false, body: errorReply(http) };
            },
          );
        });
        const results: CommandResults['results'] = await Promise.all(outcomes);
        return { results };
      },
    );
  };
}
