// Proves the XState actor mirrors the ledger in its availability and integrity regions, emits exactly the
// AvailabilityChanged events it records, and agrees with decide/evolve over a long script on one actor.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor } from 'xstate';
import type { SkuLocationCommand } from '../../../actors/commands.ts';
import { decide } from '../../../actors/decide.ts';
import type { AvailabilityChanged, LedgerEvent } from '../../../actors/events.ts';
import { fold } from '../../../actors/evolve.ts';
import { channelId, commandId } from '../../../actors/ids.ts';
import type { Ledger } from '../../../actors/ledger.ts';
import { skuLocationMachine } from '../../../actors/machine.ts';
import {
  AT_MS,
  adjust,
  commit,
  count,
  dispose,
  emptyTestLedger,
  expire,
  fulfil,
  policyOf,
  receive,
  release,
  reserve,
  returnUnits,
  sale,
  setPolicy,
  TTL_MS,
  transferIn,
  transferOut,
  transferReceive,
} from '../../helpers/commands.ts';
import { given } from '../../helpers/ledger.ts';

function started(ledger: Ledger) {
  const actor = createActor(skuLocationMachine, { input: { ledger } });
  const emitted: AvailabilityChanged[] = [];
  const everything: unknown[] = [];
  actor.on('AvailabilityChanged', (event) => emitted.push(event));
  actor.on('*', (event) => everything.push(event));
  actor.start();
  return { actor, emitted, everything };
}

describe('skuLocationMachine', () => {
  test('an actor started on an empty ledger is out of stock and consistent, with no outcome yet', () => {
    const ledger = emptyTestLedger();
    const { actor, emitted } = started(ledger);
    const snapshot = actor.getSnapshot();
    assert.deepEqual(snapshot.value, { availability: 'outOfStock', integrity: 'consistent' });
    assert.equal(snapshot.context.ledger, ledger);
    assert.equal(snapshot.context.outcome, null);
    assert.deepEqual(emitted, [], 'restoring an actor announces nothing');
  });

  test('an actor restored from a snapshot starts in the states its ledger implies', () => {
    const low = given(emptyTestLedger(), setPolicy(policyOf(0, 5)), receive(5));
    assert.deepEqual(started(low).actor.getSnapshot().value, {
      availability: 'lowStock',
      integrity: 'consistent',
    });
    const oversold = given(emptyTestLedger(), receive(5), reserve('r-1', 5), sale(1));
    assert.deepEqual(started(oversold).actor.getSnapshot().value, {
      availability: 'outOfStock',
      integrity: 'oversold',
    });
    const negative = given(emptyTestLedger(), receive(20), sale(21));
    assert.deepEqual(started(negative).actor.getSnapshot().value, {
      availability: 'outOfStock',
      integrity: 'negative',
    });
  });

  test('availability walks inStock, lowStock, outOfStock and back, emitting each change once', () => {
    const { actor, emitted } = started(given(emptyTestLedger(), setPolicy(policyOf(0, 3))));
    const steps: [SkuLocationCommand, string][] = [
      [receive(10), 'inStock'],
      [sale(6), 'inStock'],
      [sale(1), 'lowStock'],
      [reserve('r-1', 3), 'outOfStock'],
      [release('r-1', 1), 'lowStock'],
      [receive(5), 'inStock'],
    ];
    for (const [command, availability] of steps) {
      actor.send(command);
      assert.equal(actor.getSnapshot().context.outcome?.ok, true, command.type);
      assert.deepEqual(actor.getSnapshot().value, { availability, integrity: 'consistent' }, command.type);
    }
    const stamp = (type: string, version: number) => ({
      commandId: commandId(`cmd-${type}`),
      atMs: AT_MS,
      version,
    });
    assert.deepEqual(emitted, [
      {
        type: 'AvailabilityChanged',
        from: 'outOfStock',
        to: 'inStock',
        availableToSell: 10,
        deltas: {},
        ...stamp('receive', 3),
      },
      {
        type: 'AvailabilityChanged',
        from: 'inStock',
        to: 'lowStock',
        availableToSell: 3,
        deltas: {},
        ...stamp('sale', 6),
      },
      {
        type: 'AvailabilityChanged',
        from: 'lowStock',
        to: 'outOfStock',
        availableToSell: 0,
        deltas: {},
        ...stamp('reserve', 8),
      },
      {
        type: 'AvailabilityChanged',
        from: 'outOfStock',
        to: 'lowStock',
        availableToSell: 1,
        deltas: {},
        ...stamp('release', 10),
      },
      {
        type: 'AvailabilityChanged',
        from: 'lowStock',
        to: 'inStock',
        availableToSell: 6,
        deltas: {},
        ...stamp('receive', 12),
      },
    ]);
  });

  test('integrity walks consistent, oversold, negative and back to consistent', () => {
    const { actor, emitted, everything } = started(given(emptyTestLedger(), receive(10), reserve('r-1', 6)));
    const steps: [SkuLocationCommand, string][] = [
      [sale(3), 'consistent'],
      [sale(2), 'oversold'],
      [sale(6), 'negative'],
      [receive(2), 'oversold'],
      [receive(5), 'consistent'],
    ];
    for (const [command, integrity] of steps) {
      actor.send(command);
      assert.equal(
        actor.getSnapshot().value.integrity,
        integrity,
        `${command.type} ${JSON.stringify(command)}`,
      );
    }
    assert.equal(actor.getSnapshot().context.ledger.onHand, 6);
    assert.deepEqual(
      emitted.map((event) => [event.from, event.to]),
      [['inStock', 'outOfStock']],
      'ReservationsAtRisk is recorded but only AvailabilityChanged is emitted',
    );
    assert.deepEqual(everything, emitted, 'nothing else is emitted');
  });

  test('a refused command records the refusal and changes neither the ledger, the states nor the subscribers', () => {
    const ledger = given(emptyTestLedger(), receive(2));
    const { actor, emitted } = started(ledger);
    actor.send(reserve('r-1', 3));
    const snapshot = actor.getSnapshot();
    assert.deepEqual(snapshot.context.outcome, {
      ok: false,
      refusal: { code: 'INSUFFICIENT_STOCK', requested: 3, availableToSell: 2 },
    });
    assert.equal(snapshot.context.ledger, ledger);
    assert.deepEqual(snapshot.value, { availability: 'inStock', integrity: 'consistent' });
    assert.deepEqual(emitted, []);
    actor.send(reserve('r-1', 2));
    assert.equal(actor.getSnapshot().context.outcome?.ok, true, 'the next outcome replaces the refusal');
    assert.equal(emitted.length, 1);
  });

  test('one actor fed every command type agrees with decide and with folding its recorded events', () => {
    const deadline = AT_MS + TTL_MS;
    const script: SkuLocationCommand[] = [
      setPolicy(policyOf(1, 4, { web: { share: 0.5 } })),
      receive(20),
      reserve('r-1', 5),
      reserve('r-2', 4, { expiresAtMs: null }),
      reserve('r-3', 9, { channel: channelId('store') }),
      commit('r-1'),
      fulfil('r-1', 2),
      release('r-2', 1),
      expire('r-1', { atMs: deadline }),
      fulfil('r-3', null, { atMs: deadline }),
      expire('r-3', { atMs: deadline }),
      sale(15, { atMs: deadline + 1 }),
      returnUnits('ret-1', 8, { atMs: deadline + 2 }),
      dispose('ret-1', 6, 'restock', { atMs: deadline + 3 }),
      dispose('ret-1', 2, 'vendor', { atMs: deadline + 3 }),
      transferIn('t-in', 6, { atMs: deadline + 4 }),
      transferReceive('t-in', 5, { atMs: deadline + 5 }),
      transferOut('t-out', 3, { atMs: deadline + 6 }),
      adjust(-1, { reason: 'damaged', atMs: deadline + 7 }),
      count(12, { atMs: deadline + 8 }),
      fulfil('r-1', null, { atMs: deadline + 9 }),
      release('r-2', null, { atMs: deadline + 9 }),
    ];
    const { actor } = started(emptyTestLedger());
    let ledger = emptyTestLedger();
    const recorded: LedgerEvent[] = [];
    const codes: string[] = [];
    for (const command of script) {
      const expected = decide(ledger, command);
      actor.send(command);
      const { outcome } = actor.getSnapshot().context;
      assert.deepEqual(outcome, expected, `${command.type} at version ${ledger.version}`);
      if (expected.ok) {
        recorded.push(...expected.events);
        ledger = fold(ledger, expected.events);
      }
      codes.push(expected.ok ? expected.events.map((event) => event.type).join('+') : expected.refusal.code);
    }
    assert.deepEqual(codes, [
      'PolicyChanged',
      'Received+AvailabilityChanged',
      'Reserved',
      'Reserved',
      'Reserved+AvailabilityChanged',
      'Committed',
      'Fulfilled',
      'Released',
      'INVALID_STATE',
      'RESERVATION_EXPIRED',
      'Expired+AvailabilityChanged',
      'Sold+ReservationsAtRisk+AvailabilityChanged',
      'Returned',
      'Disposed+AvailabilityChanged',
      'Disposed',
      'TransferArrived',
      'TransferReceived+AvailabilityChanged',
      'TransferShipped+AvailabilityChanged',
      'Adjusted',
      'Counted+AvailabilityChanged',
      'Fulfilled',
      'Released',
    ]);
    const final = actor.getSnapshot().context.ledger;
    assert.deepEqual(final, fold(emptyTestLedger(), recorded));
    assert.deepEqual([final.onHand, final.reserved, final.inTransit, final.quarantine], [9, 0, 0, 0]);
    assert.deepEqual(
      recorded.map((event) => event.version),
      recorded.map((_, at) => at + 1),
      'versions are gap-free from 1',
    );
  });
});
