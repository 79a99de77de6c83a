// Proves a transfer ships from available stock, arrives as inTransit and is received with any variance
// recorded: exact events and refusals from decide, each checked against the machine.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commandId, transferId } from '../../../actors/ids.ts';
import { availabilityOf } from '../../../actors/ledger.ts';
import {
  AT_MS,
  emptyTestLedger,
  OTHER_LOCATION,
  policyOf,
  receive,
  reserve,
  setPolicy,
  transferIn,
  transferOut,
  transferReceive,
} from '../../helpers/commands.ts';
import { accepted, given, refused } from '../../helpers/ledger.ts';

const T1 = transferId('t-1');
const at = (type: string, version: number) => ({ commandId: commandId(`cmd-${type}`), atMs: AT_MS, version });

/** Ten units of t-1 in transit to an otherwise empty location; version 1. */
const inbound = () => given(emptyTestLedger(), transferIn('t-1', 10));

describe('transferOut', () => {
  test('a shipment takes units off onHand and names the destination', () => {
    const start = given(emptyTestLedger(), receive(10));
    const { events, ledger } = accepted(start, transferOut('t-1', 4));
    assert.deepEqual(events, [
      {
        type: 'TransferShipped',
        transferId: T1,
        qty: 4,
        destination: OTHER_LOCATION,
        deltas: { onHand: -4 },
        ...at('transferOut', 3),
      },
    ]);
    assert.equal(ledger.onHand, 6);
  });

  test('shipping everything available records the move to out of stock', () => {
    const start = given(emptyTestLedger(), receive(4));
    const { events } = accepted(start, transferOut('t-1', 4));
    assert.deepEqual(
      events.map((event) => event.type),
      ['TransferShipped', 'AvailabilityChanged'],
    );
  });

  test('a shipment beyond available-to-sell is INSUFFICIENT_STOCK: holds and safety stock stay put', () => {
    const start = given(emptyTestLedger(), receive(10), reserve('r-1', 3), setPolicy(policyOf(2, 0)));
    assert.deepEqual(refused(start, transferOut('t-1', 6)), {
      code: 'INSUFFICIENT_STOCK',
      requested: 6,
      availableToSell: 5,
    });
    accepted(start, transferOut('t-1', 5));
  });
});

describe('transferIn', () => {
  test('an arrival raises inTransit and opens an inbound transfer, nothing on sale yet', () => {
    const { events, ledger } = accepted(emptyTestLedger(), transferIn('t-1', 10));
    assert.deepEqual(events, [
      {
        type: 'TransferArrived',
        transferId: T1,
        qty: 10,
        origin: OTHER_LOCATION,
        deltas: { inTransit: 10 },
        ...at('transferIn', 1),
      },
    ]);
    assert.deepEqual(ledger.inboundTransfers, [{ id: T1, qty: 10 }]);
    assert.equal(availabilityOf(ledger), 'outOfStock');
  });

  test('a transfer already in transit is INVALID_STATE', () => {
    assert.deepEqual(refused(inbound(), transferIn('t-1', 10)), {
      code: 'INVALID_STATE',
      state: 'inTransit',
    });
  });
});

describe('transferReceive', () => {
  test('receiving exactly what was shipped records no variance and closes the transfer', () => {
    const { events, ledger } = accepted(inbound(), transferReceive('t-1', 10));
    assert.deepEqual(events, [
      {
        type: 'TransferReceived',
        transferId: T1,
        shippedQty: 10,
        receivedQty: 10,
        variance: 0,
        deltas: { inTransit: -10, onHand: 10 },
        ...at('transferReceive', 2),
      },
      {
        type: 'AvailabilityChanged',
        from: 'outOfStock',
        to: 'inStock',
        availableToSell: 10,
        deltas: {},
        ...at('transferReceive', 3),
      },
    ]);
    assert.deepEqual(ledger.inboundTransfers, []);
    assert.equal(ledger.inTransit, 0);
  });

  test('a short delivery takes all of inTransit, puts what arrived on hand and records a negative variance', () => {
    const { events, ledger } = accepted(inbound(), transferReceive('t-1', 7));
    assert.deepEqual(events[0], {
      type: 'TransferReceived',
      transferId: T1,
      shippedQty: 10,
      receivedQty: 7,
      variance: -3,
      deltas: { inTransit: -10, onHand: 7 },
      ...at('transferReceive', 2),
    });
    assert.equal(ledger.onHand, 7);
    assert.equal(ledger.inTransit, 0);
  });

  test('an over-delivery records a positive variance', () => {
    const { events } = accepted(inbound(), transferReceive('t-1', 12));
    assert.deepEqual(events[0], {
      type: 'TransferReceived',
      transferId: T1,
      shippedQty: 10,
      receivedQty: 12,
      variance: 2,
      deltas: { inTransit: -10, onHand: 12 },
      ...at('transferReceive', 2),
    });
  });

  test('a delivery that never came closes the transfer with the whole shipment as variance', () => {
    const { events, ledger } = accepted(inbound(), transferReceive('t-1', 0));
    assert.deepEqual(events, [
      {
        type: 'TransferReceived',
        transferId: T1,
        shippedQty: 10,
        receivedQty: 0,
        variance: -10,
        deltas: { inTransit: -10, onHand: 0 },
        ...at('transferReceive', 2),
      },
    ]);
    assert.equal(ledger.onHand, 0);
  });

  test('only the received transfer closes; another stays in transit', () => {
    const start = given(inbound(), transferIn('t-2', 3));
    const { ledger } = accepted(start, transferReceive('t-2', 3));
    assert.deepEqual(ledger.inboundTransfers, [{ id: T1, qty: 10 }]);
  });

  test('an unknown transfer is TRANSFER_NOT_FOUND', () => {
    assert.deepEqual(refused(inbound(), transferReceive('t-2', 1)), {
      code: 'TRANSFER_NOT_FOUND',
      transferId: transferId('t-2'),
    });
  });

  test('a transfer received once is TRANSFER_NOT_FOUND the second time', () => {
    assert.deepEqual(refused(given(inbound(), transferReceive('t-1', 10)), transferReceive('t-1', 10)), {
      code: 'TRANSFER_NOT_FOUND',
      transferId: T1,
    });
  });
});
