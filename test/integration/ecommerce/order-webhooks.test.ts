// Proves `POST /v1/webhooks/orders` over a real socket and a real engine: a correctly signed, fresh
// webhook commits the cart's hold (orders/create), holds and commits the lines when there was no hold,
// releases on orders/cancelled and fulfils on orders/fulfilled; a bad or missing signature, an old or
// future timestamp, are 401 and change nothing (the engine's commit feed does not move); a replayed
// webhook id is answered its first answer and changes nothing, and the same id with another body is
// 409; an authentic but malformed webhook is 400 and kept as a dead letter; and with no secret
// configured the endpoint is not served.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signatureOf } from '../../../adapters/ecommerce/signature.ts';
import type { Answer, TestServer } from '../http/harness.ts';
import { expectStatus, position, receive, startServer, unique } from '../http/harness.ts';

const SECRET = 'whsec-0123456789abcdef-test';
const TOLERANCE_SECONDS = 300;
let server: TestServer;

before(async () => {
  server = await startServer({
    settings: {
      STOCKLEDGER_ORDER_WEBHOOK_SECRET: SECRET,
      STOCKLEDGER_ORDER_WEBHOOK_TOLERANCE_SECONDS: String(TOLERANCE_SECONDS),
    },
  });
});
after(async () => {
  await server.close();
});

interface SendOptions {
  readonly id?: string;
  readonly timestampSeconds?: number;
  readonly secret?: string;
  readonly signature?: string;
  readonly omit?: 'id' | 'timestamp' | 'signature';
}

interface WebhookAnswer {
  webhookId: string;
  topic: string;
  orderId: string;
  action: string;
  reservationId: string;
  status: string;
}

async function send(body: unknown, options: SendOptions = {}): Promise<Answer<WebhookAnswer>> {
  const id = options.id ?? unique('wh');
  const timestamp = String(options.timestampSeconds ?? Math.floor(Date.now() / 1_000));
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    'x-webhook-id': id,
    'x-webhook-timestamp': timestamp,
    'x-webhook-signature': options.signature ?? signatureOf(options.secret ?? SECRET, id, timestamp, text),
  };
  if (options.omit !== undefined) delete headers[`x-webhook-${options.omit}`];
  return server.request<WebhookAnswer>('POST', '/v1/webhooks/orders', {
    raw: { text, type: 'application/json' },
    headers,
  });
}

async function reserve(reservationId: string, location: string, sku: string, qty: number): Promise<void> {
  const answer = await server.request('POST', '/v1/reservations', {
    body: { reservationId, channel: 'web', ttlSeconds: 600, lines: [{ sku, location, qty }] },
  });
  expectStatus(answer, 201);
}

describe('order webhooks: flows', () => {
  test('orders/create commits the cart hold; cancelled releases it', async () => {
    const [location, sku, cart, orderId] = ['dc-1', unique('SKU'), unique('cart'), unique('order')];
    await receive(server, location, sku, 10);
    await reserve(cart, location, sku, 3);
    const created = await send({
      topic: 'orders/create',
      order: { id: orderId, reservation_id: cart, line_items: [{ sku, quantity: 3, location_id: location }] },
    });
    expectStatus(created, 200);
    assert.equal(created.body.action, 'committed');
    assert.equal(created.body.reservationId, cart);
    const reservation = await server.request<{ status: string }>('GET', `/v1/reservations/${cart}`);
    assert.equal(reservation.body.status, 'committed');
    assert.equal((await position(server, location, sku)).reserved, 3);

    const cancelled = await send({ topic: 'orders/cancelled', order: { id: orderId, reservation_id: cart } });
    expectStatus(cancelled, 200);
    assert.equal(cancelled.body.action, 'released');
    assert.equal(cancelled.body.status, 'released');
    const after = await position(server, location, sku);
    assert.equal(after.reserved, 0);
    assert.equal(after.availableToSell, 10);
  });

  test('orders/create with no cart hold holds and commits the lines; fulfilled fulfils them', async () => {
    const [sku, orderId] = [unique('SKU'), unique('order')];
    await receive(server, 'store-a', sku, 5);
    await receive(server, 'store-b', sku, 5);
    const created = await send({
      topic: 'orders/create',
      order: {
        id: orderId,
        channel: 'web',
        location_id: 'store-a',
        line_items: [
          { sku, quantity: 2 },
          { sku, quantity: 1, location_id: 'store-b' },
        ],
      },
    });
    expectStatus(created, 201);
    assert.equal(created.body.action, 'reserved-and-committed');
    assert.equal(created.body.reservationId, `order:${orderId}`);
    assert.equal(created.body.status, 'committed');
    assert.equal((await position(server, 'store-a', sku)).reserved, 2);

    const partly = await send({
      topic: 'orders/fulfilled',
      order: {
        id: orderId,
        fulfillment: { id: 'ful-1', line_items: [{ sku, quantity: 1, location_id: 'store-a' }] },
      },
    });
    expectStatus(partly, 200);
    assert.equal(partly.body.action, 'fulfilled');
    const storeA = await position(server, 'store-a', sku);
    assert.deepEqual([storeA.onHand, storeA.reserved], [4, 1]);
    const rest = await send({
      topic: 'orders/fulfilled',
      order: { id: orderId, fulfillment: { id: 'ful-2' } },
    });
    expectStatus(rest, 200);
    assert.equal(rest.body.status, 'fulfilled');
    const [a, b] = [await position(server, 'store-a', sku), await position(server, 'store-b', sku)];
    assert.deepEqual([a.onHand, a.reserved, b.onHand, b.reserved], [3, 0, 4, 0]);
  });

  test('an order that cannot be held is 409 INSUFFICIENT_STOCK, kept as a dead letter', async () => {
    const [sku, orderId] = [unique('SKU'), unique('order')];
    await receive(server, 'store-a', sku, 1);
    const refused = await send({
      topic: 'orders/create',
      order: { id: orderId, location_id: 'store-a', line_items: [{ sku, quantity: 2 }] },
    });
    expectStatus(refused, 409, 'INSUFFICIENT_STOCK');
    assert.equal((await position(server, 'store-a', sku)).reserved, 0);
    const letters = server.engine.deadLetters.list({ adapter: 'ecommerce:orders', limit: 500 }).letters;
    assert.ok(
      letters.some(
        (letter) => letter.reason.startsWith('INSUFFICIENT_STOCK') && letter.reason.includes(orderId),
      ),
    );
  });

  test('cancelling an order with no reservation is 404, and nothing changes', async () => {
    const before = server.engine.feedPosition();
    const answer = await send({ topic: 'orders/cancelled', order: { id: unique('order') } });
    expectStatus(answer, 404, 'RESERVATION_NOT_FOUND');
    assert.equal(server.engine.feedPosition(), before);
  });
});

describe('order webhooks: authentication and replay', () => {
  async function orderFor(): Promise<{ body: unknown; location: string; sku: string }> {
    const [location, sku] = ['dc-auth', unique('SKU')];
    await receive(server, location, sku, 10);
    return {
      location,
      sku,
      body: {
        topic: 'orders/create',
        order: { id: unique('order'), location_id: location, line_items: [{ sku, quantity: 1 }] },
      },
    };
  }

  test('a bad or missing signature is 401 and changes nothing', async () => {
    const { body, location, sku } = await orderFor();
    const before = server.engine.feedPosition();
    expectStatus(await send(body, { secret: 'another-secret-0123456789' }), 401, 'UNAUTHORIZED');
    expectStatus(await send(body, { signature: 'sha256=AAAA' }), 401, 'UNAUTHORIZED');
    expectStatus(await send(body, { signature: 'not even the scheme' }), 401, 'UNAUTHORIZED');
    for (const omit of ['id', 'timestamp', 'signature'] as const) {
      expectStatus(await send(body, { omit }), 401, 'UNAUTHORIZED');
    }
    // The body is changed after signing.
    const id = unique('wh');
    const timestamp = String(Math.floor(Date.now() / 1_000));
    const signature = signatureOf(SECRET, id, timestamp, JSON.stringify(body));
    const tampered = await server.request('POST', '/v1/webhooks/orders', {
      raw: { text: JSON.stringify(body).replace('"quantity":1', '"quantity":9'), type: 'application/json' },
      headers: { 'x-webhook-id': id, 'x-webhook-timestamp': timestamp, 'x-webhook-signature': signature },
    });
    expectStatus(tampered, 401, 'UNAUTHORIZED');
    assert.equal(server.engine.feedPosition(), before);
    assert.equal((await position(server, location, sku)).reserved, 0);
  });

  test('a timestamp outside the tolerance window is 401, even correctly signed', async () => {
    const { body, location, sku } = await orderFor();
    const before = server.engine.feedPosition();
    const nowSeconds = Math.floor(Date.now() / 1_000);
    expectStatus(
      await send(body, { timestampSeconds: nowSeconds - TOLERANCE_SECONDS - 5 }),
      401,
      'UNAUTHORIZED',
    );
    expectStatus(
      await send(body, { timestampSeconds: nowSeconds + TOLERANCE_SECONDS + 5 }),
      401,
      'UNAUTHORIZED',
    );
    assert.equal(server.engine.feedPosition(), before);
    assert.equal((await position(server, location, sku)).reserved, 0);
    // Inside the window it passes.
    expectStatus(await send(body, { timestampSeconds: nowSeconds - TOLERANCE_SECONDS + 30 }), 201);
  });

  test('a replayed webhook id gets its first answer and changes nothing; another body is 409', async () => {
    const { body, location, sku } = await orderFor();
    const id = unique('wh');
    const first = await send(body, { id });
    expectStatus(first, 201);
    const before = server.engine.feedPosition();
    // A replay inside the window, signed again with a newer timestamp (as a platform's retry is).
    const again = await send(body, { id, timestampSeconds: Math.floor(Date.now() / 1_000) + 1 });
    expectStatus(again, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.text, first.text);
    assert.equal((await position(server, location, sku)).reserved, 1);
    const other = await send(
      {
        topic: 'orders/create',
        order: { id: unique('order'), location_id: location, line_items: [{ sku, quantity: 1 }] },
      },
      { id },
    );
    expectStatus(other, 409, 'IDEMPOTENCY_CONFLICT');
    assert.equal((await position(server, location, sku)).reserved, 1);
    assert.equal(server.engine.feedPosition(), before);
  });

  test('an authentic but malformed webhook is 400 and kept as a dead letter', async () => {
    const id = unique('wh');
    const answer = await send({ topic: 'orders/updated', order: { id: 'o-1' } }, { id });
    expectStatus(answer, 400, 'VALIDATION_FAILED');
    const letters = server.engine.deadLetters.list({ adapter: 'ecommerce:orders', limit: 500 }).letters;
    assert.ok(letters.some((letter) => letter.reason.includes(id)));
    const notJson = unique('wh');
    expectStatus(await send('{"topic": ', { id: notJson }), 400, 'VALIDATION_FAILED');
    const kept = server.engine.deadLetters.list({ adapter: 'ecommerce:orders', limit: 500 }).letters;
    assert.ok(kept.some((letter) => letter.reason.includes(notJson)));
  });
});

test('without a secret configured the endpoint is not served', async () => {
  const plain = await startServer();
  try {
    const answer = await plain.request('POST', '/v1/webhooks/orders', { body: { topic: 'orders/create' } });
    expectStatus(answer, 404, 'NOT_FOUND');
  } finally {
    await plain.close();
  }
});
