// The reference model of one SKU-location, written from DESIGN.md §2 with plain numbers and maps and
// nothing from actors/ but types. The property suite runs it beside the real machine and expects the same
// answer to every command: the same refusal with the same numbers, or the same events with the same deltas.
// It is deliberately naive (no binary search, no shared predicates) so that it cannot share a bug with them.

import type { SkuLocationCommand } from '../../actors/commands.ts';
import type { AtRiskLine, LedgerEvent } from '../../actors/events.ts';
import type { ChannelId, LocationId, ReservationId, ReturnId, Sku, TransferId } from '../../actors/ids.ts';
import type { AvailabilityStatus, IntegrityCondition, Ledger, Policy } from '../../actors/ledger.ts';
import type { Refusal } from '../../actors/refusals.ts';

/** What the model expects a command to do. A validation refusal is compared by code and field only. */
export type Expected =
  | { readonly ok: true; readonly events: readonly LedgerEvent[] }
  | { readonly ok: false; readonly refusal: Refusal };

interface LineModel {
  qty: number;
  channel: ChannelId;
  state: 'held' | 'committed';
  expiresAtMs: number | null;
  heldAtVersion: number;
}

/** An event without the stamps the model adds to every event of a command. */
type Fact = LedgerEvent extends infer E
  ? E extends LedgerEvent
    ? Omit<E, 'version' | 'commandId' | 'atMs'>
    : never
  : never;

function byId<T>(entries: Map<string, T>): [string, T][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export class LedgerModel {
  onHand = 0;
  reserved = 0;
  inTransit = 0;
  quarantine = 0;
  policy: Policy = { safetyStock: 0, lowStockThreshold: 0, channels: {} };
  shares = new Map<string, number>();
  readonly lines = new Map<string, LineModel>();
  readonly lots = new Map<string, number>();
  readonly inbound = new Map<string, number>();
  version = 0;
  updatedAtMs = 0;

  constructor(
    readonly sku: Sku,
    readonly location: LocationId,
  ) {}

  availableToSell(): number {
    const free = this.onHand - this.reserved - this.policy.safetyStock;
    return Math.max(free, 0);
  }

  /**
   * A channel's share is a decimal of whole basis points (0.29 means exactly 29/100, not the double nearest
   * it), so its exposure is floor(ATS * basisPoints / 10,000) in exact integer arithmetic.
   */
  exposure(channel: string): number {
    const share = this.shares.get(channel);
    if (share === undefined) return this.availableToSell();
    const basisPoints = BigInt(Math.round(share * 10_000));
    return Number((BigInt(this.availableToSell()) * basisPoints) / 10_000n);
  }

  availability(): AvailabilityStatus {
    const available = this.availableToSell();
    if (available === 0) return 'outOfStock';
    return available <= this.policy.lowStockThreshold ? 'lowStock' : 'inStock';
  }

  integrity(): IntegrityCondition {
    if (this.onHand < 0) return 'negative';
    return this.onHand < this.reserved ? 'oversold' : 'consistent';
  }

  /** Units promised to open lines that on-hand cannot cover. */
  shortfall(): number {
    const covered = Math.max(this.onHand, 0);
    return this.reserved > covered ? this.reserved - covered : 0;
  }

  /** True when a held line's deadline has come on the engine time `atMs`. */
  pastDeadline(line: LineModel, atMs: number): boolean {
    return line.state === 'held' && line.expiresAtMs !== null && atMs >= line.expiresAtMs;
  }

  /**
   * What `command` (already known to be well-formed) does. On acceptance the model changes and the events
   * are returned; on refusal nothing changes.
   */
  step(command: SkuLocationCommand): Expected {
    const availabilityBefore = this.availability();
    const shortfallBefore = this.shortfall();
    const fact = this.apply(command);
    if ('code' in fact) return { ok: false, refusal: fact };
    const events: LedgerEvent[] = [this.stamp(command, fact)];
    const shortfall = this.shortfall();
    if (shortfall > shortfallBefore) {
      events.push(
        this.stamp(command, {
          type: 'ReservationsAtRisk',
          integrity: this.integrity(),
          shortfall,
          reservations: this.newestLinesCovering(shortfall),
          deltas: {},
        }),
      );
    }
    const availabilityAfter = this.availability();
    if (availabilityAfter !== availabilityBefore) {
      events.push(
        this.stamp(command, {
          type: 'AvailabilityChanged',
          from: availabilityBefore,
          to: availabilityAfter,
          availableToSell: this.availableToSell(),
          deltas: {},
        }),
      );
    }
    this.updatedAtMs = command.atMs;
    return { ok: true, events };
  }

  private stamp(command: SkuLocationCommand, fact: Fact): LedgerEvent {
    this.version += 1;
    return {
      ...fact,
      commandId: command.commandId,
      atMs: command.atMs,
      version: this.version,
    } as LedgerEvent;
  }

  private newestLinesCovering(shortfall: number): AtRiskLine[] {
    const newestFirst = [...this.lines].sort(([, a], [, b]) => b.heldAtVersion - a.heldAtVersion);
    const lines: AtRiskLine[] = [];
    let covered = 0;
    for (const [id, line] of newestFirst) {
      if (covered >= shortfall) break;
      lines.push({
        reservationId: id as ReservationId,
        qty: line.qty,
        channel: line.channel,
        state: line.state,
      });
      covered += line.qty;
    }
    return lines;
  }

  /** Applies the command's own fact, or answers why it is refused. */
  private apply(command: SkuLocationCommand): Fact | Refusal {
    switch (command.type) {
      case 'receive':
        this.onHand += command.qty;
        return { type: 'Received', qty: command.qty, deltas: { onHand: command.qty } };
      case 'sale':
        this.onHand -= command.qty;
        return { type: 'Sold', qty: command.qty, deltas: { onHand: -command.qty } };
      case 'reserve': {
        const open = this.lines.get(command.reservationId);
        if (open !== undefined) {
          return { code: 'INVALID_STATE', state: open.state, reservationId: command.reservationId };
        }
        const available = this.availableToSell();
        const exposed = this.exposure(command.channel);
        if (command.qty > exposed) {
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
        this.reserved += command.qty;
        this.lines.set(command.reservationId, {
          qty: command.qty,
          channel: command.channel,
          state: 'held',
          expiresAtMs: command.expiresAtMs,
          heldAtVersion: this.version + 1,
        });
        return {
          type: 'Reserved',
          reservationId: command.reservationId,
          channel: command.channel,
          qty: command.qty,
          expiresAtMs: command.expiresAtMs,
          deltas: { reserved: command.qty },
        };
      }
      case 'release':
      case 'commit':
      case 'fulfil':
      case 'expire':
        return this.applyToLine(command);
      case 'return':
        this.quarantine += command.qty;
        this.lots.set(command.returnId, (this.lots.get(command.returnId) ?? 0) + command.qty);
        return {
          type: 'Returned',
          returnId: command.returnId,
          qty: command.qty,
          reason: command.reason,
          deltas: { quarantine: command.qty },
        };
      case 'dispose': {
        const lot = this.lots.get(command.returnId);
        if (lot === undefined) return { code: 'RETURN_NOT_FOUND', returnId: command.returnId };
        if (command.qty > lot) {
          return {
            code: 'QUARANTINE_INSUFFICIENT',
            returnId: command.returnId,
            requested: command.qty,
            remaining: lot,
          };
        }
        if (lot === command.qty) this.lots.delete(command.returnId);
        else this.lots.set(command.returnId, lot - command.qty);
        this.quarantine -= command.qty;
        const restock = command.disposition === 'restock';
        if (restock) this.onHand += command.qty;
        return {
          type: 'Disposed',
          returnId: command.returnId,
          qty: command.qty,
          disposition: command.disposition,
          deltas: restock ? { quarantine: -command.qty, onHand: command.qty } : { quarantine: -command.qty },
        };
      }
      case 'transferOut': {
        const available = this.availableToSell();
        if (command.qty > available) {
          return { code: 'INSUFFICIENT_STOCK', requested: command.qty, availableToSell: available };
        }
        this.onHand -= command.qty;
        return {
          type: 'TransferShipped',
          transferId: command.transferId,
          qty: command.qty,
          destination: command.destination,
          deltas: { onHand: -command.qty },
        };
      }
      case 'transferIn':
        if (this.inbound.has(command.transferId)) return { code: 'INVALID_STATE', state: 'inTransit' };
        this.inbound.set(command.transferId, command.qty);
        this.inTransit += command.qty;
        return {
          type: 'TransferArrived',
          transferId: command.transferId,
          qty: command.qty,
          origin: command.origin,
          deltas: { inTransit: command.qty },
        };
      case 'transferReceive': {
        const shipped = this.inbound.get(command.transferId);
        if (shipped === undefined) return { code: 'TRANSFER_NOT_FOUND', transferId: command.transferId };
        this.inbound.delete(command.transferId);
        this.inTransit -= shipped;
        this.onHand += command.receivedQty;
        return {
          type: 'TransferReceived',
          transferId: command.transferId,
          shippedQty: shipped,
          receivedQty: command.receivedQty,
          variance: command.receivedQty - shipped,
          deltas: { inTransit: -shipped, onHand: command.receivedQty },
        };
      }
      case 'adjust':
        this.onHand += command.delta;
        return {
          type: 'Adjusted',
          delta: command.delta,
          reason: command.reason,
          deltas: { onHand: command.delta },
        };
      case 'count': {
        const variance = command.counted - this.onHand;
        this.onHand = command.counted;
        return { type: 'Counted', counted: command.counted, variance, deltas: { onHand: variance } };
      }
      case 'setPolicy':
        this.policy = command.policy;
        this.shares = new Map(
          Object.entries(command.policy.channels).map(([name, { share }]) => [name, share]),
        );
        return { type: 'PolicyChanged', policy: command.policy, deltas: {} };
    }
  }

  private applyToLine(
    command: Extract<SkuLocationCommand, { type: 'release' | 'commit' | 'fulfil' | 'expire' }>,
  ): Fact | Refusal {
    const reservationId = command.reservationId;
    const line = this.lines.get(reservationId);
    if (line === undefined) return { code: 'RESERVATION_NOT_FOUND', reservationId };
    const expired = this.pastDeadline(line, command.atMs);
    if (command.type === 'expire') {
      if (!expired) return { code: 'INVALID_STATE', state: line.state, reservationId };
      this.closePart(reservationId, line, line.qty);
      return { type: 'Expired', reservationId, qty: line.qty, deltas: { reserved: -line.qty } };
    }
    if (command.type === 'commit') {
      if (line.state === 'committed') return { code: 'INVALID_STATE', state: line.state, reservationId };
      if (expired) return { code: 'RESERVATION_EXPIRED', reservationId, expiresAtMs: line.expiresAtMs ?? 0 };
      line.state = 'committed';
      line.expiresAtMs = null;
      return { type: 'Committed', reservationId, deltas: {} };
    }
    if (command.type === 'fulfil' && expired) {
      return { code: 'RESERVATION_EXPIRED', reservationId, expiresAtMs: line.expiresAtMs ?? 0 };
    }
    const qty = command.qty ?? line.qty;
    if (qty > line.qty) {
      return { code: 'INVALID_STATE', state: line.state, reservationId, requested: qty, remaining: line.qty };
    }
    this.closePart(reservationId, line, qty);
    if (command.type === 'release')
      return { type: 'Released', reservationId, qty, deltas: { reserved: -qty } };
    this.onHand -= qty;
    return { type: 'Fulfilled', reservationId, qty, deltas: { onHand: -qty, reserved: -qty } };
  }

  private closePart(reservationId: string, line: LineModel, qty: number): void {
    this.reserved -= qty;
    if (qty === line.qty) this.lines.delete(reservationId);
    else this.lines.set(reservationId, { ...line, qty: line.qty - qty });
  }

  /** The model as the ledger the machine should hold, entries in id order. */
  toLedger(): Ledger {
    return {
      sku: this.sku,
      location: this.location,
      onHand: this.onHand,
      reserved: this.reserved,
      inTransit: this.inTransit,
      quarantine: this.quarantine,
      policy: this.policy,
      reservations: byId(this.lines).map(([id, line]) => ({
        id: id as ReservationId,
        qty: line.qty,
        channel: line.channel,
        state: line.state,
        expiresAtMs: line.expiresAtMs,
        heldAtVersion: line.heldAtVersion,
      })),
      returnLots: byId(this.lots).map(([id, qty]) => ({ id: id as ReturnId, qty })),
      inboundTransfers: byId(this.inbound).map(([id, qty]) => ({ id: id as TransferId, qty })),
      version: this.version,
      updatedAtMs: this.updatedAtMs,
    };
  }
}
