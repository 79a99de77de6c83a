// Proves the bulk side of returns over a real socket on a real LMDB engine. `POST
// /v1/returns:dispositions-import`: rows are grouped per return into one disposition each (restock puts
// units on hand, scrap does not), every kind of bad row becomes a dead letter with its reason and is
// left out, a group the disposition refuses (unknown return, more than its quarantine) sends all its
// rows to the dead letters and changes nothing, and sending the same inspection again in another row
// order applies nothing twice; a bad header is 400 and a return at another location is 403, with
// nothing applied. `GET /v1/returns/quarantine`: units still in quarantine per return and SKU, oldest
// first, filtered by age (nothing is an hour old yet) and by the key's locations, truncated by `limit`.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, startServer, unique } from './harness.ts';

const ADMIN = 'returns-import-admin-key-0123456789abcdef';
const LIMITED = 'returns-import-limited-key-0123456789abcdef';
const HEADER = 'returnId,sku,qty,disposition';

interface Imported {
  returns: { returnId: string; dispositionId: string; outcome: string; lines: number }[];
  rejected: { line: number; reason: string; deadLetterId: string }[];
}

interface Quarantine {
  asOf: string;
  lines: {
    returnId: string;
    location: string;
    sku: string;
    quarantine: number;
    returnedAt: string;
    ageHours: number;
  }[];
  truncated: boolean;
}

let server: TestServer;
before(async () => {
  server = await startServer({
    keys: [
      { key: ADMIN, name: 'admin', scopes: ['admin'] },
      { key: LIMITED, name: 'limited', scopes: ['returns:write', 'stock:read'], locations: ['ret-1'] },
    ],
  });
});
after(async () => {
  await server?.close();
});

async function returned(location: string, lines: { sku: string; qty: number }[]): Promise<string> {
  const returnId = unique('ret');
  expectStatus(
    await server.request('POST', '/v1/returns', {
      body: { returnId, location, lines: lines.map((line) => ({ ...line, reason: 'inspection' })) },
      key: ADMIN,
    }),
    201,
  );
  return returnId;
}

async function importCsv(csv: string, key = ADMIN) {
  return server.request<Imported>('POST', '/v1/returns:dispositions-import', {
    raw: { text: csv, type: 'text/csv' },
    key,
  });
}

async function buckets(location: string, sku: string): Promise<[number, number]> {
  const now = await position(server, location, sku, ADMIN);
  return [now.onHand, now.quarantine];
}

test('rows are grouped per return; bad rows and refused groups are dead letters; a resend applies nothing', async () => {
  const [a, b] = [unique('SKU'), unique('SKU')];
  const first = await returned('ret-1', [
    { sku: a, qty: 3 },
    { sku: b, qty: 2 },
  ]);
  const second = await returned('ret-2', [{ sku: a, qty: 4 }]);
  const short = await returned('ret-1', [{ sku: b, qty: 1 }]);
  const rows = [
    `${first},${a},2,restock`,
    `${second},${a},1,scrap`,
    `${first},${b},1,vendor`,
    `${short},${b},5,restock`, // more than its quarantine: the whole group is refused
    `${unique('ret-none')},${a},1,restock`, // no such return
    `${first},${a},1,scrap`, // the return's SKU named twice
    `${first},${a},0,restock`,
    `${first},${a},x,restock`,
    `${first},${a},1,resell`,
    `not an id,${a},1,restock`,
    `${first},,1,restock`,
    `${first},${a},1`,
    `"${first},${a},1,restock`,
  ];
  const feedBefore = server.engine.feedPosition();
  const answer = await importCsv(`${HEADER}\n${rows.join('\n')}\n`);
  expectStatus(answer, 200);
  const outcomes = Object.fromEntries(answer.body.returns.map((entry) => [entry.returnId, entry.outcome]));
  assert.deepEqual(outcomes[first], 'applied');
  assert.deepEqual(outcomes[second], 'applied');
  assert.deepEqual(outcomes[short], 'rejected');
  assert.deepEqual(
    answer.body.rejected.map((rejection) => [rejection.line, rejection.reason.split(':')[0]]),
    [
      [5, 'QUARANTINE_INSUFFICIENT'],
      [6, 'RETURN_NOT_FOUND'],
      [7, 'DUPLICATE'],
      [8, 'INVALID_QUANTITY'],
      [9, 'INVALID_QUANTITY'],
      [10, 'INVALID_DISPOSITION'],
      [11, 'INVALID_RETURN'],
      [12, 'INVALID_SKU'],
      [13, 'MALFORMED'],
      [14, 'MALFORMED'],
    ],
  );
  assert.ok(server.engine.feedPosition() > feedBefore);
  // ret-1 SKU a: 3 returned, 2 restocked; SKU b: 2 + 1 returned, 1 to the vendor, the short return untouched.
  assert.deepEqual(await buckets('ret-1', a), [2, 1]);
  assert.deepEqual(await buckets('ret-1', b), [0, 2]);
  assert.deepEqual(await buckets('ret-2', a), [0, 3]);
  const letters = await server.request<{ letters: { id: string; reason: string }[] }>(
    'GET',
    '/v1/dead-letters?adapter=http:dispositions:import&limit=500',
    { key: ADMIN },
  );
  for (const rejection of answer.body.rejected) {
    assert.equal(
      letters.body.letters.find((letter) => letter.id === rejection.deadLetterId)?.reason,
      rejection.reason,
    );
  }

  // The same inspection again, rows reversed: every group is a replay and nothing moves.
  const feedAfter = server.engine.feedPosition();
  const again = await importCsv(`${HEADER}\n${rows.slice(0, 3).reverse().join('\n')}\n`);
  expectStatus(again, 200);
  assert.deepEqual(
    again.body.returns.map((entry) => entry.outcome),
    ['replayed', 'replayed'],
  );
  assert.equal(server.engine.feedPosition(), feedAfter);
  assert.deepEqual(await buckets('ret-1', a), [2, 1]);
});

test('a bad header is 400 and a return at another location is 403, with nothing applied', async () => {
  const sku = unique('SKU');
  const own = await returned('ret-1', [{ sku, qty: 2 }]);
  const other = await returned('ret-2', [{ sku, qty: 2 }]);
  const feedBefore = server.engine.feedPosition();
  for (const csv of [
    '',
    'returnId,sku,qty\n',
    `returnId,sku,qty,disposition,extra\n${own},${sku},1,restock,x\n`,
  ]) {
    expectStatus(await importCsv(csv), 400, 'VALIDATION_FAILED');
  }
  expectStatus(
    await importCsv(`${HEADER}\n${own},${sku},1,restock\n${other},${sku},1,restock\n`, LIMITED),
    403,
    'FORBIDDEN',
  );
  assert.equal(server.engine.feedPosition(), feedBefore);
  const mine = await importCsv(`${HEADER}\n${own},${sku},1,restock\n`, LIMITED);
  expectStatus(mine, 200);
  assert.deepEqual(await buckets('ret-1', sku), [1, 1]);
});

test('the quarantine report lists what is left per return and SKU, by age and location', async () => {
  const sku = unique('SKU');
  const older = await returned('ret-q1', [{ sku, qty: 5 }]);
  const newer = await returned('ret-q2', [{ sku, qty: 2 }]);
  expectStatus(await importCsv(`${HEADER}\n${older},${sku},2,scrap\n`), 200);
  const report = await server.request<Quarantine>('GET', '/v1/returns/quarantine?limit=5000', { key: ADMIN });
  expectStatus(report, 200);
  const mine = report.body.lines.filter((line) => line.sku === sku);
  assert.deepEqual(
    mine.map((line) => [line.returnId, line.location, line.quarantine]),
    [
      [older, 'ret-q1', 3],
      [newer, 'ret-q2', 2],
    ],
  );
  assert.ok(mine.every((line) => line.ageHours >= 0 && line.ageHours < 1));
  const sorted = [...report.body.lines].sort((left, right) =>
    left.returnedAt.localeCompare(right.returnedAt),
  );
  assert.deepEqual(
    report.body.lines.map((line) => line.returnedAt),
    sorted.map((line) => line.returnedAt),
  );
  // Nothing is an hour old yet.
  const old = await server.request<Quarantine>('GET', '/v1/returns/quarantine?olderThanHours=1', {
    key: ADMIN,
  });
  expectStatus(old, 200);
  assert.deepEqual(old.body.lines, []);
  // A limited key sees only its location; the limit truncates.
  const limited = await server.request<Quarantine>('GET', '/v1/returns/quarantine?limit=5000', {
    key: LIMITED,
  });
  assert.ok(limited.body.lines.every((line) => line.location === 'ret-1'));
  const one = await server.request<Quarantine>('GET', '/v1/returns/quarantine?limit=1', { key: ADMIN });
  assert.deepEqual([one.body.lines.length, one.body.truncated], [1, true]);
  expectStatus(
    await server.request('GET', '/v1/returns/quarantine?olderThanHours=-1', { key: ADMIN }),
    400,
    'VALIDATION_FAILED',
  );
});
