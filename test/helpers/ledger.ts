// Runs commands through both paths the runtime may take (decide/evolve and the XState machine) and
// checks that they agree and that the ledger's invariants hold, so each example tests both at once.

import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import type { SkuLocationCommand } from '../../actors/commands.ts';
import type { Decision } from '../../actors/decide.ts';
import { accept, decide } from '../../actors/decide.ts';
import type { AvailabilityChanged, LedgerEvent } from '../../actors/events.ts';
import { fold } from '../../actors/evolve.ts';
import { isSortedById } from '../../actors/keyed.ts';
import type { Ledger } from '../../actors/ledger.ts';
import { availabilityOf, integrityOf } from '../../actors/ledger.ts';
import { skuLocationMachine } from '../../actors/machine.ts';
import type { Refusal } from '../../actors/refusals.ts';

const sum = (entries: readonly { readonly qty: number }[]): number =>
  entries.reduce((total, entry) => total + entry.qty, 0);

/** DESIGN.md §2 and STYLE.md rule 5: what must hold after every evolve. */
export function assertInvariants(ledger: Ledger): void {
  assert.equal(ledger.reserved, sum(ledger.reservations), 'reserved is the sum of the open lines');
  assert.equal(ledger.quarantine, sum(ledger.returnLots), 'quarantine is the sum of the open lots');
  assert.equal(ledger.inTransit, sum(ledger.inboundTransfers), 'inTransit is the sum of inbound transfers');
  for (const entries of [ledger.reservations, ledger.returnLots, ledger.inboundTransfers]) {
    assert.ok(isSortedById(entries), 'keyed entries stay sorted by id');
    assert.ok(
      entries.every((entry) => entry.qty > 0),
      'an open entry holds something',
    );
  }
  assert.ok(ledger.reserved >= 0 && ledger.inTransit >= 0 && ledger.quarantine >= 0, 'no bucket negative');
  assert.equal(
    ledger.onHand < 0,
    integrityOf(ledger) === 'negative',
    'onHand is negative only when negative',
  );
}

/** The ledger after each command in turn, from an empty or given ledger; fails on the first refusal. */
export function given(start: Ledger, ...commands: readonly SkuLocationCommand[]): Ledger {
  let ledger = start;
  for (const command of commands) {
    const decision = decide(ledger, command);
    assert.ok(decision.ok, `given ${command.type} was refused: ${JSON.stringify(decision)}`);
    ledger = accept(ledger, command).ledger;
    assertInvariants(ledger);
  }
  return ledger;
}

/**
 * Decides `command` with `decide` and with a machine started from the same ledger, and checks that the
 * machine records the same outcome, holds the folded ledger, sits in the states that ledger implies and
 * emitted exactly the AvailabilityChanged events recorded and nothing else.
 */
export function decideBoth(ledger: Ledger, command: SkuLocationCommand): Decision {
  const decision = decide(ledger, command);
  const actor = createActor(skuLocationMachine, { input: { ledger } });
  // The wildcard hears every emitted event, so an emit of anything other than AvailabilityChanged shows too.
  const emitted: AvailabilityChanged[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  actor.send(command);
  const snapshot = actor.getSnapshot();
  actor.stop();
  const after = decision.ok ? fold(ledger, decision.events) : ledger;
  assert.deepEqual(snapshot.context.outcome, decision, 'machine and decide give the same outcome');
  assert.deepEqual(snapshot.context.ledger, after, 'machine holds the folded ledger');
  assert.deepEqual(snapshot.value, { availability: availabilityOf(after), integrity: integrityOf(after) });
  const recorded = decision.ok ? decision.events.filter((event) => event.type === 'AvailabilityChanged') : [];
  assert.deepEqual(emitted, recorded, 'machine emits each recorded AvailabilityChanged');
  return decision;
}

/** An accepted command's events and the ledger they fold to, checked on both paths. */
export function accepted(
  ledger: Ledger,
  command: SkuLocationCommand,
): { events: readonly LedgerEvent[]; ledger: Ledger } {
  const decision = decideBoth(ledger, command);
  assert.ok(decision.ok, `expected ${command.type} to be accepted: ${JSON.stringify(decision)}`);
  const after = fold(ledger, decision.events);
  assertInvariants(after);
  return { events: decision.events, ledger: after };
}

/** A refused command's refusal, checked on both paths. */
export function refused(ledger: Ledger, command: SkuLocationCommand): Refusal {
  const decision = decideBoth(ledger, command);
  assert.ok(!decision.ok, `expected ${command.type} to be refused: ${JSON.stringify(decision)}`);
  return decision.refusal;
}
