// Proves the API-wide conventions of API.md over a real socket: a repeated request answers the same
// bytes with `Idempotent-Replayed: true` and changes nothing, the same id with another body is 409
// IDEMPOTENCY_CONFLICT, X-Correlation-Id is echoed (or generated) and stored in the history, unknown
// fields / strings for numbers / prototype keys are 400 with `details.issues`, every error has the
// documented shape, and the OpenAPI document at /docs/json lists every route of API.md.

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

interface Issues {
  error: { details: { issues: { path: string; message: string }[] } };
}

describe('idempotency', () => {
  test('a repeated request answers the first response byte for byte, marked replayed, and applies once', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-i', sku, 10);
    const body = { transactionId: unique('pos'), location: 'store-i', lines: [{ sku, qty: 2 }] };
    const first = await server.request('POST', '/v1/sales', { body });
    expectStatus(first, 201);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    await receive(server, 'store-i', sku, 5);
    const again = await server.request('POST', '/v1/sales', {
      body: { lines: body.lines, location: body.location, transactionId: body.transactionId },
    });
    expectStatus(again, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.text, first.text, 'the stored first answer, not a new one');
    assert.equal((await position(server, 'store-i', sku)).onHand, 13);
  });

  test('the same id with a different body is 409 IDEMPOTENCY_CONFLICT and changes nothing', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-i', sku, 10);
    const transactionId = unique('pos');
    expectStatus(
      await server.request('POST', '/v1/sales', {
        body: { transactionId, location: 'store-i', lines: [{ sku, qty: 1 }] },
      }),
      201,
    );
    const changed = await server.request('POST', '/v1/sales', {
      body: { transactionId, location: 'store-i', lines: [{ sku, qty: 4 }] },
    });
    expectStatus(changed, 409, 'IDEMPOTENCY_CONFLICT');
    assert.equal((await position(server, 'store-i', sku)).onHand, 9);
  });

  test('each step of a reservation is idempotent by its own id; commit by the reservation', async () => {
    const sku = unique('SKU');
    const reservationId = unique('cart');
    await receive(server, 'store-i', sku, 10);
    const body = { reservationId, channel: 'web', lines: [{ sku, location: 'store-i', qty: 4 }] };
    const created = await server.request('POST', '/v1/reservations', { body });
    const recreated = await server.request('POST', '/v1/reservations', { body });
    assert.equal(recreated.headers.get('idempotent-replayed'), 'true');
    assert.equal(recreated.text, created.text);
    const commit = await server.request('POST', `/v1/reservations/${reservationId}/commit`);
    const recommit = await server.request('POST', `/v1/reservations/${reservationId}/commit`);
    assert.equal(recommit.headers.get('idempotent-replayed'), 'true');
    assert.equal(recommit.text, commit.text);
    const fulfil = { fulfilmentId: 'ship-1', lines: [{ sku, location: 'store-i', qty: 1 }] };
    await server.request('POST', `/v1/reservations/${reservationId}/fulfil`, { body: fulfil });
    const refulfil = await server.request('POST', `/v1/reservations/${reservationId}/fulfil`, {
      body: fulfil,
    });
    assert.equal(refulfil.headers.get('idempotent-replayed'), 'true');
    const now = await position(server, 'store-i', sku);
    assert.deepEqual([now.onHand, now.reserved], [9, 3]);
    expectStatus(
      await server.request('POST', `/v1/reservations/${reservationId}/fulfil`, {
        body: { ...fulfil, lines: [{ sku, location: 'store-i', qty: 2 }] },
      }),
      409,
      'IDEMPOTENCY_CONFLICT',
    );
  });
});

describe('correlation ids', () => {
  test('X-Correlation-Id is echoed, stored with every event it caused, and generated when absent', async () => {
    const sku = unique('SKU');
    const correlationId = unique('order-flow');
    const answer = await server.request('POST', '/v1/receipts', {
      body: { receiptId: unique('asn'), location: 'store-k', lines: [{ sku, qty: 3 }] },
      headers: { 'x-correlation-id': correlationId },
    });
    expectStatus(answer, 201);
    assert.equal(answer.headers.get('x-correlation-id'), correlationId);
    const history = await server.request<{
      entries: { type: string; correlationId: string; source: string }[];
    }>('GET', `/v1/stock/store-k/${sku}/history`);
    assert.deepEqual(
      history.body.entries.map((entry) => [entry.type, entry.correlationId, entry.source]),
      [
        ['AvailabilityChanged', correlationId, 'http:receipts'],
        ['Received', correlationId, 'http:receipts'],
      ],
    );
    const generated = await server.request('GET', '/health');
    assert.match(generated.headers.get('x-correlation-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('a correlation id outside the id grammar is 400, and the answer still carries a generated one', async () => {
    const answer = await server.request<Issues>('GET', '/health', {
      headers: { 'x-correlation-id': 'has spaces' },
    });
    expectStatus(answer, 400, 'VALIDATION_FAILED');
    assert.equal(answer.body.error.details.issues[0]?.path, '/headers/x-correlation-id');
    assert.match(answer.headers.get('x-correlation-id') ?? '', /^[0-9a-f-]{36}$/);
    const long = await server.request('GET', '/health', {
      headers: { 'x-correlation-id': `a${'b'.repeat(128)}` },
    });
    expectStatus(long, 400, 'VALIDATION_FAILED');
  });
});

describe('nothing is coerced, nothing unknown is stripped', () => {
  const sale = () => ({
    transactionId: unique('pos'),
    location: 'store-v',
    lines: [{ sku: 'SKU-V', qty: 1 }],
  });

  test('an unknown field is 400 naming it', async () => {
    const answer = await server.request<Issues>('POST', '/v1/sales', {
      body: { ...sale(), bucket: 'onHand' },
    });
    expectStatus(answer, 400, 'VALIDATION_FAILED');
    assert.deepEqual(answer.body.error.details.issues, [
      { path: '/bucket', message: 'is not a known field' },
    ]);
    const nested = await server.request<Issues>('POST', '/v1/sales', {
      body: { ...sale(), lines: [{ sku: 'SKU-V', qty: 1, version: 3 }] },
    });
    assert.deepEqual(nested.body.error.details.issues, [
      { path: '/lines/0/version', message: 'is not a known field' },
    ]);
  });

  test('"5" is not a quantity, and every bad field is listed', async () => {
    const answer = await server.request<Issues>('POST', '/v1/sales', {
      body: { transactionId: unique('pos'), location: 42, lines: [{ sku: 'SKU-V', qty: '5' }] },
    });
    expectStatus(answer, 400, 'VALIDATION_FAILED');
    assert.deepEqual(answer.body.error.details.issues.map((issue) => issue.path).sort(), [
      '/lines/0/qty',
      '/location',
    ]);
  });

  test('__proto__, constructor and prototype keys are refused anywhere', async () => {
    const proto = await server.request<Issues>('POST', '/v1/sales', {
      raw: {
        text: `{"__proto__":{"admin":true},${JSON.stringify(sale()).slice(1)}`,
        type: 'application/json',
      },
    });
    expectStatus(proto, 400, 'VALIDATION_FAILED');
    assert.equal(proto.body.error.details.issues[0]?.path, '/__proto__');
    const poisoned = await server.request<Issues>('POST', '/v1/sales', {
      raw: {
        text: `{"constructor":{"prototype":{"x":1}},${JSON.stringify(sale()).slice(1)}`,
        type: 'application/json',
      },
    });
    expectStatus(poisoned, 400, 'VALIDATION_FAILED');
    const inChannels = await server.request<Issues>('PUT', '/v1/policies/store-v/SKU-V', {
      body: { safetyStock: 0, lowStockThreshold: 0, channels: { prototype: { share: 0.5 } } },
    });
    expectStatus(inChannels, 400, 'VALIDATION_FAILED');
    assert.equal(inChannels.body.error.details.issues[0]?.path, '/channels/prototype');
  });

  test('malformed JSON, an empty required body and a wrong media type are 400', async () => {
    expectStatus(
      await server.request('POST', '/v1/sales', {
        raw: { text: '{"transactionId":', type: 'application/json' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(
      await server.request('POST', '/v1/sales', { raw: { text: '', type: 'application/json' } }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(
      await server.request('POST', '/v1/sales', { raw: { text: 'transactionId=1', type: 'text/plain' } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  test('a request over 1,000 lines is 400', async () => {
    const lines = Array.from({ length: 1_001 }, (_, at) => ({ sku: `SKU-${at}`, qty: 1 }));
    expectStatus(
      await server.request('POST', '/v1/receipts', {
        body: { receiptId: unique('asn'), location: 'dc', lines },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('errors and the OpenAPI document', () => {
  test('an unknown route is 404 NOT_FOUND in the documented shape', async () => {
    expectStatus(await server.request('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
    expectStatus(await server.request('POST', '/v1/salesfoo', { body: {} }), 404, 'NOT_FOUND');
  });

  test('/docs/json lists every route of API.md, and /docs serves the UI', async () => {
    const document = await server.request<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    }>('GET', '/docs/json');
    expectStatus(document, 200);
    const routes = Object.entries(document.body.paths).flatMap(([route, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${route}`),
    );
    const documented = [
      'GET /v1/stock/{location}/{sku}',
      'GET /v1/stock/{location}/{sku}/history',
      'GET /v1/availability/{sku}',
      'POST /v1/reservations',
      'GET /v1/reservations/{id}',
      'POST /v1/reservations/{id}/commit',
      'POST /v1/reservations/{id}/fulfil',
      'POST /v1/reservations/{id}/release',
      'POST /v1/sales',
      'POST /v1/sales:batch',
      'POST /v1/returns',
      'POST /v1/returns/{returnId}/dispositions',
      'GET /v1/returns/{returnId}',
      'POST /v1/returns:dispositions-import',
      'GET /v1/returns/quarantine',
      'POST /v1/receipts',
      'POST /v1/transfers',
      'POST /v1/transfers/{id}/receipt',
      'GET /v1/transfers/{id}',
      'POST /v1/adjustments',
      'POST /v1/counts',
      'PUT /v1/policies/{location}/{sku}',
      'POST /v1/commands',
      'GET /v1/events',
      'GET /v1/journal',
      'POST /v1/receipts:import',
      'POST /v1/transfers:import',
      'POST /v1/stock-snapshots',
      'GET /v1/dead-letters',
      'POST /v1/dead-letters/{id}/retry',
      'DELETE /v1/dead-letters/{id}',
      'PUT /v1/items/{sku}',
      'GET /v1/items/{sku}',
      'POST /v1/items:import',
      'GET /v1/barcodes/{gtin}',
      'PUT /v1/locations/{code}',
      'GET /v1/locations/{code}',
      'POST /v1/locations:import',
      'POST /v1/kit-reservations',
      'GET /v1/pos/registers',
      'GET /v1/pos/stores',
      'GET /health',
      'GET /ready',
      'GET /metrics',
    ];
    // Beyond API.md: the operators' dashboard (README "Observability"), documented in /docs as well.
    const dashboard = [
      'GET /',
      'GET /dashboard/dashboard.js',
      'GET /dashboard/dashboard.css',
      'GET /v1/dashboard/stream',
    ];
    assert.deepEqual([...routes].sort(), [...documented, ...dashboard].sort());
    const sale = document.body.paths['/v1/sales']?.post as { responses: Record<string, unknown> };
    for (const status of ['201', '400', '401', '403', '409', '413', '429', '503']) {
      assert.ok(sale.responses[status] !== undefined, `POST /v1/sales documents ${status}`);
    }
    const ui = await server.request('GET', '/docs');
    assert.ok(ui.status === 200 || ui.status === 302, `GET /docs answered ${ui.status}`);
  });
});
