// Ecommerce order webhooks (README "Ecommerce order webhooks"): a Shopify-like order event becomes one
// engine job keyed by the webhook's id, so a redelivered or replayed webhook is answered its first
// answer and changes nothing. What each topic does to the order's reservation:
// - `orders/create`: the cart's hold (`order.reservation_id`) is committed; with no cart hold, or one
//   that lapsed, the order's lines are held and committed at once as reservation `order:<order id>`.
// - `orders/cancelled`: the order's reservation is released (everything still held).
// - `orders/fulfilled`: the fulfilment's lines (all that is left when it names none) are fulfilled.
// The order's reservation is `order:<order id>` when that exists, otherwise `order.reservation_id`.

import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { derivedCommandId, idempotencyKey } from '../../engine/command-ids.ts';
import type { BatchContext, Engine, JobSpec } from '../../engine/engine.ts';
import { EngineError } from '../../engine/errors.ts';
import type { LineChange } from '../../engine/reservations.ts';
import type { CommandMeta, ReservationHeader } from '../../engine/store/records.ts';
import { validationFailed } from '../http/errors.ts';
import type { Reply } from '../http/mutations/mutation.ts';
import { refusedReply } from '../http/mutations/reservations.ts';
import type { OpenReservations } from '../http/open-reservations.ts';
import { Id, linesPerRequestMax } from '../http/schemas.ts';

export const ORDER_TOPICS = ['orders/create', 'orders/cancelled', 'orders/fulfilled'] as const;
export type OrderTopic = (typeof ORDER_TOPICS)[number];

const Quantity = Type.Integer({ minimum: 1, maximum: 1_000_000_000 });
const LineItem = Type.Object(
  {
    sku: Id,
    quantity: Quantity,
    location_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);
const LineItems = Type.Array(LineItem, { minItems: 1, maxItems: linesPerRequestMax });

const Order = Type.Object(
  {
    id: Id,
    channel: Type.Optional(Id),
    reservation_id: Type.Optional(Id),
    location_id: Type.Optional(Id),
    line_items: Type.Optional(LineItems),
    fulfillment: Type.Optional(
      Type.Object({ id: Id, line_items: Type.Optional(LineItems) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

export const OrderWebhook = Type.Object(
  {
    topic: Type.Unsafe<OrderTopic>({ type: 'string', enum: [...ORDER_TOPICS] }),
    order: Order,
  },
  { additionalProperties: false },
);
export type OrderWebhook = Static<typeof OrderWebhook>;

export const OrderWebhookResult = Type.Object(
  {
    webhookId: Type.String(),
    topic: Type.String(),
    orderId: Type.String(),
    action: Type.Unsafe<'committed' | 'reserved-and-committed' | 'released' | 'fulfilled'>({
      type: 'string',
      enum: ['committed', 'reserved-and-committed', 'released', 'fulfilled'],
    }),
    reservationId: Type.String(),
    status: Type.String({ description: "The reservation's status after the webhook" }),
  },
  { additionalProperties: false },
);
type OrderWebhookResult = Static<typeof OrderWebhookResult>;

/** The channel an order's hold is made for when the order names none. */
export const defaultOrderChannel = 'web';

export function orderReservationId(orderId: string): string {
  return derivedCommandId('order', orderId);
}

/** Cluster mode: where a new reservation for the order would live (its first line's shard), if known. */
export function firstOrderLocation(order: OrderWebhook['order']): string | undefined {
  return order.line_items?.[0]?.location_id ?? order.location_id;
}

/** The reservations an order may have: its own, then the cart hold it names. */
export function orderReservationIds(order: OrderWebhook['order']): string[] {
  return [
    orderReservationId(order.id),
    ...(order.reservation_id === undefined ? [] : [order.reservation_id]),
  ];
}

/** Lines of an order or fulfilment with their locations, each SKU-location once. */
export function linesOf(
  items: Static<typeof LineItems>,
  defaultLocation: string | undefined,
  path: string,
): LineChange[] {
  return items.map((item, at) => {
    const location = item.location_id ?? defaultLocation;
    if (location === undefined) {
      throw validationFailed([
        { path: `${path}/${at}/location_id`, message: 'is required when the order names no location_id' },
      ]);
    }
    return { sku: item.sku, location, qty: item.quantity };
  });
}

function isLive(header: ReservationHeader, atMs: number): boolean {
  if (header.status === 'committed') return true;
  return header.status === 'held' && (header.expiresAtMs === null || atMs < header.expiresAtMs);
}

function resolveReservation(context: BatchContext, order: OrderWebhook['order']): ReservationHeader {
  const own = context.reservation(orderReservationId(order.id));
  if (own !== undefined) return own;
  const cart = order.reservation_id === undefined ? undefined : context.reservation(order.reservation_id);
  if (cart !== undefined) return cart;
  throw new EngineError('RESERVATION_NOT_FOUND', `order ${order.id} has no reservation`, {
    orderId: order.id,
    reservationId: order.reservation_id ?? orderReservationId(order.id),
  });
}

export interface OrderWebhookServices {
  readonly engine: Engine;
  readonly openReservations: OpenReservations;
}

/** The one job a webhook runs; its result is the HTTP answer, stored under the webhook id. */
export function orderWebhookJob(
  { engine, openReservations }: OrderWebhookServices,
  webhookId: string,
  webhook: OrderWebhook,
  meta: CommandMeta,
  /** Cluster mode: the shard of the order's reservation header (its first line's), found by the caller. */
  shard?: number,
): JobSpec<Reply> {
  const { order, topic } = webhook;
  const reply = (action: OrderWebhookResult['action'], header: ReservationHeader, status = 200): Reply => {
    const body: OrderWebhookResult = {
      webhookId,
      topic,
      orderId: order.id,
      action,
      reservationId: header.reservationId,
      status: header.status,
    };
    return { status, body };
  };
  return {
    // Every step of an order touches its reservation's header, so the job runs in that header's shard.
    shard: shard ?? engine.shardOfKey(order.reservation_id ?? orderReservationId(order.id)),
    key: idempotencyKey('webhook:order', webhookId),
    body: webhook,
    run: (context) => {
      if (topic === 'orders/create') {
        const existing =
          context.reservation(orderReservationId(order.id)) ??
          (order.reservation_id === undefined ? undefined : context.reservation(order.reservation_id));
        if (existing !== undefined && isLive(existing, context.atMs)) {
          return reply('committed', engine.reservations.commitJob(existing.reservationId, meta).run(context));
        }
        // No cart hold, or it lapsed: hold the order's lines now, without a time-to-live, and commit.
        if (order.line_items === undefined) {
          throw validationFailed([
            { path: '/order/line_items', message: 'is required when the order has no live cart hold' },
          ]);
        }
        const reservationId = orderReservationId(order.id);
        const channel = order.channel ?? defaultOrderChannel;
        const create = engine.reservations.createJob(
          {
            reservationId,
            channel,
            ttlSeconds: null,
            mode: 'all-or-nothing',
            lines: linesOf(order.line_items, order.location_id, '/order/line_items'),
          },
          meta,
        );
        openReservations.requireRoom(channel);
        const created = create.run(context);
        openReservations.observe(created.header);
        if (!created.ok) return refusedReply(created);
        const committed = engine.reservations.commitJob(reservationId, meta).run(context);
        return reply('reserved-and-committed', committed, 201);
      }
      const header = resolveReservation(context, order);
      if (topic === 'orders/cancelled') {
        const released = engine.reservations
          .releaseJob(header.reservationId, derivedCommandId('cancel', order.id), null, meta)
          .run(context);
        return reply('released', released);
      }
      if (order.fulfillment === undefined) {
        throw validationFailed([{ path: '/order/fulfillment', message: 'is required for orders/fulfilled' }]);
      }
      const lines =
        order.fulfillment.line_items === undefined
          ? null
          : linesOf(order.fulfillment.line_items, order.location_id, '/order/fulfillment/line_items');
      const fulfilled = engine.reservations
        .fulfilJob(header.reservationId, order.fulfillment.id, lines, meta)
        .run(context);
      return reply('fulfilled', fulfilled);
    },
  };
}
