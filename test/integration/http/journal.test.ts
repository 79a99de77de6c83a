// Proves `GET /v1/journal` over a real socket on a real LMDB engine: receipts, sales, returns and
// adjustments posted through the API come back as movement lines with their correlation id and source;
// following `Journal-Cursor` page by page with random limits gives exactly the one-page export (no
// duplicate, no gap) and ends with `Journal-End: true`; a resumed cursor sees only later requests, and a
// replayed request adds no line; CSV pages start with the header; a bad cursor, limit or format is 400
// and a location-limited key is 403 (the journal spans every location).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { MOVEMENT_COLUMNS } from '../../../adapters/erp/journal.ts';
import type { Answer, TestServer } from './harness.ts';
import { expectStatus, receive, startServer, unique } from './harness.ts';

const ADMIN = 'journal-admin-key-0123456789abcdef';
const SUPPLY = 'journal-supply-key-0123456789abcdef';
const LIMITED = 'journal-limited-key-0123456789abcdef';
const seed = Number(process.env.JOURNAL_SEED ?? Date.now() % 1_000_000);

let server: TestServer;
before(async () => {
  server = await startServer({
    keys: [
      { key: ADMIN, name: 'admin', scopes: ['admin'] },
      { key: SUPPLY, name: 'supply', scopes: ['supply:write'] },
      { key: LIMITED, name: 'limited', scopes: ['admin'], locations: ['store-1'] },
    ],
  });
});
after(async () => {
  await server?.close();
});

interface Line {
  position: number;
  entry: number;
  event: number;
  location: string;
  sku: string;
  type: string;
  onHand: number;
  quarantine: number;
  correlationId: string | null;
  source: string;
  reason: string | null;
}

function linesOf(answer: Answer<string>): Line[] {
  return answer.text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);
}

async function page(query: string, key = SUPPLY): Promise<Answer<string>> {
  const answer = await server.request<string>('GET', `/v1/journal${query}`, { key });
  expectStatus(answer, 200);
  return answer;
}

test('requests come back as movement lines; random pages concatenate to the full export', async () => {
  const sku = unique('SKU');
  await receive(server, 'store-1', sku, 10, ADMIN);
  const sale = { transactionId: unique('pos'), location: 'store-1', lines: [{ sku, qty: 3 }] };
  expectStatus(
    await server.request('POST', '/v1/sales', {
      body: sale,
      key: ADMIN,
      headers: { 'x-correlation-id': 'journal-sale' },
    }),
    201,
  );
  expectStatus(
    await server.request('POST', '/v1/returns', {
      body: { returnId: unique('ret'), location: 'store-1', lines: [{ sku, qty: 1, reason: 'faulty' }] },
      key: ADMIN,
    }),
    201,
  );
  expectStatus(
    await server.request('POST', '/v1/adjustments', {
      body: {
        adjustmentId: unique('adj'),
        location: 'store-2',
        lines: [{ sku, delta: 4, reason: 'found' }],
      },
      key: ADMIN,
    }),
    201,
  );
  for (let at = 0; at < 30; at++) await receive(server, `store-${at % 3}`, unique('SKU'), 1 + at, ADMIN);

  const full = await page('?limit=10000');
  assert.equal(full.headers.get('journal-end'), 'true');
  assert.match(full.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  const lines = linesOf(full).filter((line) => line.sku === sku && line.onHand + line.quarantine !== 0);
  assert.deepEqual(
    lines.map((line) => [line.location, line.type, line.onHand, line.quarantine]),
    [
      ['store-1', 'Received', 10, 0],
      ['store-1', 'Sold', -3, 0],
      ['store-1', 'Returned', 0, 1],
      ['store-2', 'Adjusted', 4, 0],
    ],
  );
  assert.equal(lines[1]!.correlationId, 'journal-sale');
  assert.equal(lines[3]!.reason, 'found');

  let random = seed;
  const paged: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1_000; pages++) {
    random = (random * 1_103_515_245 + 12_345) % 2_147_483_648;
    const limit = 1 + (random % 7);
    const answer = await page(cursor === null ? `?limit=${limit}` : `?after=${cursor}&limit=${limit}`);
    paged.push(...answer.text.split('\n').filter((line) => line !== ''));
    cursor = answer.headers.get('journal-cursor');
    assert.match(cursor ?? '', /^[0-9]+\.[0-9]+$/);
    if (answer.headers.get('journal-end') === 'true') break;
  }
  assert.deepEqual(
    paged,
    full.text.split('\n').filter((line) => line !== ''),
    `seed ${seed}`,
  );

  // Resuming from the end: only what is recorded later; a replayed sale adds nothing.
  const end = full.headers.get('journal-cursor')!;
  expectStatus(await server.request('POST', '/v1/sales', { body: sale, key: ADMIN }), 201);
  assert.equal((await page(`?after=${end}`)).text, '');
  await receive(server, 'store-1', sku, 2, ADMIN);
  const later = linesOf(await page(`?after=${end}`)).filter((line) => line.onHand !== 0);
  assert.deepEqual(
    later.map((line) => [line.sku, line.type, line.onHand]),
    [[sku, 'Received', 2]],
  );
});

test('a CSV page starts with the header row and holds the same lines', async () => {
  await receive(server, 'store-1', unique('SKU'), 5, ADMIN);
  const ndjson = linesOf(await page('?limit=5'));
  const csv = await page('?limit=5&format=csv', ADMIN);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  assert.equal(csv.text.split('\n')[0], MOVEMENT_COLUMNS.join(','));
  const rows = parse(csv.text, { columns: true }) as Record<string, string>[];
  assert.deepEqual(
    rows.map((row) => [Number(row.position), Number(row.entry), Number(row.event), row.sku, row.type]),
    ndjson.map((line) => [line.position, line.entry, line.event, line.sku, line.type]),
  );
});

test('bad cursors, limits and formats are 400; a location-limited key is 403; no key is 401', async () => {
  for (const query of [
    '?after=12',
    '?after=x.1',
    '?limit=0',
    '?limit=100001',
    '?limit=five',
    '?format=xml',
  ]) {
    expectStatus(
      await server.request('GET', `/v1/journal${query}`, { key: SUPPLY }),
      400,
      'VALIDATION_FAILED',
    );
  }
  expectStatus(await server.request('GET', '/v1/journal', { key: LIMITED }), 403, 'FORBIDDEN');
  expectStatus(await server.request('GET', '/v1/journal'), 401, 'UNAUTHORIZED');
});
