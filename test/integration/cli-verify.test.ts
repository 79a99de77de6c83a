// Proves `stockledger verify` end to end as a user runs it: the real bin over a real data directory
// says OK and exits 0 when the directory is sound, names the problem and exits 1 when a snapshot was
// altered behind the engine's back, and exits 2 with a sentence when there is no data at all.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { tableOptions } from '../../engine/store/lmdb-store.ts';
import { ids, META, nextId, openEngine, temporaryDirectory } from '../helpers/engine.ts';

const bin = fileURLToPath(new URL('../../engine/stockledger.js', import.meta.url));
const directories: { remove(): void }[] = [];
after(() => {
  for (const directory of directories) directory.remove();
});

function verify(dataDir: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [bin, 'verify', '--data-dir', dataDir], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('verify passes a sound directory and names an altered snapshot', async () => {
  const directory = temporaryDirectory('cli-verify');
  directories.push(directory);
  const engine = await openEngine(directory.path);
  for (let round = 0; round < 5; round++) {
    await engine.submit(
      ['A', 'B', 'C'].map((sku) => ({
        type: 'receive' as const,
        commandId: nextId('v'),
        ...ids('store-1', sku),
        qty: 2,
      })),
      META,
    );
  }
  await engine.close();

  const sound = verify(directory.path);
  assert.equal(sound.status, 0, sound.stderr);
  assert.match(sound.stdout, /verify: OK: 4 shards, \d+ records, 18 events, 3 actors/);

  const root = open({ path: `${directory.path}/ledger`, maxDbs: 32 });
  const snapshots = root.openDB<{ ledger: { onHand: number } }, string>(tableOptions('snapshots'));
  const stored = snapshots.get('store-1|B');
  assert.ok(stored !== undefined);
  await snapshots.put('store-1|B', {
    ...stored,
    ledger: { ...stored.ledger, onHand: stored.ledger.onHand + 5 },
  });
  await root.close();

  const altered = verify(directory.path);
  assert.equal(altered.status, 1);
  assert.match(altered.stdout, /store-1\|B/);
  assert.match(altered.stdout, /verify: FAILED: \d+ problems/);
});

test('verify of a directory without data exits 2 with a sentence, not a stack trace', () => {
  const directory = temporaryDirectory('cli-verify-empty');
  directories.push(directory);
  const run = verify(`${directory.path}/nothing-here`);
  assert.equal(run.status, 2);
  assert.match(run.stderr, /^stockledger verify: no stockledger data in /);
  assert.doesNotMatch(run.stderr, /at /);
});
