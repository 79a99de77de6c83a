// Proves `POST /v1/receipts:import` and `POST /v1/transfers:import` over a real socket on a real LMDB
// engine: rows are grouped per document into one receipt or transfer each (onHand up; source down and
// destination inTransit up), every kind of bad row becomes a dead letter with its reason and is left
// out, a document the request refuses (a transfer beyond the stock) sends all its rows to the dead
// letters and changes nothing, the same file again in another row order applies nothing twice, a bad
// header is 400 and a document at another location is 403, with nothing applied.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, receive, startServer, unique } from './harness.ts';

const ADMIN = 'supply-import-admin-key-0123456789abcdef';
const LIMITED = 'supply-import-limited-key-0123456789abcdef';

interface Imported {
  documents: { id: string; outcome: string; lines: number }[];
  rejected: { line: number; reason: string; deadLetterId: string }[];
}

let server: TestServer;
before(async () => {
  server = await startServer({
    keys: [
      { key: ADMIN, name: 'admin', scopes: ['admin'] },
      { key: LIMITED, name: 'limited', scopes: ['supply:write'], locations: ['sup-1'] },
    ],
  });
});
after(async () => {
  await server?.close();
});

async function importCsv(kind: 'receipts' | 'transfers', csv: string, key = ADMIN) {
  return server.request<Imported>('POST', `/v1/${kind}:import`, {
    raw: { text: csv, type: 'text/csv' },
    key,
  });
}

async function onHand(location: string, sku: string): Promise<[number, number]> {
  const now = await position(server, location, sku, ADMIN);
  return [now.onHand, now.inTransit];
}

test('receipts: grouped per receipt, bad rows dead-lettered, a resend in another order applies nothing', async () => {
  const [a, b] = [unique('SKU'), unique('SKU')];
  const [r1, r2] = [unique('rcpt'), unique('rcpt')];
  const rows = [
    `${r1},sup-1,${a},5`,
    `${r2},sup-2,${a},7`,
    `${r1},sup-1,${b},3`,
    `${r1},sup-2,${b},1`, // another location for r1
    `${r1},sup-1,${a},2`, // a SKU named twice
    `${r1},sup-1,${b},0`,
    `${r1},sup-1,${b},2.5`,
    `${r1},,${b},1`,
    `${r1},sup-1,${b}`,
    `"${r1},sup-1,${b},1`,
  ];
  const csv = `receiptId,location,sku,qty\n${rows.join('\n')}\n`;
  const answer = await importCsv('receipts', csv);
  expectStatus(answer, 200);
  assert.deepEqual(
    answer.body.documents.map((document) => [document.id, document.outcome, document.lines]),
    [
      [r1, 'applied', 2],
      [r2, 'applied', 1],
    ],
  );
  assert.deepEqual(
    answer.body.rejected.map((rejection) => [rejection.line, rejection.reason.split(':')[0]]),
    [
      [5, 'INCONSISTENT'],
      [6, 'DUPLICATE'],
      [7, 'INVALID_QUANTITY'],
      [8, 'INVALID_QUANTITY'],
      [9, 'INVALID_ID'],
      [10, 'MALFORMED'],
      [11, 'MALFORMED'],
    ],
  );
  assert.deepEqual(
    [await onHand('sup-1', a), await onHand('sup-1', b), await onHand('sup-2', a)],
    [
      [5, 0],
      [3, 0],
      [7, 0],
    ],
  );
  const feedBefore = server.engine.feedPosition();
  const again = await importCsv(
    'receipts',
    `receiptId,location,sku,qty\n${rows.slice(0, 3).reverse().join('\n')}\n`,
  );
  expectStatus(again, 200);
  assert.deepEqual(
    again.body.documents.map((document) => document.outcome),
    ['replayed', 'replayed'],
  );
  assert.equal(server.engine.feedPosition(), feedBefore);
});

test('transfers: shipped per transfer; a transfer beyond the stock is refused whole into the dead letters', async () => {
  const [a, b] = [unique('SKU'), unique('SKU')];
  await receive(server, 'sup-1', a, 10, ADMIN);
  await receive(server, 'sup-1', b, 1, ADMIN);
  const [t1, t2] = [unique('tr'), unique('tr')];
  const csv = `sku,qty,transferId,from,to\n${a},4,${t1},sup-1,sup-2\n${a},2,${t2},sup-1,sup-3\n${b},5,${t2},sup-1,sup-3\n`;
  const answer = await importCsv('transfers', csv);
  expectStatus(answer, 200);
  assert.deepEqual(
    answer.body.documents.map((document) => [document.id, document.outcome]),
    [
      [t1, 'applied'],
      [t2, 'rejected'],
    ],
  );
  assert.deepEqual(
    answer.body.rejected.map((rejection) => [rejection.line, rejection.reason.split(':')[0]]),
    [
      [3, 'INSUFFICIENT_STOCK'],
      [4, 'INSUFFICIENT_STOCK'],
    ],
  );
  assert.deepEqual((await onHand('sup-1', a))[0], 6);
  assert.deepEqual((await onHand('sup-1', b))[0], 1);
  assert.equal((await position(server, 'sup-2', a, ADMIN)).inTransit, 4);
  assert.equal((await position(server, 'sup-3', a, ADMIN)).inTransit, 0);
});

test('a bad header is 400 and another location is 403, with nothing applied', async () => {
  const sku = unique('SKU');
  const feedBefore = server.engine.feedPosition();
  for (const csv of ['', 'receiptId,location,sku\n', 'receiptId,location,sku,qty,extra\n']) {
    expectStatus(await importCsv('receipts', csv), 400, 'VALIDATION_FAILED');
  }
  expectStatus(await importCsv('transfers', 'transferId,from,sku,qty\n'), 400, 'VALIDATION_FAILED');
  expectStatus(
    await importCsv(
      'receipts',
      `receiptId,location,sku,qty\n${unique('r')},sup-1,${sku},1\n${unique('r')},sup-2,${sku},1\n`,
      LIMITED,
    ),
    403,
    'FORBIDDEN',
  );
  assert.equal(server.engine.feedPosition(), feedBefore);
  expectStatus(
    await importCsv('receipts', `receiptId,location,sku,qty\n${unique('r')},sup-1,${sku},1\n`, LIMITED),
    200,
  );
  assert.deepEqual(await onHand('sup-1', sku), [1, 0]);
});
