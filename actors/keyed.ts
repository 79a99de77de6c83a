// Open reservation lines, return lots and inbound transfers are kept as arrays sorted by id.
// A lookup is a binary search and an update copies one array of pointers (a few microseconds at
// the 10,000-entry limit), so a hot SKU-location with thousands of open holds stays cheap, while
// the ledger stays immutable plain data whose order (by id) is canonical: two ledgers that hold the
// same lines serialise to the same bytes whatever order the lines arrived in.

export interface Keyed {
  readonly id: string;
}

/** The position of `id`, or where it would be inserted to keep the order. */
export function positionOf(entries: readonly Keyed[], id: string): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (entries[middle]!.id < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function findEntry<T extends Keyed>(entries: readonly T[], id: string): T | undefined {
  const at = positionOf(entries, id);
  const entry = entries[at];
  return entry !== undefined && entry.id === id ? entry : undefined;
}

/** A copy with `entry` inserted, or replacing the entry with the same id. */
export function putEntry<T extends Keyed>(entries: readonly T[], entry: T): readonly T[] {
  const at = positionOf(entries, entry.id);
  return entries[at]?.id === entry.id ? entries.with(at, entry) : entries.toSpliced(at, 0, entry);
}

/** A copy without the entry of that id (the same array when there is none). */
export function removeEntry<T extends Keyed>(entries: readonly T[], id: string): readonly T[] {
  const at = positionOf(entries, id);
  return entries[at]?.id === id ? entries.toSpliced(at, 1) : entries;
}

/** True when the ids are strictly increasing: the invariant every keyed array keeps. */
export function isSortedById(entries: readonly Keyed[]): boolean {
  for (let at = 1; at < entries.length; at++) {
    if (!(entries[at - 1]!.id < entries[at]!.id)) return false;
  }
  return true;
}
