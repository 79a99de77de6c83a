// Offline verification of a data directory (DESIGN.md §4, §9 `stockledger verify`). It opens the store
// read-only, so it never changes what it checks, and takes the shard count from the stored layout. It
// proves: every shard's log is a gap-free hash chain from the genesis hash; folding each actor's logged
// events with `evolve` from `emptyLedger` gives its snapshot exactly, and the snapshot points at the last
// record that touched it; and every other table agrees with the log and the replay: the history index,
// the idempotency table and its age index, the reservation, transfer and return headers, the outbox, the
// deadlines, the SKU-location index and the commit feed. Each finding is a sentence naming what differs.
//
// What it cannot prove: a record appended after the last one, or the last record of a shard rewritten,
// leaves no broken link (nothing outside the log holds the newest hash); replay and the tables still
// catch such a change whenever it alters what the actors or the indexes say.
//
// Memory: the log is streamed record by record in key order (shard by shard) and nothing of a record is
// kept once it is folded, except each actor's replayed ledger (a Map for now) and each header id's logged
// revisions. Every other table is read once, in key order, with point reads into the rest.

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'lmdb';
import { open } from 'lmdb';
import type { Ledger, LedgerEvent, SkuLocationCommand } from '../actors/index.ts';
import {
  actorKeyOf,
  emptyLedger,
  evolve,
  findEntry,
  locationId,
  REFUSAL_CODES,
  sku as skuOf,
} from '../actors/index.ts';
import { positionOf } from './inputs.ts';
import { shardOf } from './shard-of.ts';
import type { Layout, Store } from './store/lmdb-store.ts';
import { decodeLogRecord, GENESIS_HASH, hashOf, openStore, tableOptions } from './store/lmdb-store.ts';
import type { CommandEntry, IdempotencyRecord, LogRecord } from './store/records.ts';
import type { StoredSnapshot } from './store/snapshots.ts';
import { COLLECTIONS, readSnapshot } from './store/snapshots.ts';

/** Problems listed in a report, at most; the rest are counted in one closing sentence. */
const problemsMax = 1_000;
/** How often progress is reported, in log records. */
const progressEveryRecords = 1_000;
/** How deep two stored values are compared; a ledger is four levels deep, a header three. */
const comparisonDepthMax = 16;
/** Differing fields named in one problem sentence, at most. */
const differencesNamedMax = 3;

export interface VerifyOptions {
  readonly dataDir: string;
  /** Called every so many log records, and once at the end, with the records done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly shards: number;
  readonly records: number;
  readonly events: number;
  readonly actors: number;
  /** Each a sentence naming what differs; empty when `ok`. */
  readonly problems: readonly string[];
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
}

/** An actor as the replay rebuilt it, and where its history lives in the log. */
interface Replayed {
  ledger: Ledger;
  readonly shard: number;
  /** The sequence of the last record that held one of its command entries. */
  sequence: number;
  /** Set when its history cannot be folded; its snapshot is then not compared. */
  broken: boolean;
}

class Problems {
  readonly list: string[] = [];
  #dropped = 0;

  add(sentence: string): void {
    if (this.list.length < problemsMax) this.list.push(sentence);
    else this.#dropped++;
  }

  get count(): number {
    return this.list.length + this.#dropped;
  }

  get full(): boolean {
    return this.list.length >= problemsMax;
  }

  finish(): string[] {
    if (this.#dropped > 0) this.list.push(`... and ${this.#dropped} more problems not listed`);
    return this.list;
  }
}

/**
 * Whether two stored values are equal, allocating nothing (the common case); see `differences` for the
 * rules, which this keeps.
 */
function sameValue(expected: unknown, actual: unknown, depth = 0): boolean {
  if (expected === actual) return true;
  if (
    depth >= comparisonDepthMax ||
    typeof expected !== 'object' ||
    typeof actual !== 'object' ||
    expected === null ||
    actual === null
  ) {
    return false;
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual) || expected.length !== actual.length) return false;
    for (let index = 0; index < expected.length; index++) {
      if (!sameValue(expected[index], actual[index], depth + 1)) return false;
    }
    return true;
  }
  const left = expected as Record<string, unknown>;
  const right = actual as Record<string, unknown>;
  let leftDefined = 0;
  for (const key of Object.keys(left)) {
    if (left[key] === undefined) continue;
    leftDefined++;
    if (!sameValue(left[key], right[key], depth + 1)) return false;
  }
  let rightDefined = 0;
  for (const key of Object.keys(right)) if (right[key] !== undefined) rightDefined++;
  return leftDefined === rightDefined;
}

/** The differences between two stored values, named; empty when they are equal. */
function compare(expected: unknown, actual: unknown): string[] {
  return sameValue(expected, actual) ? [] : differences(expected, actual);
}

/**
 * The paths at which two stored values differ (at most a few). Numbers compare with `===`, so a `-0`
 * that msgpack wrote as `0` is no difference; `undefined` and a missing property are the same.
 */
function differences(expected: unknown, actual: unknown, at = '', depth = 0, found: string[] = []): string[] {
  if (found.length >= differencesNamedMax) return found;
  if (expected === actual) return found;
  const describe = () =>
    found.push(`${at === '' ? 'the value' : at}: ${brief(actual)} instead of ${brief(expected)}`);
  if (
    depth >= comparisonDepthMax ||
    typeof expected !== 'object' ||
    typeof actual !== 'object' ||
    expected === null ||
    actual === null ||
    Array.isArray(expected) !== Array.isArray(actual)
  ) {
    describe();
    return found;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      found.push(
        `${at === '' ? 'the value' : at} has ${actual.length} entries instead of ${expected.length}`,
      );
      return found;
    }
    for (let index = 0; index < expected.length; index++) {
      differences(expected[index], actual[index], `${at}[${index}]`, depth + 1, found);
    }
    return found;
  }
  const left = expected as Record<string, unknown>;
  const right = actual as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) {
    differences(left[key], right[key], at === '' ? key : `${at}.${key}`, depth + 1, found);
  }
  return found;
}

function brief(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let at = 0; at < left.length; at++) if (left[at] !== right[at]) return false;
  return true;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the layout the directory was created with, so that the shard count comes from disk, not config. */
function storedLayout(dataDir: string): Layout {
  const file = path.join(dataDir, 'ledger');
  if (!existsSync(file)) throw new Error(`no stockledger data in ${dataDir}: ${file} does not exist`);
  const root = open({ path: file, readOnly: true, maxDbs: 16, encoding: 'msgpack', compression: false });
  try {
    const layout = root.openDB<Layout, string>(tableOptions('meta')).get('layout');
    if (layout === undefined) throw new Error(`no stockledger layout in ${dataDir}`);
    return layout;
  } finally {
    root.close();
  }
}

function actorKeyOfCommand(command: SkuLocationCommand): string {
  return actorKeyOf(locationId(command.location), skuOf(command.sku));
}

/** An ok `command:` idempotency record's claim: which actor, from which version, with which events. */
interface OkCommandResult {
  readonly commandId: string;
  readonly location: string;
  readonly sku: string;
  readonly events: readonly LedgerEvent[];
  readonly position: Readonly<Record<string, unknown>>;
}

function okCommandResult(record: IdempotencyRecord): OkCommandResult | null {
  const result = record.result;
  if (!isRecord(result) || result.ok !== true) return null;
  const position = result.position;
  const events = result.events;
  if (!isRecord(position) || !Array.isArray(events) || events.length === 0) return null;
  if (typeof result.commandId !== 'string') return null;
  if (typeof position.location !== 'string' || typeof position.sku !== 'string') return null;
  return {
    commandId: result.commandId,
    location: position.location,
    sku: position.sku,
    events: events as LedgerEvent[],
    position,
  };
}

const commandKeyPrefix = 'command:';

/** Coordinator headers: each state is logged as an entry of this kind, and the last one is in its table. */
const HEADER_KINDS = ['reservation', 'transfer', 'return'] as const;
type HeaderKind = (typeof HEADER_KINDS)[number];
const HEADER_ID_FIELDS = {
  reservation: 'reservationId',
  transfer: 'transferId',
  return: 'returnId',
} as const;

function headerTable(store: Store, kind: HeaderKind): Database<{ readonly revision: number }, string> {
  switch (kind) {
    case 'reservation':
      return store.reservations;
    case 'transfer':
      return store.transfers;
    case 'return':
      return store.returns;
  }
}

/** The revisions of one header id seen in the log: the highest, and the last in each shard. */
interface HeaderRevisions {
  highest: number;
  readonly lastByShard: Map<number, number>;
}

class Verifier {
  readonly #store: Store;
  readonly #problems = new Problems();
  readonly #replayed = new Map<string, Replayed>();
  /** The logged revisions of each coordinator header, by kind and id. */
  readonly #headerRevisions = new Map<HeaderKind, Map<string, HeaderRevisions>>(
    HEADER_KINDS.map((kind) => [kind, new Map()]),
  );
  #records = 0;
  #events = 0;
  /** Ok `command:` idempotency records that the log streaming found their entry for. */
  #idempotencyMatched = 0;

  constructor(store: Store) {
    this.#store = store;
  }

  run(onProgress: ((done: number, total: number) => void) | undefined): VerifyReport['problems'] {
    const total = this.#store.log.getCount();
    this.#streamLog(total, onProgress);
    onProgress?.(this.#records, total);
    this.#checkSnapshots();
    this.#checkHistoryExtras();
    this.#checkIdempotency();
    this.#checkHeaders();
    this.#checkOutbox();
    this.#checkDeadlines();
    this.#checkSkuLocations();
    this.#checkFeed();
    return this.#problems.finish();
  }

  get counts(): { records: number; events: number; actors: number } {
    return { records: this.#records, events: this.#events, actors: this.#replayed.size };
  }

  // ---- the log: hash chain and replay ------------------------------------------------------------

  #streamLog(total: number, onProgress: ((done: number, total: number) => void) | undefined): void {
    const shardCount = this.#store.layout.shardCount;
    let shard = -1;
    let expectedSequence = 1;
    let previousHash: Uint8Array = GENESIS_HASH;
    let previousAtMs = 0;
    for (const { key, value } of this.#store.log.getRange({})) {
      const [keyShard, sequence] = key;
      if (keyShard !== shard) {
        if (!(Number.isSafeInteger(keyShard) && keyShard >= 0 && keyShard < shardCount)) {
          this.#problems.add(
            `the log holds a record under shard ${keyShard}, outside the ${shardCount} shards`,
          );
        }
        shard = keyShard;
        expectedSequence = 1;
        previousHash = GENESIS_HASH;
        previousAtMs = 0;
      }
      if (sequence !== expectedSequence) {
        this.#problems.add(
          `hash chain broken in shard ${shard} at sequence ${sequence}: expected sequence ${expectedSequence} (a gap or a stray record)`,
        );
      }
      this.#records++;
      const bytes = value;
      const hash = hashOf(bytes);
      let record: LogRecord | null = null;
      try {
        record = decodeLogRecord(bytes);
      } catch (error) {
        this.#problems.add(`log record ${shard}/${sequence} cannot be decoded: ${messageOf(error)}`);
      }
      if (record !== null) {
        if (!(record.previousHash instanceof Uint8Array) || !equalBytes(record.previousHash, previousHash)) {
          this.#problems.add(
            expectedSequence === 1
              ? `hash chain broken in shard ${shard} at sequence ${sequence}: previousHash is not the genesis hash (32 zero bytes)`
              : `hash chain broken in shard ${shard} at sequence ${sequence}: previousHash is not the SHA-256 of record ${expectedSequence - 1}, the record before it`,
          );
        }
        if (record.shard !== shard || record.sequence !== sequence) {
          this.#problems.add(
            `log record ${shard}/${sequence} says it is record ${String(record.shard)}/${String(record.sequence)}`,
          );
        }
        if (typeof record.atMs !== 'number' || record.atMs < previousAtMs) {
          this.#problems.add(
            `log record ${shard}/${sequence} is stamped ${record.atMs}, before the record it follows`,
          );
        } else {
          previousAtMs = record.atMs;
        }
        this.#replayRecord(record, shard, sequence);
      }
      previousHash = hash;
      expectedSequence = sequence + 1;
      if (onProgress !== undefined && this.#records % progressEveryRecords === 0)
        onProgress(this.#records, total);
    }
  }

  #replayRecord(record: LogRecord, shard: number, sequence: number): void {
    if (!Array.isArray(record.entries)) {
      this.#problems.add(`log record ${shard}/${sequence} has no list of entries`);
      return;
    }
    record.entries.forEach((entry, index) => {
      const where = `log record ${shard}/${sequence} entry ${index}`;
      if (!isRecord(entry as unknown)) {
        this.#problems.add(`${where} is not an entry`);
        return;
      }
      try {
        switch (entry.kind) {
          case 'command':
            this.#replayCommand(entry, shard, sequence, index, record.atMs);
            return;
          case 'reservation':
          case 'transfer':
          case 'return':
            this.#noteHeader(entry.kind, entry.header, shard, where);
            return;
          default:
            this.#problems.add(`${where} is of unknown kind ${brief((entry as { kind: unknown }).kind)}`);
        }
      } catch (error) {
        // Only a malformed (tampered) entry gets here: the domain's own folds report through `broken`.
        this.#problems.add(`${where} cannot be checked: ${messageOf(error)}`);
      }
    });
  }

  #replayCommand(entry: CommandEntry, shard: number, sequence: number, index: number, atMs: number): void {
    const where = `log record ${shard}/${sequence} entry ${index}`;
    const command = entry.command;
    if (!isRecord(command) || typeof command.location !== 'string' || typeof command.sku !== 'string') {
      this.#problems.add(`${where} names no SKU-location`);
      return;
    }
    if (!Array.isArray(entry.events) || entry.events.length === 0) {
      this.#problems.add(`${where} (command ${command.commandId}) recorded no events`);
      return;
    }
    const key = actorKeyOfCommand(command);
    let actor = this.#replayed.get(key);
    if (actor === undefined) {
      const home = shardOf(command.location, this.#store.layout.shardCount);
      if (home !== shard) {
        this.#problems.add(`actor ${key} belongs to shard ${home} but its history starts in shard ${shard}`);
      }
      actor = {
        ledger: emptyLedger(skuOf(command.sku), locationId(command.location)),
        shard,
        sequence,
        broken: false,
      };
      this.#replayed.set(key, actor);
    } else if (actor.shard !== shard) {
      this.#problems.add(`actor ${key} has history in shard ${actor.shard} and in shard ${shard} (${where})`);
    }
    actor.sequence = sequence;
    this.#events += entry.events.length;
    for (const event of entry.events) {
      if (event.commandId !== command.commandId || event.atMs !== command.atMs) {
        this.#problems.add(
          `${where}: event version ${event.version} carries command ${event.commandId} at ${event.atMs}, not the command's ${command.commandId} at ${command.atMs}`,
        );
      }
      if (actor.broken) continue;
      try {
        actor.ledger = evolve(actor.ledger, event);
      } catch (error) {
        actor.broken = true;
        this.#problems.add(`replay of actor ${key} fails at ${where}: ${messageOf(error)}`);
      }
    }
    this.#checkHistoryOf(key, entry.events, { shard, sequence, entry: index, atMs }, where);
    this.#matchIdempotency(key, entry, actor.broken ? null : actor.ledger, where);
  }

  /** The first event's version must index this entry; other versions, where indexed, must too. */
  #checkHistoryOf(
    key: string,
    events: readonly LedgerEvent[],
    pointer: { shard: number; sequence: number; entry: number; atMs: number },
    where: string,
  ): void {
    for (const [at, event] of events.entries()) {
      const stored = this.#store.history.get([key, event.version]);
      if (stored === undefined) {
        if (at === 0)
          this.#problems.add(`history index has no entry for ${key} version ${event.version} (${where})`);
        continue;
      }
      const found = compare(pointer, stored);
      if (found.length > 0) {
        this.#problems.add(
          `history index entry ${key} version ${event.version} does not point at ${where}: ${found.join('; ')}`,
        );
      }
    }
  }

  /**
   * A logged command whose `command:` key is still retained must be that key's ok outcome: the same events,
   * and the position it answered must be the replayed ledger's right after them.
   */
  #matchIdempotency(key: string, entry: CommandEntry, replayed: Ledger | null, where: string): void {
    const record = this.#store.idempotency.get(`${commandKeyPrefix}${entry.command.commandId}`);
    if (record === undefined) return;
    const claim = okCommandResult(record);
    // A refused outcome, or an older use of the same id after its record was pruned, is not this entry's.
    if (claim === null || actorKeyOf(locationId(claim.location), skuOf(claim.sku)) !== key) return;
    if (claim.events[0]?.version !== entry.events[0]?.version) return;
    const found = compare(entry.events, claim.events);
    if (found.length > 0) {
      this.#problems.add(
        `idempotency record ${commandKeyPrefix}${entry.command.commandId} answers events that differ from ${where}: ${found.join('; ')}`,
      );
      return;
    }
    this.#idempotencyMatched++;
    const positionFound = replayed === null ? [] : compare(positionOf(replayed), claim.position);
    if (positionFound.length > 0) {
      this.#problems.add(
        `idempotency record ${commandKeyPrefix}${entry.command.commandId} answers a position that differs from the replay after ${where}: ${positionFound.join('; ')}`,
      );
    }
  }

  /**
   * A header's states are logged in order within a shard, but one id may be logged in two shards (a
   * transfer ships in its source's shard and arrives in its destination's), so across shards the last
   * state is the one with the highest revision.
   */
  #noteHeader(kind: HeaderKind, header: unknown, shard: number, where: string): void {
    const id = isRecord(header) ? header[HEADER_ID_FIELDS[kind]] : undefined;
    if (!isRecord(header) || typeof id !== 'string' || !Number.isSafeInteger(header.revision)) {
      this.#problems.add(`${where} is a ${kind} entry without an id and revision`);
      return;
    }
    const revision = header.revision as number;
    const revisions = this.#headerRevisions.get(kind)!;
    const seen = revisions.get(id);
    const lastInShard = seen?.lastByShard.get(shard);
    if (lastInShard !== undefined && revision <= lastInShard) {
      this.#problems.add(
        `${kind} ${id} is logged at revision ${revision} after revision ${lastInShard} (${where})`,
      );
    }
    if (seen === undefined) {
      revisions.set(id, { highest: revision, lastByShard: new Map([[shard, revision]]) });
    } else {
      seen.highest = Math.max(seen.highest, revision);
      seen.lastByShard.set(shard, revision);
    }
    const stored = headerTable(this.#store, kind).get(id);
    if (stored === undefined) {
      if (seen === undefined) this.#problems.add(`${kind} ${id} is logged (${where}) but has no header`);
      return;
    }
    if (stored.revision !== revision) return;
    const found = compare(header, stored);
    if (found.length > 0) {
      this.#problems.add(
        `${kind} header ${id} differs from its logged revision ${revision} (${where}): ${found.join('; ')}`,
      );
    }
  }

  // ---- the tables against the replay --------------------------------------------------------------

  #checkSnapshots(): void {
    for (const [key, actor] of this.#replayed) {
      let stored: StoredSnapshot | undefined;
      try {
        stored = readSnapshot(this.#store, key);
      } catch (error) {
        this.#problems.add(`snapshot ${key} cannot be read: ${messageOf(error)}`);
        continue;
      }
      if (stored === undefined) {
        this.#problems.add(
          `actor ${key} has log history (last in ${actor.shard}/${actor.sequence}) but no snapshot`,
        );
        continue;
      }
      const snapshot = stored.record;
      if (snapshot.shard !== actor.shard || snapshot.sequence !== actor.sequence) {
        this.#problems.add(
          `snapshot ${key} points at log record ${snapshot.shard}/${snapshot.sequence}, but the last record that touched it is ${actor.shard}/${actor.sequence}`,
        );
      }
      if (snapshot.spilled === true && COLLECTIONS.some((name) => snapshot.ledger[name].length > 0)) {
        this.#problems.add(`snapshot ${key} is spilled but still holds entries inline`);
      }
      if (actor.broken) continue;
      const found = compare(actor.ledger, stored.ledger);
      if (found.length > 0) {
        this.#problems.add(`snapshot ${key} differs from the replay of its log: ${found.join('; ')}`);
      }
    }
    for (const key of this.#store.snapshots.getKeys({})) {
      if (typeof key !== 'string' || !this.#replayed.has(key)) {
        this.#problems.add(`snapshot ${String(key)} has no log history`);
      }
    }
    // Entry rows belong to spilled snapshots only; a spilled one's rows were compared above.
    let lastActor: string | null = null;
    let spilled = false;
    for (const key of this.#store.snapshotEntries.getKeys({})) {
      const actorKey = Array.isArray(key) ? String(key[0]) : String(key);
      if (actorKey !== lastActor) {
        lastActor = actorKey;
        spilled = this.#store.snapshots.get(actorKey)?.spilled === true;
        if (!spilled) this.#problems.add(`snapshot entries of ${actorKey} belong to no spilled snapshot`);
      }
    }
  }

  /** Every index entry for a version in an actor's history was checked during replay; this finds the rest. */
  #checkHistoryExtras(): void {
    for (const key of this.#store.history.getKeys({})) {
      const [actorKey, version] = key;
      const actor = this.#replayed.get(actorKey);
      if (actor === undefined) {
        this.#problems.add(
          `history index has entry ${actorKey} version ${version} for an actor with no log history`,
        );
      } else if (
        !(Number.isSafeInteger(version) && version >= 1 && version <= actor.ledger.version) &&
        !actor.broken
      ) {
        this.#problems.add(
          `history index has entry ${actorKey} version ${version}, beyond the actor's ${actor.ledger.version} events`,
        );
      }
    }
  }

  #checkIdempotency(): void {
    let okCommandRecords = 0;
    let aged = 0;
    for (const { key, value } of this.#store.idempotency.getRange({})) {
      if (typeof key !== 'string' || !isRecord(value)) {
        this.#problems.add(`idempotency record ${String(key)} is not a record`);
        continue;
      }
      const record = value as unknown as IdempotencyRecord;
      if (typeof record.fingerprint !== 'string' || record.fingerprint.length === 0) {
        this.#problems.add(`idempotency record ${key} has no fingerprint`);
      }
      if (!(Number.isSafeInteger(record.atMs) && record.atMs >= 0)) {
        this.#problems.add(`idempotency record ${key} has no valid time (${brief(record.atMs)})`);
        continue;
      }
      if (this.#store.idempotencyAge.doesExist([record.atMs, key])) {
        aged++;
      } else {
        this.#problems.add(
          `idempotency record ${key} (at ${record.atMs}) has no age index entry, so it is never pruned`,
        );
      }
      if (!key.startsWith(commandKeyPrefix)) continue;
      const commandId = key.slice(commandKeyPrefix.length);
      const result = record.result;
      if (!isRecord(result) || typeof result.ok !== 'boolean' || result.commandId !== commandId) {
        this.#problems.add(`idempotency record ${key} does not hold an outcome of command ${commandId}`);
        continue;
      }
      if (result.ok) {
        okCommandRecords++;
        const claim = okCommandResult(record);
        if (claim === null) {
          this.#problems.add(`idempotency record ${key} is an accepted outcome without events or position`);
          continue;
        }
        const actorKey = actorKeyOf(locationId(claim.location), skuOf(claim.sku));
        const version = claim.events[0]?.version;
        if (!this.#store.history.doesExist([actorKey, version ?? 0])) {
          this.#problems.add(
            `idempotency record ${key} answers an accepted outcome (${actorKey} version ${version}) for which the history index names no log entry`,
          );
        }
      } else if (
        !isRecord(result.refusal) ||
        !(REFUSAL_CODES as readonly unknown[]).includes(result.refusal.code)
      ) {
        this.#problems.add(`idempotency record ${key} is a refusal without a known refusal code`);
      }
    }
    // Every record found its own age entry; any further entry is stale. Only then is each one looked up.
    if (this.#store.idempotencyAge.getCount() !== aged) this.#findStaleAgeEntries();
    if (okCommandRecords !== this.#idempotencyMatched) this.#findUnloggedOutcomes();
  }

  #findStaleAgeEntries(): void {
    for (const { key } of this.#store.idempotencyAge.getRange({})) {
      if (this.#problems.full) return;
      const [atMs, idempotencyKey] = key;
      if (this.#store.idempotency.get(idempotencyKey)?.atMs !== atMs) {
        this.#problems.add(
          `idempotency age index entry ${idempotencyKey} at ${atMs} names no record of that time`,
        );
      }
    }
  }

  /**
   * Some accepted outcome was not matched by its log entry while the log streamed; name which (this reads
   * log records at random, so it runs only when the counts differ). Outcomes without an index entry and
   * outcomes whose events differ were named already.
   */
  #findUnloggedOutcomes(): void {
    for (const { key, value } of this.#store.idempotency.getRange({ start: commandKeyPrefix })) {
      if (typeof key !== 'string' || !key.startsWith(commandKeyPrefix)) break;
      if (this.#problems.full) return;
      const claim = okCommandResult(value);
      const first = claim?.events[0];
      if (claim === null || first === undefined) continue;
      const actorKey = actorKeyOf(locationId(claim.location), skuOf(claim.sku));
      const pointer = this.#store.history.get([actorKey, first.version]);
      if (pointer === undefined) continue;
      const where = `log record ${pointer.shard}/${pointer.sequence} entry ${pointer.entry}`;
      let loggedCommandId: string | null = null;
      try {
        const bytes = this.#store.log.get([pointer.shard, pointer.sequence]);
        const entry = bytes === undefined ? undefined : decodeLogRecord(bytes).entries[pointer.entry];
        loggedCommandId = entry?.kind === 'command' ? entry.command.commandId : null;
      } catch {
        loggedCommandId = null;
      }
      if (loggedCommandId !== claim.commandId) {
        this.#problems.add(
          `idempotency record ${key} answers an accepted outcome (${actorKey} version ${first.version}), but ${where} is ${loggedCommandId === null ? 'no command' : `command ${loggedCommandId}`}`,
        );
      }
    }
  }

  #checkHeaders(): void {
    for (const kind of HEADER_KINDS) {
      const revisions = this.#headerRevisions.get(kind)!;
      for (const { key, value } of headerTable(this.#store, kind).getRange({})) {
        const logged = revisions.get(String(key))?.highest;
        if (logged === undefined) {
          this.#problems.add(`${kind} header ${String(key)} has no logged state`);
        } else if (!isRecord(value) || value.revision !== logged) {
          this.#problems.add(
            `${kind} header ${String(key)} is at revision ${brief(isRecord(value) ? value.revision : undefined)}, but the last logged state is revision ${logged}`,
          );
        }
      }
    }
  }

  /** A transfer's arrival is waiting in the outbox exactly while its header says it is shipped. */
  #checkOutbox(): void {
    const arrivals = new Set<string>();
    for (const { key, value } of this.#store.outbox.getRange({})) {
      if (!isRecord(value) || !isRecord(value.command)) {
        this.#problems.add(`outbox record ${String(key)} is not a record`);
        continue;
      }
      if (value.command.kind !== 'transferArrive') continue;
      const transferId = String(value.command.transferId);
      arrivals.add(transferId);
      const status = this.#store.transfers.get(transferId)?.status;
      // Cluster mode, between shards: the destination's copy (in this node's table when it holds both
      // shards) may say arrived while the source's shard has yet to remove its record.
      const settling = value.home !== undefined && (status === 'arrived' || status === 'received');
      if (status !== 'shipped' && !settling) {
        this.#problems.add(
          `outbox record ${String(key)} still delivers the arrival of transfer ${transferId}, whose header is ${status ?? 'missing'}`,
        );
      }
    }
    for (const { key, value } of this.#store.transfers.getRange({})) {
      if (isRecord(value) && value.status === 'shipped' && !arrivals.has(String(key))) {
        this.#problems.add(`transfer ${String(key)} is shipped but no outbox record delivers its arrival`);
      }
    }
  }

  /** The deadline table holds exactly the held lines with an expiry, under their actor's shard. */
  #checkDeadlines(): void {
    for (const [key, actor] of this.#replayed) {
      if (actor.broken) continue;
      for (const line of actor.ledger.reservations) {
        if (line.state !== 'held' || line.expiresAtMs === null) continue;
        if (!this.#store.deadlines.doesExist([actor.shard, line.expiresAtMs, key, line.id])) {
          this.#problems.add(
            `deadline table lacks the hold ${line.id} on ${key} expiring at ${line.expiresAtMs} (shard ${actor.shard})`,
          );
        }
      }
    }
    for (const key of this.#store.deadlines.getKeys({})) {
      const [shard, expiresAtMs, actorKey, reservationId] = key;
      const actor = this.#replayed.get(actorKey);
      if (actor?.broken === true) continue;
      const line = actor === undefined ? undefined : findEntry(actor.ledger.reservations, reservationId);
      if (
        actor === undefined ||
        line === undefined ||
        line.state !== 'held' ||
        line.expiresAtMs !== expiresAtMs
      ) {
        this.#problems.add(
          `deadline table holds ${reservationId} on ${actorKey} expiring at ${expiresAtMs}, which is not a held line with that expiry in the replay`,
        );
      } else if (actor.shard !== shard) {
        this.#problems.add(
          `deadline of ${reservationId} on ${actorKey} is filed under shard ${shard}, not ${actor.shard}`,
        );
      }
    }
  }

  /** The SKU-location index names exactly the actors that have a history. */
  #checkSkuLocations(): void {
    for (const [actorKey, actor] of this.#replayed) {
      const { sku, location } = actor.ledger;
      if (!this.#store.skuLocations.doesExist([sku, location])) {
        this.#problems.add(`SKU-location index lacks ${sku} at ${location} (actor ${actorKey})`);
      }
    }
    for (const key of this.#store.skuLocations.getKeys({})) {
      const [sku, location] = key;
      if (!this.#replayed.has(`${location}|${sku}`)) {
        this.#problems.add(`SKU-location index names ${sku} at ${location}, which has no log history`);
      }
    }
  }

  /** The commit feed lists every log record once, gap-free, and each shard's records in sequence order. */
  #checkFeed(): void {
    const lastSequences = new Map<number, number>();
    let expected = 1;
    let positions = 0;
    for (const { key, value } of this.#store.feed.getRange({})) {
      positions++;
      if (key !== expected) this.#problems.add(`commit feed jumps from position ${expected - 1} to ${key}`);
      expected = key + 1;
      if (!isRecord(value) || typeof value.shard !== 'number' || typeof value.sequence !== 'number') {
        this.#problems.add(`commit feed position ${key} names no log record`);
        continue;
      }
      const { shard, sequence } = value;
      if (!this.#store.log.doesExist([shard, sequence])) {
        this.#problems.add(
          `commit feed position ${key} names log record ${shard}/${sequence}, which does not exist`,
        );
        continue;
      }
      const last = lastSequences.get(shard) ?? 0;
      if (sequence <= last) {
        this.#problems.add(
          `commit feed position ${key} names log record ${shard}/${sequence} after ${shard}/${last}: out of order or twice`,
        );
      }
      lastSequences.set(shard, Math.max(last, sequence));
    }
    // Each position names an existing record, in increasing order per shard: equal counts make it a bijection.
    if (positions !== this.#records) {
      this.#problems.add(`commit feed has ${positions} positions for ${this.#records} log records`);
    }
  }
}

/** Checks a data directory offline and read-only; see the file's opening comment for what it proves. */
export async function verifyDataDir(options: VerifyOptions): Promise<VerifyReport> {
  const startedMs = performance.now();
  const layout = storedLayout(options.dataDir);
  const store = openStore({
    dataDir: options.dataDir,
    shardCount: layout.shardCount,
    nowMs: 0,
    readOnly: true,
  });
  try {
    const verifier = new Verifier(store);
    const problems = verifier.run(options.onProgress);
    const { records, events, actors } = verifier.counts;
    const elapsedMs = performance.now() - startedMs;
    return {
      ok: problems.length === 0,
      shards: layout.shardCount,
      records,
      events,
      actors,
      problems,
      elapsedMs,
      eventsPerSecond: elapsedMs > 0 ? Math.round((events * 1000) / elapsedMs) : 0,
    };
  } finally {
    await store.close();
  }
}
