// Returns: units enter quarantine; inspection disposes of them (restock, scrap, vendor).

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { findEntry } from '../../../actors/index.ts';
import type { AppServices } from '../app.ts';
import { requireLocations } from '../auth.ts';
import { HttpError } from '../errors.ts';
import { callerOf, runMutation, sendOutcome } from '../idempotency.ts';
import { disposeMutation, returnMutation } from '../mutations/returns.ts';
import { routeSchema } from '../route-schema.ts';
import { CreateReturn, Dispose, Disposed, Return, ReturnCreated, ReturnParams } from '../schemas.ts';
import { returnView } from '../views.ts';

export function returnRoutes(services: AppServices): FastifyPluginAsync {
  const scopes = ['returns:write'] as const;
  return async (app) => {
    app.post<{ Body: Static<typeof CreateReturn> }>(
      '/v1/returns',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'returns',
          summary: 'Returned units enter quarantine',
          scopes,
          body: CreateReturn,
          responses: { 201: ReturnCreated },
          errors: [409],
        }),
      },
      async (request, reply) =>
        sendOutcome(
          reply,
          await runMutation(services, returnMutation, request.body, callerOf(request, 'http:returns')),
        ),
    );

    app.post<{ Params: Static<typeof ReturnParams>; Body: Static<typeof Dispose> }>(
      '/v1/returns/:returnId/dispositions',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'returns',
          summary: "Inspection's decision: quarantine down; restock also puts the units on hand",
          description: "More than is left in the return's quarantine lot is 409 QUARANTINE_INSUFFICIENT.",
          scopes,
          params: ReturnParams,
          body: Dispose,
          responses: { 201: Disposed },
          errors: [404, 409],
        }),
      },
      async (request, reply) => {
        const input = { returnId: request.params.returnId, ...request.body };
        return sendOutcome(
          reply,
          await runMutation(services, disposeMutation, input, callerOf(request, 'http:returns')),
        );
      },
    );

    app.get<{ Params: Static<typeof ReturnParams> }>(
      '/v1/returns/:returnId',
      {
        config: { scopes: ['stock:read', 'returns:write'] },
        schema: routeSchema({
          tag: 'returns',
          summary: 'A return: returned, disposed by disposition, and still in quarantine, per SKU',
          scopes: ['stock:read', 'returns:write'],
          params: ReturnParams,
          responses: { 200: Return },
          errors: [404],
        }),
      },
      async (request) => {
        const header = services.engine.returnHeader(request.params.returnId);
        if (header === undefined) {
          throw new HttpError('RETURN_NOT_FOUND', `no return ${request.params.returnId}`, {
            returnId: request.params.returnId,
          });
        }
        requireLocations(request.access, [header.location]);
        return returnView(
          header,
          (sku) =>
            findEntry(services.engine.committedLedger(header.location, sku).returnLots, header.returnId)
              ?.qty ?? 0,
        );
      },
    );
  };
}
