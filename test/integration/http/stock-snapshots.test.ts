// Proves `POST /v1/stock-snapshots` over a real socket on a real LMDB engine: a snapshot is compared
// row by row with the ledger (matching rows, variances with both figures, SKU-locations the file lacks
// not reported) and changes nothing; every kind of bad row becomes a dead letter with its reason while
// the good rows are still compared; `post=true` records each variance as a count so the ledger equals
// the ERP, and posting the same snapshot id again applies nothing twice (even after the ledger moved);
// reordering the rows gives the same variances; a bad header or content type is 400 and a snapshot
// naming another location is 403, each with nothing changed (no commit, no dead letter).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, receive, startServer, unique } from './harness.ts';

const ADMIN = 'snapshot-admin-key-0123456789abcdef';
const LIMITED = 'snapshot-limited-key-0123456789abcdef';

interface Report {
  snapshotId: string;
  posted: boolean;
  rows: number;
  matching: number;
  variances: {
    line: number;
    location: string;
    sku: string;
    ledgerOnHand: number;
    erpOnHand: number;
    variance: number;
    posted?: string;
    commandId?: string;
  }[];
  rejected: { line: number; reason: string; deadLetterId: string }[];
}

let server: TestServer;
before(async () => {
  server = await startServer({
    keys: [
      { key: ADMIN, name: 'admin', scopes: ['admin'] },
      { key: LIMITED, name: 'limited', scopes: ['supply:write'], locations: ['snap-1'] },
    ],
  });
});
after(async () => {
  await server?.close();
});

async function snapshot(csv: string, query = '', key = ADMIN) {
  return server.request<Report>('POST', `/v1/stock-snapshots${query}`, {
    raw: { text: csv, type: 'text/csv' },
    key,
  });
}

async function onHand(location: string, sku: string): Promise<number> {
  return (await position(server, location, sku, ADMIN)).onHand;
}

function varianceSet(report: Report): string[] {
  return report.variances.map((line) => `${line.location} ${line.sku} ${line.variance}`).sort();
}

test('variances are reported, bad rows dead-lettered, and nothing changes without post', async () => {
  const [a, b, c, d] = [unique('SKU'), unique('SKU'), unique('SKU'), unique('SKU')];
  await receive(server, 'snap-1', a, 10, ADMIN);
  await receive(server, 'snap-1', b, 5, ADMIN);
  await receive(server, 'snap-2', a, 3, ADMIN);
  await receive(server, 'snap-2', d, 8, ADMIN); // the file does not name it: not compared
  const csv = [
    'location,sku,onHand',
    `snap-1,${a},10`,
    `snap-1,${b},7`,
    `snap-2,${a},0`,
    `snap-1,${c},4`,
    `snap-1,${c},-1`,
    `snap-1,${c},1.5`,
    `snap-1,${c},five`,
    `bad location,${c},1`,
    'snap-1,,1',
    `snap-1,${c}`,
    `"snap-1,${c},1`,
    `snap-1,${b},9`,
    '',
  ].join('\n');
  const feedBefore = server.engine.feedPosition();
  const answer = await snapshot(csv);
  expectStatus(answer, 200);
  const report = answer.body;
  assert.equal(report.posted, false);
  assert.match(report.snapshotId, /^snapshot-[0-9a-f]{16}$/);
  assert.equal(report.rows, 12);
  assert.equal(report.matching, 1);
  assert.deepEqual(
    report.variances.map((line) => [
      line.line,
      line.location,
      line.sku,
      line.ledgerOnHand,
      line.erpOnHand,
      line.variance,
    ]),
    [
      [3, 'snap-1', b, 5, 7, 2],
      [4, 'snap-2', a, 3, 0, -3],
      [5, 'snap-1', c, 0, 4, 4],
    ],
  );
  assert.deepEqual(
    report.rejected.map((rejection) => [rejection.line, rejection.reason.split(':')[0]]),
    [
      [6, 'INVALID_QUANTITY'],
      [7, 'INVALID_QUANTITY'],
      [8, 'INVALID_QUANTITY'],
      [9, 'INVALID_LOCATION'],
      [10, 'INVALID_SKU'],
      [11, 'MALFORMED'],
      [12, 'MALFORMED'],
      [13, 'DUPLICATE'],
    ],
  );
  assert.match(report.rejected.at(-1)!.reason, /already on line 3/);
  assert.equal(server.engine.feedPosition(), feedBefore, 'nothing was recorded');
  assert.deepEqual(
    [await onHand('snap-1', b), await onHand('snap-2', a), await onHand('snap-1', c)],
    [5, 3, 0],
  );
  const letters = await server.request<{ letters: { id: string; reason: string; adapter: string }[] }>(
    'GET',
    '/v1/dead-letters?adapter=http:stock-snapshots&limit=500',
    { key: ADMIN },
  );
  expectStatus(letters, 200);
  for (const rejection of report.rejected) {
    const letter = letters.body.letters.find((candidate) => candidate.id === rejection.deadLetterId);
    assert.equal(letter?.reason, rejection.reason);
  }

  // The same rows in another order: the same variances.
  const [header, ...rows] = csv.trim().split('\n');
  const reordered = await snapshot(`${header}\n${rows.slice(0, 4).reverse().join('\n')}\n`);
  expectStatus(reordered, 200);
  assert.deepEqual(varianceSet(reordered.body), varianceSet(report));
  assert.equal(reordered.body.rejected.length, 0);
});

test('post=true records the variances as counts, once per snapshot id and line', async () => {
  const [a, b] = [unique('SKU'), unique('SKU')];
  await receive(server, 'snap-1', a, 10, ADMIN);
  await receive(server, 'snap-1', b, 5, ADMIN);
  const csv = `location,sku,onHand\nsnap-1,${a},12\nsnap-1,${b},5\nsnap-2,${a},6\n`;
  const snapshotId = unique('erp-snap');
  const posted = await snapshot(csv, `?post=true&snapshotId=${snapshotId}`);
  expectStatus(posted, 200);
  assert.deepEqual(
    posted.body.variances.map((line) => [
      line.sku,
      line.location,
      line.variance,
      line.posted,
      line.commandId,
    ]),
    [
      [a, 'snap-1', 2, 'applied', `snapshot:${snapshotId}:2`],
      [a, 'snap-2', 6, 'applied', `snapshot:${snapshotId}:4`],
    ],
  );
  assert.deepEqual(
    [await onHand('snap-1', a), await onHand('snap-1', b), await onHand('snap-2', a)],
    [12, 5, 6],
  );

  // Again: the ledger now agrees, so there is nothing to post.
  const feedBefore = server.engine.feedPosition();
  const again = await snapshot(csv, `?post=true&snapshotId=${snapshotId}`);
  assert.deepEqual([again.body.matching, again.body.variances.length], [3, 0]);
  assert.equal(server.engine.feedPosition(), feedBefore);

  // After a sale the same snapshot id posts nothing twice: its count was already applied.
  expectStatus(
    await server.request('POST', '/v1/sales', {
      body: { transactionId: unique('pos'), location: 'snap-1', lines: [{ sku: a, qty: 1 }] },
      key: ADMIN,
    }),
    201,
  );
  const replayed = await snapshot(csv, `?post=true&snapshotId=${snapshotId}`);
  assert.deepEqual(
    replayed.body.variances.map((line) => [line.sku, line.variance, line.posted]),
    [[a, 1, 'replayed']],
  );
  assert.equal(await onHand('snap-1', a), 11);
  // A new snapshot id is a new count.
  const fresh = await snapshot(csv, `?post=true&snapshotId=${snapshotId}-2`);
  assert.equal(fresh.body.variances[0]?.posted, 'applied');
  assert.equal(await onHand('snap-1', a), 12);
});

test('a bad header, content type or query is 400 and another location is 403, with nothing changed', async () => {
  const sku = unique('SKU');
  const lettersBefore = (
    await server.request<{ letters: unknown[] }>(
      'GET',
      '/v1/dead-letters?adapter=http:stock-snapshots&limit=500',
      {
        key: ADMIN,
      },
    )
  ).body.letters.length;
  const feedBefore = server.engine.feedPosition();
  for (const csv of ['', 'location,sku\nsnap-1,X\n', 'location,sku,onHand,extra\n', 'sku,location,qty\n']) {
    expectStatus(await snapshot(csv, '?post=true'), 400, 'VALIDATION_FAILED');
  }
  expectStatus(
    await server.request('POST', '/v1/stock-snapshots', {
      raw: { text: `location,sku,onHand\nsnap-1,${sku},1\n`, type: 'text/plain' },
      key: ADMIN,
    }),
    400,
  );
  expectStatus(
    await snapshot(`location,sku,onHand\nsnap-1,${sku},1\n`, '?post=yes'),
    400,
    'VALIDATION_FAILED',
  );
  expectStatus(
    await snapshot(`location,sku,onHand\nsnap-1,${sku},1\nsnap-2,${sku},1\n`, '?post=true', LIMITED),
    403,
    'FORBIDDEN',
  );
  assert.equal(server.engine.feedPosition(), feedBefore);
  const lettersAfter = (
    await server.request<{ letters: unknown[] }>(
      'GET',
      '/v1/dead-letters?adapter=http:stock-snapshots&limit=500',
      {
        key: ADMIN,
      },
    )
  ).body.letters.length;
  assert.equal(lettersAfter, lettersBefore);
  const own = await snapshot(`location,sku,onHand\nsnap-1,${sku},1\n`, '?post=true', LIMITED);
  expectStatus(own, 200);
  assert.equal(await onHand('snap-1', sku), 1);
});
