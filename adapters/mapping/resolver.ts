// The resolver adapters use to turn what a source says into what the ledger counts (DESIGN.md §7):
// a barcode or item code into a SKU, cases into units (2 cases of N = 2×N units), a kit into its
// components, a source's store code into a location. It answers a value or a reason; an adapter that
// cannot go on writes the reason as a dead letter (`orDeadLetter`), so nothing unresolved reaches an actor
// and nothing is dropped without a trace.

import { isId, quantityMax } from '../../actors/index.ts';
import type { Engine } from '../../engine/engine.ts';
import type { ItemRecord, UnitOfMeasure } from '../../engine/store/records.ts';
import { checkGtin, GTIN_LENGTHS } from './gtin.ts';
import type { Checked } from './items.ts';
import { isKit } from './items.ts';
import { locationIdOfName } from './locations.ts';
import type { MasterData } from './master-data.ts';

/** Lines one resolved request may come to, kits expanded (API.md's limit per request). */
export const resolvedLinesMax = 1_000;

/** A line as a source states it: an item code (SKU or barcode), a quantity, and its unit. */
export interface SourceLine {
  readonly code: string;
  readonly qty: number;
  /** `case`: `qty` counts cases. A case barcode counts cases whatever this says. */
  readonly unit?: UnitOfMeasure | undefined;
}

/** A line in the ledger's terms: a SKU and a quantity in base units. */
export interface UnitLine {
  readonly sku: string;
  readonly qty: number;
}

export interface ResolvedItem {
  readonly sku: string;
  readonly unit: UnitOfMeasure;
  /** Undefined for a code taken as a SKU of its own (`codesAreSkus`). */
  readonly item: ItemRecord | undefined;
}

export interface ResolverOptions {
  /**
   * A code the item master does not know is taken as a SKU of its own when it is a valid id (for a
   * source whose item codes are the SKUs, such as the sales log replay). Otherwise it is UNKNOWN_ITEM.
   */
  readonly codesAreSkus?: boolean;
  /**
   * A store code without a location code on file is taken as a place name (`locationIdOfName`).
   * Otherwise it is UNKNOWN_LOCATION_CODE.
   */
  readonly codesAreNames?: boolean;
}

export class Resolver {
  readonly #master: MasterData;
  readonly #options: ResolverOptions;

  constructor(master: MasterData, options: ResolverOptions = {}) {
    this.#master = master;
    this.#options = options;
  }

  /** A source's store code as a location id. */
  location(code: string): Checked<string> {
    const found = this.#master.locationCode(code);
    if (found !== undefined) return { ok: true, value: found.location };
    if (this.#options.codesAreNames === true) {
      const named = locationIdOfName(code);
      if (named !== null) return { ok: true, value: named };
    }
    return {
      ok: false,
      reason: `UNKNOWN_LOCATION_CODE: ${JSON.stringify(code.slice(0, 60))} is not a location code on file`,
    };
  }

  /** An item code: a barcode of the item master (unit or case), a SKU of it, or (if allowed) a SKU. */
  item(code: string): Checked<ResolvedItem> {
    const looksLikeGtin = /^[0-9]+$/.test(code) && (GTIN_LENGTHS as readonly number[]).includes(code.length);
    if (looksLikeGtin) {
      const barcode = this.#master.barcode(code);
      if (barcode !== undefined) {
        return {
          ok: true,
          value: { sku: barcode.sku, unit: barcode.unit, item: this.#master.item(barcode.sku) },
        };
      }
    }
    const item = isId(code) ? this.#master.item(code) : undefined;
    if (item !== undefined) return { ok: true, value: { sku: item.sku, unit: 'each', item } };
    if (looksLikeGtin) {
      const checked = checkGtin(code);
      if (!checked.ok) return checked;
      if (this.#options.codesAreSkus !== true) {
        return { ok: false, reason: `UNKNOWN_BARCODE: ${code} is not a barcode in the item master` };
      }
    }
    if (this.#options.codesAreSkus === true && isId(code)) {
      return { ok: true, value: { sku: code, unit: 'each', item: undefined } };
    }
    return {
      ok: false,
      reason: `UNKNOWN_ITEM: ${JSON.stringify(code.slice(0, 60))} is neither a SKU nor a barcode in the item master`,
    };
  }

  /**
   * Source lines as ledger lines: each code resolved, cases turned into units, kits into their
   * components (a kit of 2×A and 1×B sold 3 times is 6 A and 3 B), lines of one SKU summed, in the
   * order each SKU first appears.
   */
  lines(lines: readonly SourceLine[]): Checked<UnitLine[]> {
    const totals = new Map<string, number>();
    const add = (sku: string, qty: number): string | null => {
      const total = (totals.get(sku) ?? 0) + qty;
      if (total > quantityMax)
        return `QUANTITY_TOO_LARGE: ${total} units of ${sku}, more than ${quantityMax}`;
      totals.set(sku, total);
      return null;
    };
    for (const line of lines) {
      if (!(Number.isSafeInteger(line.qty) && line.qty > 0 && line.qty <= quantityMax)) {
        return {
          ok: false,
          reason: `INVALID_QUANTITY: ${line.qty} is not a whole number from 1 to ${quantityMax}`,
        };
      }
      const resolved = this.item(line.code);
      if (!resolved.ok) return resolved;
      const units = unitsOf(resolved.value, line.qty, line.unit);
      if (!units.ok) return units;
      const { item, sku } = resolved.value;
      if (item === undefined || !isKit(item)) {
        const problem = add(sku, units.value);
        if (problem !== null) return { ok: false, reason: problem };
        continue;
      }
      for (const component of item.components) {
        // Kits do not nest (the item master refuses it); a component made a kit since is refused here.
        const inner = this.#master.item(component.sku);
        if (inner !== undefined && isKit(inner)) {
          return {
            ok: false,
            reason: `KIT_NESTED: ${component.sku}, a component of ${sku}, is itself a kit`,
          };
        }
        const problem = add(component.sku, units.value * component.qty);
        if (problem !== null) return { ok: false, reason: problem };
      }
    }
    if (totals.size > resolvedLinesMax) {
      return {
        ok: false,
        reason: `TOO_MANY_LINES: ${totals.size} lines once kits are expanded, at most ${resolvedLinesMax}`,
      };
    }
    return { ok: true, value: [...totals].map(([sku, qty]) => ({ sku, qty })) };
  }
}

/** Base units of `qty` of an item: a case barcode, or a line in cases, multiplies by the case size. */
export function unitsOf(
  resolved: ResolvedItem,
  qty: number,
  unit: UnitOfMeasure | undefined,
): Checked<number> {
  if (resolved.unit !== 'case' && unit !== 'case') return { ok: true, value: qty };
  const size = resolved.item?.caseSize ?? null;
  if (size === null)
    return { ok: false, reason: `NO_CASE_SIZE: ${resolved.sku} has no case size in the item master` };
  const units = qty * size;
  if (units > quantityMax) {
    return {
      ok: false,
      reason: `QUANTITY_TOO_LARGE: ${qty} cases of ${size} is more than ${quantityMax} units`,
    };
  }
  return { ok: true, value: units };
}

export type Delivered<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string; readonly deadLetterId: string };

/**
 * The resolved value, or a dead letter: the reason, the adapter and what arrived, written (and on disk)
 * before this answers, so the caller can say where the input went.
 */
export async function orDeadLetter<T>(
  engine: Engine,
  adapter: string,
  payload: unknown,
  resolution: Checked<T>,
): Promise<Delivered<T>> {
  if (resolution.ok) return resolution;
  const letter = await engine.deadLetters.add({ adapter, reason: resolution.reason, payload });
  return { ok: false, reason: resolution.reason, deadLetterId: letter.id };
}
