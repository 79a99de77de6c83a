// `POST /v1/webhooks/orders`: ecommerce order webhooks, authenticated by an HMAC-SHA256 signature over
// the raw body rather than an API key (a platform cannot send ours). The signature is checked in this
// plugin's own JSON parser, on the exact bytes received, before anything is parsed: a bad or missing
// signature, or a timestamp outside the tolerance window, is 401 and nothing is recorded. A request
// that passes is one engine job keyed by its webhook id (order-webhook.ts), so a replay inside the
// window is answered the first answer and changes nothing, and past the window its timestamp is
// refused. The ids are remembered for the idempotency retention, which config.ts keeps at least as
// long as the window. Served only when STOCKLEDGER_ORDER_WEBHOOK_SECRET is set.

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { isId } from '../../actors/index.ts';
import type { JobResult } from '../../engine/engine.ts';
import { IdempotencyConflictError } from '../../engine/errors.ts';
import { observeSyncLag } from '../../engine/observability/observability.ts';
import type { CommandMeta } from '../../engine/store/records.ts';
import type { AppServices } from '../http/app.ts';
import { findHeaderShard, registerRoutedJob, runAtOwner } from '../http/cluster-routing.ts';
import { HttpError, issuesOf, toHttpError, validationFailed } from '../http/errors.ts';
import { runMutation, sendOutcome } from '../http/idempotency.ts';
import type { Reply } from '../http/mutations/mutation.ts';
import { commitMutation, reserveMutation } from '../http/mutations/reservations.ts';
import { routeSchema } from '../http/route-schema.ts';
import type { OrderWebhook as OrderWebhookBody } from './order-webhook.ts';
import {
  defaultOrderChannel,
  firstOrderLocation,
  linesOf,
  OrderWebhook,
  OrderWebhookResult,
  orderReservationId,
  orderReservationIds,
  orderWebhookJob,
} from './order-webhook.ts';
import { signatureMatches } from './signature.ts';

export const ORDER_WEBHOOK_ADAPTER = 'ecommerce:orders';
export const WEBHOOK_ID_HEADER = 'x-webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'x-webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'x-webhook-signature';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? undefined : value;
}

function unauthorized(message: string): HttpError {
  return new HttpError('UNAUTHORIZED', message);
}

const ROUTED_WEBHOOK = 'orderWebhook';

export function orderWebhookRoutes(services: AppServices): FastifyPluginAsync {
  const { engine, config, openReservations } = services;
  // Cluster mode: the job runs at the owner of the order's reservation header, which may be another node.
  registerRoutedJob(ROUTED_WEBHOOK, (payload, shard) => {
    const { webhookId, body, meta } = payload as {
      webhookId: string;
      body: OrderWebhookBody;
      meta: CommandMeta;
    };
    return engine.run(orderWebhookJob({ engine, openReservations }, webhookId, body, meta, shard));
  });
  /**
   * Cluster mode, an order to reserve whose lines are in more than one shard (and which names no cart
   * hold): reserved through the reservation endpoint's saga, then committed, each step
   * idempotent by the reservation id (a repeated webhook gets the same answer, and a reservation id
   * reused with other lines is 409). The hold has the default time-to-live until the commit, so a
   * crash between the two leaves a hold that expires. Null for every other webhook.
   */
  const acrossShards = async (
    webhookId: string,
    webhook: OrderWebhookBody,
    meta: CommandMeta,
  ): Promise<JobResult<Reply> | null> => {
    const { order, topic } = webhook;
    if (topic !== 'orders/create' || order.line_items === undefined) return null;
    const lines = linesOf(order.line_items, order.location_id, '/order/line_items');
    if (new Set(lines.map((line) => engine.shardOfLocation(line.location))).size < 2) return null;
    // A cart hold the order names is committed where it lives (the routed job); the order's own
    // reservation is (re)made here, idempotently, so a repeated webhook gets the same answer.
    const cart = order.reservation_id;
    if (cart !== undefined && (await findHeaderShard(services, 'reservation', cart)) !== null) return null;
    const caller = {
      access: {
        name: ORDER_WEBHOOK_ADAPTER,
        scopes: new Set(['reservations:write'] as const),
        locations: null,
        requestsPerMinute: null,
      },
      meta,
    };
    const reservationId = orderReservationId(order.id);
    const channel = order.channel ?? defaultOrderChannel;
    const reserved = await runMutation(
      services,
      reserveMutation,
      { reservationId, channel, mode: 'all-or-nothing', lines },
      caller,
    );
    if (reserved.status !== 201) return { result: reserved, replayed: reserved.replayed };
    const committed = await runMutation(services, commitMutation, { reservationId }, caller);
    if (committed.status !== 200) return { result: committed, replayed: reserved.replayed };
    const body: Static<typeof OrderWebhookResult> = {
      webhookId,
      topic,
      orderId: order.id,
      action: 'reserved-and-committed',
      reservationId,
      status: (committed.body as { status: string }).status,
    };
    return { result: { status: 201, body }, replayed: reserved.replayed };
  };
  /** The shard of the order's reservation: an existing header's, else its first line's location's. */
  const clusterShardOf = async (webhook: OrderWebhookBody): Promise<number> => {
    for (const id of orderReservationIds(webhook.order)) {
      const shard = await findHeaderShard(services, 'reservation', id);
      if (shard !== null) return shard;
    }
    const location = firstOrderLocation(webhook.order);
    return location === undefined
      ? engine.shardOfKey(orderReservationIds(webhook.order)[0]!)
      : engine.shardOfLocation(location);
  };
  const { secret, toleranceSeconds } = config.orderWebhooks;
  /** Requests whose signature this plugin's parser checked. */
  const verified = new WeakSet<FastifyRequest>();

  /** Null when the webhook is authentic and fresh; otherwise the 401 to answer. */
  const authenticate = (request: FastifyRequest, body: Buffer, key: string): HttpError | null => {
    const id = header(request, WEBHOOK_ID_HEADER);
    const timestamp = header(request, WEBHOOK_TIMESTAMP_HEADER);
    const signature = header(request, WEBHOOK_SIGNATURE_HEADER);
    if (id === undefined || timestamp === undefined || signature === undefined) {
      return unauthorized(
        `a webhook needs the ${WEBHOOK_ID_HEADER}, ${WEBHOOK_TIMESTAMP_HEADER} and ${WEBHOOK_SIGNATURE_HEADER} headers`,
      );
    }
    if (!isId(id)) return unauthorized(`${WEBHOOK_ID_HEADER} is not an id`);
    if (!/^[0-9]{1,12}$/.test(timestamp))
      return unauthorized(`${WEBHOOK_TIMESTAMP_HEADER} is not Unix seconds`);
    if (!signatureMatches(key, id, timestamp, body, signature))
      return unauthorized('the signature does not match');
    // Checked after the signature, so that an unsigned request learns nothing about our clock.
    const skewSeconds = Math.abs(engine.now() / 1_000 - Number(timestamp));
    if (skewSeconds > toleranceSeconds) {
      return unauthorized(`the webhook's timestamp is more than ${toleranceSeconds} seconds from now`);
    }
    return null;
  };

  return async (app) => {
    if (secret === null) return;
    // This plugin's own JSON parser (Fastify keeps parsers per plugin): it sees the raw bytes first.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      const failure = authenticate(request, body as Buffer, secret);
      if (failure !== null) {
        done(failure, undefined);
        return;
      }
      verified.add(request);
      const text = (body as Buffer).toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        // Authentic but not JSON: kept for an operator like any other malformed webhook.
        const error = validationFailed([{ path: '', message: 'is not valid JSON' }]);
        const webhookId = header(request, WEBHOOK_ID_HEADER)!;
        engine.deadLetters
          .add({
            adapter: ORDER_WEBHOOK_ADAPTER,
            reason: `VALIDATION_FAILED: webhook ${webhookId}: is not valid JSON`,
            payload: { webhookId, body: text },
          })
          .then(
            () => done(error, undefined),
            (failure: unknown) => done(failure as Error, undefined),
          );
        return;
      }
      done(null, value);
    });

    app.post<{ Body: OrderWebhookBody }>(
      '/v1/webhooks/orders',
      {
        // Validation errors reach the handler, which keeps the authenticated payload as a dead letter.
        attachValidation: true,
        schema: routeSchema({
          tag: 'reservations',
          summary: 'Ecommerce order webhook (orders/create, orders/cancelled, orders/fulfilled)',
          description:
            `Signed with HMAC-SHA256 over "<${WEBHOOK_ID_HEADER}>.<${WEBHOOK_TIMESTAMP_HEADER}>.<raw body>" as ` +
            `${WEBHOOK_SIGNATURE_HEADER}: sha256=<base64>; the timestamp (Unix seconds) must be within ` +
            `${toleranceSeconds} s of now. A repeated webhook id is answered its first answer with ` +
            'Idempotent-Replayed: true. No API key: the signature is the authentication.',
          body: OrderWebhook,
          responses: { 200: OrderWebhookResult, 201: OrderWebhookResult },
          errors: [401, 404, 409, 503],
        }),
      },
      async (request, reply) => {
        if (!verified.has(request)) throw unauthorized('a webhook needs a signed application/json body');
        const webhookId = header(request, WEBHOOK_ID_HEADER)!;
        const deadLetter = (reason: string) =>
          engine.deadLetters.add({
            adapter: ORDER_WEBHOOK_ADAPTER,
            reason,
            payload: { webhookId, body: request.body as unknown },
          });
        if (request.validationError !== undefined) {
          const issues = issuesOf(request.validationError.validation ?? [], 'body');
          const error = validationFailed(issues);
          await deadLetter(`VALIDATION_FAILED: webhook ${webhookId}: ${error.message}`);
          throw error;
        }
        const meta = { correlationId: request.correlationId, source: 'ecommerce:webhook' };
        try {
          const { result, replayed } =
            services.cluster === undefined
              ? await engine.run(orderWebhookJob({ engine, openReservations }, webhookId, request.body, meta))
              : ((await acrossShards(webhookId, request.body, meta)) ??
                ((await runAtOwner(services, ROUTED_WEBHOOK, await clusterShardOf(request.body), {
                  webhookId,
                  body: request.body,
                  meta,
                })) as JobResult<Reply>));
          const store = request.body.order.location_id ?? request.body.order.line_items?.[0]?.location_id;
          if (!replayed && store !== undefined)
            observeSyncLag(
              engine,
              'ecommerce',
              store,
              Number(header(request, WEBHOOK_TIMESTAMP_HEADER)) * 1_000,
            );
          if (!replayed && result.status >= 300) {
            const code = (result.body as { error?: { code?: string } }).error?.code ?? String(result.status);
            await deadLetter(`${code}: webhook ${webhookId}: order ${request.body.order.id}`);
          }
          return sendOutcome(reply, { ...result, replayed });
        } catch (raw) {
          if (raw instanceof IdempotencyConflictError) {
            throw new HttpError(
              'IDEMPOTENCY_CONFLICT',
              `webhook ${webhookId} was already received with a different body`,
              { webhookId },
            );
          }
          const error = toHttpError(raw);
          // Refused by the ledger (a reservation missing, in the wrong state ...): kept for an operator.
          // Nothing was recorded under the webhook id, so the platform's retry runs it again.
          if (error.status < 500 && error.status !== 429) {
            await deadLetter(`${error.code}: webhook ${webhookId}: ${error.message}`);
          }
          throw error;
        }
      },
    );
  };
}
