// CSV for line-oriented sources (an item master, store codes, a sales log): every record is one physical
// line, so one damaged line (a stray quote) costs that line alone and never swallows the rest of the
// file, and each record keeps its line number (the replay derives command ids from it). Fields are parsed
// by csv-parse (RFC 4180 quoting, doubled quotes), a few hundred lines per call; a chunk that does not
// parse cleanly is parsed again line by line to find the line at fault.

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';

/** Lines parsed together in one csv-parse call. */
export const csvChunkLinesMax = 512;
/** A line longer than this is refused as malformed rather than parsed. */
export const csvLineLengthMax = 64 * 1024;

export interface CsvLine {
  /** 1-based physical line number in the source. */
  readonly line: number;
  readonly text: string;
}

export type CsvRecord =
  | { readonly kind: 'fields'; readonly line: number; readonly text: string; readonly fields: string[] }
  | { readonly kind: 'malformed'; readonly line: number; readonly text: string; readonly reason: string }
  | { readonly kind: 'blank'; readonly line: number; readonly text: string };

function quotesOf(text: string): number {
  let count = 0;
  for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', at + 1)) count++;
  return count;
}

function parseOne(line: CsvLine): CsvRecord {
  try {
    const rows = parse(line.text, { relax_column_count: true }) as string[][];
    const fields = rows[0];
    if (rows.length !== 1 || fields === undefined) {
      return { kind: 'malformed', ...line, reason: 'MALFORMED: not one CSV record' };
    }
    return { kind: 'fields', ...line, fields };
  } catch (error) {
    const message = (error as Error).message.replace(/ at line \d+/, '');
    return { kind: 'malformed', ...line, reason: `MALFORMED: ${message.slice(0, 160)}` };
  }
}

/**
 * Parses lines into records, in order. A line with an odd number of quotes cannot be a whole record
 * (a quoted field would run on into the next line), so it is malformed without further ado; the rest
 * are parsed in one call, and again one by one if that call fails.
 */
export function parseCsvLines(lines: readonly CsvLine[]): CsvRecord[] {
  const records: CsvRecord[] = new Array(lines.length);
  const parsable: number[] = [];
  for (const [at, line] of lines.entries()) {
    if (line.text.trim() === '') records[at] = { kind: 'blank', ...line };
    else if (line.text.length > csvLineLengthMax) {
      records[at] = {
        kind: 'malformed',
        line: line.line,
        text: line.text.slice(0, 1024),
        reason: `MALFORMED: a line of ${line.text.length} characters, more than ${csvLineLengthMax}`,
      };
    } else if (quotesOf(line.text) % 2 === 1) {
      records[at] = { kind: 'malformed', ...line, reason: 'MALFORMED: unbalanced quotes' };
    } else parsable.push(at);
  }
  for (let start = 0; start < parsable.length; start += csvChunkLinesMax) {
    const chunk = parsable.slice(start, start + csvChunkLinesMax);
    let rows: string[][] | null = null;
    try {
      rows = parse(chunk.map((at) => lines[at]!.text).join('\n'), { relax_column_count: true }) as string[][];
    } catch {
      rows = null;
    }
    if (rows !== null && rows.length === chunk.length) {
      for (const [index, at] of chunk.entries())
        records[at] = { kind: 'fields', ...lines[at]!, fields: rows[index]! };
    } else {
      for (const at of chunk) records[at] = parseOne(lines[at]!);
    }
  }
  return records;
}

/** The physical lines of a text, numbered from 1 (a final newline ends the last line, it adds none). */
export function linesOf(text: string): CsvLine[] {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  return parts.map((part, at) => ({
    line: at + 1,
    text: stripLineEnd(at === 0 ? part.replace(/^\uFEFF/, '') : part),
  }));
}

function stripLineEnd(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

/** The physical lines of a stream, numbered from 1, without holding more than one in memory. */
export async function* streamLines(input: Readable): AsyncGenerator<CsvLine> {
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of reader) {
    line++;
    yield { line, text: line === 1 ? text.replace(/^\uFEFF/, '') : text };
  }
}

/** Column positions by header name; `required` must all be there, and nothing outside `known`. */
export function columnsOf<const Name extends string>(
  header: readonly string[],
  known: readonly Name[],
  required: readonly Name[],
): { ok: true; columns: Partial<Record<Name, number>> } | { ok: false; reason: string } {
  const columns: Partial<Record<Name, number>> = {};
  for (const [at, raw] of header.entries()) {
    const name = raw.trim();
    if (!(known as readonly string[]).includes(name)) {
      return {
        ok: false,
        reason: `unknown column ${JSON.stringify(name)}; the columns are ${known.join(', ')}`,
      };
    }
    if (columns[name as Name] !== undefined) return { ok: false, reason: `column ${name} appears twice` };
    columns[name as Name] = at;
  }
  const missing = required.filter((name) => columns[name] === undefined);
  if (missing.length > 0) return { ok: false, reason: `missing column ${missing.join(', ')}` };
  return { ok: true, columns };
}
