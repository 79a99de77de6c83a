// The no-actor baseline: the same ledger rules (actors/decide.ts: `refusalFor`, `accept`) applied to
// plain objects in a Map by one writer, with group commit to LMDB. Operations queue up; the writer takes
// what has queued (up to a batch), applies it in order, writes every changed ledger and every command
// id's outcome in ONE LMDB transaction (`overlappingSync: false`, so the promise resolves once the
// transaction is fsynced), and only then answers. While a transaction is being written the next batch
// queues: one transaction in flight, as a single writer does.
//
// It writes less than the engine (no hash-chained event log, no history index, no deadlines): the
// difference between it and stockledger is what the actors, the log and the engine's bookkeeping cost.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { open } from 'lmdb';
import type { Ledger } from '../../actors/index.ts';
import { accept, commandId, emptyLedger, locationId, refusalFor, sku as skuOf } from '../../actors/index.ts';
import { stamp } from '../../engine/inputs.ts';
import { auditLedgers } from './audit.ts';
import { commandFor } from './engine.ts';
import type { Audit, Operation, Outcome, Peer, PeerInstance, PeerOpenOptions, Target } from './system.ts';

/** Operations applied and committed together, at most (stockledger's default batch is 2,048). */
const batchOperationsMax = 2_048;

interface Queued {
  readonly operation: Operation;
  readonly id: string;
  resolve(outcome: Outcome): void;
  reject(error: unknown): void;
}

export const mapLmdbPeer: Peer = {
  name: 'map+lmdb',
  description:
    'no actors: the same decide rules on plain ledgers in a Map, one writer, group commit of changed ledgers and idempotency records to LMDB (overlappingSync false)',
  open: openMapLmdb,
};

async function openMapLmdb(_options: PeerOpenOptions): Promise<PeerInstance> {
  return new MapLmdbInstance(mkdtempSync(path.join(os.tmpdir(), 'stockledger-bench-map-lmdb-')));
}

const keyOf = (location: string, sku: string) => `${location}\u0000${sku}`;

class MapLmdbInstance implements PeerInstance {
  readonly name = 'map+lmdb';
  readonly durable = true;
  readonly #dir: string;
  readonly #root: RootDatabase;
  readonly #ledgersTable: Database<Ledger, string>;
  readonly #outcomesTable: Database<string, string>;
  readonly #ledgers = new Map<string, Ledger>();
  readonly #outcomes = new Map<string, string>();
  #queue: Queued[] = [];
  #writing = false;
  #scheduled = false;
  #failure: Error | null = null;

  constructor(dir: string) {
    this.#dir = dir;
    this.#root = open({
      path: path.join(dir, 'ledger'),
      maxDbs: 4,
      overlappingSync: false,
      noSync: false,
      compression: false,
      encoding: 'msgpack',
      mapSize: 2 ** 34,
    });
    this.#ledgersTable = this.#root.openDB<Ledger, string>({
      name: 'ledgers',
      encoding: 'msgpack',
      cache: false,
    });
    this.#outcomesTable = this.#root.openDB<string, string>({
      name: 'outcomes',
      encoding: 'msgpack',
      cache: false,
    });
  }

  apply(operation: Operation, id: string): Promise<Outcome> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<Outcome>((resolve, reject) => {
      this.#queue.push({ operation, id, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#writeBatch();
    });
  }

  #writeBatch(): void {
    if (this.#writing || this.#queue.length === 0) return;
    const batch =
      this.#queue.length <= batchOperationsMax ? this.#queue : this.#queue.slice(0, batchOperationsMax);
    this.#queue = this.#queue.length <= batchOperationsMax ? [] : this.#queue.slice(batchOperationsMax);
    const atMs = Date.now();
    const changed = new Map<string, Ledger>();
    const recorded: [string, string][] = [];
    const answers: Outcome[] = [];
    for (const { operation, id } of batch) {
      const seen = this.#outcomes.get(id);
      if (seen !== undefined) {
        answers.push(seen === 'OK' ? { ok: true } : { ok: false, refusal: seen });
        continue;
      }
      const key = keyOf(operation.location, operation.sku);
      const ledger =
        this.#ledgers.get(key) ?? emptyLedger(skuOf(operation.sku), locationId(operation.location));
      const command = stamp(commandFor(operation, id), atMs);
      const refusal = refusalFor(ledger, command);
      let code = 'OK';
      if (refusal === null) {
        const next = accept(ledger, command).ledger;
        this.#ledgers.set(key, next);
        changed.set(key, next);
      } else {
        code = refusal.code;
      }
      this.#outcomes.set(id, code);
      recorded.push([id, code]);
      answers.push(code === 'OK' ? { ok: true } : { ok: false, refusal: code });
    }
    this.#writing = true;
    this.#root
      .transaction(() => {
        for (const [key, ledger] of changed) this.#ledgersTable.put(key, ledger);
        for (const [id, code] of recorded) this.#outcomesTable.put(id, code);
      })
      .then(
        () => {
          this.#writing = false;
          for (const [at, queued] of batch.entries()) queued.resolve(answers[at]!);
          this.#writeBatch();
        },
        (error: unknown) => {
          // Fail-stop: nothing more is accepted, and nothing of this batch is acknowledged.
          this.#failure = error instanceof Error ? error : new Error(String(error));
          for (const queued of [...batch, ...this.#queue]) queued.reject(this.#failure);
          this.#queue = [];
        },
      );
  }

  async stock(targets: readonly Target[], units: number): Promise<void> {
    await this.#root.transaction(() => {
      for (const target of targets) {
        const key = keyOf(target.location, target.sku);
        const ledger = this.#ledgers.get(key) ?? emptyLedger(skuOf(target.sku), locationId(target.location));
        const next = accept(ledger, {
          type: 'receive',
          commandId: commandId(`stock.${this.#ledgers.size}`),
          sku: ledger.sku,
          location: ledger.location,
          atMs: Date.now(),
          qty: units,
        }).ledger;
        this.#ledgers.set(key, next);
        this.#ledgersTable.put(key, next);
      }
    });
  }

  /**
   * Reads the ledgers back from LMDB, not from the Map: what is on disk is what counts. A ledger whose
   * version on disk differs from the one in memory is counted inconsistent too.
   */
  async audit(targets: readonly Target[]): Promise<Audit> {
    const stored: Ledger[] = [];
    let behind = 0;
    for (const key of new Set(targets.map((target) => keyOf(target.location, target.sku)))) {
      const ledger = this.#ledgersTable.get(key);
      if (ledger === undefined) continue;
      stored.push(ledger);
      if (this.#ledgers.get(key)?.version !== ledger.version) behind++;
    }
    const audit = auditLedgers(stored);
    return { ...audit, inconsistent: audit.inconsistent + behind };
  }

  async memory(): Promise<Record<string, number>> {
    const usage = process.memoryUsage();
    return { heap_used_bytes: usage.heapUsed, rss_bytes: usage.rss, ledgers: this.#ledgers.size };
  }

  async close(): Promise<void> {
    while (this.#writing || this.#queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.#root.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
