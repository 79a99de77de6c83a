// The model of what the test has sent so far: one LedgerModel per SKU-location, the engine clock, and its
// own record of first outcomes per command id. Payloads are compared with node's deep equality, not with
// actors/idempotency.ts, so the idempotency rule is checked against an independent statement of it.

import { isDeepStrictEqual } from 'node:util';
import type { SkuLocationCommand } from '../../actors/commands.ts';
import type { Address } from './ledger-harness.ts';
import type { Expected } from './ledger-model.ts';
import { LedgerModel } from './ledger-model.ts';

export type ExpectedAnswer =
  | { readonly kind: 'applied'; readonly expected: Expected }
  | { readonly kind: 'replayed'; readonly expected: Expected }
  | { readonly kind: 'conflict' };

/** Engine time at which every generated history starts (2023-11-14). */
export const clockStartMs = 1_700_000_000_000;

export class WorldModel {
  readonly ledgers: readonly LedgerModel[];
  /** Every command submitted so far; resends and id reuses pick from it. */
  readonly history: SkuLocationCommand[] = [];
  clockMs = clockStartMs;
  commandsIssued = 0;
  private readonly firsts = new Map<string, { payload: SkuLocationCommand; expected: Expected }>();

  constructor(readonly addresses: readonly Address[]) {
    this.ledgers = addresses.map((address) => new LedgerModel(address.sku, address.location));
  }

  /** A command id never used before in this history. */
  nextCommandId(): string {
    this.commandsIssued += 1;
    return `c-${this.commandsIssued}`;
  }

  /** The engine stamps a command: its time never goes back. */
  stamp(atMs: number): number {
    this.clockMs = Math.max(this.clockMs, atMs);
    return this.clockMs;
  }

  /**
   * What submitting `command` to the actor at `target` should answer. `invalidField` names the one field the
   * generator made malformed, or is null for a well-formed command.
   */
  submit(command: SkuLocationCommand, target: number, invalidField: string | null): ExpectedAnswer {
    this.history.push(command);
    const first = this.firsts.get(command.commandId);
    if (first !== undefined) {
      return samePayload(first.payload, command)
        ? { kind: 'replayed', expected: first.expected }
        : { kind: 'conflict' };
    }
    const ledger = this.ledgers[target];
    if (ledger === undefined) throw new Error(`no model for target ${target}`);
    const expected: Expected =
      invalidField === null
        ? ledger.step(command)
        : { ok: false, refusal: { code: 'VALIDATION_FAILED', field: invalidField, reason: '' } };
    this.firsts.set(command.commandId, { payload: command, expected });
    return { kind: 'applied', expected };
  }
}

function samePayload(first: SkuLocationCommand, again: SkuLocationCommand): boolean {
  return isDeepStrictEqual({ ...first, atMs: 0 }, { ...again, atMs: 0 });
}
