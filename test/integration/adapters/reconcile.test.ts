// Proves `stockledger reconcile <file>` as a user runs it (the bin, on a data directory no server holds):
// without --post it prints the variances and changes no position; bad rows become dead letters of
// `cli:reconcile`; with --post the ledger then equals the snapshot, and running the same file with
// --post again (the default snapshot id is derived from the content) records nothing more; a file that
// is missing or has a bad header exits 2 and changes nothing. Its progress, on a pipe, is a plain line.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { locationId, sku } from '../../../actors/index.ts';
import type { ReconcileReport } from '../../../adapters/erp/stock-snapshot.ts';
import { META, nextId, openEngine, temporaryDirectory } from '../../helpers/engine.ts';

const bin = fileURLToPath(new URL('../../../engine/stockledger.js', import.meta.url));
const directory = temporaryDirectory('reconcile');
const dataDir = path.join(directory.path, 'data');
/** The CLI runs with the default shard count, so the directory is made with it. */
const DEFAULT_SHARDS = { STOCKLEDGER_SHARDS: '64' };
after(() => directory.remove());

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [bin, 'reconcile', '--data-dir', dataDir, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

async function state(): Promise<{ onHand: number[]; feed: number; letters: number }> {
  const engine = await openEngine(dataDir, DEFAULT_SHARDS);
  try {
    return {
      onHand: [
        engine.position('store-1', 'SKU-A').onHand,
        engine.position('store-1', 'SKU-B').onHand,
        engine.position('store-2', 'SKU-A').onHand,
      ],
      feed: engine.feedPosition(),
      letters: engine.deadLetters.list({ adapter: 'cli:reconcile', limit: 500 }).letters.length,
    };
  } finally {
    await engine.close();
  }
}

const snapshotFile = path.join(directory.path, 'snapshot.csv');
before(async () => {
  const engine = await openEngine(dataDir, DEFAULT_SHARDS);
  await engine.submit(
    [
      { type: 'receive', commandId: nextId(), sku: sku('SKU-A'), location: locationId('store-1'), qty: 10 },
      { type: 'receive', commandId: nextId(), sku: sku('SKU-B'), location: locationId('store-1'), qty: 4 },
    ],
    META,
  );
  await engine.close();
  writeFileSync(
    snapshotFile,
    'sku,onHand,location\nSKU-A,10,store-1\nSKU-B,6,store-1\nSKU-A,2,store-2\nSKU-C,x,store-1\n',
  );
});

test('without --post: the variances are printed, bad rows dead-lettered, no position changes', async () => {
  const before = await state();
  const run = cli(snapshotFile);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /4 rows, 1 matching, 2 variances, 1 dead letters/);
  assert.match(run.stdout, /store-1 SKU-B: ledger 4, ERP 6, variance \+2/);
  assert.match(run.stdout, /store-2 SKU-A: ledger 0, ERP 2, variance \+2/);
  assert.match(run.stdout, /INVALID_QUANTITY/);
  // stderr is a pipe here, so the progress is a plain line (not a bar), ending on the rows compared.
  assert.match(run.stderr, /^reconcile: 3\/3 rows \(100%\), \d+ rows\/s, ETA 0s$/m);
  const after = await state();
  assert.deepEqual(after.onHand, before.onHand);
  assert.equal(after.feed, before.feed);
  assert.equal(after.letters, before.letters + 1);
});

test('with --post the ledger equals the snapshot, and posting the file again records nothing', async () => {
  const run = cli(snapshotFile, '--post', '--json');
  assert.equal(run.status, 0, run.stderr);
  // With --post the total grows by the two variances posted after the three rows compared.
  assert.match(run.stderr, /^reconcile: 5\/5 rows \(100%\)/m);
  const report = JSON.parse(run.stdout) as ReconcileReport;
  assert.deepEqual(
    report.variances.map((line) => line.posted),
    ['applied', 'applied'],
  );
  const posted = await state();
  assert.deepEqual(posted.onHand, [10, 6, 2]);
  const again = cli(snapshotFile, '--post', '--json');
  assert.equal(again.status, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as ReconcileReport).variances.length, 0);
  assert.equal((await state()).feed, posted.feed);
});

test('a missing file or a bad header exits 2 and changes nothing', async () => {
  const before = await state();
  const missing = cli(path.join(directory.path, 'absent.csv'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read/);
  const badHeader = path.join(directory.path, 'bad.csv');
  writeFileSync(badHeader, 'location,item,qty\nstore-1,SKU-A,1\n');
  const bad = cli(badHeader, '--post');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /header.*nothing changed/);
  assert.equal(cli(snapshotFile, '--snapshot-id', 'not an id').status, 2);
  assert.deepEqual(await state(), before);
});
