// Dead letters (DESIGN.md §7): input that could not become a command is kept, with its source payload,
// the reason, the adapter and the time, until an operator retries or discards it. Nothing is erased: a
// discarded letter stays, marked, with the operator's reason. Each write is awaited until it is on disk.

import { randomUUID } from 'node:crypto';
import type { Store } from './store/lmdb-store.ts';
import type { DeadLetterRecord, DeadLetterStatus } from './store/records.ts';

/** Letters one listing returns at most. */
export const deadLettersPerPageMax = 500;
/** The largest payload kept verbatim; a larger one is truncated (its size is recorded). */
export const deadLetterPayloadBytesMax = 64 * 1024;

export interface NewDeadLetter {
  readonly adapter: string;
  readonly reason: string;
  readonly payload: unknown;
}

export interface DeadLetterFilter {
  readonly status?: DeadLetterStatus;
  readonly adapter?: string;
  readonly reason?: string;
  readonly after?: string;
  readonly limit: number;
}

function boundedPayload(payload: unknown): unknown {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  if (text === undefined) return null;
  if (Buffer.byteLength(text) <= deadLetterPayloadBytesMax) return payload;
  return {
    truncated: true,
    bytes: Buffer.byteLength(text),
    head: text.slice(0, deadLetterPayloadBytesMax / 2),
  };
}

export class DeadLetters {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  /** Ids sort by time: a millisecond timestamp in base 36, then a random suffix. */
  async add(letter: NewDeadLetter): Promise<DeadLetterRecord> {
    const atMs = this.#now();
    const id = `dl-${atMs.toString(36).padStart(9, '0')}-${randomUUID().slice(0, 8)}`;
    const record: DeadLetterRecord = {
      id,
      adapter: letter.adapter,
      reason: letter.reason,
      payload: boundedPayload(letter.payload),
      atMs,
      status: 'open',
      history: [],
    };
    await this.#store.deadLetters.put(id, record);
    return record;
  }

  async addMany(letters: readonly NewDeadLetter[]): Promise<DeadLetterRecord[]> {
    return Promise.all(letters.map((letter) => this.add(letter)));
  }

  get(id: string): DeadLetterRecord | undefined {
    return this.#store.deadLetters.get(id);
  }

  list(filter: DeadLetterFilter): { letters: DeadLetterRecord[]; next: string | null } {
    const letters: DeadLetterRecord[] = [];
    const limit = Math.min(filter.limit, deadLettersPerPageMax);
    const start = filter.after === undefined ? undefined : `${filter.after}\u0000`;
    for (const { value } of this.#store.deadLetters.getRange(start === undefined ? {} : { start })) {
      if (filter.status !== undefined && value.status !== filter.status) continue;
      if (filter.adapter !== undefined && value.adapter !== filter.adapter) continue;
      if (filter.reason !== undefined && !value.reason.startsWith(filter.reason)) continue;
      if (letters.length === limit) return { letters, next: letters.at(-1)?.id ?? null };
      letters.push(value);
    }
    return { letters, next: null };
  }

  /** Open letters counted by adapter and reason (the reason's text up to its first colon). */
  countsByReason(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { value } of this.#store.deadLetters.getRange({})) {
      if (value.status !== 'open') continue;
      const key = `${value.adapter}\u0000${value.reason.split(':')[0]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  /** Read and written in one transaction, so a concurrent retry and discard cannot lose an entry. */
  async mark(
    id: string,
    status: DeadLetterStatus,
    action: string,
    note: string,
  ): Promise<DeadLetterRecord | undefined> {
    const atMs = this.#now();
    const table = this.#store.deadLetters;
    return this.#store.root.transaction(() => {
      const current = table.get(id);
      if (current === undefined) return undefined;
      const next: DeadLetterRecord = {
        ...current,
        status,
        history: [...current.history, { atMs, action, note }],
      };
      table.put(id, next);
      return next;
    });
  }
}
