// Proves the reservation lifecycle (reserve, release, commit, fulfil, expire) and each refusal it can give,
// deadline by deadline: exact events and refusals from decide, each checked against the machine.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { channelId, commandId, reservationId } from '../../../actors/ids.ts';
import { availableToSell } from '../../../actors/ledger.ts';
import {
  AT_MS,
  CHANNEL,
  commit,
  emptyTestLedger,
  expire,
  fulfil,
  receive,
  release,
  reserve,
  TTL_MS,
} from '../../helpers/commands.ts';
import { accepted, given, refused } from '../../helpers/ledger.ts';

const DEADLINE_MS = AT_MS + TTL_MS;
const R1 = reservationId('r-1');
const at = (type: string, version: number, atMs = AT_MS) => ({
  commandId: commandId(`cmd-${type}`),
  atMs,
  version,
});

/** Ten on hand, four of them held by r-1 until DEADLINE_MS; version 3. */
const holding = () => given(emptyTestLedger(), receive(10), reserve('r-1', 4));

describe('reserve', () => {
  test('a hold within available-to-sell records Reserved and opens a held line', () => {
    const start = given(emptyTestLedger(), receive(10));
    const { events, ledger } = accepted(start, reserve('r-1', 4));
    assert.deepEqual(events, [
      {
        type: 'Reserved',
        reservationId: R1,
        channel: CHANNEL,
        qty: 4,
        expiresAtMs: DEADLINE_MS,
        deltas: { reserved: 4 },
        ...at('reserve', 3),
      },
    ]);
    assert.deepEqual(ledger.reservations, [
      { id: R1, qty: 4, channel: CHANNEL, state: 'held', expiresAtMs: DEADLINE_MS, heldAtVersion: 3 },
    ]);
    assert.equal(availableToSell(ledger), 6);
  });

  test('holding everything available records the move to out of stock', () => {
    const start = given(emptyTestLedger(), receive(4));
    const { events } = accepted(start, reserve('r-1', 4, { channel: channelId('store') }));
    assert.deepEqual(events, [
      {
        type: 'Reserved',
        reservationId: R1,
        channel: channelId('store'),
        qty: 4,
        expiresAtMs: DEADLINE_MS,
        deltas: { reserved: 4 },
        ...at('reserve', 3),
      },
      {
        type: 'AvailabilityChanged',
        from: 'inStock',
        to: 'outOfStock',
        availableToSell: 0,
        deltas: {},
        ...at('reserve', 4),
      },
    ]);
  });

  test('a hold without a deadline opens a line that never expires', () => {
    const start = given(emptyTestLedger(), receive(10));
    const { ledger } = accepted(start, reserve('r-1', 4, { expiresAtMs: null }));
    assert.equal(ledger.reservations[0]?.expiresAtMs, null);
    assert.deepEqual(refused(ledger, expire('r-1', { atMs: AT_MS + 365 * 24 * 3600 * 1000 })), {
      code: 'INVALID_STATE',
      state: 'held',
      reservationId: R1,
    });
  });

  test('more than available-to-sell is INSUFFICIENT_STOCK with the numbers', () => {
    assert.deepEqual(refused(holding(), reserve('r-2', 7)), {
      code: 'INSUFFICIENT_STOCK',
      requested: 7,
      availableToSell: 6,
    });
  });

  test('an empty location refuses any hold', () => {
    assert.deepEqual(refused(emptyTestLedger(), reserve('r-1', 1)), {
      code: 'INSUFFICIENT_STOCK',
      requested: 1,
      availableToSell: 0,
    });
  });

  test('an id that already holds a line is INVALID_STATE naming the line state', () => {
    assert.deepEqual(refused(holding(), reserve('r-1', 1)), {
      code: 'INVALID_STATE',
      state: 'held',
      reservationId: R1,
    });
    const committed = given(holding(), commit('r-1'));
    assert.deepEqual(refused(committed, reserve('r-1', 1)), {
      code: 'INVALID_STATE',
      state: 'committed',
      reservationId: R1,
    });
  });

  test('an id whose line was closed can hold again', () => {
    const closed = given(holding(), release('r-1'));
    const { ledger } = accepted(closed, reserve('r-1', 2));
    assert.equal(ledger.reservations[0]?.qty, 2);
    assert.equal(ledger.reservations[0]?.heldAtVersion, 5);
  });
});

describe('release', () => {
  test('a release without a quantity gives back everything and closes the line', () => {
    const { events, ledger } = accepted(holding(), release('r-1'));
    assert.deepEqual(events, [
      { type: 'Released', reservationId: R1, qty: 4, deltas: { reserved: -4 }, ...at('release', 4) },
    ]);
    assert.deepEqual(ledger.reservations, []);
    assert.equal(ledger.reserved, 0);
  });

  test('a partial release keeps the rest of the line as it was', () => {
    const { events, ledger } = accepted(holding(), release('r-1', 3));
    assert.deepEqual(events, [
      { type: 'Released', reservationId: R1, qty: 3, deltas: { reserved: -3 }, ...at('release', 4) },
    ]);
    assert.deepEqual(ledger.reservations, [
      { id: R1, qty: 1, channel: CHANNEL, state: 'held', expiresAtMs: DEADLINE_MS, heldAtVersion: 3 },
    ]);
  });

  test('releasing the line that emptied the shelf records the move back into stock', () => {
    const start = given(emptyTestLedger(), receive(4), reserve('r-1', 4));
    const { events } = accepted(start, release('r-1'));
    assert.deepEqual(events, [
      { type: 'Released', reservationId: R1, qty: 4, deltas: { reserved: -4 }, ...at('release', 5) },
      {
        type: 'AvailabilityChanged',
        from: 'outOfStock',
        to: 'inStock',
        availableToSell: 4,
        deltas: {},
        ...at('release', 6),
      },
    ]);
  });

  test('a committed line can still be released', () => {
    const { events } = accepted(given(holding(), commit('r-1')), release('r-1', 1));
    assert.deepEqual(events, [
      { type: 'Released', reservationId: R1, qty: 1, deltas: { reserved: -1 }, ...at('release', 5) },
    ]);
  });

  test('a held line past its deadline can still be released', () => {
    const { events } = accepted(holding(), release('r-1', null, { atMs: DEADLINE_MS + 1 }));
    assert.deepEqual(events, [
      {
        type: 'Released',
        reservationId: R1,
        qty: 4,
        deltas: { reserved: -4 },
        ...at('release', 4, DEADLINE_MS + 1),
      },
    ]);
  });

  test('an unknown line is RESERVATION_NOT_FOUND', () => {
    assert.deepEqual(refused(holding(), release('r-9')), {
      code: 'RESERVATION_NOT_FOUND',
      reservationId: reservationId('r-9'),
    });
  });

  test('a line already released in full is RESERVATION_NOT_FOUND', () => {
    assert.deepEqual(refused(given(holding(), release('r-1')), release('r-1')), {
      code: 'RESERVATION_NOT_FOUND',
      reservationId: R1,
    });
  });

  test('more than the line holds is INVALID_STATE with requested and remaining', () => {
    const start = given(holding(), release('r-1', 1));
    assert.deepEqual(refused(start, release('r-1', 4)), {
      code: 'INVALID_STATE',
      state: 'held',
      reservationId: R1,
      requested: 4,
      remaining: 3,
    });
  });
});

describe('commit', () => {
  test('a commit before the deadline records Committed and removes the expiry', () => {
    const { events, ledger } = accepted(holding(), commit('r-1', { atMs: DEADLINE_MS - 1 }));
    assert.deepEqual(events, [
      { type: 'Committed', reservationId: R1, deltas: {}, ...at('commit', 4, DEADLINE_MS - 1) },
    ]);
    assert.deepEqual(ledger.reservations, [
      { id: R1, qty: 4, channel: CHANNEL, state: 'committed', expiresAtMs: null, heldAtVersion: 3 },
    ]);
    assert.equal(ledger.reserved, 4);
  });

  test('a committed line cannot expire and can be fulfilled long after the old deadline', () => {
    const committed = given(holding(), commit('r-1'));
    assert.deepEqual(refused(committed, expire('r-1', { atMs: DEADLINE_MS })), {
      code: 'INVALID_STATE',
      state: 'committed',
      reservationId: R1,
    });
    const { events } = accepted(committed, fulfil('r-1', null, { atMs: DEADLINE_MS + TTL_MS }));
    assert.equal(events[0]?.type, 'Fulfilled');
  });

  test('committing twice is INVALID_STATE naming the committed state', () => {
    assert.deepEqual(refused(given(holding(), commit('r-1')), commit('r-1')), {
      code: 'INVALID_STATE',
      state: 'committed',
      reservationId: R1,
    });
  });

  test('a commit at the deadline is RESERVATION_EXPIRED with the deadline', () => {
    assert.deepEqual(refused(holding(), commit('r-1', { atMs: DEADLINE_MS })), {
      code: 'RESERVATION_EXPIRED',
      reservationId: R1,
      expiresAtMs: DEADLINE_MS,
    });
  });

  test('an unknown line is RESERVATION_NOT_FOUND', () => {
    assert.deepEqual(refused(holding(), commit('r-2')), {
      code: 'RESERVATION_NOT_FOUND',
      reservationId: reservationId('r-2'),
    });
  });
});

describe('fulfil', () => {
  test('fulfilling a whole committed line takes it out of onHand and reserved and closes it', () => {
    const { events, ledger } = accepted(given(holding(), commit('r-1')), fulfil('r-1'));
    assert.deepEqual(events, [
      {
        type: 'Fulfilled',
        reservationId: R1,
        qty: 4,
        deltas: { onHand: -4, reserved: -4 },
        ...at('fulfil', 5),
      },
    ]);
    assert.deepEqual(ledger.reservations, []);
    assert.equal(ledger.onHand, 6);
    assert.equal(availableToSell(ledger), 6, 'fulfilment does not change available-to-sell');
  });

  test('a partial fulfil of a held line before its deadline keeps the rest held', () => {
    const { events, ledger } = accepted(holding(), fulfil('r-1', 1, { atMs: DEADLINE_MS - 1 }));
    assert.deepEqual(events, [
      {
        type: 'Fulfilled',
        reservationId: R1,
        qty: 1,
        deltas: { onHand: -1, reserved: -1 },
        ...at('fulfil', 4, DEADLINE_MS - 1),
      },
    ]);
    assert.deepEqual(ledger.reservations, [
      { id: R1, qty: 3, channel: CHANNEL, state: 'held', expiresAtMs: DEADLINE_MS, heldAtVersion: 3 },
    ]);
  });

  test('fulfilling a held line at its deadline is RESERVATION_EXPIRED', () => {
    assert.deepEqual(refused(holding(), fulfil('r-1', 1, { atMs: DEADLINE_MS })), {
      code: 'RESERVATION_EXPIRED',
      reservationId: R1,
      expiresAtMs: DEADLINE_MS,
    });
  });

  test('more than the line holds is INVALID_STATE with requested and remaining', () => {
    assert.deepEqual(refused(given(holding(), commit('r-1')), fulfil('r-1', 5)), {
      code: 'INVALID_STATE',
      state: 'committed',
      reservationId: R1,
      requested: 5,
      remaining: 4,
    });
  });

  test('an unknown line is RESERVATION_NOT_FOUND', () => {
    assert.deepEqual(refused(holding(), fulfil('r-2')), {
      code: 'RESERVATION_NOT_FOUND',
      reservationId: reservationId('r-2'),
    });
  });

  test('a line fulfilled in full is gone: a second fulfil is RESERVATION_NOT_FOUND', () => {
    assert.deepEqual(refused(given(holding(), fulfil('r-1')), fulfil('r-1')), {
      code: 'RESERVATION_NOT_FOUND',
      reservationId: R1,
    });
  });
});

describe('expire', () => {
  test('one millisecond before the deadline an expiry is INVALID_STATE', () => {
    assert.deepEqual(refused(holding(), expire('r-1', { atMs: DEADLINE_MS - 1 })), {
      code: 'INVALID_STATE',
      state: 'held',
      reservationId: R1,
    });
  });

  test('at the deadline an expiry gives the units back and closes the line', () => {
    const { events, ledger } = accepted(holding(), expire('r-1', { atMs: DEADLINE_MS }));
    assert.deepEqual(events, [
      {
        type: 'Expired',
        reservationId: R1,
        qty: 4,
        deltas: { reserved: -4 },
        ...at('expire', 4, DEADLINE_MS),
      },
    ]);
    assert.deepEqual(ledger.reservations, []);
    assert.equal(ledger.updatedAtMs, DEADLINE_MS);
  });

  test('after a partial release, a late expiry gives back only what is left', () => {
    const start = given(holding(), release('r-1', 1));
    const { events } = accepted(start, expire('r-1', { atMs: DEADLINE_MS + 60_000 }));
    assert.deepEqual(events, [
      {
        type: 'Expired',
        reservationId: R1,
        qty: 3,
        deltas: { reserved: -3 },
        ...at('expire', 5, DEADLINE_MS + 60_000),
      },
    ]);
  });

  test('an expiry that frees the last units records the move back into stock', () => {
    const start = given(emptyTestLedger(), receive(4), reserve('r-1', 4));
    const { events } = accepted(start, expire('r-1', { atMs: DEADLINE_MS }));
    assert.deepEqual(events.at(-1), {
      type: 'AvailabilityChanged',
      from: 'outOfStock',
      to: 'inStock',
      availableToSell: 4,
      deltas: {},
      ...at('expire', 6, DEADLINE_MS),
    });
  });

  test('an unknown line is RESERVATION_NOT_FOUND', () => {
    assert.deepEqual(refused(holding(), expire('r-2', { atMs: DEADLINE_MS })), {
      code: 'RESERVATION_NOT_FOUND',
      reservationId: reservationId('r-2'),
    });
  });

  test('past the deadline commit and fulfil are RESERVATION_EXPIRED while release still works', () => {
    const late = DEADLINE_MS + 5_000;
    const expired = { code: 'RESERVATION_EXPIRED', reservationId: R1, expiresAtMs: DEADLINE_MS };
    assert.deepEqual(refused(holding(), commit('r-1', { atMs: late })), expired);
    assert.deepEqual(refused(holding(), fulfil('r-1', null, { atMs: late })), expired);
    assert.deepEqual(refused(holding(), fulfil('r-1', 1, { atMs: late })), expired);
    const { ledger } = accepted(holding(), release('r-1', 2, { atMs: late }));
    assert.equal(ledger.reserved, 2);
  });
});
