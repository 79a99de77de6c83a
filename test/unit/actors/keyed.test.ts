// Proves the sorted-by-id helpers find, insert and remove in order without mutating, and that ids named
// like Object.prototype members find nothing that is not there: by examples on the helpers and the actor.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { actorKeyOf, channelId, locationId, sku, splitActorKey } from '../../../actors/ids.ts';
import type { Keyed } from '../../../actors/keyed.ts';
import { findEntry, isSortedById, positionOf, putEntry, removeEntry } from '../../../actors/keyed.ts';
import { exposedTo } from '../../../actors/ledger.ts';
import { ownEntry } from '../../../actors/rules.ts';
import {
  commit,
  dispose,
  emptyTestLedger,
  expire,
  fulfil,
  policyOf,
  receive,
  release,
  reserve,
  returnUnits,
  setPolicy,
  transferIn,
  transferReceive,
} from '../../helpers/commands.ts';
import { accepted, given, refused } from '../../helpers/ledger.ts';

interface Entry extends Keyed {
  readonly qty: number;
}
const entries = (...ids: string[]): readonly Entry[] => ids.map((id) => ({ id, qty: 1 }));
const idsOf = (list: readonly Keyed[]) => list.map((entry) => entry.id);

describe('positionOf', () => {
  test('gives the index of an id, or where it would go', () => {
    const list = entries('b', 'd', 'f');
    assert.equal(positionOf([], 'a'), 0);
    assert.equal(positionOf(list, 'a'), 0);
    assert.equal(positionOf(list, 'b'), 0);
    assert.equal(positionOf(list, 'c'), 1);
    assert.equal(positionOf(list, 'd'), 1);
    assert.equal(positionOf(list, 'f'), 2);
    assert.equal(positionOf(list, 'g'), 3);
  });

  test('orders by UTF-16 code units, not by locale or number', () => {
    const list = putEntry(putEntry(putEntry(entries(), { id: 'a', qty: 1 }), { id: 'B', qty: 1 }), {
      id: '10',
      qty: 1,
    });
    assert.deepEqual(idsOf(putEntry(list, { id: '9', qty: 1 })), ['10', '9', 'B', 'a']);
  });
});

describe('findEntry', () => {
  test('finds an entry by id and nothing for an id between or beyond', () => {
    const list = entries('b', 'd', 'f');
    assert.equal(findEntry(list, 'd'), list[1]);
    assert.equal(findEntry(list, 'c'), undefined);
    assert.equal(findEntry(list, 'z'), undefined);
    assert.equal(findEntry([], 'a'), undefined);
  });
});

describe('putEntry', () => {
  test('inserts in order and leaves the input untouched', () => {
    const list = entries('b', 'd');
    const front = putEntry(list, { id: 'a', qty: 1 });
    const middle = putEntry(list, { id: 'c', qty: 1 });
    const back = putEntry(list, { id: 'e', qty: 1 });
    assert.deepEqual(idsOf(front), ['a', 'b', 'd']);
    assert.deepEqual(idsOf(middle), ['b', 'c', 'd']);
    assert.deepEqual(idsOf(back), ['b', 'd', 'e']);
    assert.deepEqual(idsOf(list), ['b', 'd']);
  });

  test('replaces the entry with the same id rather than adding a second', () => {
    const list = entries('b', 'd');
    const replaced = putEntry(list, { id: 'd', qty: 9 });
    assert.deepEqual(replaced, [
      { id: 'b', qty: 1 },
      { id: 'd', qty: 9 },
    ]);
    assert.equal(list[1]?.qty, 1);
  });
});

describe('removeEntry', () => {
  test('removes by id into a copy', () => {
    const list = entries('b', 'd', 'f');
    assert.deepEqual(idsOf(removeEntry(list, 'd')), ['b', 'f']);
    assert.deepEqual(idsOf(list), ['b', 'd', 'f']);
  });

  test('returns the same array when the id is absent', () => {
    const list = entries('b', 'd');
    assert.equal(removeEntry(list, 'c'), list);
    assert.equal(removeEntry([], 'c').length, 0);
  });
});

describe('isSortedById', () => {
  test('holds only for strictly increasing ids', () => {
    assert.equal(isSortedById([]), true);
    assert.equal(isSortedById(entries('a')), true);
    assert.equal(isSortedById(entries('a', 'b', 'c')), true);
    assert.equal(isSortedById(entries('a', 'a')), false);
    assert.equal(isSortedById(entries('b', 'a')), false);
    assert.equal(isSortedById(entries('a', 'c', 'b')), false);
  });
});

describe('canonical order on the actor', () => {
  test('lines, lots and transfers are held sorted by id whatever order they arrived in', () => {
    const ledger = given(
      emptyTestLedger(),
      receive(10),
      reserve('r-c', 1),
      reserve('r-a', 1),
      reserve('r-b', 1),
      returnUnits('ret-2', 1),
      returnUnits('ret-1', 1),
      transferIn('t-9', 1),
      transferIn('t-10', 1),
    );
    assert.deepEqual(idsOf(ledger.reservations), ['r-a', 'r-b', 'r-c']);
    assert.deepEqual(idsOf(ledger.returnLots), ['ret-1', 'ret-2']);
    assert.deepEqual(idsOf(ledger.inboundTransfers), ['t-10', 't-9']);
  });

  test('actor keys keep location and sku apart, so shifting a character between them is another key', () => {
    const a = actorKeyOf(locationId('store-1'), sku('2A'));
    const b = actorKeyOf(locationId('store-12'), sku('A'));
    assert.notEqual(a, b);
    assert.deepEqual(splitActorKey(a), { location: 'store-1', sku: '2A' });
    assert.deepEqual(splitActorKey(b), { location: 'store-12', sku: 'A' });
  });
});

describe('ids named like Object.prototype members', () => {
  const memberNames = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];

  test('ownEntry finds only own properties', () => {
    assert.equal(ownEntry({}, 'constructor'), undefined);
    assert.equal(ownEntry({}, 'toString'), undefined);
    assert.equal(ownEntry({}, '__proto__'), undefined);
    assert.equal(ownEntry(JSON.parse('{"__proto__": 1}') as Record<string, number>, '__proto__'), 1);
    assert.equal(ownEntry({ constructor: 2 }, 'constructor'), 2);
  });

  for (const name of memberNames) {
    test(`the id "${name}" finds no reservation, return or transfer that is not there`, () => {
      const ledger = given(emptyTestLedger(), receive(10));
      const missing = { code: 'RESERVATION_NOT_FOUND', reservationId: name };
      assert.deepEqual(refused(ledger, release(name)), missing);
      assert.deepEqual(refused(ledger, commit(name)), missing);
      assert.deepEqual(refused(ledger, fulfil(name)), missing);
      assert.deepEqual(refused(ledger, expire(name)), missing);
      assert.deepEqual(refused(ledger, dispose(name, 1, 'restock')), {
        code: 'RETURN_NOT_FOUND',
        returnId: name,
      });
      assert.deepEqual(refused(ledger, transferReceive(name, 1)), {
        code: 'TRANSFER_NOT_FOUND',
        transferId: name,
      });
    });

    test(`the id "${name}" works as an ordinary reservation, return, transfer and channel`, () => {
      const start = given(emptyTestLedger(), receive(10));
      assert.equal(exposedTo(start, name), 10, 'no channel policy is inherited');
      const held = accepted(start, reserve(name, 4, { channel: channelId(name) })).ledger;
      assert.equal(held.reservations[0]?.id, name);
      accepted(held, release(name));
      accepted(given(start, returnUnits(name, 2)), dispose(name, 2, 'restock'));
      accepted(given(start, transferIn(name, 2)), transferReceive(name, 2));
      const shared = given(start, setPolicy(policyOf(0, 0, { [name]: { share: 0.5 } })));
      assert.equal(exposedTo(shared, name), 5);
    });
  }

  test('"__proto__" is outside the id grammar, so it is refused before any lookup', () => {
    const ledger = given(emptyTestLedger(), receive(10));
    const badId = 'must match the id pattern';
    assert.deepEqual(refused(ledger, release('__proto__')), {
      code: 'VALIDATION_FAILED',
      field: 'reservationId',
      reason: badId,
    });
    assert.deepEqual(refused(ledger, reserve('r-1', 1, { channel: channelId('__proto__') })), {
      code: 'VALIDATION_FAILED',
      field: 'channel',
      reason: badId,
    });
    const channels = JSON.parse('{"__proto__": {"share": 0.5}}') as Record<string, { share: number }>;
    assert.deepEqual(refused(ledger, setPolicy(policyOf(0, 0, channels))), {
      code: 'VALIDATION_FAILED',
      field: 'policy.channels',
      reason: 'bad channel id "__proto__"',
    });
  });
});
