// The movement journal for an ERP (DESIGN.md §7): every recorded event as one movement line, in the
// engine's commit order, read from the commit feed after a cursor. A cursor names the last log entry
// fully delivered (`<feed position>.<entry index>`); a page never splits an entry, so resuming from the
// cursor a page ends with yields exactly the lines after it: no duplicate, no gap. Only durable records
// are read (up to `engine.feedPosition()`), so a page never shows a record that a crash could undo.

import type { LedgerEvent } from '../../actors/index.ts';
import { BUCKETS } from '../../actors/index.ts';
import type { Engine } from '../../engine/engine.ts';
import type { CommandEntry, LogRecord } from '../../engine/store/records.ts';

export const JOURNAL_FORMATS = ['ndjson', 'csv'] as const;
export type JournalFormat = (typeof JOURNAL_FORMATS)[number];

/** Feed records read per step of a page. */
const feedStepRecords = 256;
/** Lines a page holds at most (a single entry with more lines is still delivered whole). */
export const journalPageLinesMax = 10_000;

/** Everything up to and including entry `entry` of the record at feed position `position` is delivered. */
export interface JournalCursor {
  readonly position: number;
  readonly entry: number;
}

/** The cursor before the first record: the whole journal follows it. */
export const JOURNAL_START: JournalCursor = { position: 0, entry: 0 };

const cursorPattern = /^([0-9]{1,15})\.([0-9]{1,6})$/;

export function formatCursor(cursor: JournalCursor): string {
  return `${cursor.position}.${cursor.entry}`;
}

/** The cursor a text names, or null when it is not one (`<position>.<entry>`, both decimal digits). */
export function parseCursor(text: string): JournalCursor | null {
  const match = cursorPattern.exec(text);
  if (match === null) return null;
  return { position: Number(match[1]), entry: Number(match[2]) };
}

export interface MovementLine {
  readonly position: number;
  readonly shard: number;
  readonly sequence: number;
  readonly entry: number;
  /** The event's index within its entry (a command may record several events). */
  readonly event: number;
  readonly at: string;
  readonly location: string;
  readonly sku: string;
  readonly type: string;
  readonly version: number;
  readonly onHand: number;
  readonly reserved: number;
  readonly inTransit: number;
  readonly quarantine: number;
  readonly commandId: string;
  readonly correlationId: string | null;
  readonly source: string;
  readonly reason: string | null;
}

export const MOVEMENT_COLUMNS = [
  'position',
  'shard',
  'sequence',
  'entry',
  'event',
  'at',
  'location',
  'sku',
  'type',
  'version',
  'onHand',
  'reserved',
  'inTransit',
  'quarantine',
  'commandId',
  'correlationId',
  'source',
  'reason',
] as const satisfies readonly (keyof MovementLine)[];

function reasonOf(event: LedgerEvent): string | null {
  const reason = (event as { readonly reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : null;
}

function linesOf(position: number, record: LogRecord, at: number, entry: CommandEntry): MovementLine[] {
  return entry.events.map((event, index) => {
    const deltas = Object.fromEntries(BUCKETS.map((bucket) => [bucket, event.deltas[bucket] ?? 0])) as Record<
      (typeof BUCKETS)[number],
      number
    >;
    return {
      position,
      shard: record.shard,
      sequence: record.sequence,
      entry: at,
      event: index,
      at: new Date(event.atMs).toISOString(),
      location: entry.command.location,
      sku: entry.command.sku,
      type: event.type,
      version: event.version,
      ...deltas,
      commandId: event.commandId,
      correlationId: entry.meta.correlationId,
      source: entry.meta.source,
      reason: reasonOf(event),
    };
  });
}

export interface JournalPage {
  readonly lines: readonly MovementLine[];
  /** Resume from here: the last entry this page delivered (the given cursor when it delivered nothing). */
  readonly next: JournalCursor;
  /** True when the page reached the newest durable record: nothing more is there yet. */
  readonly end: boolean;
}

/**
 * The movement lines after `cursor`, at most `limitLines` of them unless the first entry alone has
 * more. Entries without events (reservation, transfer and return headers) carry no lines but the cursor
 * still moves past them. `onRecord` is told each feed position read, for progress.
 */
export function readJournal(
  engine: Engine,
  cursor: JournalCursor,
  limitLines: number,
  onRecord?: (position: number) => void,
): JournalPage {
  const durable = engine.feedPosition();
  const lines: MovementLine[] = [];
  let next = cursor;
  // The record at the cursor is read again: its entries after `cursor.entry` are still to come.
  let after = Math.max(0, cursor.position - 1);
  for (;;) {
    let read = 0;
    for (const { position, record } of engine.readFeed(after, feedStepRecords)) {
      if (position > durable) return { lines, next, end: true };
      read++;
      after = position;
      for (const [at, entry] of record.entries.entries()) {
        if (position === cursor.position && at <= cursor.entry) continue;
        const entryLines = entry.kind === 'command' ? linesOf(position, record, at, entry) : [];
        if (entryLines.length > 0 && lines.length > 0 && lines.length + entryLines.length > limitLines) {
          return { lines, next, end: false };
        }
        for (const line of entryLines) lines.push(line);
        next = { position, entry: at };
      }
      onRecord?.(position);
      if (lines.length >= limitLines) return { lines, next, end: position >= durable };
    }
    if (read < feedStepRecords) return { lines, next, end: true };
  }
}

/** The text of a CSV field, quoted when it holds a separator, a quote or a line break. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvHeader(): string {
  return `${MOVEMENT_COLUMNS.join(',')}\n`;
}

/** The lines as text: NDJSON (one object a line) or CSV rows (without the header). */
export function formatLines(lines: readonly MovementLine[], format: JournalFormat): string {
  let text = '';
  for (const line of lines) {
    text +=
      format === 'ndjson'
        ? `${JSON.stringify(line)}\n`
        : `${MOVEMENT_COLUMNS.map((column) => csvField(line[column])).join(',')}\n`;
  }
  return text;
}
