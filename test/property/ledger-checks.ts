// The checks run after every generated command: DESIGN.md §2's rules, each asserted on its own so that a
// failure names the rule it broke, then the whole answer against the model, then the structural invariants
// of STYLE.md rule 5 on every actor.

import assert from 'node:assert/strict';
import type { SkuLocationCommand } from '../../actors/commands.ts';
import type { Decision } from '../../actors/decide.ts';
import type { LedgerEvent } from '../../actors/events.ts';
import { fold } from '../../actors/evolve.ts';
import { isSortedById } from '../../actors/keyed.ts';
import type { Deltas, Ledger } from '../../actors/ledger.ts';
import { availabilityOf, availableToSell, emptyLedger, exposedTo, integrityOf } from '../../actors/ledger.ts';
import type { Answer, World } from './ledger-harness.ts';
import type { Expected, LedgerModel } from './ledger-model.ts';
import type { ExpectedAnswer } from './world-model.ts';

/** Channels the generators reserve for; a policy may name any of them. */
export const CHANNELS = ['web', 'store', 'marketplace', 'constructor'] as const;

/** How often each kind of answer, event, refusal and condition was seen: proof the generators reach them. */
export type Tally = Map<string, number>;

function count(tally: Tally, key: string): void {
  tally.set(key, (tally.get(key) ?? 0) + 1);
}

function nonZero(deltas: Deltas): Deltas {
  return Object.fromEntries(Object.entries(deltas).filter(([, value]) => value !== 0));
}

/**
 * A decision as the model can predict it: zero deltas dropped (`{ onHand: 0 }` and `{}` say the same) and a
 * validation refusal reduced to its code and field (its sentence is for people).
 */
export function comparable(decision: Decision | Expected): Decision {
  if (!decision.ok) {
    const refusal = decision.refusal;
    return refusal.code === 'VALIDATION_FAILED'
      ? { ok: false, refusal: { code: refusal.code, field: refusal.field, reason: '' } }
      : decision;
  }
  return {
    ok: true,
    events: decision.events.map((event) => ({ ...event, deltas: nonZero(event.deltas) }) as LedgerEvent),
  };
}

function shortfall(ledger: Ledger): number {
  return Math.max(0, ledger.reserved - Math.max(0, ledger.onHand));
}

export interface Step {
  readonly command: SkuLocationCommand;
  readonly invalidField: string | null;
  readonly expected: ExpectedAnswer;
  readonly actual: Answer;
  /** Every actor's ledger before and after the command, in target order. */
  readonly before: readonly Ledger[];
  readonly after: readonly Ledger[];
  readonly target: number;
  /** For a well-formed reserve: whether the model says it fits (line not open, qty within ATS and exposure). */
  readonly reserveFits: boolean | null;
}

/** Rules 2 to 5 on one answer, then the whole answer against the model's. */
export function checkStep(step: Step, tally: Tally): void {
  const { command, expected, actual } = step;
  count(tally, `answer:${actual.kind}`);
  if (expected.kind !== 'applied') {
    // Rule 5: a known id answers from the table and touches nothing.
    assert.equal(actual.kind, expected.kind, `rule 5: a reused command id must be ${expected.kind}`);
    assert.deepStrictEqual(step.after, step.before, 'rule 5: a replay or a conflict changed a ledger');
    if (expected.kind === 'replayed' && actual.kind === 'replayed') {
      assert.deepStrictEqual(
        comparable(actual.decision),
        comparable(expected.expected),
        'rule 5: a replay must return the first outcome',
      );
    }
    if (actual.kind === 'conflict') count(tally, 'refusal:IDEMPOTENCY_CONFLICT');
    return;
  }
  assert.equal(actual.kind, 'applied', 'rule 5: a new command id must be applied');
  if (actual.kind !== 'applied') return;
  const decision = actual.decision;
  for (const [index, ledger] of step.before.entries()) {
    if (index !== step.target) assert.equal(step.after[index], ledger, 'a command changed another actor');
  }
  const before = step.before[step.target]!;
  const after = step.after[step.target]!;
  if (decision.ok) for (const event of decision.events) count(tally, `event:${event.type}`);
  else count(tally, `refusal:${decision.refusal.code}`);

  if (step.invalidField === null && command.type === 'sale') {
    // Rule 3: the goods have left; the ledger records it and names the lines it can no longer cover.
    assert.ok(decision.ok, `rule 3: a POS sale was refused: ${JSON.stringify(decision)}`);
    const atRisk = decision.events.filter((event) => event.type === 'ReservationsAtRisk');
    const grew = shortfall(after) > shortfall(before);
    assert.equal(atRisk.length, grew ? 1 : 0, 'rule 3: ReservationsAtRisk iff the sale grew the shortfall');
    for (const event of atRisk) assert.equal(event.integrity, integrityOf(after));
  }
  if (step.reserveFits !== null) {
    assert.equal(
      decision.ok,
      step.reserveFits,
      `rule 2: a reserve was ${decision.ok ? 'accepted' : 'refused'} with availableToSell ` +
        `${availableToSell(before)} and exposure ${command.type === 'reserve' ? exposedTo(before, command.channel) : '-'}`,
    );
  }
  if (decision.ok) {
    for (const event of decision.events) checkQuarantineRule(event);
  } else {
    assert.deepStrictEqual(step.after, step.before, 'a refused command changed a ledger');
  }
  assert.deepStrictEqual(
    comparable(decision),
    comparable(expected.expected),
    `the machine and the reference model answer differently`,
  );
}

/** Rule 4: quarantine moves only by Returned and Disposed; only a restock puts units back on hand. */
function checkQuarantineRule(event: LedgerEvent): void {
  const quarantine = event.deltas.quarantine ?? 0;
  const onHand = event.deltas.onHand ?? 0;
  if (event.type === 'Returned') {
    assert.deepStrictEqual(
      nonZero(event.deltas),
      { quarantine: event.qty },
      'rule 4: a return only quarantines',
    );
  } else if (event.type === 'Disposed') {
    assert.equal(quarantine, -event.qty, 'rule 4: a disposition takes its units out of quarantine');
    assert.equal(
      onHand,
      event.disposition === 'restock' ? event.qty : 0,
      'rule 4: only restock adds on-hand',
    );
    assert.equal(event.deltas.reserved ?? 0, 0);
    assert.equal(event.deltas.inTransit ?? 0, 0);
  } else {
    assert.equal(quarantine, 0, `rule 4: ${event.type} moved quarantine`);
  }
}

/** Rule 1, rule 7 and the structural invariants of one actor, against its model. */
export function checkActor(world: World, target: number, model: LedgerModel, tally: Tally): void {
  const harness = world.actors[target]!;
  const snapshot = harness.actor.getSnapshot();
  const ledger = snapshot.context.ledger;
  const { sku, location } = harness.address;

  assert.deepStrictEqual(
    fold(emptyLedger(sku, location), harness.log),
    ledger,
    'rule 1: the log does not fold to the state',
  );
  assert.deepStrictEqual(ledger, model.toLedger(), 'the ledger differs from the reference model');

  const openQty = ledger.reservations.reduce((sum, line) => sum + line.qty, 0);
  assert.equal(ledger.reserved, openQty, 'reserved must equal the sum of open lines');
  const lotQty = ledger.returnLots.reduce((sum, lot) => sum + lot.qty, 0);
  assert.equal(ledger.quarantine, lotQty, 'rule 4: quarantine must equal the open return lots');
  const inboundQty = ledger.inboundTransfers.reduce((sum, transfer) => sum + transfer.qty, 0);
  assert.equal(ledger.inTransit, inboundQty, 'inTransit must equal the inbound transfers');
  for (const entry of [...ledger.reservations, ...ledger.returnLots, ...ledger.inboundTransfers]) {
    assert.ok(Number.isSafeInteger(entry.qty) && entry.qty > 0, `open entry ${entry.id} holds ${entry.qty}`);
  }
  for (const line of ledger.reservations) {
    if (line.state === 'committed') assert.equal(line.expiresAtMs, null, 'a committed line never expires');
  }
  assert.ok(isSortedById(ledger.reservations), 'reservation lines out of id order');
  assert.ok(isSortedById(ledger.returnLots), 'return lots out of id order');
  assert.ok(isSortedById(ledger.inboundTransfers), 'inbound transfers out of id order');
  assert.ok(
    ledger.reserved >= 0 && ledger.inTransit >= 0 && ledger.quarantine >= 0,
    'a bucket went negative',
  );

  const integrity = integrityOf(ledger);
  assert.deepStrictEqual(
    snapshot.value,
    { availability: availabilityOf(ledger), integrity },
    'the machine state does not match availabilityOf / integrityOf',
  );
  assert.deepStrictEqual(
    snapshot.value,
    { availability: model.availability(), integrity: model.integrity() },
    'the machine state does not match the model',
  );
  if (ledger.onHand < 0)
    assert.equal(integrity, 'negative', 'onHand below zero outside the negative condition');
  count(tally, `integrity:${integrity}`);
  count(tally, `availability:${availabilityOf(ledger)}`);

  // Rule 7: no channel sees more than available-to-sell, and each sees what the model says.
  const available = availableToSell(ledger);
  assert.equal(available, model.availableToSell(), 'availableToSell differs from the model');
  for (const channel of new Set([...CHANNELS, ...Object.keys(ledger.policy.channels)])) {
    const exposed = exposedTo(ledger, channel);
    assert.ok(exposed >= 0 && exposed <= available, `rule 7: ${channel} sees ${exposed} of ${available}`);
    assert.equal(exposed, model.exposure(channel), `rule 7: ${channel}'s exposure differs from the model`);
  }
}

/** Rule 6: the same commands on fresh actors give the same answers, events and states. */
export function checkDeterministicReplay(original: World, fresh: World): void {
  for (const command of original.journal) fresh.submit(command);
  assert.deepStrictEqual(fresh.answers, original.answers, 'rule 6: a replay answered differently');
  for (const [target, harness] of original.actors.entries()) {
    const again = fresh.actors[target]!;
    assert.deepStrictEqual(again.log, harness.log, 'rule 6: a replay recorded different events');
    assert.deepStrictEqual(again.ledger, harness.ledger, 'rule 6: a replay reached a different state');
    assert.deepStrictEqual(again.actor.getSnapshot().value, harness.actor.getSnapshot().value);
  }
}

/** Fails when a whole run never reached one of `keys`: the generators would have gone blind to a rule. */
export function assertReached(tally: Tally, keys: readonly string[]): void {
  const missing = keys.filter((key) => (tally.get(key) ?? 0) === 0);
  assert.deepStrictEqual(missing, [], `the generated sequences never reached: ${missing.join(', ')}`);
}
