// Proves receipts and POS sales move onHand as recorded, that a sale is never refused for stock, and that
// an oversell names the newest reservations at risk: by exact events from decide, checked against the machine.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commandId, reservationId } from '../../../actors/ids.ts';
import { integrityOf } from '../../../actors/ledger.ts';
import { AT_MS, CHANNEL, emptyTestLedger, receive, reserve, sale } from '../../helpers/commands.ts';
import { accepted, given } from '../../helpers/ledger.ts';

const stamp = (type: string, version: number) => ({
  commandId: commandId(`cmd-${type}`),
  atMs: AT_MS,
  version,
});

describe('receive', () => {
  test('a receipt into an empty location records Received and the move out of stock', () => {
    const { events, ledger } = accepted(emptyTestLedger(), receive(10));
    assert.deepEqual(events, [
      { type: 'Received', qty: 10, deltas: { onHand: 10 }, ...stamp('receive', 1) },
      {
        type: 'AvailabilityChanged',
        from: 'outOfStock',
        to: 'inStock',
        availableToSell: 10,
        deltas: {},
        ...stamp('receive', 2),
      },
    ]);
    assert.equal(ledger.onHand, 10);
    assert.equal(ledger.version, 2);
    assert.equal(ledger.updatedAtMs, AT_MS);
  });

  test('a receipt into a location already in stock records only Received', () => {
    const start = given(emptyTestLedger(), receive(4));
    const { events, ledger } = accepted(start, receive(6, { atMs: AT_MS + 1 }));
    assert.deepEqual(events, [
      {
        type: 'Received',
        qty: 6,
        deltas: { onHand: 6 },
        commandId: commandId('cmd-receive'),
        atMs: AT_MS + 1,
        version: 3,
      },
    ]);
    assert.equal(ledger.onHand, 10);
    assert.equal(ledger.updatedAtMs, AT_MS + 1);
  });
});

describe('sale', () => {
  test('a sale within stock records Sold with a negative onHand delta', () => {
    const start = given(emptyTestLedger(), receive(10));
    const { events, ledger } = accepted(start, sale(3));
    assert.deepEqual(events, [{ type: 'Sold', qty: 3, deltas: { onHand: -3 }, ...stamp('sale', 3) }]);
    assert.equal(ledger.onHand, 7);
  });

  test('selling the last units records the move to out of stock', () => {
    const start = given(emptyTestLedger(), receive(3));
    const { events } = accepted(start, sale(3));
    assert.deepEqual(events, [
      { type: 'Sold', qty: 3, deltas: { onHand: -3 }, ...stamp('sale', 3) },
      {
        type: 'AvailabilityChanged',
        from: 'inStock',
        to: 'outOfStock',
        availableToSell: 0,
        deltas: {},
        ...stamp('sale', 4),
      },
    ]);
  });

  test('a sale with nothing on hand is accepted and leaves the ledger negative, with nothing at risk', () => {
    const { events, ledger } = accepted(emptyTestLedger(), sale(2));
    assert.deepEqual(events, [{ type: 'Sold', qty: 2, deltas: { onHand: -2 }, ...stamp('sale', 1) }]);
    assert.equal(ledger.onHand, -2);
    assert.equal(integrityOf(ledger), 'negative');
  });

  describe('oversell', () => {
    // Held in the order b, c, a so that "newest first" differs from both id order and its reverse.
    const held = () =>
      given(emptyTestLedger(), receive(10), reserve('r-b', 4), reserve('r-c', 3), reserve('r-a', 2));

    test('a sale below reserved enters oversold and names the newest lines that cover the shortfall', () => {
      const start = held();
      assert.equal(start.version, 5);
      const { events, ledger } = accepted(start, sale(6));
      assert.deepEqual(events, [
        { type: 'Sold', qty: 6, deltas: { onHand: -6 }, ...stamp('sale', 6) },
        {
          type: 'ReservationsAtRisk',
          integrity: 'oversold',
          shortfall: 5,
          reservations: [
            { reservationId: reservationId('r-a'), qty: 2, channel: CHANNEL, state: 'held' },
            { reservationId: reservationId('r-c'), qty: 3, channel: CHANNEL, state: 'held' },
          ],
          deltas: {},
          ...stamp('sale', 7),
        },
        {
          type: 'AvailabilityChanged',
          from: 'inStock',
          to: 'outOfStock',
          availableToSell: 0,
          deltas: {},
          ...stamp('sale', 8),
        },
      ]);
      assert.equal(integrityOf(ledger), 'oversold');
      assert.equal(ledger.reservations.length, 3, 'no line is dropped');
    });

    test('a further sale below zero enters negative and names every line now short', () => {
      const oversold = given(held(), sale(6));
      const { events, ledger } = accepted(oversold, sale(5));
      assert.deepEqual(events, [
        { type: 'Sold', qty: 5, deltas: { onHand: -5 }, ...stamp('sale', 9) },
        {
          type: 'ReservationsAtRisk',
          integrity: 'negative',
          shortfall: 9,
          reservations: [
            { reservationId: reservationId('r-a'), qty: 2, channel: CHANNEL, state: 'held' },
            { reservationId: reservationId('r-c'), qty: 3, channel: CHANNEL, state: 'held' },
            { reservationId: reservationId('r-b'), qty: 4, channel: CHANNEL, state: 'held' },
          ],
          deltas: {},
          ...stamp('sale', 10),
        },
      ]);
      assert.equal(ledger.onHand, -1);
      assert.equal(integrityOf(ledger), 'negative');
    });

    test('a sale that does not grow the shortfall records no new ReservationsAtRisk', () => {
      const empty = given(held(), sale(10));
      assert.equal(empty.onHand, 0);
      assert.equal(integrityOf(empty), 'oversold');
      const { events, ledger } = accepted(empty, sale(1));
      assert.deepEqual(events, [{ type: 'Sold', qty: 1, deltas: { onHand: -1 }, ...stamp('sale', 9) }]);
      assert.equal(integrityOf(ledger), 'negative');
    });

    test('a receipt that covers the shortfall restores consistency without another event', () => {
      const oversold = given(held(), sale(6));
      const { events, ledger } = accepted(oversold, receive(5));
      assert.deepEqual(events, [{ type: 'Received', qty: 5, deltas: { onHand: 5 }, ...stamp('receive', 9) }]);
      assert.equal(integrityOf(ledger), 'consistent');
    });
  });
});
