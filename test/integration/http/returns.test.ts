// Proves the returns endpoints of API.md over a real socket and a real engine: returned units stay in
// quarantine (never sellable) until a restock disposition puts them on hand, scrap and vendor take them
// out, the return answers returned / disposed by disposition / still in quarantine, and the documented
// errors (404 RETURN_NOT_FOUND, 409 QUARANTINE_INSUFFICIENT, 400) change nothing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, receive, startServer, unique } from './harness.ts';

interface ReturnBody {
  returnId: string;
  location: string;
  originalOrderId: string | null;
  lines: {
    sku: string;
    reason: string;
    returned: number;
    disposed: { restock: number; scrap: number; vendor: number };
    quarantine: number;
  }[];
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

describe('returns and dispositions', () => {
  test('a return stays in quarantine, unsellable, until a restock disposition', async () => {
    const [boots, socks] = [unique('BOOT'), unique('SOCK')];
    const returnId = unique('ret');
    await receive(server, 'store-r', boots, 1);
    const returned = await server.request<{ lines: { sku: string; qty: number; quarantine: number }[] }>(
      'POST',
      '/v1/returns',
      {
        body: {
          returnId,
          location: 'store-r',
          originalOrderId: 'order-77',
          lines: [
            { sku: boots, qty: 3, reason: 'wrong size' },
            { sku: socks, qty: 2, reason: 'damaged' },
          ],
        },
      },
    );
    expectStatus(returned, 201);
    assert.deepEqual(returned.body.lines, [
      { sku: boots, qty: 3, quarantine: 3 },
      { sku: socks, qty: 2, quarantine: 2 },
    ]);
    const quarantined = await position(server, 'store-r', boots);
    assert.deepEqual([quarantined.onHand, quarantined.quarantine, quarantined.availableToSell], [1, 3, 1]);

    const inspected = await server.request<{ lines: Record<string, unknown>[] }>(
      'POST',
      `/v1/returns/${returnId}/dispositions`,
      {
        body: {
          dispositionId: 'inspection-1',
          lines: [
            { sku: boots, qty: 2, disposition: 'restock' },
            { sku: boots, qty: 1, disposition: 'vendor' },
            { sku: socks, qty: 1, disposition: 'scrap' },
          ],
        },
      },
    );
    expectStatus(inspected, 201);
    const restocked = await position(server, 'store-r', boots);
    assert.deepEqual([restocked.onHand, restocked.quarantine, restocked.availableToSell], [3, 0, 3]);
    const scrapped = await position(server, 'store-r', socks);
    assert.deepEqual([scrapped.onHand, scrapped.quarantine], [0, 1]);

    const got = await server.request<ReturnBody>('GET', `/v1/returns/${returnId}`);
    expectStatus(got, 200);
    assert.equal(got.body.originalOrderId, 'order-77');
    assert.deepEqual(
      got.body.lines.map((line) => [line.sku, line.returned, line.disposed, line.quarantine]),
      [
        [boots, 3, { restock: 2, scrap: 0, vendor: 1 }, 0],
        [socks, 2, { restock: 0, scrap: 1, vendor: 0 }, 1],
      ],
    );
  });

  test("more than is left in the return's lot is 409 QUARANTINE_INSUFFICIENT and disposes of nothing", async () => {
    const sku = unique('SKU');
    const returnId = unique('ret');
    expectStatus(
      await server.request('POST', '/v1/returns', {
        body: { returnId, location: 'store-r', lines: [{ sku, qty: 2, reason: 'faulty' }] },
      }),
      201,
    );
    const answer = await server.request<{ error: { details: { lines: unknown[] } } }>(
      'POST',
      `/v1/returns/${returnId}/dispositions`,
      {
        body: {
          dispositionId: 'too-much',
          lines: [
            { sku, qty: 2, disposition: 'restock' },
            { sku, qty: 1, disposition: 'scrap' },
          ],
        },
      },
    );
    expectStatus(answer, 409, 'QUARANTINE_INSUFFICIENT');
    assert.deepEqual(answer.body.error.details.lines, [{ sku, requested: 3, remaining: 2 }]);
    const now = await position(server, 'store-r', sku);
    assert.deepEqual([now.onHand, now.quarantine], [0, 2]);
  });

  test('404 RETURN_NOT_FOUND for an unknown return; 400 for a SKU the return does not have or a bad disposition', async () => {
    expectStatus(await server.request('GET', `/v1/returns/${unique('nope')}`), 404, 'RETURN_NOT_FOUND');
    expectStatus(
      await server.request('POST', `/v1/returns/${unique('nope')}/dispositions`, {
        body: { dispositionId: 'd', lines: [{ sku: 'A', qty: 1, disposition: 'restock' }] },
      }),
      404,
      'RETURN_NOT_FOUND',
    );
    const returnId = unique('ret');
    await server.request('POST', '/v1/returns', {
      body: { returnId, location: 'store-r', lines: [{ sku: 'SKU-R', qty: 1, reason: 'x' }] },
    });
    expectStatus(
      await server.request('POST', `/v1/returns/${returnId}/dispositions`, {
        body: { dispositionId: 'd', lines: [{ sku: 'OTHER', qty: 1, disposition: 'restock' }] },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(
      await server.request('POST', `/v1/returns/${returnId}/dispositions`, {
        body: { dispositionId: 'd', lines: [{ sku: 'SKU-R', qty: 1, disposition: 'resell' }] },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(
      await server.request('POST', '/v1/returns', {
        body: { returnId: unique('ret'), location: 'store-r', lines: [{ sku: 'A', qty: 1 }] },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });
});
