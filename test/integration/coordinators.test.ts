// Proves the multi-actor work of DESIGN.md §6 on a real engine over real LMDB files: all-or-nothing
// reservations never leave a partial hold, the reservation life cycle answers as API.md says, and
// transfers ship, arrive through the outbox (redelivered by recovery) and are received with a variance.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Engine } from '../../engine/engine.ts';
import { EngineError } from '../../engine/errors.ts';
import { eventually, ids, META, nextId, openEngine, temporaryDirectory } from '../helpers/engine.ts';

const directories: { remove(): void }[] = [];
after(() => {
  for (const directory of directories) directory.remove();
});

async function freshEngine(
  settings: Record<string, string> = {},
): Promise<{ engine: Engine; dataDir: string }> {
  const directory = temporaryDirectory('coordinators');
  directories.push(directory);
  return { engine: await openEngine(directory.path, settings), dataDir: directory.path };
}

async function receive(engine: Engine, location: string, sku: string, qty: number): Promise<void> {
  const [answer] = await engine.submit(
    [{ type: 'receive', commandId: nextId('rcv'), ...ids(location, sku), qty }],
    META,
  );
  assert.equal(answer?.result.ok, true);
}

async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof EngineError, `expected an EngineError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

function reservedEvents(engine: Engine, location: string, sku: string): string[] {
  return engine
    .history(location, sku, 100, null)
    .entries.filter((entry) => entry.event.type === 'Reserved')
    .map((entry) => entry.command.commandId);
}

describe('all-or-nothing reservations', () => {
  test('a refused line across two locations leaves no hold anywhere, and says which line and why', async () => {
    const { engine } = await freshEngine();
    await receive(engine, 'store-1', 'SKU-1', 5);
    await receive(engine, 'store-2', 'SKU-1', 1);
    const { result } = await engine.reservations.create(
      {
        reservationId: 'cart-aon',
        channel: 'web',
        ttlSeconds: 900,
        mode: 'all-or-nothing',
        lines: [
          { sku: 'SKU-1', location: 'store-1', qty: 2 },
          { sku: 'SKU-1', location: 'store-2', qty: 2 },
        ],
      },
      META,
    );
    assert.equal(result.ok, false);
    assert.equal(result.header.status, 'refused');
    assert.deepEqual(result.refused, [
      {
        sku: 'SKU-1',
        location: 'store-2',
        requested: 2,
        refusal: { code: 'INSUFFICIENT_STOCK', requested: 2, availableToSell: 1 },
      },
    ]);
    assert.equal(engine.position('store-1', 'SKU-1').reserved, 0);
    assert.equal(engine.position('store-2', 'SKU-1').reserved, 0);
    assert.deepEqual(reservedEvents(engine, 'store-1', 'SKU-1'), [], 'no Reserved event was ever recorded');
    assert.equal(engine.reservationHeader('cart-aon')?.status, 'refused');
    await engine.close();
  });

  test('partial mode holds the lines that fit and refuses the others', async () => {
    const { engine } = await freshEngine();
    await receive(engine, 'store-1', 'SKU-1', 5);
    const { result } = await engine.reservations.create(
      {
        reservationId: 'cart-partial',
        channel: 'web',
        ttlSeconds: null,
        mode: 'partial',
        lines: [
          { sku: 'SKU-1', location: 'store-1', qty: 2 },
          { sku: 'SKU-1', location: 'store-2', qty: 2 },
        ],
      },
      META,
    );
    assert.equal(result.ok, true);
    assert.deepEqual(
      result.header.lines.map((line) => [line.location, line.status, line.held]),
      [
        ['store-1', 'held', 2],
        ['store-2', 'refused', 0],
      ],
    );
    assert.equal(engine.position('store-1', 'SKU-1').reserved, 2);
    await engine.close();
  });

  test('a request naming one SKU-location twice is refused before anything is held', async () => {
    const { engine } = await freshEngine();
    await receive(engine, 'store-1', 'SKU-1', 5);
    assert.throws(
      () =>
        engine.reservations.create(
          {
            reservationId: 'cart-dup',
            channel: 'web',
            ttlSeconds: 60,
            mode: 'all-or-nothing',
            lines: [
              { sku: 'SKU-1', location: 'store-1', qty: 1 },
              { sku: 'SKU-1', location: 'store-1', qty: 1 },
            ],
          },
          META,
        ),
      (error: unknown) => error instanceof EngineError && error.code === 'VALIDATION_FAILED',
    );
    assert.equal(engine.position('store-1', 'SKU-1').reserved, 0);
    await engine.close();
  });
});

describe('the reservation life cycle', () => {
  test('commit, partial fulfil, then release of the rest; a retry replays and a changed body conflicts', async () => {
    const { engine } = await freshEngine();
    await receive(engine, 'store-1', 'SKU-1', 10);
    const create = {
      reservationId: 'order-1',
      channel: 'web',
      ttlSeconds: 900,
      mode: 'all-or-nothing' as const,
      lines: [{ sku: 'SKU-1', location: 'store-1', qty: 4 }],
    };
    const first = await engine.reservations.create(create, META);
    const again = await engine.reservations.create(create, META);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.result, first.result);
    const conflict = await rejection(
      engine.reservations.create({ ...create, lines: [{ ...create.lines[0]!, qty: 5 }] }, META),
    );
    assert.equal(conflict.code, 'IDEMPOTENCY_CONFLICT');

    const committed = await engine.reservations.commit('order-1', META);
    assert.equal(committed.result.status, 'committed');
    assert.equal(committed.result.expiresAtMs, null);
    const fulfilled = await engine.reservations.fulfil(
      'order-1',
      'ship-1',
      [{ sku: 'SKU-1', location: 'store-1', qty: 3 }],
      META,
    );
    assert.equal(fulfilled.result.lines[0]?.fulfilled, 3);
    assert.equal(fulfilled.result.status, 'committed');
    const released = await engine.reservations.release('order-1', 'cancel-1', null, META);
    assert.equal(
      released.result.status,
      'fulfilled',
      'named for what became of the units: some were fulfilled',
    );
    assert.deepEqual(engine.position('store-1', 'SKU-1'), {
      ...engine.position('store-1', 'SKU-1'),
      onHand: 7,
      reserved: 0,
      availableToSell: 7,
    });
    const late = await rejection(engine.reservations.fulfil('order-1', 'ship-2', null, META));
    assert.equal(late.code, 'INVALID_STATE');
    await engine.close();
  });

  test('releasing a released reservation is a no-op success; releasing more than is held is INVALID_STATE', async () => {
    const { engine } = await freshEngine();
    await receive(engine, 'store-1', 'SKU-1', 10);
    await engine.reservations.create(
      {
        reservationId: 'hold-1',
        channel: 'store',
        ttlSeconds: 60,
        mode: 'all-or-nothing',
        lines: [{ sku: 'SKU-1', location: 'store-1', qty: 2 }],
      },
      META,
    );
    const tooMuch = await rejection(
      engine.reservations.release('hold-1', 'r-0', [{ sku: 'SKU-1', location: 'store-1', qty: 3 }], META),
    );
    assert.equal(tooMuch.code, 'INVALID_STATE');
    const released = await engine.reservations.release('hold-1', 'r-1', null, META);
    assert.equal(released.result.status, 'released');
    const version = engine.position('store-1', 'SKU-1').version;
    const again = await engine.reservations.release('hold-1', 'r-2', null, META);
    assert.equal(again.result.status, 'released');
    assert.equal(engine.position('store-1', 'SKU-1').version, version, 'nothing was recorded');
    const missing = await rejection(engine.reservations.commit('no-such-cart', META));
    assert.equal(missing.code, 'RESERVATION_NOT_FOUND');
    await engine.close();
  });

  test('a short hold expires by itself: its units come back and its header says expired', async () => {
    const { engine } = await freshEngine();
    await receive(engine, 'store-1', 'SKU-1', 3);
    await engine.reservations.create(
      {
        reservationId: 'bopis-1',
        channel: 'store',
        ttlSeconds: 1,
        mode: 'all-or-nothing',
        lines: [{ sku: 'SKU-1', location: 'store-1', qty: 3 }],
      },
      META,
    );
    assert.equal(engine.position('store-1', 'SKU-1').availableToSell, 0);
    // The header is read from LMDB, the position from the actor's committed ledger, which the engine
    // updates when it handles the commit's completion: wait for both, as a reader of each would.
    await eventually(
      () =>
        engine.reservationHeader('bopis-1')?.status === 'expired' &&
        engine.position('store-1', 'SKU-1').availableToSell === 3,
      4_000,
      'the hold to expire and its units to come back',
    );
    assert.equal(engine.position('store-1', 'SKU-1').availableToSell, 3);
    const expired = await rejection(engine.reservations.commit('bopis-1', META));
    assert.equal(expired.code, 'RESERVATION_EXPIRED');
    const release = await engine.reservations.release('bopis-1', 'abandon', null, META);
    assert.equal(release.result.status, 'expired', 'releasing an expired hold is a no-op success');
    await engine.close();
  });
});

describe('transfers', () => {
  test('ship, arrive through the outbox, receive short with the variance recorded', async () => {
    const { engine } = await freshEngine();
    await receive(engine, 'dc-1', 'SKU-9', 10);
    const shipped = await engine.transfers.create(
      { transferId: 'T-1', from: 'dc-1', to: 'store-1', lines: [{ sku: 'SKU-9', qty: 6 }] },
      META,
    );
    assert.equal(shipped.result.ok, true);
    assert.equal(engine.position('dc-1', 'SKU-9').onHand, 4);
    await eventually(() => engine.transferHeader('T-1')?.status === 'arrived', 3_000, 'the arrival');
    assert.equal(engine.position('store-1', 'SKU-9').inTransit, 6);
    const received = await engine.transfers.receive(
      { transferId: 'T-1', lines: [{ sku: 'SKU-9', qty: 5 }] },
      META,
    );
    assert.deepEqual(received.result.lines, [{ sku: 'SKU-9', shipped: 6, received: 5, variance: -1 }]);
    const store = engine.position('store-1', 'SKU-9');
    assert.equal(store.inTransit, 0);
    assert.equal(store.onHand, 5);
    const variance = engine
      .history('store-1', 'SKU-9', 10, null)
      .entries.find((entry) => entry.event.type === 'TransferReceived');
    assert.equal(variance?.event.type === 'TransferReceived' ? variance.event.variance : null, -1);
    await engine.close();
  });

  test('a transfer the source cannot cover ships nothing', async () => {
    const { engine } = await freshEngine();
    await receive(engine, 'dc-1', 'SKU-9', 2);
    const { result } = await engine.transfers.create(
      { transferId: 'T-2', from: 'dc-1', to: 'store-1', lines: [{ sku: 'SKU-9', qty: 3 }] },
      META,
    );
    assert.equal(result.ok, false);
    assert.equal(engine.position('dc-1', 'SKU-9').onHand, 2);
    assert.equal(engine.transferHeader('T-2'), undefined);
    await engine.close();
  });

  test('an outbox delivery that never happened before a stop is delivered by recovery', async () => {
    const { engine, dataDir } = await freshEngine({ STOCKLEDGER_FAULT_PAUSE_OUTBOX: '1' });
    await receive(engine, 'dc-1', 'SKU-9', 10);
    await engine.transfers.create(
      { transferId: 'T-3', from: 'dc-1', to: 'store-1', lines: [{ sku: 'SKU-9', qty: 4 }] },
      META,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(engine.transferHeader('T-3')?.status, 'shipped', 'delivery is paused');
    assert.equal(engine.position('store-1', 'SKU-9').inTransit, 0);
    assert.equal([...engine.store.outbox.getRange({})].length, 1);
    await engine.close();

    const reopened = await openEngine(dataDir);
    // The header is read from disk, the position from the resident actor, which takes the committed
    // state a moment after the transaction is visible: wait for both.
    await eventually(
      () =>
        reopened.transferHeader('T-3')?.status === 'arrived' &&
        reopened.position('store-1', 'SKU-9').inTransit === 4,
      3_000,
      'redelivery',
    );
    assert.equal(reopened.position('store-1', 'SKU-9').inTransit, 4);
    await eventually(
      () => [...reopened.store.outbox.getRange({})].length === 0,
      3_000,
      'the outbox to empty',
    );
    await reopened.close();
  });
});
