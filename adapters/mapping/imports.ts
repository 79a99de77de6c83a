// CSV imports of master data (`POST /v1/items:import`, `POST /v1/locations:import`): a header line names
// the columns, each further line is one row. A header that cannot be read refuses the whole import
// (nothing is applied). Otherwise every good row is applied (all of them in one transaction) and every
// bad one becomes a dead letter with its reason, its line number, the header and the line's text, so an
// operator can fix it and retry it (`retryImportRow`). Importing the same file again changes nothing.

import type { Engine } from '../../engine/engine.ts';
import type { ItemRecord, LocationCodeRecord } from '../../engine/store/records.ts';
import type { CsvRecord } from './csv.ts';
import { columnsOf, linesOf, parseCsvLines } from './csv.ts';
import type { Checked, ItemColumn, ItemInput } from './items.ts';
import { ITEM_COLUMNS, itemOfRow } from './items.ts';
import type { LocationCodeInput, LocationColumn } from './locations.ts';
import { LOCATION_COLUMNS, locationOfRow } from './locations.ts';
import type { WriteOutcome } from './master-data.ts';
import { importRowsMax, masterDataOf } from './master-data.ts';

export const ITEMS_IMPORT_ADAPTER = 'http:items:import';
export const LOCATIONS_IMPORT_ADAPTER = 'http:locations:import';

/** The header of an import cannot be read, or the import is too large: nothing was applied. */
export class ImportRefusedError extends Error {
  override readonly name = 'ImportRefusedError';
  readonly tooLarge: boolean;
  constructor(message: string, tooLarge = false) {
    super(message);
    this.tooLarge = tooLarge;
  }
}

/** One row of a CSV table: its line, its text, and its fields by column, trimmed. */
export interface TableRow<Name extends string> {
  readonly line: number;
  readonly text: string;
  readonly fields: readonly string[];
  field(name: Name): string;
}

export interface BadTableRow {
  readonly payload: { readonly line: number; readonly text: string };
  readonly reason: string;
}

export interface CsvTable<Name extends string> {
  readonly header: readonly string[];
  readonly rows: readonly TableRow<Name>[];
  /** Lines that are not a row of the table (malformed, or another number of fields than the header). */
  readonly bad: readonly BadTableRow[];
}

/**
 * Reads a CSV table whose first line names its columns: every column `required`, nothing outside
 * `known`. Throws ImportRefusedError when the header cannot be read or there are more than
 * `importRowsMax` rows; blank lines are no rows.
 */
export function readCsvTable<const Name extends string>(
  text: string,
  known: readonly Name[],
  required: readonly Name[] = known,
): CsvTable<Name> {
  const [headerLine, ...rest] = linesOf(text);
  if (headerLine === undefined || headerLine.text.trim() === '') {
    throw new ImportRefusedError(`the first line must name the columns: ${known.join(', ')}`);
  }
  const [headerRecord] = parseCsvLines([headerLine]);
  if (headerRecord?.kind !== 'fields') throw new ImportRefusedError('the header line is not valid CSV');
  const header = headerRecord.fields.map((name) => name.trim());
  const checked = columnsOf(header, known, required);
  if (!checked.ok) throw new ImportRefusedError(`the header: ${checked.reason}`);
  const columns = checked.columns;
  const records = parseCsvLines(rest).filter((record) => record.kind !== 'blank');
  if (records.length > importRowsMax) {
    throw new ImportRefusedError(`${records.length} rows; an import carries at most ${importRowsMax}`, true);
  }
  const rows: TableRow<Name>[] = [];
  const bad: BadTableRow[] = [];
  for (const record of records) {
    const payload = { line: record.line, text: record.text };
    if (record.kind === 'malformed') bad.push({ payload, reason: record.reason });
    else if (record.kind === 'fields' && record.fields.length !== header.length) {
      bad.push({
        payload,
        reason: `MALFORMED: ${record.fields.length} fields, the header has ${header.length}`,
      });
    } else if (record.kind === 'fields') {
      const fields = record.fields;
      rows.push({
        ...payload,
        fields,
        field: (name) => {
          const at = columns[name];
          return at === undefined ? '' : (fields[at] ?? '').trim();
        },
      });
    }
  }
  return { header, rows, bad };
}

export interface ImportRejection {
  readonly line: number;
  readonly reason: string;
  readonly deadLetterId: string;
}

export interface ImportResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: readonly ImportRejection[];
}

/** What a dead letter of an import keeps: enough to read the row again without the file. */
export interface ImportRowPayload {
  readonly line: number;
  readonly header: readonly string[];
  readonly text: string;
  /** The row by column, when the line could be parsed. */
  readonly row?: Readonly<Record<string, string>>;
}

interface ImportKind<Column extends string, Input> {
  readonly adapter: string;
  readonly columns: readonly Column[];
  readonly required: readonly Column[];
  input(row: Readonly<Partial<Record<Column, string>>>): Checked<Input>;
  write(engine: Engine, inputs: readonly Input[]): Promise<WriteOutcome<unknown>[]>;
}

const ITEMS: ImportKind<ItemColumn, ItemInput> = {
  adapter: ITEMS_IMPORT_ADAPTER,
  columns: ITEM_COLUMNS,
  required: ['sku'],
  input: itemOfRow,
  write: (engine, inputs) => masterDataOf(engine).putItems(inputs),
};

const LOCATIONS: ImportKind<LocationColumn, LocationCodeInput> = {
  adapter: LOCATIONS_IMPORT_ADAPTER,
  columns: LOCATION_COLUMNS,
  required: ['code', 'location'],
  input: (row) => ({ ok: true, value: locationOfRow(row) }),
  write: (engine, inputs) => masterDataOf(engine).putLocationCodes(inputs),
};

export function importItemsCsv(engine: Engine, text: string): Promise<ImportResult> {
  return importCsv(engine, text, ITEMS);
}

export function importLocationsCsv(engine: Engine, text: string): Promise<ImportResult> {
  return importCsv(engine, text, LOCATIONS);
}

function rowOf(header: readonly string[], fields: readonly string[]): Record<string, string> {
  const row: Record<string, string> = {};
  for (const [at, name] of header.entries()) row[name.trim()] = fields[at] ?? '';
  return row;
}

function rowCheck<Column extends string, Input>(
  kind: ImportKind<Column, Input>,
  header: readonly string[],
  record: CsvRecord,
): { payload: ImportRowPayload; input: Checked<Input> } {
  const payload: ImportRowPayload = { line: record.line, header, text: record.text };
  if (record.kind === 'malformed') return { payload, input: { ok: false, reason: record.reason } };
  if (record.kind === 'blank') return { payload, input: { ok: false, reason: 'MALFORMED: a blank line' } };
  if (record.fields.length !== header.length) {
    return {
      payload,
      input: {
        ok: false,
        reason: `MALFORMED: ${record.fields.length} fields, the header has ${header.length}`,
      },
    };
  }
  const row = rowOf(header, record.fields);
  return { payload: { ...payload, row }, input: kind.input(row as Partial<Record<Column, string>>) };
}

async function importCsv<Column extends string, Input>(
  engine: Engine,
  text: string,
  kind: ImportKind<Column, Input>,
): Promise<ImportResult> {
  const table = readCsvTable(text, kind.columns, kind.required);
  const header = table.header;
  const bad: { payload: ImportRowPayload; reason: string }[] = table.bad.map(({ payload, reason }) => ({
    payload: { ...payload, header },
    reason,
  }));
  const good: { payload: ImportRowPayload; input: Input }[] = [];
  for (const { line, text: rowText, fields } of table.rows) {
    const row = rowOf(header, fields);
    const payload: ImportRowPayload = { line, header, text: rowText, row };
    const input = kind.input(row as Partial<Record<Column, string>>);
    if (input.ok) good.push({ payload, input: input.value });
    else bad.push({ payload, reason: input.reason });
  }
  const outcomes = await kind.write(
    engine,
    good.map(({ input }) => input),
  );
  const counts = { created: 0, updated: 0, unchanged: 0 };
  for (const [at, outcome] of outcomes.entries()) {
    if (outcome.status === 'rejected') bad.push({ payload: good[at]!.payload, reason: outcome.reason });
    else counts[outcome.status]++;
  }
  bad.sort((left, right) => left.payload.line - right.payload.line);
  const letters = await engine.deadLetters.addMany(
    bad.map(({ payload, reason }) => ({ adapter: kind.adapter, reason, payload })),
  );
  return {
    ...counts,
    rejected: bad.map(({ payload, reason }, at) => ({
      line: payload.line,
      reason,
      deadLetterId: letters[at]!.id,
    })),
  };
}

export type RetriedRow =
  | {
      readonly ok: true;
      readonly outcome: Exclude<WriteOutcome<ItemRecord | LocationCodeRecord>, { status: 'rejected' }>;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * One row of an import again, as its dead letter keeps it (or corrected): `row` by column, or `text`
 * read with `header`.
 */
export async function retryImportRow(engine: Engine, adapter: string, payload: unknown): Promise<RetriedRow> {
  const kind =
    adapter === ITEMS_IMPORT_ADAPTER ? ITEMS : adapter === LOCATIONS_IMPORT_ADAPTER ? LOCATIONS : null;
  if (kind === null) return { ok: false, reason: `INVALID_STATE: ${adapter} is not an import` };
  const given = (typeof payload === 'object' && payload !== null ? payload : {}) as Partial<ImportRowPayload>;
  let row = given.row;
  if (row === undefined) {
    if (!Array.isArray(given.header) || typeof given.text !== 'string') {
      return { ok: false, reason: 'MALFORMED: the payload has neither `row` nor `header` and `text`' };
    }
    const [record] = parseCsvLines([{ line: given.line ?? 0, text: given.text }]);
    const checked = rowCheck(kind as ImportKind<string, unknown>, given.header.map(String), record!);
    if (!checked.input.ok) return { ok: false, reason: checked.input.reason };
    row = checked.payload.row;
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    return { ok: false, reason: 'MALFORMED: `row` must be an object of column names to text' };
  }
  const unknown = Object.keys(row).find((name) => !(kind.columns as readonly string[]).includes(name));
  if (unknown !== undefined)
    return { ok: false, reason: `MALFORMED: ${JSON.stringify(unknown)} is not a column` };
  if (Object.values(row).some((value) => typeof value !== 'string')) {
    return { ok: false, reason: 'MALFORMED: every value of `row` must be text' };
  }
  const input = (kind as ImportKind<string, unknown>).input(row);
  if (!input.ok) return input;
  const [outcome] = await (kind as ImportKind<string, unknown>).write(engine, [input.value]);
  if (outcome === undefined) return { ok: false, reason: 'INTERNAL: no outcome' };
  if (outcome.status === 'rejected') return { ok: false, reason: outcome.reason };
  return {
    ok: true,
    outcome: outcome as Exclude<WriteOutcome<ItemRecord | LocationCodeRecord>, { status: 'rejected' }>,
  };
}
