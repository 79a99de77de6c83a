// Supply documents from CSV (receipts, transfers): one row per line of a document, grouped by the
// document's id into the ordinary request for it (one idempotent engine job each, so sending a file again
// applies nothing twice). The document's own fields (a receipt's location, a transfer's ends) repeat on
// every row and must agree with the document's first row. A header that cannot be read refuses the file;
// a bad row becomes a dead letter and is left out of its document.

import { isId, quantityMax } from '../../actors/index.ts';
import { readCsvTable } from '../mapping/imports.ts';

/** Lines of one request at most (API.md's limit per request). */
export const documentLinesMax = 1_000;

export interface DocumentKind {
  /** The column naming the document: `receiptId`, `transferId`. */
  readonly idColumn: string;
  /** The document's own fields, the same on each of its rows: `location`; `from`, `to`. */
  readonly fieldColumns: readonly string[];
}

export interface DocumentLine {
  readonly line: number;
  readonly text: string;
  readonly sku: string;
  readonly qty: number;
}

export interface CsvDocument {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly lines: readonly DocumentLine[];
}

export interface BadDocumentRow {
  readonly payload: { readonly line: number; readonly text: string };
  readonly reason: string;
}

export function parseDocuments(
  text: string,
  kind: DocumentKind,
): { documents: CsvDocument[]; bad: BadDocumentRow[] } {
  const names = [kind.idColumn, ...kind.fieldColumns, 'sku', 'qty'];
  const table = readCsvTable(text, names);
  const documents = new Map<string, { id: string; fields: Record<string, string>; lines: DocumentLine[] }>();
  const bad: BadDocumentRow[] = [...table.bad];
  const firstLineOf = new Map<string, number>();
  for (const { line, text: rowText, field } of table.rows) {
    const payload = { line, text: rowText };
    const refuse = (reason: string) => bad.push({ payload, reason });
    const notId = [kind.idColumn, ...kind.fieldColumns, 'sku'].find((name) => !isId(field(name)));
    if (notId !== undefined) {
      refuse(`INVALID_ID: ${notId} ${JSON.stringify(field(notId))} is not an id`);
      continue;
    }
    const qtyText = field('qty');
    if (!/^[0-9]{1,10}$/.test(qtyText) || Number(qtyText) < 1 || Number(qtyText) > quantityMax) {
      refuse(
        `INVALID_QUANTITY: qty ${JSON.stringify(qtyText)} is not a whole number from 1 to ${quantityMax}`,
      );
      continue;
    }
    const id = field(kind.idColumn);
    const fields = Object.fromEntries(kind.fieldColumns.map((name) => [name, field(name)]));
    const document = documents.get(id) ?? { id, fields, lines: [] };
    const differing = kind.fieldColumns.find((name) => document.fields[name] !== fields[name]);
    if (differing !== undefined) {
      refuse(
        `INCONSISTENT: ${kind.idColumn} ${id} has ${differing} ${JSON.stringify(document.fields[differing])} on line ${document.lines[0]?.line}`,
      );
      continue;
    }
    const key = `${id}|${field('sku')}`;
    const first = firstLineOf.get(key);
    if (first !== undefined) {
      refuse(`DUPLICATE: ${kind.idColumn} ${id} names ${field('sku')} already on line ${first}`);
      continue;
    }
    firstLineOf.set(key, line);
    document.lines.push({ ...payload, sku: field('sku'), qty: Number(qtyText) });
    documents.set(id, document);
  }
  const kept: CsvDocument[] = [];
  for (const document of documents.values()) {
    if (document.lines.length <= documentLinesMax) {
      kept.push(document);
      continue;
    }
    for (const line of document.lines) {
      bad.push({
        payload: { line: line.line, text: line.text },
        reason: `TOO_MANY_LINES: ${kind.idColumn} ${document.id} has ${document.lines.length} rows; a request carries at most ${documentLinesMax}`,
      });
    }
  }
  bad.sort((left, right) => left.payload.line - right.payload.line);
  return { documents: kept, bad };
}

/** A document's lines in SKU order, so the same document in another row order is the same request. */
export function sortedLines(document: CsvDocument): { sku: string; qty: number }[] {
  return [...document.lines]
    .sort((left, right) => (left.sku < right.sku ? -1 : left.sku > right.sku ? 1 : 0))
    .map((line) => ({ sku: line.sku, qty: line.qty }));
}
