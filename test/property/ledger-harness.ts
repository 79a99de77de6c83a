// The system under test as the engine will drive it: one real XState actor per SKU-location, behind an
// idempotency table that uses actors/idempotency.ts exactly as the engine's LMDB table will (command id ->
// fingerprint and first outcome). Beside each actor runs a decide/evolve fold, so that every step can check
// that the machine and the decider agree (STYLE.md rule 2) and that the log folds to the machine's state.

import assert from 'node:assert/strict';
import type { Actor } from 'xstate';
import { createActor } from 'xstate';
import type { SkuLocationCommand } from '../../actors/commands.ts';
import type { Decision } from '../../actors/decide.ts';
import { decide } from '../../actors/decide.ts';
import type { AvailabilityChanged, LedgerEvent } from '../../actors/events.ts';
import { fold } from '../../actors/evolve.ts';
import type { IdempotencyRecord } from '../../actors/idempotency.ts';
import { canonicalJson, idempotencyVerdict } from '../../actors/idempotency.ts';
import type { ActorKey, LocationId, Sku } from '../../actors/ids.ts';
import { actorKeyOf } from '../../actors/ids.ts';
import type { Ledger } from '../../actors/ledger.ts';
import { emptyLedger } from '../../actors/ledger.ts';
import { skuLocationMachine } from '../../actors/machine.ts';

/** What a caller hears back for one submitted command. */
export type Answer =
  | { readonly kind: 'applied'; readonly decision: Decision }
  | { readonly kind: 'replayed'; readonly decision: Decision }
  | { readonly kind: 'conflict'; readonly code: 'IDEMPOTENCY_CONFLICT' };

export interface Address {
  readonly sku: Sku;
  readonly location: LocationId;
}

/** One started actor, the events it recorded, and the decide/evolve fold that shadows it. */
export class ActorHarness {
  readonly actor: Actor<typeof skuLocationMachine>;
  /** Every event the machine recorded, in order: the actor's log. */
  readonly log: LedgerEvent[] = [];
  /** Every AvailabilityChanged the actor emitted to subscribers. */
  readonly announced: AvailabilityChanged[] = [];
  private shadow: Ledger;

  constructor(readonly address: Address) {
    const ledger = emptyLedger(address.sku, address.location);
    this.shadow = ledger;
    this.actor = createActor(skuLocationMachine, { input: { ledger } });
    this.actor.on('AvailabilityChanged', (event) => {
      this.announced.push(event);
    });
    this.actor.start();
  }

  get ledger(): Ledger {
    return this.actor.getSnapshot().context.ledger;
  }

  apply(command: SkuLocationCommand): Decision {
    const decided = decide(this.shadow, command);
    const announcedBefore = this.announced.length;
    this.actor.send(command);
    const outcome = this.actor.getSnapshot().context.outcome;
    assert.ok(outcome !== null, 'the machine recorded no outcome');
    assert.deepStrictEqual(outcome, decided, 'STYLE rule 2: the machine and decide() disagree');
    if (outcome.ok) {
      this.log.push(...outcome.events);
      this.shadow = fold(this.shadow, outcome.events);
    }
    assert.deepStrictEqual(
      this.ledger,
      this.shadow,
      'STYLE rule 2: the machine and the evolve fold disagree',
    );
    const changes = outcome.ok ? outcome.events.filter((event) => event.type === 'AvailabilityChanged') : [];
    assert.deepStrictEqual(
      this.announced.slice(announcedBefore),
      changes,
      'the actor must emit exactly the AvailabilityChanged events it recorded',
    );
    return outcome;
  }
}

/** The engine's idempotency table, in memory: the verdict is actors/idempotency.ts's. */
export class IdempotencyGate {
  private readonly records = new Map<string, IdempotencyRecord<Decision>>();

  submit(command: SkuLocationCommand, apply: (command: SkuLocationCommand) => Decision): Answer {
    // The engine's stamp is not part of the payload: a retry arrives at a later engine time.
    const fingerprint = canonicalJson({ ...command, atMs: undefined });
    const verdict = idempotencyVerdict(this.records.get(command.commandId), fingerprint);
    switch (verdict.kind) {
      case 'replay':
        return { kind: 'replayed', decision: verdict.outcome };
      case 'conflict':
        return { kind: 'conflict', code: 'IDEMPOTENCY_CONFLICT' };
      case 'apply': {
        const decision = apply(command);
        this.records.set(command.commandId, { fingerprint, outcome: decision });
        return { kind: 'applied', decision };
      }
    }
  }
}

/** A few actors behind one idempotency table, routed by SKU-location as the engine routes them. */
export class World {
  readonly actors: readonly ActorHarness[];
  /** Every command submitted, in order, and what each was answered: the input of a replay. */
  readonly journal: SkuLocationCommand[] = [];
  readonly answers: Answer[] = [];
  private readonly gate = new IdempotencyGate();
  private readonly byKey = new Map<ActorKey, ActorHarness>();

  constructor(addresses: readonly Address[]) {
    this.actors = addresses.map((address) => new ActorHarness(address));
    for (const harness of this.actors) {
      this.byKey.set(actorKeyOf(harness.address.location, harness.address.sku), harness);
    }
  }

  submit(command: SkuLocationCommand): Answer {
    const answer = this.gate.submit(command, (accepted) => {
      const harness = this.byKey.get(actorKeyOf(accepted.location, accepted.sku));
      assert.ok(harness !== undefined, `no actor for ${accepted.location}/${accepted.sku}`);
      return harness.apply(accepted);
    });
    this.journal.push(command);
    this.answers.push(answer);
    return answer;
  }

  ledgers(): Ledger[] {
    return this.actors.map((harness) => harness.ledger);
  }
}
