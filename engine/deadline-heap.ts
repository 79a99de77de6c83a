// A binary min-heap of reservation deadlines for one shard. Entries are never removed from the
// middle: a popped deadline whose line was committed or closed in the meantime is simply skipped by
// the caller (lazy deletion), which keeps every operation O(log n) and the structure trivially bounded
// by the open holds it was fed.

export interface Deadline {
  readonly expiresAtMs: number;
  readonly actorKey: string;
  readonly reservationId: string;
}

export class DeadlineHeap {
  readonly #entries: Deadline[] = [];

  get size(): number {
    return this.#entries.length;
  }

  push(deadline: Deadline): void {
    const entries = this.#entries;
    entries.push(deadline);
    let at = entries.length - 1;
    while (at > 0) {
      const parent = (at - 1) >>> 1;
      if (entries[parent]!.expiresAtMs <= entries[at]!.expiresAtMs) break;
      [entries[parent], entries[at]] = [entries[at]!, entries[parent]!];
      at = parent;
    }
  }

  peek(): Deadline | undefined {
    return this.#entries[0];
  }

  /** Removes and returns the earliest deadline if it is due at `nowMs`. */
  popDue(nowMs: number): Deadline | undefined {
    const entries = this.#entries;
    const top = entries[0];
    if (top === undefined || top.expiresAtMs > nowMs) return undefined;
    const last = entries.pop()!;
    if (entries.length > 0) {
      entries[0] = last;
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let smallest = at;
        if (left < entries.length && entries[left]!.expiresAtMs < entries[smallest]!.expiresAtMs)
          smallest = left;
        if (right < entries.length && entries[right]!.expiresAtMs < entries[smallest]!.expiresAtMs)
          smallest = right;
        if (smallest === at) break;
        [entries[smallest], entries[at]] = [entries[at]!, entries[smallest]!];
        at = smallest;
      }
    }
    return top;
  }

  /** Deadlines due by `nowMs` that are not yet popped. */
  countDueBy(nowMs: number): number {
    let due = 0;
    for (const entry of this.#entries) if (entry.expiresAtMs <= nowMs) due++;
    return due;
  }
}
