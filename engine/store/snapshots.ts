// Actor snapshots, with their keyed collections (open reservation lines, return lots, inbound transfers)
// stored inline while they are small and in a table of their own once they grow.
//
// A snapshot is rewritten whenever a batch changes its actor. Inline, that rewrite costs what the whole
// ledger costs to encode: nothing for a SKU-location with a few holds, but a hot one holding thousands
// (a flash sale) would re-encode every open line in every batch, which made each hold of a 10,000-unit
// hot SKU cost 16 ms. Past `inlineEntriesMax` entries an actor is "spilled": its snapshot keeps the
// buckets and policy with empty collections, and each entry is a row of `snapshot-entries` keyed
// [actorKey, collection, id], of which a batch writes only the rows that changed. Spilling is sticky (an
// actor that once held that many lines is a hot one); both forms are read the same way here.

import type { InboundTransfer, Keyed, Ledger, ReservationLine, ReturnLot } from '../../actors/index.ts';
import { assert } from '../../actors/index.ts';
import type { Store } from './lmdb-store.ts';
import type { SnapshotRecord } from './records.ts';

/** The keyed collections of a ledger, in the order of their collection number in entry keys. */
export const COLLECTIONS = ['reservations', 'returnLots', 'inboundTransfers'] as const;
export type Collection = (typeof COLLECTIONS)[number];
export type SnapshotEntry = ReservationLine | ReturnLot | InboundTransfer;
export type SnapshotEntryKey = [actorKey: string, collection: number, id: string];

/** Entries a snapshot carries inline at most, summed over its collections; beyond, the actor spills. */
export const inlineEntriesMaxDefault = 64;

/** What the store holds of an actor, as of the last batch that changed it. */
export interface StoredSnapshot {
  readonly record: SnapshotRecord;
  /** The whole ledger, collections included whatever the form it was stored in. */
  readonly ledger: Ledger;
}

function entryCount(ledger: Ledger): number {
  return ledger.reservations.length + ledger.returnLots.length + ledger.inboundTransfers.length;
}

function leanOf(ledger: Ledger): Ledger {
  return { ...ledger, reservations: [], returnLots: [], inboundTransfers: [] };
}

/** Reads an actor's snapshot, rebuilding a spilled one's collections from its entry rows. */
export function readSnapshot(store: Store, actorKey: string): StoredSnapshot | undefined {
  const record = store.snapshots.get(actorKey);
  if (record === undefined) return undefined;
  if (record.spilled !== true) return { record, ledger: record.ledger };
  const collections: [Keyed[], Keyed[], Keyed[]] = [[], [], []];
  for (const { key, value } of store.snapshotEntries.getRange({
    start: [actorKey, 0, ''],
    end: [actorKey, COLLECTIONS.length, ''],
  })) {
    const list = collections[key[1]];
    assert(list !== undefined, `snapshot entry ${String(key)} names no collection`);
    list.push(value);
  }
  const [reservations, returnLots, inboundTransfers] = collections;
  return {
    record,
    ledger: {
      ...record.ledger,
      reservations: reservations as ReservationLine[],
      returnLots: returnLots as ReturnLot[],
      inboundTransfers: inboundTransfers as InboundTransfer[],
    },
  };
}

/** How an actor was last written, so the next write knows its form and what changed since. */
export interface WrittenSnapshot {
  readonly ledger: Ledger;
  readonly spilled: boolean;
}

/**
 * Writes an actor's snapshot inside the current write transaction. `previous` is what the store holds
 * of it (null for an actor never written); a spilled actor writes only the entry rows that differ.
 */
export function writeSnapshot(
  store: Store,
  actorKey: string,
  record: Omit<SnapshotRecord, 'spilled'>,
  previous: WrittenSnapshot | null,
  inlineEntriesMax: number,
): WrittenSnapshot {
  const { ledger } = record;
  const spilled = previous?.spilled === true || entryCount(ledger) > inlineEntriesMax;
  if (!spilled) {
    store.snapshots.put(actorKey, { ...record, spilled: false });
    return { ledger, spilled };
  }
  const before = previous?.spilled === true ? previous.ledger : null;
  for (const [at, name] of COLLECTIONS.entries()) {
    writeChanges(store, actorKey, at, before?.[name] ?? [], ledger[name]);
  }
  store.snapshots.put(actorKey, { ...record, ledger: leanOf(ledger), spilled: true });
  return { ledger, spilled };
}

/** Both arrays are sorted by id (actors/keyed.ts): one merge walk finds what was added, changed, removed. */
function writeChanges(
  store: Store,
  actorKey: string,
  collection: number,
  before: readonly SnapshotEntry[],
  after: readonly SnapshotEntry[],
): void {
  let old = 0;
  let now = 0;
  while (old < before.length || now < after.length) {
    const was = before[old];
    const is = after[now];
    if (is === undefined || (was !== undefined && was.id < is.id)) {
      store.snapshotEntries.remove([actorKey, collection, was!.id]);
      old++;
    } else if (was === undefined || is.id < was.id) {
      store.snapshotEntries.put([actorKey, collection, is.id], is);
      now++;
    } else {
      if (was !== is && !sameEntry(was, is)) store.snapshotEntries.put([actorKey, collection, is.id], is);
      old++;
      now++;
    }
  }
}

/** Entries are flat records of primitives, so comparing their own fields is exact. */
function sameEntry(left: SnapshotEntry, right: SnapshotEntry): boolean {
  const leftKeys = Object.keys(left);
  if (leftKeys.length !== Object.keys(right).length) return false;
  for (const key of leftKeys) {
    if (
      (left as unknown as Record<string, unknown>)[key] !== (right as unknown as Record<string, unknown>)[key]
    )
      return false;
  }
  return true;
}
