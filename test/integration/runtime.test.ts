// Proves the runtime's bounds on a real engine over real LMDB files: passivation keeps at most
// STOCKLEDGER_MAX_RESIDENT_ACTORS actors in memory and restores evicted ones from their snapshots with
// nothing lost; a full mailbox answers OVERLOADED and loses nothing it accepted; the shard count is
// fixed when a data directory is created; replays and conflicts follow rule 5.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { channelId, reservationId } from '../../actors/index.ts';
import { EngineError, OverloadedError } from '../../engine/errors.ts';
import { LayoutMismatchError } from '../../engine/store/lmdb-store.ts';
import { ids, META, nextId, openEngine, temporaryDirectory } from '../helpers/engine.ts';

const directories: { remove(): void }[] = [];
after(() => {
  for (const directory of directories) directory.remove();
});

function directory(): string {
  const made = temporaryDirectory('runtime');
  directories.push(made);
  return made.path;
}

describe('passivation', () => {
  test('at most the configured actors stay resident, and evicted ones come back from their snapshots', async () => {
    const engine = await openEngine(directory(), { STOCKLEDGER_MAX_RESIDENT_ACTORS: '16' });
    const skus = Array.from({ length: 200 }, (_, at) => `SKU-${at}`);
    for (const round of [1, 2, 3]) {
      const answers = await engine.submit(
        skus.map((sku) => ({
          type: 'receive' as const,
          commandId: nextId(`p${round}`),
          ...ids('store-1', sku),
          qty: round,
        })),
        META,
      );
      assert.ok(answers.every((answer) => answer.result.ok));
      // Passivation runs after each commit; only actors of a batch still under way may exceed the bound.
      assert.ok(engine.stats().residentActors <= 16, `resident ${engine.stats().residentActors} > 16`);
    }
    for (const sku of skus) {
      const position = engine.position('store-1', sku);
      assert.equal(position.onHand, 6, `${sku} lost units across eviction and restore`);
      assert.equal(position.version, 4, `${sku}: receive, AvailabilityChanged, receive, receive`);
    }
    await engine.close();
  });
});

describe('back-pressure', () => {
  test('a full mailbox refuses with OVERLOADED and applies everything it accepted exactly once', async () => {
    const engine = await openEngine(directory(), { STOCKLEDGER_SHARDS: '1', STOCKLEDGER_MAILBOX_MAX: '10' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, () =>
        engine.submit(
          [{ type: 'receive', commandId: nextId('bp'), ...ids('store-1', 'SKU-1'), qty: 1 }],
          META,
        ),
      ),
    );
    const accepted = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    const refused = outcomes.filter(
      (outcome) => outcome.status === 'rejected' && outcome.reason instanceof OverloadedError,
    ).length;
    assert.equal(accepted + refused, 100, 'every submission was either accepted or refused as OVERLOADED');
    assert.ok(refused > 0, 'the bound was reached');
    assert.equal(accepted, 10, 'exactly a mailbox-full was accepted in one turn');
    assert.equal(engine.position('store-1', 'SKU-1').onHand, accepted);
    await engine.close();
  });
});

describe('layout', () => {
  test('reopening a data directory with another shard count stops the start and names the setting', async () => {
    const dataDir = directory();
    const engine = await openEngine(dataDir, { STOCKLEDGER_SHARDS: '4' });
    await engine.close();
    await assert.rejects(openEngine(dataDir, { STOCKLEDGER_SHARDS: '8' }), (error: unknown) => {
      assert.ok(error instanceof LayoutMismatchError);
      assert.match(error.message, /STOCKLEDGER_SHARDS is 8 .* created with 4 shards/);
      return true;
    });
  });
});

describe('idempotency', () => {
  test('the same command id replays its first outcome; another payload under it is refused', async () => {
    const engine = await openEngine(directory());
    const command = {
      type: 'receive' as const,
      commandId: nextId('idem'),
      ...ids('store-1', 'SKU-1'),
      qty: 3,
    };
    const [first] = await engine.submit([command], META);
    const [again] = await engine.submit([command], META);
    assert.equal(first?.replayed, false);
    assert.equal(again?.replayed, true);
    assert.deepEqual(again?.result, first?.result);
    await assert.rejects(engine.submit([{ ...command, qty: 4 }], META), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'IDEMPOTENCY_CONFLICT');
      return true;
    });
    assert.equal(engine.position('store-1', 'SKU-1').onHand, 3);
    await engine.close();
    const reopened = await openEngine(engine.config.dataDir);
    const [afterRestart] = await reopened.submit([command], META);
    assert.equal(afterRestart?.replayed, true, 'the first outcome survives a restart');
    assert.equal(reopened.position('store-1', 'SKU-1').onHand, 3);
    await reopened.close();
  });

  test('a refused command is answered the same way when retried, even after stock arrived', async () => {
    const engine = await openEngine(directory());
    const reserve = {
      type: 'reserve' as const,
      commandId: nextId('res'),
      ...ids('store-1', 'SKU-1'),
      reservationId: reservationId('cart-x'),
      channel: channelId('web'),
      qty: 2,
      ttlSeconds: 60,
    };
    const [first] = await engine.submit([reserve], META);
    assert.equal(first?.result.ok, false);
    await engine.submit(
      [{ type: 'receive', commandId: nextId('rcv'), ...ids('store-1', 'SKU-1'), qty: 5 }],
      META,
    );
    const [again] = await engine.submit([reserve], META);
    assert.equal(again?.replayed, true);
    assert.deepEqual(again?.result, first?.result);
    assert.equal(engine.position('store-1', 'SKU-1').reserved, 0);
    await engine.close();
  });
});
