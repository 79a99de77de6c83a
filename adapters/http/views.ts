// Engine records as the wire shapes of API.md: instants become ISO strings, headers become the
// documented views. Pure functions of their input, so a stored job result always renders the same.

import type { LedgerEvent } from '../../actors/index.ts';
import { assert } from '../../actors/index.ts';
import type { HistoryEntry as EngineHistoryEntry } from '../../engine/engine.ts';
import type { StockPosition } from '../../engine/inputs.ts';
import type { RefusedLine } from '../../engine/reservations.ts';
import type {
  DeadLetterRecord,
  LogEntry,
  ReservationHeader,
  ReturnHeader,
  TransferHeader,
} from '../../engine/store/records.ts';
import type { DeadLetter, HistoryEntry, Position, Reservation, Return, Transfer } from './schemas.ts';

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function positionView(position: StockPosition): Position {
  return {
    sku: position.sku,
    location: position.location,
    onHand: position.onHand,
    reserved: position.reserved,
    inTransit: position.inTransit,
    quarantine: position.quarantine,
    safetyStock: position.safetyStock,
    availableToSell: position.availableToSell,
    status: position.status,
    integrity: position.integrity,
    version: position.version,
    updatedAt: position.version === 0 ? null : iso(position.updatedAtMs),
  };
}

/** An object's fields with every `...AtMs` instant renamed `...At` and rendered as ISO text (null stays). */
function withInstants(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (name.endsWith('AtMs') && (typeof value === 'number' || value === null)) {
      out[name.slice(0, -2)] = value === null ? null : iso(value);
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** The fields an event has beyond those every event has. */
function eventDetails(event: LedgerEvent): Record<string, unknown> {
  const { type: _type, version: _version, atMs: _atMs, deltas: _deltas, commandId: _id, ...rest } = event;
  return withInstants(rest);
}

export function historyEntryView(entry: EngineHistoryEntry): HistoryEntry {
  const { event, meta } = entry;
  const details = eventDetails(event);
  const reason = typeof details.reason === 'string' ? details.reason : null;
  delete details.reason;
  return {
    version: event.version,
    at: iso(event.atMs),
    type: event.type,
    deltas: { ...event.deltas },
    commandId: event.commandId,
    correlationId: meta.correlationId,
    source: meta.source,
    occurredAt: meta.occurredAtMs === undefined ? null : iso(meta.occurredAtMs),
    reason,
    details,
  };
}

function remaining(line: ReservationHeader['lines'][number]): number {
  return line.held - line.fulfilled - line.released - line.expired;
}

/** A reservation header rendered, its status as recorded (`refused` included). */
function reservationBody(header: ReservationHeader, refused: readonly RefusedLine[]) {
  return {
    reservationId: header.reservationId,
    channel: header.channel,
    mode: header.mode,
    status: header.status,
    createdAt: iso(header.createdAtMs),
    expiresAt: header.expiresAtMs === null ? null : iso(header.expiresAtMs),
    lines: header.lines.map((line) => {
      const refusal = refused.find(
        (candidate) => candidate.sku === line.sku && candidate.location === line.location,
      )?.refusal;
      const view = {
        sku: line.sku,
        location: line.location,
        qty: line.status === 'refused' ? 0 : remaining(line),
        status: line.status,
        requested: line.requested,
        fulfilled: line.fulfilled,
        released: line.released,
        expired: line.expired,
      };
      if (refusal?.code !== 'INSUFFICIENT_STOCK') return view;
      return refusal.exposed === undefined
        ? { ...view, availableToSell: refusal.availableToSell }
        : { ...view, availableToSell: refusal.availableToSell, exposed: refusal.exposed };
    }),
  };
}

/**
 * A reservation as API.md shows it. `refused` (from a create) adds what each refused line could have
 * held. A reservation whose create was refused holds nothing and has no documented status: callers
 * answer 404 for it instead of asking for a view.
 */
export function reservationView(
  header: ReservationHeader,
  refused: readonly RefusedLine[] = [],
): Reservation {
  const body = reservationBody(header, refused);
  const status = body.status;
  assert(status !== 'refused', `reservation ${header.reservationId} was refused; it has no view`);
  return { ...body, status };
}

export function transferView(header: TransferHeader): Transfer {
  return {
    transferId: header.transferId,
    from: header.from,
    to: header.to,
    status: header.status,
    shippedAt: iso(header.shippedAtMs),
    receivedAt: header.receivedAtMs === null ? null : iso(header.receivedAtMs),
    lines: header.lines.map((line) => ({
      sku: line.sku,
      shipped: line.shipped,
      received: line.received,
      variance: line.variance,
    })),
  };
}

/** A return; `quarantined` says how much of each SKU the actor still holds in the return's lot. */
export function returnView(header: ReturnHeader, quarantined: (sku: string) => number): Return {
  return {
    returnId: header.returnId,
    location: header.location,
    originalOrderId: header.originalOrderId,
    createdAt: iso(header.createdAtMs),
    lines: header.lines.map((line) => ({
      sku: line.sku,
      reason: line.reason,
      returned: line.returned,
      disposed: { ...line.disposed },
      quarantine: quarantined(line.sku),
    })),
  };
}

export function deadLetterView(record: DeadLetterRecord): DeadLetter {
  return {
    id: record.id,
    adapter: record.adapter,
    reason: record.reason,
    payload: record.payload,
    at: iso(record.atMs),
    status: record.status,
    history: record.history.map((step) => ({ at: iso(step.atMs), action: step.action, note: step.note })),
  };
}

/** Where a log entry happened, for filtering a location-limited key's event stream. */
export function locationsOfEntry(entry: LogEntry): readonly string[] {
  switch (entry.kind) {
    case 'command':
      return [entry.command.location];
    case 'reservation':
      return entry.header.lines.map((line) => line.location);
    case 'transfer':
      return [entry.header.from, entry.header.to];
    case 'return':
      return [entry.header.location];
  }
}

/** One recorded log entry as the event stream sends it. */
export function entryView(entry: LogEntry): Record<string, unknown> {
  switch (entry.kind) {
    case 'command':
      return {
        kind: 'command',
        location: entry.command.location,
        sku: entry.command.sku,
        commandId: entry.command.commandId,
        command: entry.command.type,
        correlationId: entry.meta.correlationId,
        source: entry.meta.source,
        occurredAt: entry.meta.occurredAtMs === undefined ? null : iso(entry.meta.occurredAtMs),
        events: entry.events.map((event) => ({
          type: event.type,
          version: event.version,
          at: iso(event.atMs),
          deltas: event.deltas,
          ...eventDetails(event),
        })),
      };
    case 'reservation':
      return { kind: 'reservation', reservation: reservationBody(entry.header, []) };
    case 'transfer':
      return { kind: 'transfer', transfer: transferView(entry.header) };
    case 'return':
      return {
        kind: 'return',
        return: returnView(entry.header, (sku) => {
          const line = entry.header.lines.find((candidate) => candidate.sku === sku);
          if (line === undefined) return 0;
          return line.returned - line.disposed.restock - line.disposed.scrap - line.disposed.vendor;
        }),
      };
  }
}
