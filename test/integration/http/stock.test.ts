// Proves the stock read endpoints of API.md over a real socket and a real engine: the position (an
// unknown pair is all zero, `asOf` answers the past), the audit history (newest first, paged with
// `before`, carrying the correlation id), and availability with a channel's share applied; and their
// documented errors (400 for malformed parameters).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, receive, startServer, unique } from './harness.ts';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

describe('GET /v1/stock/{location}/{sku}', () => {
  test('an unknown pair answers 200 with every bucket 0 and version 0', async () => {
    const answer = await server.request('GET', `/v1/stock/store-1/${unique('never')}`);
    expectStatus(answer, 200);
    assert.deepEqual(
      { ...answer.body, sku: 'x' },
      {
        sku: 'x',
        location: 'store-1',
        onHand: 0,
        reserved: 0,
        inTransit: 0,
        quarantine: 0,
        safetyStock: 0,
        availableToSell: 0,
        status: 'outOfStock',
        integrity: 'consistent',
        version: 0,
        updatedAt: null,
      },
    );
  });

  test('answers every documented field, and asOf answers the position as it was then', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-1', sku, 5);
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await receive(server, 'store-1', sku, 7);
    const now = await position(server, 'store-1', sku);
    assert.equal(now.onHand, 12);
    assert.equal(now.status, 'inStock');
    assert.equal(typeof now.updatedAt, 'string');
    const then = await server.request<{ onHand: number }>(
      'GET',
      `/v1/stock/store-1/${sku}?asOf=${encodeURIComponent(between)}`,
    );
    expectStatus(then, 200);
    assert.equal(then.body.onHand, 5);
    const before = await server.request<{ onHand: number; version: number }>(
      'GET',
      `/v1/stock/store-1/${sku}?asOf=2000-01-01T00:00:00Z`,
    );
    assert.equal(before.body.onHand, 0);
    assert.equal(before.body.version, 0);
  });

  test('400 VALIDATION_FAILED for a malformed asOf, an unknown parameter, or an id outside the grammar', async () => {
    expectStatus(
      await server.request('GET', '/v1/stock/store-1/SKU-1?asOf=yesterday'),
      400,
      'VALIDATION_FAILED',
    );
    const unknown = await server.request<{ error: { details: { issues: { path: string }[] } } }>(
      'GET',
      '/v1/stock/store-1/SKU-1?colour=red',
    );
    expectStatus(unknown, 400, 'VALIDATION_FAILED');
    assert.deepEqual(
      unknown.body.error.details.issues.map((issue) => issue.path),
      ['/querystring/colour'],
    );
    expectStatus(await server.request('GET', '/v1/stock/store-1/-bad'), 400, 'VALIDATION_FAILED');
  });
});

describe('GET /v1/stock/{location}/{sku}/history', () => {
  test('the audit ledger, newest first, paged with before, each entry with its command and correlation id', async () => {
    const sku = unique('SKU');
    for (let at = 0; at < 3; at++) await receive(server, 'store-2', sku, 1);
    await server.request('POST', '/v1/sales', {
      body: { transactionId: unique('t'), location: 'store-2', lines: [{ sku, qty: 1 }] },
      headers: { 'x-correlation-id': 'till-7:receipt-42' },
    });
    type Page = {
      entries: { version: number; type: string; deltas: Record<string, number>; correlationId: string }[];
      next: number | null;
    };
    const first = await server.request<Page>('GET', `/v1/stock/store-2/${sku}/history?limit=2`);
    expectStatus(first, 200);
    assert.deepEqual(
      first.body.entries.map((entry) => [entry.version, entry.type]),
      [
        [5, 'Sold'],
        [4, 'Received'],
      ],
    );
    assert.equal(first.body.entries[0]?.correlationId, 'till-7:receipt-42');
    assert.deepEqual(first.body.entries[0]?.deltas, { onHand: -1 });
    assert.equal(first.body.next, 4);
    const second = await server.request<Page>('GET', `/v1/stock/store-2/${sku}/history?limit=10&before=4`);
    assert.deepEqual(
      second.body.entries.map((entry) => entry.type),
      ['Received', 'AvailabilityChanged', 'Received'],
    );
    assert.equal(second.body.next, null);
    const received = second.body.entries[0] as { occurredAt?: string | null } | undefined;
    assert.equal(received?.occurredAt, null, 'a receipt names no time of its own');
  });

  test('a late sale keeps when it happened next to when the ledger applied it', async () => {
    const sku = unique('SKU');
    const occurredAt = '2026-11-22T14:03:00.000Z';
    const sale = await server.request('POST', '/v1/sales', {
      body: { transactionId: unique('late'), location: 'store-2', occurredAt, lines: [{ sku, qty: 1 }] },
    });
    expectStatus(sale, 201);
    type Page = { entries: { type: string; at: string; occurredAt: string | null }[] };
    const page = await server.request<Page>('GET', `/v1/stock/store-2/${sku}/history?limit=1`);
    expectStatus(page, 200);
    const [sold] = page.body.entries;
    assert.equal(sold?.type, 'Sold');
    assert.equal(sold?.occurredAt, occurredAt);
    assert.ok(Date.parse(sold?.at ?? '') > Date.parse(occurredAt), 'applied after it happened');
  });

  test('400 for a limit that is not digits or is out of range', async () => {
    expectStatus(await server.request('GET', '/v1/stock/s/k/history?limit=-1'), 400, 'VALIDATION_FAILED');
    expectStatus(await server.request('GET', '/v1/stock/s/k/history?limit=5000'), 400, 'VALIDATION_FAILED');
    expectStatus(await server.request('GET', '/v1/stock/s/k/history?before=abc'), 400, 'VALIDATION_FAILED');
  });
});

describe('GET /v1/availability/{sku}', () => {
  test("lists every location of the SKU, or those named, with the channel's share applied", async () => {
    const sku = unique('SKU');
    await receive(server, 'store-a', sku, 10);
    await receive(server, 'store-b', sku, 4);
    const policy = await server.request('PUT', `/v1/policies/store-a/${sku}`, {
      body: { safetyStock: 0, lowStockThreshold: 0, channels: { web: { share: 0.5 } } },
    });
    expectStatus(policy, 200);
    type Body = {
      sku: string;
      total: number;
      locations: { location: string; availableToSell: number; exposed: number; status: string }[];
    };
    const all = await server.request<Body>('GET', `/v1/availability/${sku}?channel=web`);
    expectStatus(all, 200);
    assert.deepEqual(all.body, {
      sku,
      total: 9,
      locations: [
        { location: 'store-a', availableToSell: 10, exposed: 5, status: 'inStock' },
        { location: 'store-b', availableToSell: 4, exposed: 4, status: 'inStock' },
      ],
    });
    const named = await server.request<Body>('GET', `/v1/availability/${sku}?locations=store-b,store-z`);
    assert.deepEqual(
      named.body.locations.map((row) => [row.location, row.exposed]),
      [
        ['store-b', 4],
        ['store-z', 0],
      ],
    );
    assert.equal(named.body.total, 4);
  });

  test('400 for a malformed locations list', async () => {
    expectStatus(
      await server.request('GET', '/v1/availability/SKU-1?locations=a,,b'),
      400,
      'VALIDATION_FAILED',
    );
  });
});
