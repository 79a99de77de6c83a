// Proves `POST /v1/commands` over a real socket and a real engine: one outcome per command, in order,
// never all-or-nothing across commands (a refused command leaves the others applied); commands apply
// in the order given; each is idempotent under the same key as its endpoint, so a sale sent here and
// again to /v1/sales applies once; a malformed command is a 400 naming its path.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, startServer, unique } from './harness.ts';

interface Results {
  results: {
    type: string;
    id: string | null;
    status: number;
    replayed: boolean;
    body: Record<string, unknown>;
  }[];
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

describe('POST /v1/commands', () => {
  test('one outcome per command, in order, applied in order; a refused command stops nothing', async () => {
    const sku = unique('SKU');
    const reservationId = unique('cart');
    const returnId = unique('ret');
    const transferId = unique('tr');
    const saleId = unique('pos');
    const answer = await server.request<Results>('POST', '/v1/commands', {
      body: {
        commands: [
          { type: 'receive', receiptId: unique('asn'), location: 'store-b', lines: [{ sku, qty: 10 }] },
          { type: 'reserve', reservationId, channel: 'web', lines: [{ sku, location: 'store-b', qty: 4 }] },
          { type: 'commit', reservationId },
          {
            type: 'fulfil',
            reservationId,
            fulfilmentId: 'ship-1',
            lines: [{ sku, location: 'store-b', qty: 1 }],
          },
          { type: 'release', reservationId, releaseId: 'cancel-rest' },
          { type: 'sale', transactionId: saleId, location: 'store-b', lines: [{ sku, qty: 2 }] },
          {
            type: 'reserve',
            reservationId: unique('cart'),
            channel: 'web',
            lines: [{ sku, location: 'store-b', qty: 99 }],
          },
          { type: 'return', returnId, location: 'store-b', lines: [{ sku, qty: 1, reason: 'faulty' }] },
          {
            type: 'dispose',
            returnId,
            dispositionId: 'insp-1',
            lines: [{ sku, qty: 1, disposition: 'restock' }],
          },
          {
            type: 'adjust',
            adjustmentId: unique('adj'),
            location: 'store-b',
            lines: [{ sku, delta: -1, reason: 'shrink' }],
          },
          { type: 'transfer', transferId, from: 'store-b', to: 'store-c', lines: [{ sku, qty: 2 }] },
          { type: 'transferReceipt', transferId, lines: [{ sku, qty: 2 }] },
          { type: 'count', countId: unique('count'), location: 'store-c', lines: [{ sku, counted: 2 }] },
          { type: 'setPolicy', location: 'store-b', sku, safetyStock: 1, lowStockThreshold: 2 },
          { type: 'commit', reservationId: unique('missing') },
        ],
      },
    });
    expectStatus(answer, 200);
    assert.deepEqual(
      answer.body.results.map((result) => [result.type, result.status]),
      [
        ['receive', 201],
        ['reserve', 201],
        ['commit', 200],
        ['fulfil', 200],
        ['release', 200],
        ['sale', 201],
        ['reserve', 409],
        ['return', 201],
        ['dispose', 201],
        ['adjust', 201],
        ['transfer', 201],
        ['transferReceipt', 200],
        ['count', 201],
        ['setPolicy', 200],
        ['commit', 404],
      ],
    );
    assert.equal(answer.body.results[5]?.id, saleId);
    const codeOf = (at: number) => (answer.body.results[at]!.body.error as { code: string }).code;
    assert.equal(codeOf(6), 'INSUFFICIENT_STOCK');
    assert.equal(codeOf(14), 'RESERVATION_NOT_FOUND');
    // 10 received, 1 fulfilled, 2 sold, 1 restocked, 1 shrunk, 2 shipped: 5 left, safety stock 1.
    const store = await position(server, 'store-b', sku);
    assert.deepEqual([store.onHand, store.reserved, store.quarantine, store.availableToSell], [5, 0, 0, 4]);
    const destination = await position(server, 'store-c', sku);
    assert.deepEqual([destination.onHand, destination.inTransit], [2, 0]);
  });

  test('a command repeated, here or at its endpoint, answers its first outcome and applies once', async () => {
    const sku = unique('SKU');
    const sale = { transactionId: unique('pos'), location: 'store-d', lines: [{ sku, qty: 1 }] };
    const receipt = { receiptId: unique('asn'), location: 'store-d', lines: [{ sku, qty: 5 }] };
    const first = await server.request<Results>('POST', '/v1/commands', {
      body: {
        commands: [
          { type: 'receive', ...receipt },
          { type: 'sale', ...sale },
        ],
      },
    });
    assert.deepEqual(
      first.body.results.map((result) => result.replayed),
      [false, false],
    );
    const again = await server.request<Results>('POST', '/v1/commands', {
      body: {
        commands: [
          { type: 'receive', ...receipt },
          { type: 'sale', ...sale },
        ],
      },
    });
    assert.deepEqual(
      again.body.results.map((result) => result.replayed),
      [true, true],
    );
    assert.deepEqual(again.body.results[1]?.body, first.body.results[1]?.body);
    const endpoint = await server.request('POST', '/v1/sales', { body: sale });
    expectStatus(endpoint, 201);
    assert.equal(endpoint.headers.get('idempotent-replayed'), 'true');
    assert.equal((await position(server, 'store-d', sku)).onHand, 4);
  });

  test('a malformed command is 400 naming its path; an empty list or more than 1,000 are 400', async () => {
    const answer = await server.request<{ error: { details: { issues: { path: string }[] } } }>(
      'POST',
      '/v1/commands',
      {
        body: {
          commands: [
            {
              type: 'sale',
              transactionId: unique('pos'),
              location: 'store-d',
              lines: [{ sku: 'A', qty: 1 }],
            },
            {
              type: 'sale',
              transactionId: unique('pos'),
              location: 'store-d',
              lines: [{ sku: 'A', qty: -1 }],
            },
          ],
        },
      },
    );
    expectStatus(answer, 400, 'VALIDATION_FAILED');
    assert.deepEqual(
      answer.body.error.details.issues.map((issue) => issue.path),
      ['/commands/1/lines/0/qty'],
    );
    expectStatus(
      await server.request('POST', '/v1/commands', {
        body: { commands: [{ type: 'expire', reservationId: 'x' }] },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(
      await server.request('POST', '/v1/commands', { body: { commands: [] } }),
      400,
      'VALIDATION_FAILED',
    );
  });
});
