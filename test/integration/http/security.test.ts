// Proves API.md's security rules over a real socket: no or a bad key is 401, a key without the scope
// is 403, a key limited to locations cannot touch others (BOLA) -- on single-location bodies, on each
// line of multi-location bodies, on each command of /v1/commands, on steps of existing reservations and
// in the event stream -- operations routes need no key, a key over its rate is 429 RATE_LIMITED with
// Retry-After, a key file with a problem is refused naming it, and without keys a non-loopback HOST
// refuses to start.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseApiKeys } from '../../../adapters/http/auth.ts';
import { ConfigError, loadConfig } from '../../../engine/config.ts';
import { silentLogger } from '../../../engine/logger.ts';
import { apiKeysFor } from '../../../engine/main.ts';
import type { TestServer } from './harness.ts';
import { expectStatus, receive, startServer, unique } from './harness.ts';

const ADMIN = 'admin-key-0123456789abcdefghij';
const READER = 'reader-key-0123456789abcdefghij';
const POS_042 = 'pos-042-key-0123456789abcdefghij';
const ECOM_042 = 'ecom-042-key-0123456789abcdefghij';
const WMS_042 = 'wms-042-key-0123456789abcdefghij';
const ADMIN_042 = 'admin-042-key-0123456789abcdefghij';
const SLOW = 'slow-key-0123456789abcdefghijklm';

let server: TestServer;
before(async () => {
  server = await startServer({
    keys: [
      { key: ADMIN, name: 'ops', scopes: ['admin'] },
      { key: READER, name: 'dashboard', scopes: ['stock:read'] },
      { key: POS_042, name: 'pos-042', scopes: ['sales:write', 'stock:read'], locations: ['store-042'] },
      {
        key: ECOM_042,
        name: 'ecom-042',
        scopes: ['reservations:write', 'stock:read'],
        locations: ['store-042'],
      },
      { key: WMS_042, name: 'wms-042', scopes: ['supply:write'], locations: ['store-042'] },
      { key: ADMIN_042, name: 'admin-042', scopes: ['admin'], locations: ['store-042'] },
      { key: SLOW, name: 'slow', scopes: ['stock:read'], requestsPerMinute: 3 },
    ],
  });
});
after(async () => {
  await server.close();
});

const sale = (location: string, sku: string) => ({
  transactionId: unique('pos'),
  location,
  lines: [{ sku, qty: 1 }],
});

describe('keys and scopes', () => {
  test('401 UNAUTHORIZED without a key or with an unknown one; operations routes need none', async () => {
    const none = await server.request('GET', '/v1/stock/store-042/SKU-1');
    expectStatus(none, 401, 'UNAUTHORIZED');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    expectStatus(
      await server.request('GET', '/v1/stock/store-042/SKU-1', { key: 'not-a-key-0123456789abcdefgh' }),
      401,
      'UNAUTHORIZED',
    );
    expectStatus(
      await server.request('GET', '/v1/stock/store-042/SKU-1', {
        headers: { authorization: `Basic ${ADMIN}` },
      }),
      401,
      'UNAUTHORIZED',
    );
    for (const route of ['/health', '/ready', '/metrics', '/docs/json']) {
      assert.equal((await server.request('GET', route)).status, 200, route);
    }
  });

  test('403 FORBIDDEN for a key without the scope; admin holds every scope', async () => {
    const sku = unique('SKU');
    expectStatus(
      await server.request('POST', '/v1/sales', { key: READER, body: sale('store-1', sku) }),
      403,
      'FORBIDDEN',
    );
    expectStatus(
      await server.request('PUT', `/v1/policies/store-042/${sku}`, {
        key: WMS_042,
        body: { safetyStock: 1, lowStockThreshold: 1 },
      }),
      403,
      'FORBIDDEN',
    );
    expectStatus(await server.request('GET', '/v1/dead-letters', { key: READER }), 403, 'FORBIDDEN');
    expectStatus(await server.request('POST', '/v1/sales', { key: ADMIN, body: sale('store-1', sku) }), 201);
    expectStatus(await server.request('GET', '/v1/dead-letters', { key: ADMIN }), 200);
  });
});

describe('locations (BOLA)', () => {
  test('a POS key for store-042 cannot sell or read at store-043, and nothing is applied', async () => {
    const sku = unique('SKU');
    expectStatus(
      await server.request('POST', '/v1/sales', { key: POS_042, body: sale('store-042', sku) }),
      201,
    );
    const other = await server.request<{ error: { details: { locations: string[] } } }>('POST', '/v1/sales', {
      key: POS_042,
      body: sale('store-043', sku),
    });
    expectStatus(other, 403, 'FORBIDDEN');
    assert.deepEqual(other.body.error.details.locations, ['store-043']);
    expectStatus(
      await server.request('GET', `/v1/stock/store-043/${sku}`, { key: POS_042 }),
      403,
      'FORBIDDEN',
    );
    const position = await server.request<{ onHand: number }>('GET', `/v1/stock/store-043/${sku}`, {
      key: ADMIN,
    });
    assert.equal(position.body.onHand, 0);
  });

  test('every line of a multi-location body is checked', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-042', sku, 5, ADMIN);
    await receive(server, 'store-043', sku, 5, ADMIN);
    const reservation = await server.request('POST', '/v1/reservations', {
      key: ECOM_042,
      body: {
        reservationId: unique('cart'),
        channel: 'web',
        lines: [
          { sku, location: 'store-042', qty: 1 },
          { sku, location: 'store-043', qty: 1 },
        ],
      },
    });
    expectStatus(reservation, 403, 'FORBIDDEN');
    const held = await server.request<{ reserved: number }>('GET', `/v1/stock/store-042/${sku}`, {
      key: ADMIN,
    });
    assert.equal(held.body.reserved, 0);
    expectStatus(
      await server.request('POST', '/v1/transfers', {
        key: WMS_042,
        body: { transferId: unique('tr'), from: 'store-042', to: 'store-043', lines: [{ sku, qty: 1 }] },
      }),
      403,
      'FORBIDDEN',
    );
  });

  test("a step on another location's reservation is 403, and reading it too", async () => {
    const sku = unique('SKU');
    const reservationId = unique('cart');
    await receive(server, 'store-043', sku, 5, ADMIN);
    expectStatus(
      await server.request('POST', '/v1/reservations', {
        key: ADMIN,
        body: { reservationId, channel: 'web', lines: [{ sku, location: 'store-043', qty: 1 }] },
      }),
      201,
    );
    expectStatus(
      await server.request('POST', `/v1/reservations/${reservationId}/commit`, { key: ECOM_042 }),
      403,
      'FORBIDDEN',
    );
    expectStatus(
      await server.request('POST', `/v1/reservations/${reservationId}/release`, {
        key: ECOM_042,
        body: { releaseId: 'sneaky' },
      }),
      403,
      'FORBIDDEN',
    );
    expectStatus(
      await server.request('GET', `/v1/reservations/${reservationId}`, { key: ECOM_042 }),
      403,
      'FORBIDDEN',
    );
    const header = await server.request<{ status: string }>('GET', `/v1/reservations/${reservationId}`, {
      key: ADMIN,
    });
    assert.equal(header.body.status, 'held');
  });

  test('each command of /v1/commands is checked on its own: 403 for it, the others go on', async () => {
    const sku = unique('SKU');
    const answer = await server.request<{ results: { status: number }[] }>('POST', '/v1/commands', {
      key: POS_042,
      body: {
        commands: [
          { type: 'sale', ...sale('store-042', sku) },
          { type: 'sale', ...sale('store-043', sku) },
          { type: 'receive', receiptId: unique('asn'), location: 'store-042', lines: [{ sku, qty: 1 }] },
        ],
      },
    });
    expectStatus(answer, 200);
    assert.deepEqual(
      answer.body.results.map((result) => result.status),
      [201, 403, 403],
    );
  });

  test('availability and the event stream show a limited key its locations only', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-042', sku, 2, ADMIN);
    await receive(server, 'store-043', sku, 3, ADMIN);
    const availability = await server.request<{ locations: { location: string }[] }>(
      'GET',
      `/v1/availability/${sku}`,
      { key: POS_042 },
    );
    assert.deepEqual(
      availability.body.locations.map((row) => row.location),
      ['store-042'],
    );
    expectStatus(
      await server.request('GET', `/v1/availability/${sku}?locations=store-043`, { key: POS_042 }),
      403,
      'FORBIDDEN',
    );
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/events?after=0`, {
      headers: { authorization: `Bearer ${POS_042}` },
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let text = '';
    const deadline = Date.now() + 2_000;
    while (!text.includes(sku) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    assert.ok(text.includes('"location":"store-042"'));
    assert.ok(!text.includes('"location":"store-043"'), 'no entry of store-043 reaches a store-042 key');
  });

  test('dead letters need admin without a location limit', async () => {
    expectStatus(await server.request('GET', '/v1/dead-letters', { key: ADMIN_042 }), 403, 'FORBIDDEN');
  });
});

describe('rate limits', () => {
  test('a key over its requests per minute is 429 RATE_LIMITED with Retry-After', async () => {
    for (let at = 0; at < 3; at++) {
      expectStatus(await server.request('GET', '/v1/stock/store-1/SKU-1', { key: SLOW }), 200);
    }
    const limited = await server.request('GET', '/v1/stock/store-1/SKU-1', { key: SLOW });
    expectStatus(limited, 429, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Other keys have their own budget.
    expectStatus(await server.request('GET', '/v1/stock/store-1/SKU-1', { key: READER }), 200);
  });
});

describe('configuration', () => {
  test('a key file with a problem is refused, naming the key and the field', () => {
    const refused = (keys: unknown, pattern: RegExp) =>
      assert.throws(
        () => parseApiKeys(JSON.stringify(keys), 'keys.json'),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.setting === 'STOCKLEDGER_API_KEYS' &&
          pattern.test(error.message),
      );
    const key = 'k'.repeat(30);
    refused(
      { keys: [{ key, name: 'pos', scopes: ['sales:rw'] }] },
      /keys\[0\] \("pos"\)\.scopes\[0\] "sales:rw" is not a scope/,
    );
    refused(
      { keys: [{ key: 'short', name: 'pos', scopes: ['admin'] }] },
      /keys\[0\] \("pos"\)\.key must be 24/,
    );
    refused({ keys: [{ key, scopes: ['admin'] }] }, /keys\[0\]\.name must be an id/);
    refused(
      { keys: [{ key, name: 'a', scopes: ['admin'], role: 'x' }] },
      /keys\[0\]\.role is not a known field/,
    );
    refused(
      {
        keys: [
          { key, name: 'a', scopes: ['admin'] },
          { key, name: 'b', scopes: ['admin'] },
        ],
      },
      /keys\[1\] \("b"\)\.key is the same as another key/,
    );
    refused({ keys: [] }, /"keys" must be a non-empty array/);
    assert.throws(
      () => parseApiKeys('{', 'keys.json'),
      /STOCKLEDGER_API_KEYS: keys.json: the file is not JSON/,
    );
  });

  test('without keys, a HOST that is not loopback refuses to start, naming HOST and STOCKLEDGER_API_KEYS', () => {
    const config = loadConfig({ HOST: '0.0.0.0', STOCKLEDGER_DATA_DIR: '/nonexistent' });
    assert.throws(
      () => apiKeysFor(config, silentLogger()),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === 'HOST' &&
        /STOCKLEDGER_API_KEYS/.test(error.message),
    );
    assert.equal(apiKeysFor(loadConfig({ HOST: '127.0.0.1' }), silentLogger()), null);
    assert.equal(apiKeysFor(loadConfig({ HOST: '::1' }), silentLogger()), null);
  });
});
