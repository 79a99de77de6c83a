// The fold: rebuilds state from recorded events without deciding anything again.
// Replay, recovery and `verify` use this and nothing else.

import { assert, assertNever } from './assert.ts';
import type { LedgerEvent } from './events.ts';
import type { Keyed } from './keyed.ts';
import { findEntry, putEntry, removeEntry } from './keyed.ts';
import type { Ledger } from './ledger.ts';

/** The parts of a ledger an event may replace besides its buckets. */
interface Replaced {
  readonly reservations?: Ledger['reservations'];
  readonly returnLots?: Ledger['returnLots'];
  readonly inboundTransfers?: Ledger['inboundTransfers'];
  readonly policy?: Ledger['policy'];
}

/**
 * The ledger after `event`: its deltas applied, its version and time taken, and any replaced part.
 * One object literal with every field, so every ledger has the same shape (this is the hottest
 * allocation of the runtime; spreads of it cost several times more).
 */
function advanced(ledger: Ledger, event: LedgerEvent, replaced: Replaced): Ledger {
  const deltas = event.deltas;
  return {
    sku: ledger.sku,
    location: ledger.location,
    onHand: ledger.onHand + (deltas.onHand ?? 0),
    reserved: ledger.reserved + (deltas.reserved ?? 0),
    inTransit: ledger.inTransit + (deltas.inTransit ?? 0),
    quarantine: ledger.quarantine + (deltas.quarantine ?? 0),
    policy: replaced.policy ?? ledger.policy,
    reservations: replaced.reservations ?? ledger.reservations,
    returnLots: replaced.returnLots ?? ledger.returnLots,
    inboundTransfers: replaced.inboundTransfers ?? ledger.inboundTransfers,
    version: event.version,
    updatedAtMs: event.atMs,
  };
}

const NOTHING: Replaced = {};

/** Takes `qty` off an open entry (a line or a lot), closing it when nothing is left. */
function shrink<T extends Keyed & { readonly qty: number }>(
  entries: readonly T[],
  id: string,
  qty: number,
): readonly T[] {
  const entry = findEntry(entries, id);
  assert(entry !== undefined && qty <= entry.qty, `no open entry ${id} holding ${qty}`);
  return entry.qty === qty ? removeEntry(entries, id) : putEntry(entries, { ...entry, qty: entry.qty - qty });
}

export function evolve(ledger: Ledger, event: LedgerEvent): Ledger {
  assert(event.version === ledger.version + 1, `event version ${event.version} after ${ledger.version}`);
  switch (event.type) {
    case 'Received':
    case 'Sold':
    case 'TransferShipped':
    case 'Adjusted':
    case 'Counted':
    case 'AvailabilityChanged':
    case 'ReservationsAtRisk':
      return advanced(ledger, event, NOTHING);
    case 'Reserved':
      assert(findEntry(ledger.reservations, event.reservationId) === undefined, 'line already open');
      return advanced(ledger, event, {
        reservations: putEntry(ledger.reservations, {
          id: event.reservationId,
          qty: event.qty,
          channel: event.channel,
          state: 'held',
          expiresAtMs: event.expiresAtMs,
          heldAtVersion: event.version,
        }),
      });
    case 'Committed': {
      const line = findEntry(ledger.reservations, event.reservationId);
      assert(line !== undefined, 'commit of a line that is not open');
      return advanced(ledger, event, {
        reservations: putEntry(ledger.reservations, { ...line, state: 'committed', expiresAtMs: null }),
      });
    }
    case 'Released':
    case 'Fulfilled':
    case 'Expired':
      return advanced(ledger, event, {
        reservations: shrink(ledger.reservations, event.reservationId, event.qty),
      });
    case 'Returned': {
      const held = findEntry(ledger.returnLots, event.returnId)?.qty ?? 0;
      return advanced(ledger, event, {
        returnLots: putEntry(ledger.returnLots, { id: event.returnId, qty: held + event.qty }),
      });
    }
    case 'Disposed':
      return advanced(ledger, event, { returnLots: shrink(ledger.returnLots, event.returnId, event.qty) });
    case 'TransferArrived':
      assert(
        findEntry(ledger.inboundTransfers, event.transferId) === undefined,
        'transfer already in transit',
      );
      return advanced(ledger, event, {
        inboundTransfers: putEntry(ledger.inboundTransfers, { id: event.transferId, qty: event.qty }),
      });
    case 'TransferReceived':
      return advanced(ledger, event, {
        inboundTransfers: shrink(ledger.inboundTransfers, event.transferId, event.shippedQty),
      });
    case 'PolicyChanged':
      return advanced(ledger, event, { policy: event.policy });
    default:
      return assertNever(event);
  }
}

/** Folds events from a starting state; from `emptyLedger` it rebuilds an actor's whole history. */
export function fold(ledger: Ledger, events: readonly LedgerEvent[]): Ledger {
  let state = ledger;
  for (const event of events) state = evolve(state, event);
  return state;
}
