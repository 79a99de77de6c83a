// The SKU-location statechart. Acceptance is decided by the same rules as `decide`; the accepted
// command's events are folded with `evolve`, so machine and fold cannot drift. The parallel regions
// mirror availability and integrity, and each availability transition is emitted to subscribers.

import { assign, enqueueActions, setup } from 'xstate';
import type { SkuLocationCommand } from './commands.ts';
import type { Decision } from './decide.ts';
import { accept, refusalFor } from './decide.ts';
import type { AvailabilityChanged } from './events.ts';
import type { Ledger } from './ledger.ts';
import { availabilityOf, integrityOf } from './ledger.ts';

export interface SkuLocationContext {
  readonly ledger: Ledger;
  /** The outcome of the last command sent; the runtime reads it after each `send`. */
  readonly outcome: Decision | null;
}

const handle = [{ guard: 'refused', actions: 'refuse' }, { actions: ['accept', 'announce'] }] as const;

export const skuLocationMachine = setup({
  types: {
    context: {} as SkuLocationContext,
    events: {} as SkuLocationCommand,
    input: {} as { ledger: Ledger },
    emitted: {} as AvailabilityChanged,
  },
  guards: {
    refused: ({ context, event }) => refusalFor(context.ledger, event) !== null,
    inStock: ({ context }) => availabilityOf(context.ledger) === 'inStock',
    lowStock: ({ context }) => availabilityOf(context.ledger) === 'lowStock',
    outOfStock: ({ context }) => availabilityOf(context.ledger) === 'outOfStock',
    consistent: ({ context }) => integrityOf(context.ledger) === 'consistent',
    oversold: ({ context }) => integrityOf(context.ledger) === 'oversold',
    negative: ({ context }) => integrityOf(context.ledger) === 'negative',
  },
  actions: {
    accept: assign(({ context, event }) => {
      const accepted = accept(context.ledger, event);
      return { ledger: accepted.ledger, outcome: { ok: true, events: accepted.events } };
    }),
    refuse: assign(({ context, event }) => {
      const refusal = refusalFor(context.ledger, event);
      return refusal === null ? {} : { outcome: { ok: false, refusal } };
    }),
    announce: enqueueActions(({ context, enqueue }) => {
      if (context.outcome?.ok !== true) return;
      for (const recorded of context.outcome.events) {
        if (recorded.type === 'AvailabilityChanged') enqueue.emit(recorded);
      }
    }),
  },
}).createMachine({
  id: 'skuLocation',
  context: ({ input }) => ({ ledger: input.ledger, outcome: null }),
  type: 'parallel',
  on: {
    receive: handle,
    sale: handle,
    reserve: handle,
    release: handle,
    commit: handle,
    fulfil: handle,
    expire: handle,
    return: handle,
    dispose: handle,
    transferOut: handle,
    transferIn: handle,
    transferReceive: handle,
    adjust: handle,
    count: handle,
    setPolicy: handle,
  },
  states: {
    availability: {
      initial: 'inStock',
      states: {
        inStock: {
          always: [
            { guard: 'outOfStock', target: 'outOfStock' },
            { guard: 'lowStock', target: 'lowStock' },
          ],
        },
        lowStock: {
          always: [
            { guard: 'outOfStock', target: 'outOfStock' },
            { guard: 'inStock', target: 'inStock' },
          ],
        },
        outOfStock: {
          always: [
            { guard: 'lowStock', target: 'lowStock' },
            { guard: 'inStock', target: 'inStock' },
          ],
        },
      },
    },
    integrity: {
      initial: 'consistent',
      states: {
        consistent: {
          always: [
            { guard: 'oversold', target: 'oversold' },
            { guard: 'negative', target: 'negative' },
          ],
        },
        oversold: {
          always: [
            { guard: 'consistent', target: 'consistent' },
            { guard: 'negative', target: 'negative' },
          ],
        },
        negative: {
          always: [
            { guard: 'consistent', target: 'consistent' },
            { guard: 'oversold', target: 'oversold' },
          ],
        },
      },
    },
  },
});
