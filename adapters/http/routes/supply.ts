// The supply side (ERP, WMS): receipts, transfers, adjustments, cycle counts, policies.

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppServices } from '../app.ts';
import { allowsLocation } from '../auth.ts';
import { forbidden, HttpError } from '../errors.ts';
import { callerOf, runMutation, sendOutcome } from '../idempotency.ts';
import {
  adjustMutation,
  countMutation,
  receiveMutation,
  setPolicyMutation,
  transferMutation,
  transferReceiptMutation,
} from '../mutations/supply.ts';
import { routeSchema } from '../route-schema.ts';
import {
  Adjustment,
  AdjustmentResult,
  CreateTransfer,
  CycleCount,
  CycleCountResult,
  Policy,
  PolicyResult,
  Receipt,
  ReceiptResult,
  StockParams,
  Transfer,
  TransferParams,
  TransferReceipt,
} from '../schemas.ts';
import { transferView } from '../views.ts';

export function supplyRoutes(services: AppServices): FastifyPluginAsync {
  const scopes = ['supply:write'] as const;
  return async (app) => {
    app.post<{ Body: Static<typeof Receipt> }>(
      '/v1/receipts',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'supply',
          summary: 'Goods received: onHand up',
          scopes,
          body: Receipt,
          responses: { 201: ReceiptResult },
          errors: [409],
        }),
      },
      async (request, reply) =>
        sendOutcome(
          reply,
          await runMutation(services, receiveMutation, request.body, callerOf(request, 'http:receipts')),
        ),
    );

    app.post<{ Body: Static<typeof CreateTransfer> }>(
      '/v1/transfers',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'supply',
          summary: 'Ship a transfer: source onHand down, destination inTransit up',
          description: 'The key must be allowed at both locations.',
          scopes,
          body: CreateTransfer,
          responses: { 201: Transfer },
          errors: [409],
        }),
      },
      async (request, reply) =>
        sendOutcome(
          reply,
          await runMutation(services, transferMutation, request.body, callerOf(request, 'http:transfers')),
        ),
    );

    app.post<{ Params: Static<typeof TransferParams>; Body: Static<typeof TransferReceipt> }>(
      '/v1/transfers/:id/receipt',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'supply',
          summary:
            'Receive a transfer: inTransit down by the shipped quantity, onHand up by the received one',
          description:
            'Each line says what was received; a shipped SKU left out was received as 0. One receipt per transfer.',
          scopes,
          params: TransferParams,
          body: TransferReceipt,
          responses: { 200: Transfer },
          errors: [404, 409],
        }),
      },
      async (request, reply) => {
        const input = { transferId: request.params.id, ...request.body };
        return sendOutcome(
          reply,
          await runMutation(services, transferReceiptMutation, input, callerOf(request, 'http:transfers')),
        );
      },
    );

    app.get<{ Params: Static<typeof TransferParams> }>(
      '/v1/transfers/:id',
      {
        config: { scopes: ['stock:read', 'supply:write'] },
        schema: routeSchema({
          tag: 'supply',
          summary: 'A transfer and its lines, with the variance once received',
          scopes: ['stock:read', 'supply:write'],
          params: TransferParams,
          responses: { 200: Transfer },
          errors: [404],
        }),
      },
      async (request) => {
        const header = services.engine.transferHeader(request.params.id);
        if (header === undefined) {
          throw new HttpError('TRANSFER_NOT_FOUND', `no transfer ${request.params.id}`, {
            transferId: request.params.id,
          });
        }
        if (!allowsLocation(request.access, header.from) && !allowsLocation(request.access, header.to)) {
          throw forbidden(`the key "${request.access.name}" may not see transfer ${header.transferId}`);
        }
        return transferView(header);
      },
    );

    app.post<{ Body: Static<typeof Adjustment> }>(
      '/v1/adjustments',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'supply',
          summary: 'Adjust onHand by a signed delta, with a reason',
          scopes,
          body: Adjustment,
          responses: { 201: AdjustmentResult },
          errors: [409],
        }),
      },
      async (request, reply) =>
        sendOutcome(
          reply,
          await runMutation(services, adjustMutation, request.body, callerOf(request, 'http:adjustments')),
        ),
    );

    app.post<{ Body: Static<typeof CycleCount> }>(
      '/v1/counts',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'supply',
          summary: 'A cycle count: onHand set to the count; answers each line variance',
          scopes,
          body: CycleCount,
          responses: { 201: CycleCountResult },
          errors: [409],
        }),
      },
      async (request, reply) =>
        sendOutcome(
          reply,
          await runMutation(services, countMutation, request.body, callerOf(request, 'http:counts')),
        ),
    );

    app.put<{ Params: Static<typeof StockParams>; Body: Static<typeof Policy> }>(
      '/v1/policies/:location/:sku',
      {
        config: { scopes: ['admin'] },
        schema: routeSchema({
          tag: 'supply',
          summary:
            'Replace the policy of a SKU at a location: safety stock, low-stock threshold, channel shares',
          description: 'Idempotent by what it says: a PUT of the policy in force records nothing.',
          scopes: ['admin'],
          params: StockParams,
          body: Policy,
          responses: { 200: PolicyResult },
        }),
      },
      async (request, reply) => {
        const input = { ...request.params, ...request.body };
        return sendOutcome(
          reply,
          await runMutation(services, setPolicyMutation, input, callerOf(request, 'http:policies')),
        );
      },
    );
  };
}
