// Proves that a hot SKU-location's snapshot spills its open lines into rows of their own and reads back
// whole: with the default inline limit (64 entries), 300 holds on one SKU-location make a spilled snapshot
// whose rows are exactly the open lines, through passivation (evicted and restored from the rows) and a
// reopen; releasing most of them removes their rows, and verify agrees with the replay at every step.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { channelId, reservationId } from '../../actors/index.ts';
import { verifyDataDir } from '../../engine/verify.ts';
import { ids, META, nextId, openEngine, temporaryDirectory } from '../helpers/engine.ts';

const directory = temporaryDirectory('snapshots');
after(() => directory.remove());

const settings = { STOCKLEDGER_SNAPSHOT_INLINE_ENTRIES_MAX: '64', STOCKLEDGER_MAX_RESIDENT_ACTORS: '16' };
const hot = ids('store-1', 'HOT');
const holds = 300;

test('a hot SKU-location spills its open lines to rows, reads them back whole, and removes released ones', async () => {
  let engine = await openEngine(directory.path, settings);
  await engine.submit([{ type: 'receive', commandId: nextId('r'), ...hot, qty: 1_000 }], META);
  // A few holds a batch, so the snapshot changes form once and is then written row by row.
  for (let start = 0; start < holds; start += 25) {
    const answers = await engine.submit(
      Array.from({ length: 25 }, (_, at) => ({
        type: 'reserve' as const,
        commandId: nextId('h'),
        ...hot,
        reservationId: reservationId(`hold-${String(start + at).padStart(4, '0')}`),
        channel: channelId('web'),
        qty: 1,
        ttlSeconds: null,
      })),
      META,
    );
    assert.ok(answers.every((answer) => answer.result.ok));
  }
  const stored = engine.store.snapshots.get('store-1|HOT');
  assert.equal(stored?.spilled, true, 'the snapshot spilled');
  assert.deepEqual(stored.ledger.reservations, [], 'a spilled snapshot keeps no line inline');
  const rows = () => [
    ...engine.store.snapshotEntries.getKeys({ start: ['store-1|HOT', 0, ''], end: ['store-1|HOT', 3, ''] }),
  ];
  assert.equal(rows().length, holds);

  // Evict the hot actor (200 other actors through a 16-actor cache), then use it again.
  await engine.submit(
    Array.from({ length: 200 }, (_, at) => ({
      type: 'receive' as const,
      commandId: nextId('o'),
      ...ids('store-1', `OTHER-${at}`),
      qty: 1,
    })),
    META,
  );
  const released = await engine.submit(
    Array.from({ length: holds - 10 }, (_, at) => ({
      type: 'release' as const,
      commandId: nextId('x'),
      ...hot,
      reservationId: reservationId(`hold-${String(at).padStart(4, '0')}`),
      qty: 1,
    })),
    META,
  );
  assert.ok(released.every((answer) => answer.result.ok));
  assert.equal(engine.position('store-1', 'HOT').reserved, 10);
  assert.equal(rows().length, 10, 'released lines leave no rows behind');
  const before = engine.committedLedger('store-1', 'HOT');
  await engine.close();

  assert.deepEqual((await verifyDataDir({ dataDir: directory.path })).problems, []);
  engine = await openEngine(directory.path, settings);
  assert.deepEqual(
    engine.committedLedger('store-1', 'HOT'),
    before,
    'the reopened ledger equals the one closed',
  );
  const more = await engine.submit(
    [
      {
        type: 'reserve',
        commandId: nextId('h'),
        ...hot,
        reservationId: reservationId('hold-late'),
        channel: channelId('web'),
        qty: 5,
        ttlSeconds: null,
      },
    ],
    META,
  );
  assert.ok(more[0]!.result.ok);
  assert.equal(engine.position('store-1', 'HOT').reserved, 15);
  await engine.close();
  assert.deepEqual((await verifyDataDir({ dataDir: directory.path })).problems, []);
});
