// The item master's rules (DESIGN.md §7): what an item may say, checked before anything is stored. An
// item is a SKU with a description, the GTINs that identify one unit (each) and those that identify a
// case, the number of units in a case, and, for a kit, its components. Every problem is answered as a
// reason, `CODE: sentence`, that the API returns as a 400 and an import records as a dead letter.

import { isId } from '../../actors/index.ts';
import type { ItemComponent, ItemRecord } from '../../engine/store/records.ts';
import { checkGtin } from './gtin.ts';

export const descriptionLengthMax = 200;
/** Barcodes one item may have, units and cases together. */
export const barcodesPerItemMax = 32;
export const componentsPerKitMax = 50;
export const caseSizeMax = 100_000;
export const componentQtyMax = 10_000;

/** An item as a caller states it (PUT body with the path's SKU, or one CSV row). */
export interface ItemInput {
  readonly sku: string;
  readonly description?: string | undefined;
  readonly barcodes?: readonly string[] | undefined;
  readonly caseBarcodes?: readonly string[] | undefined;
  readonly caseSize?: number | null | undefined;
  readonly components?: readonly ItemComponent[] | undefined;
}

/** What an item says, checked and normalised (barcodes as 14 digits), before state is consulted. */
export interface ItemFields {
  readonly sku: string;
  readonly description: string;
  readonly barcodes: readonly string[];
  readonly caseBarcodes: readonly string[];
  readonly caseSize: number | null;
  readonly components: readonly ItemComponent[];
}

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/** True when the text holds a control character (C0 or DEL): such text is not a name or a code. */
export function hasControlCharacters(text: string): boolean {
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function quoted(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/** The shape of an item: everything that can be checked without the rest of the catalogue. */
export function checkItemShape(input: ItemInput): Checked<ItemFields> {
  if (!isId(input.sku))
    return { ok: false, reason: `INVALID_SKU: ${quoted(String(input.sku))} is not an id` };
  const description = input.description ?? '';
  if (description.length > descriptionLengthMax || hasControlCharacters(description)) {
    return {
      ok: false,
      reason: `INVALID_DESCRIPTION: at most ${descriptionLengthMax} characters, no control characters`,
    };
  }
  const given = [...(input.barcodes ?? []), ...(input.caseBarcodes ?? [])];
  if (given.length > barcodesPerItemMax) {
    return { ok: false, reason: `INVALID_BARCODE: ${given.length} barcodes, at most ${barcodesPerItemMax}` };
  }
  const normal = (texts: readonly string[]): Checked<string[]> => {
    const gtins: string[] = [];
    for (const text of texts) {
      const checked = checkGtin(text);
      if (!checked.ok) return checked;
      gtins.push(checked.gtin);
    }
    return { ok: true, value: gtins };
  };
  const barcodes = normal(input.barcodes ?? []);
  if (!barcodes.ok) return barcodes;
  const caseBarcodes = normal(input.caseBarcodes ?? []);
  if (!caseBarcodes.ok) return caseBarcodes;
  const all = [...barcodes.value, ...caseBarcodes.value];
  const repeated = all.find((gtin, at) => all.indexOf(gtin) !== at);
  if (repeated !== undefined) {
    return { ok: false, reason: `DUPLICATE_BARCODE: ${repeated} appears twice on ${input.sku}` };
  }
  const caseSize = input.caseSize ?? null;
  if (caseSize !== null && !(Number.isSafeInteger(caseSize) && caseSize >= 1 && caseSize <= caseSizeMax)) {
    return {
      ok: false,
      reason: `INVALID_CASE_SIZE: ${caseSize} is not a whole number from 1 to ${caseSizeMax}`,
    };
  }
  if (caseSize === null && caseBarcodes.value.length > 0) {
    return { ok: false, reason: `INVALID_CASE_SIZE: ${input.sku} has case barcodes but no case size` };
  }
  const components = input.components ?? [];
  if (components.length > componentsPerKitMax) {
    return {
      ok: false,
      reason: `INVALID_COMPONENTS: ${components.length} components, at most ${componentsPerKitMax}`,
    };
  }
  const seen = new Set<string>();
  for (const component of components) {
    if (!isId(component.sku)) {
      return { ok: false, reason: `INVALID_COMPONENTS: ${quoted(String(component.sku))} is not an id` };
    }
    if (component.sku === input.sku)
      return { ok: false, reason: `KIT_SELF: ${input.sku} names itself as a component` };
    if (seen.has(component.sku)) {
      return {
        ok: false,
        reason: `INVALID_COMPONENTS: ${component.sku} appears twice; give its total quantity once`,
      };
    }
    seen.add(component.sku);
    if (!(Number.isSafeInteger(component.qty) && component.qty >= 1 && component.qty <= componentQtyMax)) {
      return {
        ok: false,
        reason: `INVALID_COMPONENT_QTY: ${component.sku} x ${component.qty}; a whole number from 1 to ${componentQtyMax}`,
      };
    }
  }
  return {
    ok: true,
    value: {
      sku: input.sku,
      description,
      barcodes: barcodes.value,
      caseBarcodes: caseBarcodes.value,
      caseSize,
      components: components.map((component) => ({ sku: component.sku, qty: component.qty })),
    },
  };
}

/** What the rest of the catalogue says, as an item is checked against it. */
export interface CatalogueView {
  item(sku: string): ItemFields | undefined;
  /** The SKU whose barcode this is (14 digits), if any. */
  ownerOf(gtin: string): string | undefined;
}

/**
 * An item against the catalogue: its barcodes belong to no other SKU; a kit's components are items of
 * their own and not kits (kits do not nest, so expanding one is never recursive).
 */
export function checkItemInCatalogue(fields: ItemFields, catalogue: CatalogueView): string | null {
  for (const gtin of [...fields.barcodes, ...fields.caseBarcodes]) {
    const owner = catalogue.ownerOf(gtin);
    if (owner !== undefined && owner !== fields.sku) {
      return `BARCODE_CONFLICT: ${gtin} is already a barcode of ${owner}`;
    }
  }
  for (const component of fields.components) {
    const item = catalogue.item(component.sku);
    if (item === undefined) return `UNKNOWN_COMPONENT: ${component.sku} is not in the item master`;
    if (item.components.length > 0) return `KIT_NESTED: ${component.sku} is itself a kit; kits do not nest`;
  }
  return null;
}

export function isKit(item: Pick<ItemRecord, 'components'>): boolean {
  return item.components.length > 0;
}

/** True when a record already says exactly what `fields` says. */
export function sameItem(record: ItemRecord, fields: ItemFields): boolean {
  return (
    record.description === fields.description &&
    record.caseSize === fields.caseSize &&
    sameList(record.barcodes, fields.barcodes) &&
    sameList(record.caseBarcodes, fields.caseBarcodes) &&
    record.components.length === fields.components.length &&
    record.components.every(
      (component, at) =>
        component.sku === fields.components[at]!.sku && component.qty === fields.components[at]!.qty,
    )
  );
}

function sameList(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((value, at) => value === right[at]);
}

// ---- CSV ----------------------------------------------------------------------------------------------

/**
 * The item master's CSV columns (a header line names them, in any order; only `sku` is required):
 * `sku`, `description`, `barcodes` (unit GTINs separated by `;`), `case_barcodes` (case GTINs, `;`),
 * `case_size` (units in a case, empty for none), `components` (a kit's `SKU*qty` separated by `;`).
 */
export const ITEM_COLUMNS = [
  'sku',
  'description',
  'barcodes',
  'case_barcodes',
  'case_size',
  'components',
] as const;
export type ItemColumn = (typeof ITEM_COLUMNS)[number];

function listOf(text: string | undefined): string[] {
  return (text ?? '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** One CSV row as an item input, or the reason it cannot be one. */
export function itemOfRow(row: Readonly<Partial<Record<ItemColumn, string>>>): Checked<ItemInput> {
  const sizeText = (row.case_size ?? '').trim();
  if (sizeText !== '' && !/^[0-9]{1,9}$/.test(sizeText)) {
    return { ok: false, reason: `INVALID_CASE_SIZE: ${quoted(sizeText)} is not a whole number` };
  }
  const components: ItemComponent[] = [];
  for (const part of listOf(row.components)) {
    const match = /^([^*]+)\*([0-9]{1,9})$/.exec(part);
    if (match === null) return { ok: false, reason: `INVALID_COMPONENTS: ${quoted(part)} is not SKU*qty` };
    components.push({ sku: match[1]!.trim(), qty: Number(match[2]) });
  }
  return {
    ok: true,
    value: {
      sku: (row.sku ?? '').trim(),
      description: (row.description ?? '').trim(),
      barcodes: listOf(row.barcodes),
      caseBarcodes: listOf(row.case_barcodes),
      caseSize: sizeText === '' ? null : Number(sizeText),
      components,
    },
  };
}
