// decide(state, command) → the events to record, or a refusal. Pure: the time is the command's atMs.

import { assertNever } from './assert.ts';
import type { SkuLocationCommand } from './commands.ts';
import type { AtRiskLine, LedgerEvent } from './events.ts';
import { evolve } from './evolve.ts';
import { findEntry } from './keyed.ts';
import type { Deltas, Ledger } from './ledger.ts';
import { availabilityOf, availableToSell, BUCKETS, exposedTo, integrityOf, shortfallOf } from './ledger.ts';
import { openLotsPerActorMax, openReservationsPerActorMax } from './limits.ts';
import type { Refusal } from './refusals.ts';
import {
  dispositionRestocks,
  isPastDeadline,
  reservationFits,
  shipmentFits,
  staysInRange,
  validationRefusal,
} from './rules.ts';

export type Decision =
  | { readonly ok: true; readonly events: readonly LedgerEvent[] }
  | { readonly ok: false; readonly refusal: Refusal };

function stateRefusal(ledger: Ledger, command: SkuLocationCommand): Refusal | null {
  switch (command.type) {
    case 'receive':
    case 'sale':
    case 'adjust':
    case 'count':
    case 'setPolicy':
      return null;
    case 'reserve': {
      const existing = findEntry(ledger.reservations, command.reservationId);
      if (existing !== undefined) {
        return { code: 'INVALID_STATE', state: existing.state, reservationId: command.reservationId };
      }
      if (ledger.reservations.length >= openReservationsPerActorMax) {
        return {
          code: 'INVALID_STATE',
          state: 'reservationLimitReached',
          reservationId: command.reservationId,
        };
      }
      if (reservationFits(ledger, command)) return null;
      const available = availableToSell(ledger);
      const exposed = exposedTo(ledger, command.channel);
      return exposed < available
        ? {
            code: 'INSUFFICIENT_STOCK',
            requested: command.qty,
            availableToSell: available,
            exposed,
            channel: command.channel,
          }
        : { code: 'INSUFFICIENT_STOCK', requested: command.qty, availableToSell: available };
    }
    case 'release':
    case 'commit':
    case 'fulfil':
    case 'expire': {
      const line = findEntry(ledger.reservations, command.reservationId);
      if (line === undefined) return { code: 'RESERVATION_NOT_FOUND', reservationId: command.reservationId };
      const reservationId = command.reservationId;
      if (command.type === 'expire') {
        return isPastDeadline(line, command.atMs)
          ? null
          : { code: 'INVALID_STATE', state: line.state, reservationId };
      }
      if (command.type === 'commit' && line.state === 'committed') {
        return { code: 'INVALID_STATE', state: line.state, reservationId };
      }
      if (command.type !== 'release' && isPastDeadline(line, command.atMs)) {
        return { code: 'RESERVATION_EXPIRED', reservationId, expiresAtMs: line.expiresAtMs ?? 0 };
      }
      if (command.type !== 'commit' && command.qty !== null && command.qty > line.qty) {
        return {
          code: 'INVALID_STATE',
          state: line.state,
          reservationId,
          requested: command.qty,
          remaining: line.qty,
        };
      }
      return null;
    }
    case 'return':
      if (
        findEntry(ledger.returnLots, command.returnId) === undefined &&
        ledger.returnLots.length >= openLotsPerActorMax
      ) {
        return { code: 'INVALID_STATE', state: 'returnLotLimitReached' };
      }
      return null;
    case 'dispose': {
      const lot = findEntry(ledger.returnLots, command.returnId);
      if (lot === undefined) return { code: 'RETURN_NOT_FOUND', returnId: command.returnId };
      return command.qty <= lot.qty
        ? null
        : {
            code: 'QUARANTINE_INSUFFICIENT',
            returnId: command.returnId,
            requested: command.qty,
            remaining: lot.qty,
          };
    }
    case 'transferOut':
      return shipmentFits(ledger, command.qty)
        ? null
        : { code: 'INSUFFICIENT_STOCK', requested: command.qty, availableToSell: availableToSell(ledger) };
    case 'transferIn':
      if (findEntry(ledger.inboundTransfers, command.transferId) !== undefined) {
        return { code: 'INVALID_STATE', state: 'inTransit' };
      }
      return ledger.inboundTransfers.length >= openLotsPerActorMax
        ? { code: 'INVALID_STATE', state: 'transferLimitReached' }
        : null;
    case 'transferReceive':
      return findEntry(ledger.inboundTransfers, command.transferId) === undefined
        ? { code: 'TRANSFER_NOT_FOUND', transferId: command.transferId }
        : null;
    default:
      return assertNever(command);
  }
}

/** Why a command is refused in this state, or null when it is accepted. Guards and decide both ask this. */
export function refusalFor(ledger: Ledger, command: SkuLocationCommand): Refusal | null {
  const refusal = validationRefusal(command) ?? stateRefusal(ledger, command);
  if (refusal !== null) return refusal;
  const deltas = primaryOf(ledger, command).deltas;
  for (const bucket of BUCKETS) {
    if (!staysInRange(ledger[bucket] + (deltas[bucket] ?? 0))) {
      return { code: 'VALIDATION_FAILED', field: 'qty', reason: `${bucket} would leave its range` };
    }
  }
  return null;
}

function lineQty(ledger: Ledger, reservationId: string, qty: number | null): number {
  return qty ?? findEntry(ledger.reservations, reservationId)?.qty ?? 0;
}

/** The fact a command states, with the bucket deltas it causes. Assumes the command was accepted. */
function primaryOf(ledger: Ledger, command: SkuLocationCommand): LedgerEvent {
  // Every event literal names all its fields (no spread): events are the hottest allocation of a command.
  const { commandId, atMs } = command;
  const version = ledger.version + 1;
  switch (command.type) {
    case 'receive':
      return {
        type: 'Received',
        commandId,
        atMs,
        version,
        qty: command.qty,
        deltas: { onHand: command.qty },
      };
    case 'sale':
      return { type: 'Sold', commandId, atMs, version, qty: command.qty, deltas: { onHand: -command.qty } };
    case 'reserve':
      return {
        type: 'Reserved',
        commandId,
        atMs,
        version,
        reservationId: command.reservationId,
        channel: command.channel,
        qty: command.qty,
        expiresAtMs: command.expiresAtMs,
        deltas: { reserved: command.qty },
      };
    case 'release': {
      const qty = lineQty(ledger, command.reservationId, command.qty);
      return {
        type: 'Released',
        commandId,
        atMs,
        version,
        reservationId: command.reservationId,
        qty,
        deltas: { reserved: -qty },
      };
    }
    case 'commit':
      return {
        type: 'Committed',
        commandId,
        atMs,
        version,
        reservationId: command.reservationId,
        deltas: {},
      };
    case 'fulfil': {
      const qty = lineQty(ledger, command.reservationId, command.qty);
      return {
        type: 'Fulfilled',
        commandId,
        atMs,
        version,
        reservationId: command.reservationId,
        qty,
        deltas: { onHand: -qty, reserved: -qty },
      };
    }
    case 'expire': {
      const qty = lineQty(ledger, command.reservationId, null);
      return {
        type: 'Expired',
        commandId,
        atMs,
        version,
        reservationId: command.reservationId,
        qty,
        deltas: { reserved: -qty },
      };
    }
    case 'return':
      return {
        type: 'Returned',
        commandId,
        atMs,
        version,
        returnId: command.returnId,
        qty: command.qty,
        reason: command.reason,
        deltas: { quarantine: command.qty },
      };
    case 'dispose': {
      const deltas: Deltas = dispositionRestocks(command.disposition)
        ? { quarantine: -command.qty, onHand: command.qty }
        : { quarantine: -command.qty };
      return {
        type: 'Disposed',
        commandId,
        atMs,
        version,
        returnId: command.returnId,
        qty: command.qty,
        disposition: command.disposition,
        deltas,
      };
    }
    case 'transferOut':
      return {
        type: 'TransferShipped',
        commandId,
        atMs,
        version,
        transferId: command.transferId,
        qty: command.qty,
        destination: command.destination,
        deltas: { onHand: -command.qty },
      };
    case 'transferIn':
      return {
        type: 'TransferArrived',
        commandId,
        atMs,
        version,
        transferId: command.transferId,
        qty: command.qty,
        origin: command.origin,
        deltas: { inTransit: command.qty },
      };
    case 'transferReceive': {
      const shippedQty = findEntry(ledger.inboundTransfers, command.transferId)?.qty ?? 0;
      return {
        type: 'TransferReceived',
        commandId,
        atMs,
        version,
        transferId: command.transferId,
        shippedQty,
        receivedQty: command.receivedQty,
        variance: command.receivedQty - shippedQty,
        deltas: { inTransit: -shippedQty, onHand: command.receivedQty },
      };
    }
    case 'adjust':
      return {
        type: 'Adjusted',
        commandId,
        atMs,
        version,
        delta: command.delta,
        reason: command.reason,
        deltas: { onHand: command.delta },
      };
    case 'count':
      return {
        type: 'Counted',
        commandId,
        atMs,
        version,
        counted: command.counted,
        variance: command.counted - ledger.onHand,
        deltas: { onHand: command.counted - ledger.onHand },
      };
    case 'setPolicy':
      return { type: 'PolicyChanged', commandId, atMs, version, policy: command.policy, deltas: {} };
    default:
      return assertNever(command);
  }
}

/** The newest open lines first, as many as it takes to cover the shortfall. */
function linesAtRisk(ledger: Ledger, shortfall: number): AtRiskLine[] {
  const newestFirst = ledger.reservations.toSorted((a, b) => b.heldAtVersion - a.heldAtVersion);
  const atRisk: AtRiskLine[] = [];
  let covered = 0;
  for (const line of newestFirst) {
    if (covered >= shortfall) break;
    atRisk.push({ reservationId: line.id, qty: line.qty, channel: line.channel, state: line.state });
    covered += line.qty;
  }
  return atRisk;
}

/** An accepted command's outcome: the events it records and the state they fold to. */
export interface Accepted {
  readonly events: readonly LedgerEvent[];
  readonly ledger: Ledger;
}

/** The events an accepted command records: its fact, then what it did to integrity and availability. */
export function accept(ledger: Ledger, command: SkuLocationCommand): Accepted {
  const primary = primaryOf(ledger, command);
  const events: LedgerEvent[] = [primary];
  let state = evolve(ledger, primary);
  const shortfall = shortfallOf(state);
  if (shortfall > shortfallOf(ledger)) {
    const atRisk: LedgerEvent = {
      type: 'ReservationsAtRisk',
      integrity: integrityOf(state),
      shortfall,
      reservations: linesAtRisk(state, shortfall),
      deltas: {},
      commandId: command.commandId,
      atMs: command.atMs,
      version: state.version + 1,
    };
    events.push(atRisk);
    state = evolve(state, atRisk);
  }
  const from = availabilityOf(ledger);
  const to = availabilityOf(state);
  if (from !== to) {
    const changed: LedgerEvent = {
      type: 'AvailabilityChanged',
      from,
      to,
      availableToSell: availableToSell(state),
      deltas: {},
      commandId: command.commandId,
      atMs: command.atMs,
      version: state.version + 1,
    };
    events.push(changed);
    state = evolve(state, changed);
  }
  return { events, ledger: state };
}

export function decide(ledger: Ledger, command: SkuLocationCommand): Decision {
  const refusal = refusalFor(ledger, command);
  if (refusal !== null) return { ok: false, refusal };
  return { ok: true, events: accept(ledger, command).events };
}
