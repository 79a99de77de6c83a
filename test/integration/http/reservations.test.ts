// Proves the reservation endpoints of API.md over a real socket and a real engine: the life cycle
// (hold, commit, fulfil, release), all-or-nothing and partial modes, expiry by the engine, and every
// documented error (404 RESERVATION_NOT_FOUND, 409 INSUFFICIENT_STOCK with its lines, INVALID_STATE with
// the state, RESERVATION_EXPIRED, 429 for a channel at its open-reservation cap), including the
// scenarios: a store sells the last unit before ecommerce reserves it; a BOPIS hold is abandoned and a
// short hold expires by itself; an all-or-nothing hold across two locations leaves nothing held.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { eventually, expectStatus, position, receive, startServer, unique } from './harness.ts';

interface ReservationBody {
  reservationId: string;
  status: string;
  expiresAt: string | null;
  lines: {
    sku: string;
    location: string;
    qty: number;
    status: string;
    requested: number;
    availableToSell?: number;
  }[];
}
interface ErrorBody {
  error: { code: string; details: Record<string, unknown> };
}

const channelCap = 3;
let server: TestServer;
before(async () => {
  server = await startServer({
    settings: { STOCKLEDGER_OPEN_RESERVATIONS_PER_CHANNEL_MAX: String(channelCap) },
  });
});
after(async () => {
  await server.close();
});

function reserve(body: Record<string, unknown>) {
  return server.request<ReservationBody & ErrorBody>('POST', '/v1/reservations', { body });
}

describe('the reservation life cycle', () => {
  test('hold (201), get, commit, fulfil part then the rest: onHand and reserved both go down', async () => {
    const sku = unique('SKU');
    const reservationId = unique('cart');
    await receive(server, 'store-1', sku, 10);
    const held = await reserve({
      reservationId,
      channel: unique('web'),
      ttlSeconds: 900,
      lines: [{ sku, location: 'store-1', qty: 3 }],
    });
    expectStatus(held, 201);
    assert.equal(held.body.status, 'held');
    assert.equal(typeof held.body.expiresAt, 'string');
    assert.deepEqual(
      held.body.lines.map((line) => [line.sku, line.qty, line.status]),
      [[sku, 3, 'held']],
    );
    assert.equal((await position(server, 'store-1', sku)).availableToSell, 7);

    const got = await server.request<ReservationBody>('GET', `/v1/reservations/${reservationId}`);
    expectStatus(got, 200);
    assert.equal(got.body.status, 'held');

    const committed = await server.request<ReservationBody>(
      'POST',
      `/v1/reservations/${reservationId}/commit`,
    );
    expectStatus(committed, 200);
    assert.equal(committed.body.status, 'committed');
    assert.equal(committed.body.expiresAt, null);

    const part = await server.request<ReservationBody>('POST', `/v1/reservations/${reservationId}/fulfil`, {
      body: { fulfilmentId: 'ship-1', lines: [{ sku, location: 'store-1', qty: 1 }] },
    });
    expectStatus(part, 200);
    assert.equal(part.body.lines[0]?.qty, 2);
    const rest = await server.request<ReservationBody>('POST', `/v1/reservations/${reservationId}/fulfil`, {
      body: { fulfilmentId: 'ship-2' },
    });
    expectStatus(rest, 200);
    assert.equal(rest.body.status, 'fulfilled');
    const after = await position(server, 'store-1', sku);
    assert.deepEqual([after.onHand, after.reserved, after.availableToSell], [7, 0, 7]);

    // Releasing a fulfilled reservation is 409 INVALID_STATE, naming the state.
    const release = await server.request<ErrorBody>('POST', `/v1/reservations/${reservationId}/release`, {
      body: { releaseId: 'too-late' },
    });
    expectStatus(release, 409, 'INVALID_STATE');
    assert.equal(release.body.error.details.state, 'fulfilled');
  });

  test('a store sells the last unit, then ecommerce tries to reserve it: 409 INSUFFICIENT_STOCK', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-42', sku, 1);
    const sale = await server.request('POST', '/v1/sales', {
      body: { transactionId: unique('pos'), location: 'store-42', lines: [{ sku, qty: 1 }] },
    });
    expectStatus(sale, 201);
    const refused = await reserve({
      reservationId: unique('cart'),
      channel: unique('web'),
      lines: [{ sku, location: 'store-42', qty: 1 }],
    });
    expectStatus(refused, 409, 'INSUFFICIENT_STOCK');
    assert.deepEqual(refused.body.error.details.lines, [
      { sku, location: 'store-42', requested: 1, availableToSell: 0 },
    ]);
    assert.equal((await position(server, 'store-42', sku)).reserved, 0);
  });

  test('a BOPIS hold abandoned by its customer is released and its units come back', async () => {
    const sku = unique('SKU');
    const reservationId = unique('bopis');
    await receive(server, 'store-5', sku, 2);
    expectStatus(
      await reserve({
        reservationId,
        channel: unique('bopis'),
        lines: [{ sku, location: 'store-5', qty: 2 }],
      }),
      201,
    );
    assert.equal((await position(server, 'store-5', sku)).availableToSell, 0);
    const released = await server.request<ReservationBody>(
      'POST',
      `/v1/reservations/${reservationId}/release`,
      {
        body: { releaseId: 'abandoned' },
      },
    );
    expectStatus(released, 200);
    assert.equal(released.body.status, 'released');
    assert.equal((await position(server, 'store-5', sku)).availableToSell, 2);
    // Releasing a released reservation is a no-op success.
    const again = await server.request<ReservationBody>('POST', `/v1/reservations/${reservationId}/release`, {
      body: { releaseId: 'abandoned-again' },
    });
    expectStatus(again, 200);
    assert.equal(again.body.status, 'released');
  });

  test('a short hold (ttlSeconds 1) expires by itself; then commit is RESERVATION_EXPIRED and release a no-op', async () => {
    const sku = unique('SKU');
    const reservationId = unique('short');
    await receive(server, 'store-6', sku, 3);
    expectStatus(
      await reserve({
        reservationId,
        channel: unique('web'),
        ttlSeconds: 1,
        lines: [{ sku, location: 'store-6', qty: 2 }],
      }),
      201,
    );
    assert.equal((await position(server, 'store-6', sku)).reserved, 2);
    await eventually(
      async () => (await position(server, 'store-6', sku)).reserved === 0,
      4_000,
      'the hold to expire',
    );
    const got = await server.request<ReservationBody>('GET', `/v1/reservations/${reservationId}`);
    assert.equal(got.body.status, 'expired');
    const commit = await server.request<ErrorBody>('POST', `/v1/reservations/${reservationId}/commit`);
    expectStatus(commit, 409, 'RESERVATION_EXPIRED');
    const release = await server.request<ReservationBody>(
      'POST',
      `/v1/reservations/${reservationId}/release`,
      {
        body: { releaseId: 'late-cancel' },
      },
    );
    expectStatus(release, 200);
    assert.equal(release.body.status, 'expired');
    const fulfil = await server.request('POST', `/v1/reservations/${reservationId}/fulfil`, {
      body: { fulfilmentId: 'late' },
    });
    expectStatus(fulfil, 409, 'RESERVATION_EXPIRED');
  });
});

describe('modes', () => {
  test('an all-or-nothing reservation across two locations fails whole and leaves no partial hold', async () => {
    const sku = unique('SKU');
    const reservationId = unique('cart');
    await receive(server, 'store-a', sku, 5);
    await receive(server, 'store-b', sku, 1);
    const refused = await reserve({
      reservationId,
      channel: unique('web'),
      mode: 'all-or-nothing',
      lines: [
        { sku, location: 'store-a', qty: 2 },
        { sku, location: 'store-b', qty: 2 },
      ],
    });
    expectStatus(refused, 409, 'INSUFFICIENT_STOCK');
    assert.deepEqual(refused.body.error.details.lines, [
      { sku, location: 'store-b', requested: 2, availableToSell: 1 },
    ]);
    assert.equal((await position(server, 'store-a', sku)).reserved, 0);
    assert.equal((await position(server, 'store-b', sku)).reserved, 0);
    expectStatus(
      await server.request('GET', `/v1/reservations/${reservationId}`),
      404,
      'RESERVATION_NOT_FOUND',
    );
  });

  test('partial mode holds what it can; each line says held or refused', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-a', sku, 5);
    const held = await reserve({
      reservationId: unique('cart'),
      channel: unique('web'),
      mode: 'partial',
      lines: [
        { sku, location: 'store-a', qty: 2 },
        { sku, location: 'store-c', qty: 1 },
      ],
    });
    expectStatus(held, 201);
    assert.deepEqual(
      held.body.lines.map((line) => [
        line.location,
        line.status,
        line.qty,
        line.requested,
        line.availableToSell,
      ]),
      [
        ['store-a', 'held', 2, 2, undefined],
        ['store-c', 'refused', 0, 1, 0],
      ],
    );
  });

  test("a channel's share limits what it may hold", async () => {
    const sku = unique('SKU');
    const channel = unique('marketplace');
    await receive(server, 'store-a', sku, 10);
    await server.request('PUT', `/v1/policies/store-a/${sku}`, {
      body: { safetyStock: 0, lowStockThreshold: 0, channels: { [channel]: { share: 0.3 } } },
    });
    const refused = await reserve({
      reservationId: unique('cart'),
      channel,
      lines: [{ sku, location: 'store-a', qty: 4 }],
    });
    expectStatus(refused, 409, 'INSUFFICIENT_STOCK');
    assert.deepEqual(refused.body.error.details.lines, [
      { sku, location: 'store-a', requested: 4, availableToSell: 10, exposed: 3 },
    ]);
  });
});

describe('errors', () => {
  test('404 RESERVATION_NOT_FOUND for every step on an unknown reservation', async () => {
    const id = unique('missing');
    expectStatus(await server.request('GET', `/v1/reservations/${id}`), 404, 'RESERVATION_NOT_FOUND');
    expectStatus(await server.request('POST', `/v1/reservations/${id}/commit`), 404, 'RESERVATION_NOT_FOUND');
    expectStatus(
      await server.request('POST', `/v1/reservations/${id}/fulfil`, { body: { fulfilmentId: 'f' } }),
      404,
      'RESERVATION_NOT_FOUND',
    );
    expectStatus(
      await server.request('POST', `/v1/reservations/${id}/release`, { body: { releaseId: 'r' } }),
      404,
      'RESERVATION_NOT_FOUND',
    );
  });

  test('400 for a repeated line, a TTL beyond 30 days, a missing id, or a body on commit', async () => {
    const line = { sku: 'SKU-1', location: 'store-1', qty: 1 };
    expectStatus(
      await reserve({ reservationId: unique('c'), channel: 'web', lines: [line, line] }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(
      await reserve({ reservationId: unique('c'), channel: 'web', ttlSeconds: 31 * 86_400, lines: [line] }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(await reserve({ channel: 'web', lines: [line] }), 400, 'VALIDATION_FAILED');
    expectStatus(
      await server.request('POST', `/v1/reservations/${unique('c')}/commit`, { body: { now: true } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  test('fulfilling more than a line holds is 409 INVALID_STATE', async () => {
    const sku = unique('SKU');
    const reservationId = unique('cart');
    await receive(server, 'store-1', sku, 5);
    await reserve({ reservationId, channel: unique('web'), lines: [{ sku, location: 'store-1', qty: 2 }] });
    const answer = await server.request<ErrorBody>('POST', `/v1/reservations/${reservationId}/fulfil`, {
      body: { fulfilmentId: 'f-1', lines: [{ sku, location: 'store-1', qty: 3 }] },
    });
    expectStatus(answer, 409, 'INVALID_STATE');
    assert.equal(answer.body.error.details.state, 'held');
  });

  test('429 RATE_LIMITED once a channel holds its cap of open reservations; closing one makes room', async () => {
    const sku = unique('SKU');
    const channel = unique('capped');
    await receive(server, 'store-1', sku, 100);
    const ids: string[] = [];
    for (let at = 0; at < channelCap; at++) {
      const id = unique('cap');
      ids.push(id);
      expectStatus(
        await reserve({ reservationId: id, channel, lines: [{ sku, location: 'store-1', qty: 1 }] }),
        201,
      );
    }
    const over = await reserve({
      reservationId: unique('cap'),
      channel,
      lines: [{ sku, location: 'store-1', qty: 1 }],
    });
    expectStatus(over, 429, 'RATE_LIMITED');
    assert.equal(over.body.error.details.cap, channelCap);
    expectStatus(
      await server.request('POST', `/v1/reservations/${ids[0]}/release`, { body: { releaseId: 'free-one' } }),
      200,
    );
    expectStatus(
      await reserve({ reservationId: unique('cap'), channel, lines: [{ sku, location: 'store-1', qty: 1 }] }),
      201,
    );
  });
});
