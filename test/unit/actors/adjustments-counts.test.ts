// Proves adjustments move onHand by a signed delta and counts set it with the variance recorded, both able
// to drive it below reserved or zero: exact events from decide, each checked against the machine.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commandId, reservationId } from '../../../actors/ids.ts';
import { integrityOf } from '../../../actors/ledger.ts';
import {
  AT_MS,
  adjust,
  CHANNEL,
  count,
  emptyTestLedger,
  receive,
  reserve,
  sale,
} from '../../helpers/commands.ts';
import { accepted, given } from '../../helpers/ledger.ts';

const at = (type: string, version: number) => ({ commandId: commandId(`cmd-${type}`), atMs: AT_MS, version });

/** Ten on hand, none held; version 2. */
const stocked = () => given(emptyTestLedger(), receive(10));

describe('adjust', () => {
  test('a positive adjustment raises onHand and keeps its reason', () => {
    const { events, ledger } = accepted(stocked(), adjust(5, { reason: 'found' }));
    assert.deepEqual(events, [
      { type: 'Adjusted', delta: 5, reason: 'found', deltas: { onHand: 5 }, ...at('adjust', 3) },
    ]);
    assert.equal(ledger.onHand, 15);
  });

  test('a negative adjustment lowers onHand', () => {
    const { events, ledger } = accepted(stocked(), adjust(-4, { reason: 'damaged' }));
    assert.deepEqual(events, [
      { type: 'Adjusted', delta: -4, reason: 'damaged', deltas: { onHand: -4 }, ...at('adjust', 3) },
    ]);
    assert.equal(ledger.onHand, 6);
  });

  test('a negative adjustment below zero is accepted, enters negative and names the lines at risk', () => {
    const start = given(stocked(), reserve('r-1', 3));
    const { events, ledger } = accepted(start, adjust(-12, { reason: 'shrink' }));
    assert.deepEqual(events, [
      { type: 'Adjusted', delta: -12, reason: 'shrink', deltas: { onHand: -12 }, ...at('adjust', 4) },
      {
        type: 'ReservationsAtRisk',
        integrity: 'negative',
        shortfall: 3,
        reservations: [{ reservationId: reservationId('r-1'), qty: 3, channel: CHANNEL, state: 'held' }],
        deltas: {},
        ...at('adjust', 5),
      },
      {
        type: 'AvailabilityChanged',
        from: 'inStock',
        to: 'outOfStock',
        availableToSell: 0,
        deltas: {},
        ...at('adjust', 6),
      },
    ]);
    assert.equal(ledger.onHand, -2);
    assert.equal(integrityOf(ledger), 'negative');
  });
});

describe('count', () => {
  test('a count below onHand sets it and records the negative variance', () => {
    const { events, ledger } = accepted(stocked(), count(7));
    assert.deepEqual(events, [
      { type: 'Counted', counted: 7, variance: -3, deltas: { onHand: -3 }, ...at('count', 3) },
    ]);
    assert.equal(ledger.onHand, 7);
  });

  test('a count above onHand records a positive variance', () => {
    const { events } = accepted(stocked(), count(13));
    assert.deepEqual(events, [
      { type: 'Counted', counted: 13, variance: 3, deltas: { onHand: 3 }, ...at('count', 3) },
    ]);
  });

  test('a count that agrees is still recorded, with zero variance', () => {
    const { events, ledger } = accepted(stocked(), count(10));
    assert.deepEqual(events, [
      { type: 'Counted', counted: 10, variance: 0, deltas: { onHand: 0 }, ...at('count', 3) },
    ]);
    assert.equal(ledger.version, 3);
  });

  test('an empty shelf under open holds enters oversold and names them', () => {
    const start = given(stocked(), reserve('r-1', 3));
    const { events, ledger } = accepted(start, count(0));
    assert.deepEqual(events, [
      { type: 'Counted', counted: 0, variance: -10, deltas: { onHand: -10 }, ...at('count', 4) },
      {
        type: 'ReservationsAtRisk',
        integrity: 'oversold',
        shortfall: 3,
        reservations: [{ reservationId: reservationId('r-1'), qty: 3, channel: CHANNEL, state: 'held' }],
        deltas: {},
        ...at('count', 5),
      },
      {
        type: 'AvailabilityChanged',
        from: 'inStock',
        to: 'outOfStock',
        availableToSell: 0,
        deltas: {},
        ...at('count', 6),
      },
    ]);
    assert.equal(integrityOf(ledger), 'oversold');
  });

  test('a count after an oversell measures the variance from the negative figure and restores consistency', () => {
    const start = given(emptyTestLedger(), sale(2));
    const { events, ledger } = accepted(start, count(3));
    assert.deepEqual(events, [
      { type: 'Counted', counted: 3, variance: 5, deltas: { onHand: 5 }, ...at('count', 2) },
      {
        type: 'AvailabilityChanged',
        from: 'outOfStock',
        to: 'inStock',
        availableToSell: 3,
        deltas: {},
        ...at('count', 3),
      },
    ]);
    assert.equal(integrityOf(ledger), 'consistent');
  });
});
