// Proves the domain refuses every malformed command with VALIDATION_FAILED naming the field, keeps every
// bucket inside its range, and caps the open lines one actor holds: by exact refusals on both paths.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Disposition } from '../../../actors/commands.ts';
import {
  channelId,
  commandId,
  locationId,
  reservationId,
  returnId,
  sku,
  transferId,
} from '../../../actors/ids.ts';
import type { Ledger } from '../../../actors/ledger.ts';
import {
  bucketAbsoluteMax,
  instantMsMax,
  openLotsPerActorMax,
  openReservationsPerActorMax,
  quantityMax,
  reasonLengthMax,
  ttlSecondsMax,
} from '../../../actors/limits.ts';
import {
  AT_MS,
  adjust,
  CHANNEL,
  commit,
  count,
  dispose,
  emptyTestLedger,
  expire,
  fulfil,
  LOCATION,
  policyOf,
  receive,
  release,
  reserve,
  returnUnits,
  sale,
  setPolicy,
  transferIn,
  transferOut,
  transferReceive,
} from '../../helpers/commands.ts';
import { accepted, refused } from '../../helpers/ledger.ts';

const invalid = (field: string, reason: string) => ({ code: 'VALIDATION_FAILED', field, reason });
const badId = 'must match the id pattern';
const positive = 'must be a positive integer';
const fromZero = 'must be an integer from 0';
const empty = emptyTestLedger;

/** One otherwise valid command of each type, so the fields every command carries can be broken in turn. */
const everyType = {
  receive: (overrides: { atMs?: number }) => receive(1, overrides),
  sale: (overrides: { atMs?: number }) => sale(1, overrides),
  reserve: (overrides: { atMs?: number }) => reserve('r-1', 1, overrides),
  release: (overrides: { atMs?: number }) => release('r-1', null, overrides),
  commit: (overrides: { atMs?: number }) => commit('r-1', overrides),
  fulfil: (overrides: { atMs?: number }) => fulfil('r-1', null, overrides),
  expire: (overrides: { atMs?: number }) => expire('r-1', overrides),
  return: (overrides: { atMs?: number }) => returnUnits('ret-1', 1, overrides),
  dispose: (overrides: { atMs?: number }) => dispose('ret-1', 1, 'scrap', overrides),
  transferOut: (overrides: { atMs?: number }) => transferOut('t-1', 1, overrides),
  transferIn: (overrides: { atMs?: number }) => transferIn('t-1', 1, overrides),
  transferReceive: (overrides: { atMs?: number }) => transferReceive('t-1', 1, overrides),
  adjust: (overrides: { atMs?: number }) => adjust(1, overrides),
  count: (overrides: { atMs?: number }) => count(1, overrides),
  setPolicy: (overrides: { atMs?: number }) => setPolicy(policyOf(0, 0), overrides),
};

describe('fields every command carries', () => {
  for (const [type, build] of Object.entries(everyType)) {
    test(`${type}: a bad atMs, command id, sku or location is VALIDATION_FAILED naming it`, () => {
      for (const atMs of [-1, 1.5, instantMsMax + 1, Number.NaN]) {
        assert.deepEqual(refused(empty(), build({ atMs })), invalid('atMs', 'must be an engine instant'));
      }
      const command = build({});
      assert.deepEqual(
        refused(empty(), { ...command, commandId: commandId('') }),
        invalid('commandId', badId),
      );
      assert.deepEqual(refused(empty(), { ...command, sku: sku('SKU 1') }), invalid('sku', badId));
      assert.deepEqual(
        refused(empty(), { ...command, location: locationId('-store') }),
        invalid('location', badId),
      );
    });
  }

  test('an id is a letter or digit then up to 127 of A-Za-z0-9._:/-', () => {
    const longest = `a${'.:/_-'.repeat(25)}bb`;
    assert.equal(longest.length, 128);
    accepted(empty(), receive(1, { sku: sku(longest) }));
    assert.deepEqual(refused(empty(), receive(1, { sku: sku(`${longest}c`) })), invalid('sku', badId));
  });

  test('the latest instant is accepted', () => {
    accepted(empty(), receive(1, { atMs: instantMsMax }));
  });

  test('validation comes before state: a malformed command is not judged against the ledger', () => {
    assert.deepEqual(refused(empty(), reserve('r-1', 0)), invalid('qty', positive));
    assert.deepEqual(refused(empty(), release('r-1', 0)), invalid('qty', positive));
  });
});

describe('quantities', () => {
  const bad = [0, -1, 1.5, quantityMax + 1, Number.NaN, Number.POSITIVE_INFINITY];

  test(`receive and sale take 1 to ${quantityMax} units`, () => {
    for (const qty of bad) {
      assert.deepEqual(refused(empty(), receive(qty)), invalid('qty', positive));
      assert.deepEqual(refused(empty(), sale(qty)), invalid('qty', positive));
    }
    accepted(empty(), receive(quantityMax));
    accepted(empty(), sale(quantityMax));
  });

  test('reserve, release, fulfil, return, dispose and the transfers refuse a bad qty', () => {
    for (const qty of bad) {
      assert.deepEqual(refused(empty(), reserve('r-1', qty)), invalid('qty', positive));
      assert.deepEqual(refused(empty(), release('r-1', qty)), invalid('qty', positive));
      assert.deepEqual(refused(empty(), fulfil('r-1', qty)), invalid('qty', positive));
      assert.deepEqual(refused(empty(), returnUnits('ret-1', qty)), invalid('qty', positive));
      assert.deepEqual(refused(empty(), dispose('ret-1', qty, 'restock')), invalid('qty', positive));
      assert.deepEqual(refused(empty(), transferOut('t-1', qty)), invalid('qty', positive));
      assert.deepEqual(refused(empty(), transferIn('t-1', qty)), invalid('qty', positive));
    }
  });

  test('transferReceive and count take zero or more', () => {
    for (const qty of [-1, 0.5, quantityMax + 1, Number.NaN]) {
      assert.deepEqual(refused(empty(), transferReceive('t-1', qty)), invalid('receivedQty', fromZero));
      assert.deepEqual(refused(empty(), count(qty)), invalid('counted', fromZero));
    }
    accepted(empty(), count(0));
    accepted(empty(), count(quantityMax));
  });

  test('adjust takes a signed, non-zero delta and a known reason', () => {
    for (const delta of [0, -0, 0.5, quantityMax + 1, -(quantityMax + 1), Number.NaN]) {
      assert.deepEqual(refused(empty(), adjust(delta)), invalid('delta', 'must be a non-zero integer'));
    }
    accepted(empty(), adjust(-quantityMax));
    accepted(empty(), adjust(quantityMax));
    assert.deepEqual(
      refused(empty(), adjust(1, { reason: 'theft' as string as 'other' })),
      invalid('reason', 'damaged, shrink, found, correction, other'),
    );
  });
});

describe('shape of each command', () => {
  test('reserve needs ids and a deadline after atMs within the longest TTL', () => {
    assert.deepEqual(refused(empty(), reserve('', 1)), invalid('reservationId', badId));
    assert.deepEqual(
      refused(empty(), reserve('r-1', 1, { channel: channelId('web shop') })),
      invalid('channel', badId),
    );
    for (const expiresAtMs of [AT_MS, AT_MS - 1, AT_MS + 0.5, instantMsMax + 1]) {
      assert.deepEqual(
        refused(empty(), reserve('r-1', 1, { expiresAtMs })),
        invalid('expiresAtMs', 'must be after atMs'),
      );
    }
    const longest = AT_MS + ttlSecondsMax * 1000;
    assert.deepEqual(
      refused(empty(), reserve('r-1', 1, { expiresAtMs: longest + 1 })),
      invalid('expiresAtMs', 'beyond the longest TTL'),
    );
    const stocked = { ...empty(), onHand: 1 };
    const { ledger } = accepted(stocked, reserve('r-1', 1, { expiresAtMs: longest }));
    assert.equal(ledger.reservations[0]?.expiresAtMs, longest);
  });

  test('release, commit, fulfil and expire need a well-formed reservation id', () => {
    assert.deepEqual(refused(empty(), release('.r')), invalid('reservationId', badId));
    assert.deepEqual(refused(empty(), commit('.r')), invalid('reservationId', badId));
    assert.deepEqual(refused(empty(), fulfil('.r')), invalid('reservationId', badId));
    assert.deepEqual(refused(empty(), expire('.r')), invalid('reservationId', badId));
  });

  test(`a return needs a well-formed id and a reason of at most ${reasonLengthMax} characters`, () => {
    assert.deepEqual(refused(empty(), returnUnits('', 1)), invalid('returnId', badId));
    const reason = `must be text of at most ${reasonLengthMax} characters`;
    assert.deepEqual(
      refused(empty(), returnUnits('ret-1', 1, { reason: 'x'.repeat(reasonLengthMax + 1) })),
      invalid('reason', reason),
    );
    accepted(empty(), returnUnits('ret-1', 1, { reason: 'x'.repeat(reasonLengthMax) }));
    accepted(empty(), returnUnits('ret-1', 1, { reason: '' }));
  });

  test('a disposition needs a well-formed return id and one of restock, scrap or vendor', () => {
    assert.deepEqual(refused(empty(), dispose('', 1, 'scrap')), invalid('returnId', badId));
    assert.deepEqual(
      refused(empty(), dispose('ret-1', 1, 'destroy' as string as Disposition)),
      invalid('disposition', 'restock, scrap or vendor'),
    );
  });

  test('a transfer needs a well-formed id and another location at the far end', () => {
    assert.deepEqual(refused(empty(), transferOut('t 1', 1)), invalid('transferId', badId));
    assert.deepEqual(refused(empty(), transferIn('t 1', 1)), invalid('transferId', badId));
    assert.deepEqual(refused(empty(), transferReceive('t 1', 1)), invalid('transferId', badId));
    const elsewhere = 'must be another location';
    assert.deepEqual(
      refused(empty(), transferOut('t-1', 1, { destination: LOCATION })),
      invalid('destination', elsewhere),
    );
    assert.deepEqual(
      refused(empty(), transferOut('t-1', 1, { destination: locationId('') })),
      invalid('destination', elsewhere),
    );
    assert.deepEqual(
      refused(empty(), transferIn('t-1', 1, { origin: LOCATION })),
      invalid('origin', elsewhere),
    );
    assert.deepEqual(
      refused(empty(), transferIn('t-1', 1, { origin: locationId('a b') })),
      invalid('origin', elsewhere),
    );
  });
});

describe('bucket range', () => {
  const onHandAt = (onHand: number): Ledger => ({ ...empty(), onHand });
  const outOfRange = (bucket: string) => invalid('qty', `${bucket} would leave its range`);

  test(`onHand may reach ${bucketAbsoluteMax} and no further`, () => {
    accepted(onHandAt(bucketAbsoluteMax - 1), receive(1));
    assert.deepEqual(refused(onHandAt(bucketAbsoluteMax), receive(1)), outOfRange('onHand'));
    assert.deepEqual(refused(onHandAt(bucketAbsoluteMax), adjust(1)), outOfRange('onHand'));
  });

  test('even a sale is refused when onHand would fall below the range', () => {
    accepted(onHandAt(-bucketAbsoluteMax + 1), sale(1));
    assert.deepEqual(refused(onHandAt(-bucketAbsoluteMax), sale(1)), outOfRange('onHand'));
    assert.deepEqual(refused(onHandAt(-bucketAbsoluteMax), adjust(-1)), outOfRange('onHand'));
  });

  test('a restock or a transfer receipt cannot push onHand past the range; a scrap can still go', () => {
    const full: Ledger = {
      ...onHandAt(bucketAbsoluteMax),
      quarantine: 1,
      returnLots: [{ id: returnId('ret-1'), qty: 1 }],
      inTransit: 1,
      inboundTransfers: [{ id: transferId('t-1'), qty: 1 }],
    };
    assert.deepEqual(refused(full, dispose('ret-1', 1, 'restock')), outOfRange('onHand'));
    assert.deepEqual(refused(full, transferReceive('t-1', 1)), outOfRange('onHand'));
    accepted(full, dispose('ret-1', 1, 'scrap'));
    accepted(full, transferReceive('t-1', 0));
  });

  test('quarantine and inTransit are bounded the same way', () => {
    const full: Ledger = {
      ...empty(),
      quarantine: bucketAbsoluteMax,
      returnLots: [{ id: returnId('ret-0'), qty: bucketAbsoluteMax }],
      inTransit: bucketAbsoluteMax,
      inboundTransfers: [{ id: transferId('t-0'), qty: bucketAbsoluteMax }],
    };
    assert.deepEqual(refused(full, returnUnits('ret-1', 1)), outOfRange('quarantine'));
    assert.deepEqual(refused(full, transferIn('t-1', 1)), outOfRange('inTransit'));
  });
});

describe('open entries per actor', () => {
  const ids = (prefix: string, total: number) =>
    Array.from({ length: total }, (_, at) => `${prefix}-${String(at).padStart(5, '0')}`);

  const withLines = (total: number): Ledger => ({
    ...empty(),
    onHand: 2 * openReservationsPerActorMax,
    reserved: total,
    reservations: ids('r', total).map((id, at) => ({
      id: reservationId(id),
      qty: 1,
      channel: CHANNEL,
      state: 'held' as const,
      expiresAtMs: null,
      heldAtVersion: at + 1,
    })),
    version: total,
  });

  test(`a location holds at most ${openReservationsPerActorMax} open reservation lines`, () => {
    const full = withLines(openReservationsPerActorMax);
    assert.deepEqual(refused(full, reserve('r-new', 1)), {
      code: 'INVALID_STATE',
      state: 'reservationLimitReached',
      reservationId: reservationId('r-new'),
    });
    assert.deepEqual(refused(full, reserve('r-00000', 1)), {
      code: 'INVALID_STATE',
      state: 'held',
      reservationId: reservationId('r-00000'),
    });
    accepted(withLines(openReservationsPerActorMax - 1), reserve('r-new', 1));
    const freed = accepted(full, release('r-00000')).ledger;
    accepted(freed, reserve('r-new', 1));
  });

  test(`a location holds at most ${openLotsPerActorMax} open return lots; an open one may still grow`, () => {
    const lots = ids('ret', openLotsPerActorMax).map((id) => ({ id: returnId(id), qty: 1 }));
    const full: Ledger = { ...empty(), quarantine: lots.length, returnLots: lots };
    assert.deepEqual(refused(full, returnUnits('ret-new', 1)), {
      code: 'INVALID_STATE',
      state: 'returnLotLimitReached',
    });
    const { ledger } = accepted(full, returnUnits('ret-00042', 2));
    assert.equal(ledger.returnLots[42]?.qty, 3);
  });

  test(`a location awaits at most ${openLotsPerActorMax} inbound transfers`, () => {
    const inbound = ids('t', openLotsPerActorMax).map((id) => ({ id: transferId(id), qty: 1 }));
    const full: Ledger = { ...empty(), inTransit: inbound.length, inboundTransfers: inbound };
    assert.deepEqual(refused(full, transferIn('t-new', 1)), {
      code: 'INVALID_STATE',
      state: 'transferLimitReached',
    });
    assert.deepEqual(refused(full, transferIn('t-00000', 1)), { code: 'INVALID_STATE', state: 'inTransit' });
    accepted(
      { ...full, inTransit: inbound.length - 1, inboundTransfers: inbound.slice(1) },
      transferIn('t-new', 1),
    );
  });
});
