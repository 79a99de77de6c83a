// Proves the supply-side endpoints of API.md over a real socket and a real engine: receipts, a transfer
// shipped and received short with its variance recorded, adjustments, cycle counts answering each
// line's variance (a count under safety stock changes the status), policy PUTs, and their documented
// errors (404 TRANSFER_NOT_FOUND, 409 INSUFFICIENT_STOCK and INVALID_STATE, 400).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { eventually, expectStatus, position, receive, startServer, unique } from './harness.ts';

interface TransferBody {
  transferId: string;
  from: string;
  to: string;
  status: string;
  receivedAt: string | null;
  lines: { sku: string; shipped: number; received: number | null; variance: number | null }[];
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

describe('receipts', () => {
  test('onHand up; the answer gives each line its figures', async () => {
    const sku = unique('SKU');
    const answer = await server.request<{ lines: Record<string, unknown>[] }>('POST', '/v1/receipts', {
      body: { receiptId: unique('asn'), location: 'dc-1', lines: [{ sku, qty: 40 }] },
    });
    expectStatus(answer, 201);
    assert.deepEqual(answer.body.lines, [
      { sku, qty: 40, onHand: 40, availableToSell: 40, status: 'inStock', integrity: 'consistent' },
    ]);
  });

  test('400 for a zero quantity, a fractional one, or a repeated SKU', async () => {
    for (const lines of [
      [{ sku: 'A', qty: 0 }],
      [{ sku: 'A', qty: 1.5 }],
      [
        { sku: 'A', qty: 1 },
        { sku: 'A', qty: 2 },
      ],
    ]) {
      expectStatus(
        await server.request('POST', '/v1/receipts', {
          body: { receiptId: unique('asn'), location: 'dc-1', lines },
        }),
        400,
        'VALIDATION_FAILED',
      );
    }
  });
});

describe('transfers', () => {
  test('a transfer received short records the variance', async () => {
    const sku = unique('SKU');
    const transferId = unique('tr');
    await receive(server, 'dc-1', sku, 10);
    const shipped = await server.request<TransferBody>('POST', '/v1/transfers', {
      body: { transferId, from: 'dc-1', to: 'store-t', lines: [{ sku, qty: 6 }] },
      headers: { 'x-correlation-id': `${transferId}-flow` },
    });
    expectStatus(shipped, 201);
    assert.equal(shipped.body.status, 'shipped');
    assert.equal((await position(server, 'dc-1', sku)).onHand, 4);
    await eventually(async () => (await position(server, 'store-t', sku)).inTransit === 6, 3_000, 'arrival');
    // The arrival is delivered by the outbox, and still carries the correlation id of the shipment.
    const arrival = await server.request<{ entries: { type: string; correlationId: string | null }[] }>(
      'GET',
      `/v1/stock/store-t/${sku}/history`,
    );
    assert.deepEqual(
      arrival.body.entries.map((entry) => [entry.type, entry.correlationId]),
      [['TransferArrived', `${transferId}-flow`]],
    );

    const received = await server.request<TransferBody>('POST', `/v1/transfers/${transferId}/receipt`, {
      body: { lines: [{ sku, qty: 5 }] },
    });
    expectStatus(received, 200);
    assert.equal(received.body.status, 'received');
    assert.deepEqual(received.body.lines, [{ sku, shipped: 6, received: 5, variance: -1 }]);
    const destination = await position(server, 'store-t', sku);
    assert.deepEqual([destination.inTransit, destination.onHand], [0, 5]);

    const got = await server.request<TransferBody>('GET', `/v1/transfers/${transferId}`);
    expectStatus(got, 200);
    assert.deepEqual(got.body, received.body);

    const again = await server.request('POST', `/v1/transfers/${transferId}/receipt`, {
      body: { lines: [{ sku, qty: 6 }] },
    });
    expectStatus(again, 409, 'IDEMPOTENCY_CONFLICT');
  });

  test('409 INSUFFICIENT_STOCK when the source has not enough; 404 TRANSFER_NOT_FOUND; 400 from = to', async () => {
    const sku = unique('SKU');
    await receive(server, 'dc-2', sku, 1);
    const refused = await server.request<{ error: { details: { lines: unknown[] } } }>(
      'POST',
      '/v1/transfers',
      {
        body: { transferId: unique('tr'), from: 'dc-2', to: 'store-t', lines: [{ sku, qty: 2 }] },
      },
    );
    expectStatus(refused, 409, 'INSUFFICIENT_STOCK');
    assert.deepEqual(refused.body.error.details.lines, [
      { sku, location: 'dc-2', requested: 2, availableToSell: 1 },
    ]);
    assert.equal((await position(server, 'dc-2', sku)).onHand, 1);
    expectStatus(await server.request('GET', `/v1/transfers/${unique('none')}`), 404, 'TRANSFER_NOT_FOUND');
    expectStatus(
      await server.request('POST', `/v1/transfers/${unique('none')}/receipt`, {
        body: { lines: [{ sku, qty: 1 }] },
      }),
      404,
      'TRANSFER_NOT_FOUND',
    );
    expectStatus(
      await server.request('POST', '/v1/transfers', {
        body: { transferId: unique('tr'), from: 'dc-2', to: 'dc-2', lines: [{ sku, qty: 1 }] },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('adjustments, counts and policies', () => {
  test('an adjustment moves onHand by a signed delta with a reason', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-x', sku, 10);
    const answer = await server.request<{ lines: { delta: number; onHand: number }[] }>(
      'POST',
      '/v1/adjustments',
      {
        body: {
          adjustmentId: unique('adj'),
          location: 'store-x',
          lines: [{ sku, delta: -3, reason: 'damaged' }],
        },
      },
    );
    expectStatus(answer, 201);
    assert.deepEqual(
      answer.body.lines.map((line) => [line.delta, line.onHand]),
      [[-3, 7]],
    );
    expectStatus(
      await server.request('POST', '/v1/adjustments', {
        body: {
          adjustmentId: unique('adj'),
          location: 'store-x',
          lines: [{ sku, delta: 0, reason: 'other' }],
        },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(
      await server.request('POST', '/v1/adjustments', {
        body: {
          adjustmentId: unique('adj'),
          location: 'store-x',
          lines: [{ sku, delta: 1, reason: 'theft' }],
        },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });

  test('a cycle count under safety stock answers the variance and changes the status', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-c', sku, 10);
    const policy = await server.request<{ position: { status: string; availableToSell: number } }>(
      'PUT',
      `/v1/policies/store-c/${sku}`,
      { body: { safetyStock: 3, lowStockThreshold: 2 } },
    );
    expectStatus(policy, 200);
    assert.deepEqual([policy.body.position.status, policy.body.position.availableToSell], ['inStock', 7]);
    const count = await server.request<{ lines: Record<string, unknown>[] }>('POST', '/v1/counts', {
      body: { countId: unique('count'), location: 'store-c', lines: [{ sku, counted: 2 }] },
    });
    expectStatus(count, 201);
    assert.deepEqual(count.body.lines, [
      {
        sku,
        counted: 2,
        variance: -8,
        onHand: 2,
        availableToSell: 0,
        status: 'outOfStock',
        integrity: 'consistent',
      },
    ]);
    const now = await position(server, 'store-c', sku);
    assert.deepEqual([now.onHand, now.safetyStock, now.status], [2, 3, 'outOfStock']);
  });

  test('a PUT of the policy in force records nothing; a bad share is 400', async () => {
    const sku = unique('SKU');
    const body = { safetyStock: 1, lowStockThreshold: 1, channels: { web: { share: 0.8 } } };
    const first = await server.request<{ position: { version: number } }>(
      'PUT',
      `/v1/policies/store-p/${sku}`,
      {
        body,
      },
    );
    expectStatus(first, 200);
    const second = await server.request<{ position: { version: number } }>(
      'PUT',
      `/v1/policies/store-p/${sku}`,
      {
        body,
      },
    );
    assert.equal(second.body.position.version, first.body.position.version);
    expectStatus(
      await server.request('PUT', `/v1/policies/store-p/${sku}`, {
        body: { safetyStock: 1, lowStockThreshold: 1, channels: { web: { share: 1.5 } } },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });
});
