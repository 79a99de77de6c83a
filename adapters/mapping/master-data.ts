// Master data, stored durably: the item master (with its barcode index) and source store codes, in the
// engine's LMDB environment (tables `items`, `barcodes`, `location-codes`). Every write is one LMDB
// transaction, awaited: with `overlappingSync: false` its promise resolves only once it is on disk, so
// nothing is answered before it is durable. The checks run inside that transaction, against what is
// stored at that instant, so two imports racing cannot give one barcode to two SKUs.
//
// A batch (an import) is checked as a set, whatever the order of its rows: plain items first, then kits
// (so a kit may name a component defined further down the file); a SKU given twice with different
// contents, or a barcode claimed by two SKUs of the batch, rejects every row involved.

import type { Engine } from '../../engine/engine.ts';
import type { Store } from '../../engine/store/lmdb-store.ts';
import type { BarcodeRecord, ItemRecord, LocationCodeRecord } from '../../engine/store/records.ts';
import { normalGtin } from './gtin.ts';
import type { CatalogueView, ItemFields, ItemInput } from './items.ts';
import { checkItemInCatalogue, checkItemShape, isKit, sameItem } from './items.ts';
import type { LocationCodeFields, LocationCodeInput } from './locations.ts';
import { checkLocationCode, normalCode } from './locations.ts';

/** Rows one import may carry. */
export const importRowsMax = 50_000;

export type WriteOutcome<T> =
  | { readonly status: 'created' | 'updated' | 'unchanged'; readonly record: T }
  | { readonly status: 'rejected'; readonly reason: string };

const rejected = (reason: string) => ({ status: 'rejected', reason }) as const;

export class MasterData {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  item(sku: string): ItemRecord | undefined {
    return this.#store.items.get(sku);
  }

  /** The item if it is a kit, else null. */
  kit(sku: string): ItemRecord | null {
    const item = this.item(sku);
    return item !== undefined && isKit(item) ? item : null;
  }

  /** Which SKU a barcode names (any GTIN length), and whether it is a unit or a case. */
  barcode(text: string): BarcodeRecord | undefined {
    const gtin = normalGtin(text);
    return gtin === null ? undefined : this.#store.barcodes.get(gtin);
  }

  locationCode(code: string): LocationCodeRecord | undefined {
    const normal = normalCode(code);
    return normal === null ? undefined : this.#store.locationCodes.get(normal);
  }

  async putItem(input: ItemInput): Promise<WriteOutcome<ItemRecord>> {
    const [outcome] = await this.putItems([input]);
    return outcome!;
  }

  /** Checks and writes items as one set; one outcome per input, in input order. */
  async putItems(inputs: readonly ItemInput[]): Promise<WriteOutcome<ItemRecord>[]> {
    const store = this.#store;
    const atMs = this.#now();
    return store.root.transaction(() => {
      const outcomes: (WriteOutcome<ItemRecord> | undefined)[] = new Array(inputs.length);
      const accepted = new Map<number, ItemFields>();
      for (const [at, input] of inputs.entries()) {
        const shape = checkItemShape(input);
        if (shape.ok) accepted.set(at, shape.value);
        else outcomes[at] = rejected(shape.reason);
      }
      rejectAmbiguous(accepted, outcomes);
      const batch = new Map<string, ItemFields>();
      for (const fields of accepted.values()) batch.set(fields.sku, fields);
      const claims = new Map<string, string>();
      for (const fields of batch.values()) {
        for (const gtin of [...fields.barcodes, ...fields.caseBarcodes]) claims.set(gtin, fields.sku);
      }
      const catalogue: CatalogueView = {
        item: (sku) => batch.get(sku) ?? store.items.get(sku),
        ownerOf: (gtin) => {
          const owner = store.barcodes.get(gtin)?.sku;
          if (owner !== undefined && !batch.has(owner)) return owner;
          // A SKU of the batch has the barcodes the batch gives it, not those it had.
          return claims.get(gtin);
        },
      };
      // Plain items first, then kits, so that the order of the rows never matters.
      const ordered = [...accepted.entries()].sort(
        ([, left], [, right]) => Number(left.components.length > 0) - Number(right.components.length > 0),
      );
      for (const [at, fields] of ordered) {
        const problem = checkItemInCatalogue(fields, catalogue);
        if (problem === null) continue;
        outcomes[at] = rejected(problem);
        accepted.delete(at);
        if (batch.get(fields.sku) === fields) batch.delete(fields.sku);
        for (const gtin of [...fields.barcodes, ...fields.caseBarcodes]) {
          if (claims.get(gtin) === fields.sku) claims.delete(gtin);
        }
      }
      const writes = new Map<string, ItemRecord>();
      // Identical rows of one SKU share the first one's outcome.
      const bySku = new Map<string, WriteOutcome<ItemRecord>>();
      for (const [at, fields] of accepted) {
        const earlier = bySku.get(fields.sku);
        if (earlier !== undefined) {
          outcomes[at] = earlier;
          continue;
        }
        const stored = store.items.get(fields.sku);
        let outcome: WriteOutcome<ItemRecord>;
        if (stored !== undefined && sameItem(stored, fields))
          outcome = { status: 'unchanged', record: stored };
        else {
          const record: ItemRecord = { ...fields, revision: (stored?.revision ?? 0) + 1, updatedAtMs: atMs };
          writes.set(fields.sku, record);
          outcome = { status: stored === undefined ? 'created' : 'updated', record };
        }
        bySku.set(fields.sku, outcome);
        outcomes[at] = outcome;
      }
      // Barcodes dropped first, then the new ones, so one may move between two SKUs of the batch.
      for (const record of writes.values()) {
        const before = store.items.get(record.sku);
        for (const gtin of [...(before?.barcodes ?? []), ...(before?.caseBarcodes ?? [])]) {
          if (store.barcodes.get(gtin)?.sku === record.sku) store.barcodes.remove(gtin);
        }
      }
      for (const record of writes.values()) {
        store.items.put(record.sku, record);
        for (const gtin of record.barcodes) store.barcodes.put(gtin, { sku: record.sku, unit: 'each' });
        for (const gtin of record.caseBarcodes) store.barcodes.put(gtin, { sku: record.sku, unit: 'case' });
      }
      return outcomes.map((outcome) => outcome ?? rejected('INTERNAL: no outcome'));
    });
  }

  async putLocationCode(input: LocationCodeInput): Promise<WriteOutcome<LocationCodeRecord>> {
    const [outcome] = await this.putLocationCodes([input]);
    return outcome!;
  }

  async putLocationCodes(inputs: readonly LocationCodeInput[]): Promise<WriteOutcome<LocationCodeRecord>[]> {
    const store = this.#store;
    const atMs = this.#now();
    return store.root.transaction(() => {
      const outcomes: (WriteOutcome<LocationCodeRecord> | undefined)[] = new Array(inputs.length);
      const accepted = new Map<number, LocationCodeFields>();
      for (const [at, input] of inputs.entries()) {
        const checked = checkLocationCode(input);
        if (checked.ok) accepted.set(at, checked.value);
        else outcomes[at] = rejected(checked.reason);
      }
      const byCode = new Map<string, number[]>();
      for (const [at, fields] of accepted) byCode.set(fields.code, [...(byCode.get(fields.code) ?? []), at]);
      for (const [code, rows] of byCode) {
        const first = accepted.get(rows[0]!)!;
        const differ = rows.some((at) => {
          const other = accepted.get(at)!;
          return other.location !== first.location || other.name !== first.name;
        });
        if (!differ) continue;
        for (const at of rows) {
          outcomes[at] = rejected(
            `DUPLICATE_CODE: ${code} is given ${rows.length} times with different contents`,
          );
          accepted.delete(at);
        }
      }
      const outcomeByCode = new Map<string, WriteOutcome<LocationCodeRecord>>();
      for (const [at, fields] of accepted) {
        const earlier = outcomeByCode.get(fields.code);
        if (earlier !== undefined) {
          outcomes[at] = earlier;
          continue;
        }
        const stored = store.locationCodes.get(fields.code);
        let outcome: WriteOutcome<LocationCodeRecord>;
        if (stored !== undefined && stored.location === fields.location && stored.name === fields.name) {
          outcome = { status: 'unchanged', record: stored };
        } else {
          const record: LocationCodeRecord = {
            ...fields,
            revision: (stored?.revision ?? 0) + 1,
            updatedAtMs: atMs,
          };
          store.locationCodes.put(fields.code, record);
          outcome = { status: stored === undefined ? 'created' : 'updated', record };
        }
        outcomeByCode.set(fields.code, outcome);
        outcomes[at] = outcome;
      }
      return outcomes.map((outcome) => outcome ?? rejected('INTERNAL: no outcome'));
    });
  }
}

/**
 * Within one batch, a SKU given twice with different contents is ambiguous (which row wins would depend
 * on their order), and so is a barcode given to two SKUs: every row involved is rejected.
 */
function rejectAmbiguous(
  accepted: Map<number, ItemFields>,
  outcomes: (WriteOutcome<ItemRecord> | undefined)[],
): void {
  const bySku = new Map<string, number[]>();
  for (const [at, fields] of accepted) bySku.set(fields.sku, [...(bySku.get(fields.sku) ?? []), at]);
  for (const [sku, rows] of bySku) {
    const first = accepted.get(rows[0]!)!;
    const record = { ...first, revision: 0, updatedAtMs: 0 };
    if (rows.every((at) => sameItem(record, accepted.get(at)!))) continue;
    for (const at of rows) {
      outcomes[at] = rejected(`DUPLICATE_SKU: ${sku} is given ${rows.length} times with different contents`);
      accepted.delete(at);
    }
  }
  const owners = new Map<string, Set<string>>();
  for (const fields of accepted.values()) {
    for (const gtin of [...fields.barcodes, ...fields.caseBarcodes]) {
      owners.set(gtin, (owners.get(gtin) ?? new Set()).add(fields.sku));
    }
  }
  for (const [at, fields] of accepted) {
    const gtin = [...fields.barcodes, ...fields.caseBarcodes].find(
      (candidate) => owners.get(candidate)!.size > 1,
    );
    if (gtin === undefined) continue;
    const others = [...owners.get(gtin)!].filter((sku) => sku !== fields.sku);
    outcomes[at] = rejected(`BARCODE_CONFLICT: ${gtin} is given to ${others.join(', ')} too`);
    accepted.delete(at);
  }
}

const instances = new WeakMap<Store, MasterData>();

/** The master data of an engine's data directory (one instance per open store). */
export function masterDataOf(engine: Engine): MasterData {
  let found = instances.get(engine.store);
  if (found === undefined) {
    found = new MasterData(engine.store, () => engine.now());
    instances.set(engine.store, found);
  }
  return found;
}
