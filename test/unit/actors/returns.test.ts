// Proves returned units wait in quarantine, unsellable, until a disposition, and that only restock puts
// them on hand: exact events and refusals from decide, each checked against the machine.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commandId, returnId } from '../../../actors/ids.ts';
import { availabilityOf, availableToSell } from '../../../actors/ledger.ts';
import { AT_MS, dispose, emptyTestLedger, receive, returnUnits } from '../../helpers/commands.ts';
import { accepted, given, refused } from '../../helpers/ledger.ts';

const RET = returnId('ret-1');
const at = (type: string, version: number) => ({ commandId: commandId(`cmd-${type}`), atMs: AT_MS, version });

/** Five units of ret-1 in quarantine at an otherwise empty location; version 1. */
const quarantined = () => given(emptyTestLedger(), returnUnits('ret-1', 5));

describe('return', () => {
  test('a return puts units in quarantine and none of them on sale', () => {
    const { events, ledger } = accepted(emptyTestLedger(), returnUnits('ret-1', 5, { reason: 'wrong size' }));
    assert.deepEqual(events, [
      {
        type: 'Returned',
        returnId: RET,
        qty: 5,
        reason: 'wrong size',
        deltas: { quarantine: 5 },
        ...at('return', 1),
      },
    ]);
    assert.deepEqual(ledger.returnLots, [{ id: RET, qty: 5 }]);
    assert.equal(ledger.onHand, 0);
    assert.equal(availabilityOf(ledger), 'outOfStock');
  });

  test('a second return under the same id adds to its lot', () => {
    const { events, ledger } = accepted(quarantined(), returnUnits('ret-1', 2));
    assert.deepEqual(events, [
      {
        type: 'Returned',
        returnId: RET,
        qty: 2,
        reason: 'customer changed their mind',
        deltas: { quarantine: 2 },
        ...at('return', 2),
      },
    ]);
    assert.deepEqual(ledger.returnLots, [{ id: RET, qty: 7 }]);
  });
});

describe('dispose', () => {
  test('a restock moves units from quarantine to onHand and back on sale', () => {
    const { events, ledger } = accepted(quarantined(), dispose('ret-1', 3, 'restock'));
    assert.deepEqual(events, [
      {
        type: 'Disposed',
        returnId: RET,
        qty: 3,
        disposition: 'restock',
        deltas: { quarantine: -3, onHand: 3 },
        ...at('dispose', 2),
      },
      {
        type: 'AvailabilityChanged',
        from: 'outOfStock',
        to: 'inStock',
        availableToSell: 3,
        deltas: {},
        ...at('dispose', 3),
      },
    ]);
    assert.deepEqual(ledger.returnLots, [{ id: RET, qty: 2 }]);
    assert.equal(ledger.quarantine, 2);
  });

  for (const disposition of ['scrap', 'vendor'] as const) {
    test(`a ${disposition} disposition takes units out of quarantine and puts none on hand`, () => {
      const start = given(quarantined(), receive(1));
      const { events, ledger } = accepted(start, dispose('ret-1', 5, disposition));
      assert.deepEqual(events, [
        {
          type: 'Disposed',
          returnId: RET,
          qty: 5,
          disposition,
          deltas: { quarantine: -5 },
          ...at('dispose', 4),
        },
      ]);
      assert.deepEqual(ledger.returnLots, [], 'a lot disposed in full is closed');
      assert.equal(ledger.onHand, 1);
      assert.equal(availableToSell(ledger), 1);
    });
  }

  test('an unknown return is RETURN_NOT_FOUND', () => {
    assert.deepEqual(refused(quarantined(), dispose('ret-2', 1, 'restock')), {
      code: 'RETURN_NOT_FOUND',
      returnId: returnId('ret-2'),
    });
  });

  test('a return disposed in full is RETURN_NOT_FOUND afterwards', () => {
    const closed = given(quarantined(), dispose('ret-1', 5, 'scrap'));
    assert.deepEqual(refused(closed, dispose('ret-1', 1, 'restock')), {
      code: 'RETURN_NOT_FOUND',
      returnId: RET,
    });
  });

  test('more than the lot holds is QUARANTINE_INSUFFICIENT with requested and remaining', () => {
    const start = given(quarantined(), dispose('ret-1', 2, 'vendor'));
    assert.deepEqual(refused(start, dispose('ret-1', 4, 'restock')), {
      code: 'QUARANTINE_INSUFFICIENT',
      returnId: RET,
      requested: 4,
      remaining: 3,
    });
  });

  test("one return's lot cannot be disposed under another's id", () => {
    const start = given(quarantined(), returnUnits('ret-2', 1));
    assert.deepEqual(refused(start, dispose('ret-2', 2, 'restock')), {
      code: 'QUARANTINE_INSUFFICIENT',
      returnId: returnId('ret-2'),
      requested: 2,
      remaining: 1,
    });
  });
});
