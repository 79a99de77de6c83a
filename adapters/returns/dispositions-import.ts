// Dispositions in bulk from an inspection CSV (`returnId,sku,qty,disposition`): rows are grouped per
// return, and each group becomes the return's ordinary disposition request (one idempotent engine job,
// all of its lines or none). A group's disposition id is given (`importId`) or derived from what the
// group says (its lines sorted), so sending the same inspection again, in any row order, applies nothing
// twice. A header that cannot be read refuses the whole file; a bad row becomes a dead letter and is left
// out of its group; a group the disposition refuses (unknown return, more than is in quarantine ...)
// sends each of its rows to the dead letters with the refusal.

import { createHash } from 'node:crypto';
import type { Disposition } from '../../actors/index.ts';
import { DISPOSITIONS, isId, quantityMax } from '../../actors/index.ts';
import { readCsvTable } from '../mapping/imports.ts';

export const DISPOSITION_COLUMNS = ['returnId', 'sku', 'qty', 'disposition'] as const;
/** Lines of one disposition request at most (API.md's limit per request). */
export const dispositionLinesMax = 1_000;

export interface DispositionRow {
  readonly line: number;
  readonly text: string;
  readonly sku: string;
  readonly qty: number;
  readonly disposition: Disposition;
}

export interface DispositionGroup {
  readonly returnId: string;
  readonly rows: readonly DispositionRow[];
}

export interface BadRow {
  readonly payload: { readonly line: number; readonly text: string };
  readonly reason: string;
}

export interface ParsedDispositions {
  readonly groups: readonly DispositionGroup[];
  readonly bad: readonly BadRow[];
}

/** Reads an inspection CSV; throws ImportRefusedError when the header cannot be read or it is too large. */
export function parseDispositions(text: string): ParsedDispositions {
  const table = readCsvTable(text, DISPOSITION_COLUMNS);
  const groups = new Map<string, DispositionRow[]>();
  const bad: BadRow[] = [...table.bad];
  const firstLineOf = new Map<string, number>();
  for (const { line, text: rowText, field } of table.rows) {
    const payload = { line, text: rowText };
    const refuse = (reason: string) => bad.push({ payload, reason });
    const [returnId, sku, qtyText, disposition] = [
      field('returnId'),
      field('sku'),
      field('qty'),
      field('disposition'),
    ];
    if (!isId(returnId)) {
      refuse(`INVALID_RETURN: ${JSON.stringify(returnId)} is not a return id`);
      continue;
    }
    if (!isId(sku)) {
      refuse(`INVALID_SKU: ${JSON.stringify(sku)} is not a SKU`);
      continue;
    }
    if (!/^[0-9]{1,10}$/.test(qtyText) || Number(qtyText) < 1 || Number(qtyText) > quantityMax) {
      refuse(
        `INVALID_QUANTITY: qty ${JSON.stringify(qtyText)} is not a whole number from 1 to ${quantityMax}`,
      );
      continue;
    }
    if (!(DISPOSITIONS as readonly string[]).includes(disposition)) {
      refuse(`INVALID_DISPOSITION: ${JSON.stringify(disposition)} is not one of ${DISPOSITIONS.join(', ')}`);
      continue;
    }
    const key = `${returnId}|${sku}`;
    const first = firstLineOf.get(key);
    if (first !== undefined) {
      refuse(`DUPLICATE: ${returnId} ${sku} is already on line ${first}`);
      continue;
    }
    firstLineOf.set(key, line);
    const rows = groups.get(returnId) ?? [];
    rows.push({ ...payload, sku, qty: Number(qtyText), disposition: disposition as Disposition });
    groups.set(returnId, rows);
  }
  const kept: DispositionGroup[] = [];
  for (const [returnId, rows] of groups) {
    if (rows.length > dispositionLinesMax) {
      for (const row of rows) {
        bad.push({
          payload: { line: row.line, text: row.text },
          reason: `TOO_MANY_LINES: return ${returnId} has ${rows.length} rows; a disposition carries at most ${dispositionLinesMax}`,
        });
      }
    } else kept.push({ returnId, rows });
  }
  bad.sort((left, right) => left.payload.line - right.payload.line);
  return { groups: kept, bad };
}

/** The disposition id of a group: given, or derived from its lines so the same inspection repeats exactly. */
export function dispositionIdOf(group: DispositionGroup, importId: string | undefined): string {
  if (importId !== undefined) return importId;
  const canonical = group.rows
    .map((row) => `${row.sku}\u0000${row.qty}\u0000${row.disposition}`)
    .sort()
    .join('\n');
  return `inspection-${createHash('sha256').update(`${group.returnId}\n${canonical}`).digest('hex').slice(0, 24)}`;
}

/** A group's lines in a fixed order, so a reordered file makes the same request body. */
export function dispositionLines(group: DispositionGroup) {
  return [...group.rows]
    .sort((left, right) => (left.sku < right.sku ? -1 : left.sku > right.sku ? 1 : 0))
    .map((row) => ({ sku: row.sku, qty: row.qty, disposition: row.disposition }));
}
