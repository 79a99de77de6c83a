// Proves that a reopened engine answers exactly the positions it acknowledged before it closed, and that
// verifyDataDir passes such a data directory and names tampering in it. How: a seeded random workload of
// every caller command (receive, sale, reserve with and without a time-to-live, release, commit, fulfil,
// return, dispose, adjust, count, setPolicy, and resubmits of earlier commands) runs in concurrent waves over
// 128 SKU-locations in 4 shards on real LMDB files, with a batch limit small enough that several batches are
// in flight at once and a clock the test advances so that holds expire; the engine is closed and reopened,
// every position compared, the directory verified read-only, and then copies of it are altered through
// lmdb directly (a log record, a snapshot, every index) and verify must name each alteration. A second
// directory does the same for the reservation, transfer and return headers the coordinators log.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Key } from 'lmdb';
import { open } from 'lmdb';
import {
  channelId,
  commandId,
  DISPOSITIONS,
  locationId,
  reservationId,
  returnId,
  sku as skuOf,
} from '../../actors/index.ts';
import type { CommandOutcome, JobResult } from '../../engine/engine.ts';
import type { CommandInput, StockPosition } from '../../engine/inputs.ts';
import type {
  AgeKey,
  DeadlineKey,
  HistoryKey,
  LogKey,
  SkuLocationKey,
} from '../../engine/store/lmdb-store.ts';
import { decodeLogRecord, encodeLogRecord, tableOptions } from '../../engine/store/lmdb-store.ts';
import type {
  HistoryPointer,
  IdempotencyRecord,
  ReservationHeader,
  SnapshotRecord,
} from '../../engine/store/records.ts';
import type { SnapshotEntry, SnapshotEntryKey } from '../../engine/store/snapshots.ts';
import { verifyDataDir } from '../../engine/verify.ts';
import type { ActorAddress, ClockedEngine } from '../helpers/clocked-engine.ts';
import { openClockedEngine, positionsOf, settle, TestClock } from '../helpers/clocked-engine.ts';
import { temporaryDirectory } from '../helpers/engine.ts';

type Directory = ReturnType<typeof temporaryDirectory>;

const SHARDS = 4;
const LOCATIONS = Array.from({ length: 16 }, (_, at) => `store-${at}`);
const SKUS = Array.from({ length: 8 }, (_, at) => `sku-${at}`);
const ACTORS: ActorAddress[] = LOCATIONS.flatMap((location) => SKUS.map((sku) => ({ location, sku })));
const WAVES = 30;
const COMMANDS_PER_WAVE = 250;
/** Fixed, so the workload is the same on every run; change it to explore another one. */
const WORKLOAD_SEED = 0x5eed_2024;
const META = { correlationId: null, source: 'test:recovery' };

/** mulberry32: small and deterministic. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** What the generator believes one actor holds, learned from acknowledged outcomes (expiries go unseen). */
interface Memory {
  readonly lines: Map<string, number>;
  readonly lots: Map<string, number>;
}

class Workload {
  readonly #random: () => number;
  readonly #memory = new Map<string, Memory>();
  /** Every command sent with the first answer it got, for resubmits. */
  readonly sent: { input: CommandInput; first: CommandOutcome }[] = [];
  #ids = 0;

  constructor(seed: number) {
    this.#random = randomSource(seed);
  }

  #integer(min: number, max: number): number {
    return min + Math.floor(this.#random() * (max - min + 1));
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)]!;
  }

  #memoryOf(key: string): Memory {
    let memory = this.#memory.get(key);
    if (memory === undefined) {
      memory = { lines: new Map(), lots: new Map() };
      this.#memory.set(key, memory);
    }
    return memory;
  }

  #nextId(kind: string): string {
    this.#ids++;
    return `${kind}-${this.#ids}`;
  }

  /** One wave of fresh commands; a quarter of new holds are released, committed or fulfilled in the same wave. */
  wave(size: number): CommandInput[] {
    const commands: CommandInput[] = [];
    while (commands.length < size) {
      const actor = this.#pick(ACTORS);
      const memory = this.#memoryOf(`${actor.location}|${actor.sku}`);
      const base = {
        commandId: commandId(this.#nextId('cmd')),
        sku: skuOf(actor.sku),
        location: locationId(actor.location),
      };
      const roll = this.#random();
      const held = [...memory.lines.keys()];
      const lots = [...memory.lots.keys()];
      if (roll < 0.16) commands.push({ ...base, type: 'receive', qty: this.#integer(1, 30) });
      else if (roll < 0.28) commands.push({ ...base, type: 'sale', qty: this.#integer(1, 8) });
      else if (roll < 0.46) {
        const id = reservationId(this.#nextId('hold'));
        commands.push({
          ...base,
          type: 'reserve',
          reservationId: id,
          channel: channelId(this.#pick(['web', 'store', 'app'])),
          qty: this.#integer(1, 6),
          ttlSeconds: this.#random() < 0.3 ? null : this.#integer(10, 120),
        });
        if (this.#random() < 0.25) {
          const follow = { ...base, commandId: commandId(this.#nextId('cmd')), reservationId: id };
          const next = this.#pick(['release', 'commit', 'fulfil'] as const);
          commands.push(next === 'commit' ? { ...follow, type: next } : { ...follow, type: next, qty: null });
        }
      } else if (roll < 0.54 && held.length > 0) {
        const qty = this.#random() < 0.5 ? null : this.#integer(1, 2);
        commands.push({ ...base, type: 'release', reservationId: reservationId(this.#pick(held)), qty });
      } else if (roll < 0.6 && held.length > 0) {
        commands.push({ ...base, type: 'commit', reservationId: reservationId(this.#pick(held)) });
      } else if (roll < 0.68 && held.length > 0) {
        const qty = this.#random() < 0.5 ? null : 1;
        commands.push({ ...base, type: 'fulfil', reservationId: reservationId(this.#pick(held)), qty });
      } else if (roll < 0.76) {
        const id = lots.length > 0 && this.#random() < 0.3 ? this.#pick(lots) : this.#nextId('return');
        commands.push({
          ...base,
          type: 'return',
          returnId: returnId(id),
          qty: this.#integer(1, 4),
          reason: 'customer return',
        });
      } else if (roll < 0.84 && lots.length > 0) {
        const id = this.#pick(lots);
        commands.push({
          ...base,
          type: 'dispose',
          returnId: returnId(id),
          qty: this.#integer(1, memory.lots.get(id) ?? 1),
          disposition: this.#pick(DISPOSITIONS),
        });
      } else if (roll < 0.9) {
        const delta = this.#integer(1, 5) * (this.#random() < 0.5 ? -1 : 1);
        commands.push({
          ...base,
          type: 'adjust',
          delta,
          reason: this.#pick(['damaged', 'found', 'correction']),
        });
      } else if (roll < 0.95) {
        commands.push({ ...base, type: 'count', counted: this.#integer(0, 40) });
      } else {
        const channels = this.#random() < 0.5 ? {} : { web: { share: this.#pick([0.25, 0.5, 0.75]) } };
        commands.push({
          ...base,
          type: 'setPolicy',
          policy: { safetyStock: this.#integer(0, 4), lowStockThreshold: this.#integer(0, 6), channels },
        });
      }
    }
    return commands;
  }

  /** Earlier commands, sent again unchanged. */
  resubmits(count: number): { input: CommandInput; first: CommandOutcome }[] {
    if (this.sent.length === 0) return [];
    return Array.from({ length: count }, () => this.#pick(this.sent));
  }

  /** Learns which lines and lots exist from what the engine answered. */
  learn(input: CommandInput, outcome: CommandOutcome): void {
    this.sent.push({ input, first: outcome });
    if (!outcome.ok) return;
    const memory = this.#memoryOf(`${input.location}|${input.sku}`);
    for (const event of outcome.events) {
      switch (event.type) {
        case 'Reserved':
          memory.lines.set(event.reservationId, event.qty);
          break;
        case 'Released':
        case 'Fulfilled':
        case 'Expired': {
          const left = (memory.lines.get(event.reservationId) ?? 0) - event.qty;
          if (left > 0) memory.lines.set(event.reservationId, left);
          else memory.lines.delete(event.reservationId);
          break;
        }
        case 'Returned':
          memory.lots.set(event.returnId, (memory.lots.get(event.returnId) ?? 0) + event.qty);
          break;
        case 'Disposed': {
          const left = (memory.lots.get(event.returnId) ?? 0) - event.qty;
          if (left > 0) memory.lots.set(event.returnId, left);
          else memory.lots.delete(event.returnId);
          break;
        }
        default:
          break;
      }
    }
  }
}

function sha256OfFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Opens a data directory's LMDB environment directly, as an intruder (or a disk fault) would. */
function openRaw(dir: string) {
  return open({
    path: path.join(dir, 'ledger'),
    maxDbs: 16,
    encoding: 'msgpack',
    compression: false,
    overlappingSync: false,
  });
}

function log(root: ReturnType<typeof openRaw>) {
  return root.openDB<Uint8Array, LogKey>(tableOptions('log'));
}

/** A copy of the data directory to alter, so that each tampering test starts from the honest state. */
function copyOf(source: string, prefix: string): Directory {
  const copy = temporaryDirectory(prefix);
  cpSync(source, copy.path, { recursive: true });
  return copy;
}

describe('recovery and verify', () => {
  const data = temporaryDirectory('recovery');
  const copies: Directory[] = [];
  const clock = new TestClock();
  let positionsBeforeClose: Map<string, StockPosition> = new Map();
  let replays = 0;
  let expiries = 0;

  before(async () => {
    const subject = await openClockedEngine(data.path, clock, { shards: SHARDS, batchCommandsMax: 64 });
    const workload = new Workload(WORKLOAD_SEED);
    for (let wave = 0; wave < WAVES; wave++) {
      const fresh = workload.wave(COMMANDS_PER_WAVE);
      const again = workload.resubmits(wave === 0 ? 0 : 10);
      const answers: JobResult<CommandOutcome>[] = await subject.engine.submit(
        [...fresh, ...again.map(({ input }) => input)],
        META,
      );
      for (const [at, input] of fresh.entries()) {
        const answer = answers[at]!;
        assert.equal(answer.replayed, false, `fresh command ${input.commandId} was answered as a replay`);
        workload.learn(input, answer.result);
      }
      for (const [at, { input, first }] of again.entries()) {
        const answer = answers[fresh.length + at]!;
        assert.equal(answer.replayed, true, `resubmitted ${input.commandId} was applied again`);
        assert.deepStrictEqual(answer.result, first, `resubmitted ${input.commandId} got another answer`);
        replays++;
      }
      // Time moves between waves, so that some holds pass their deadline and the engine expires them.
      clock.advance((wave % 7) * 9_000);
      if (wave % 5 === 4) await settle(subject);
    }
    await settle(subject);
    assert.deepEqual(subject.fatalErrors, []);
    positionsBeforeClose = positionsOf(subject.engine, ACTORS);
    for (const { record } of subject.engine.readFeed(0, Number.MAX_SAFE_INTEGER)) {
      for (const entry of record.entries) {
        if (entry.kind === 'command')
          expiries += entry.events.filter((event) => event.type === 'Expired').length;
      }
    }
    await subject.engine.close();
  });

  after(() => {
    data.remove();
    for (const copy of copies) copy.remove();
  });

  it('reopens to exactly the positions it acknowledged before closing', async () => {
    assert.ok(replays > 0, 'the workload resubmitted commands');
    assert.ok(expiries > 0, 'holds expired while the workload ran');
    const touched = [...positionsBeforeClose.values()].filter((position) => position.version > 0).length;
    assert.ok(touched > ACTORS.length / 2, `the workload touched ${touched} actors`);
    const subject = await openClockedEngine(data.path, clock, { shards: SHARDS });
    try {
      const positionsAfterReopen = positionsOf(subject.engine, ACTORS);
      for (const [key, position] of positionsBeforeClose) {
        assert.deepStrictEqual(positionsAfterReopen.get(key), position, `position of ${key} after reopening`);
      }
      assert.deepEqual(subject.fatalErrors, []);
    } finally {
      await subject.engine.close();
    }
  });

  it('verifies the directory read-only: chain, replay, indexes, headers and deadlines agree', async () => {
    const file = path.join(data.path, 'ledger', 'data.mdb');
    const bytesBefore = sha256OfFile(file);
    const progress: [number, number][] = [];
    const report = await verifyDataDir({
      dataDir: data.path,
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.shards, SHARDS);
    assert.ok(report.events >= WAVES * COMMANDS_PER_WAVE * 0.5, `${report.events} events replayed`);
    assert.ok(report.actors > ACTORS.length / 2, `${report.actors} actors replayed`);
    assert.ok(report.records > 0 && report.eventsPerSecond > 0);
    assert.deepEqual(progress.at(-1), [report.records, report.records], 'progress ends at the total');
    assert.equal(sha256OfFile(file), bytesBefore, 'verify changed the data file');
  });

  it('names a log record whose bytes were altered: the next record no longer chains to it', async () => {
    const copy = copyOf(data.path, 'tampered-log');
    copies.push(copy);
    const root = openRaw(copy.path);
    const shardLog = log(root);
    // A record in the middle of shard 1's chain: its successor names its hash.
    const key: LogKey = [1, 2];
    const bytes = shardLog.get(key);
    assert.ok(bytes !== undefined && shardLog.doesExist([1, 3]), 'shard 1 has at least three records');
    const record = decodeLogRecord(bytes);
    const at = record.entries.findIndex((entry) => entry.kind === 'command');
    const entry = record.entries[at];
    assert.ok(entry !== undefined && entry.kind === 'command');
    // Only the command's metadata changes: no table cross-checks it, so only the hash chain can tell.
    const altered = {
      ...record,
      entries: record.entries.with(at, { ...entry, meta: { ...entry.meta, source: 'test:intruder' } }),
    };
    await shardLog.put(key, encodeLogRecord(altered));
    await root.close();

    const report = await verifyDataDir({ dataDir: copy.path });
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems, [
      'hash chain broken in shard 1 at sequence 3: previousHash is not the SHA-256 of record 2, the record before it',
    ]);
  });

  it('names a snapshot that no longer equals the replay of its log', async () => {
    const copy = copyOf(data.path, 'tampered-snapshot');
    copies.push(copy);
    const root = openRaw(copy.path);
    const snapshots = root.openDB<SnapshotRecord, string>(tableOptions('snapshots'));
    const key = [...positionsBeforeClose.entries()].find(([, position]) => position.version > 0)![0];
    const snapshot = snapshots.get(key);
    assert.ok(snapshot !== undefined);
    const onHand = snapshot.ledger.onHand;
    await snapshots.put(key, { ...snapshot, ledger: { ...snapshot.ledger, onHand: onHand + 5 } });
    await root.close();

    const report = await verifyDataDir({ dataDir: copy.path });
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems, [
      `snapshot ${key} differs from the replay of its log: onHand: ${onHand + 5} instead of ${onHand}`,
    ]);
  });

  it('names every index and table that was altered behind the log', async () => {
    const copy = copyOf(data.path, 'tampered-tables');
    copies.push(copy);
    const root = openRaw(copy.path);
    const table = <V, K extends Key>(name: string) => root.openDB<V, K>(tableOptions(name));
    const history = table<HistoryPointer, HistoryKey>('history');
    const idempotency = table<IdempotencyRecord, string>('idempotency');
    const idempotencyAge = table<true, AgeKey>('idempotency-age');
    const deadlines = table<true, DeadlineKey>('deadlines');
    const skuLocations = table<true, SkuLocationKey>('sku-locations');
    const feed = table<unknown, number>('feed');
    const snapshots = table<SnapshotRecord, string>('snapshots');
    const entries = table<SnapshotEntry, SnapshotEntryKey>('snapshot-entries');

    const [indexed] = history.getRange({ limit: 1 });
    assert.ok(indexed !== undefined);
    const [indexedActor, indexedVersion] = indexed.key;
    const indexedRecord = decodeLogRecord(log(root).get([indexed.value.shard, indexed.value.sequence])!);
    const indexedEntry = indexedRecord.entries[indexed.value.entry];
    assert.ok(indexedEntry?.kind === 'command');
    const indexedCommand = indexedEntry.command.commandId;
    await history.remove(indexed.key);

    const accepted = [...idempotency.getRange({ start: 'command:', limit: 200 })].filter(
      ({ value }) => (value.result as CommandOutcome).ok,
    );
    const [altered, unaged] = accepted;
    assert.ok(altered !== undefined && unaged !== undefined);
    const outcome = altered.value.result as Extract<CommandOutcome, { ok: true }>;
    const [first, ...rest] = outcome.events;
    assert.ok(first !== undefined);
    await idempotency.put(altered.key, {
      ...altered.value,
      result: { ...outcome, events: [{ ...first, atMs: first.atMs + 1 }, ...rest] },
    });
    await idempotencyAge.remove([unaged.value.atMs, unaged.key]);

    const ghostActor = 'store-0|sku-0';
    await deadlines.put([0, 123, ghostActor, 'ghost-hold'], true);
    await skuLocations.put(['sku-ghost', 'store-0'], true);
    const positions = feed.getCount();
    await feed.remove(positions);
    // Two spilled actors (their open lines are rows of snapshot-entries): one loses its snapshot, which
    // orphans its rows; one has a row rewritten, which its snapshot no longer matches.
    const spilledActors = [...snapshots.getRange({})]
      .filter(({ key, value }) => value.spilled && key !== indexedActor && key !== ghostActor)
      .map(({ key }) => key);
    const [vanished, rewritten] = spilledActors;
    assert.ok(vanished !== undefined && rewritten !== undefined, 'the workload spills two snapshots');
    await snapshots.remove(vanished);
    const [row] = [...entries.getRange({ start: [rewritten, 0, ''], end: [rewritten, 3, ''], limit: 1 })];
    assert.ok(row !== undefined);
    await entries.put(row.key, { ...row.value, qty: row.value.qty + 1 });
    await root.close();

    const report = await verifyDataDir({ dataDir: copy.path });
    assert.equal(report.ok, false);
    const expected = [
      `history index has no entry for ${indexedActor} version ${indexedVersion} (log record `,
      `idempotency record ${altered.key} answers events that differ from log record `,
      // The outcome of the command whose index entry went is now out of the index's reach as well.
      `idempotency record command:${indexedCommand} answers an accepted outcome (${indexedActor} version ${indexedVersion}) for which the history index names no log entry`,
      `actor ${vanished} has log history (last in `,
      `snapshot entries of ${vanished} belong to no spilled snapshot`,
      `snapshot ${rewritten} differs from the replay of its log: `,
      `idempotency record ${unaged.key} (at ${unaged.value.atMs}) has no age index entry, so it is never pruned`,
      `deadline table holds ghost-hold on ${ghostActor} expiring at 123, which is not a held line with that expiry in the replay`,
      `SKU-location index names sku-ghost at store-0, which has no log history`,
      `commit feed has ${positions - 1} positions for ${positions} log records`,
    ];
    for (const start of expected) {
      assert.equal(
        report.problems.filter((problem) => problem.startsWith(start)).length,
        1,
        `one problem starting ${JSON.stringify(start)} among:\n${report.problems.join('\n')}`,
      );
    }
    assert.equal(report.problems.length, expected.length, report.problems.join('\n'));
  });
});

describe('verify and coordinator headers', () => {
  const data = temporaryDirectory('headers');
  const copy = temporaryDirectory('headers-tampered');
  after(() => {
    data.remove();
    copy.remove();
  });

  it('passes reservation, transfer and return headers equal to their last logged state, and names one rewritten outside the log', async () => {
    const clock = new TestClock();
    const subject: ClockedEngine = await openClockedEngine(data.path, clock, { shards: SHARDS });
    const { engine } = subject;
    const line = { sku: 'sku-h', location: 'store-h' };
    await engine.submit(
      [
        {
          type: 'receive',
          commandId: commandId('h-receive'),
          sku: skuOf(line.sku),
          location: locationId(line.location),
          qty: 10,
        },
      ],
      META,
    );
    const created = await engine.reservations.create(
      {
        reservationId: 'order-1',
        channel: 'web',
        ttlSeconds: 60,
        mode: 'all-or-nothing',
        lines: [{ ...line, qty: 4 }],
      },
      META,
    );
    assert.equal(created.result.ok, true);
    await engine.reservations.release('order-1', 'cancel-1', [{ ...line, qty: 1 }], META);
    // The rest of the hold expires: the engine's own expiry updates the header once more.
    clock.advance(61_000);
    await settle(subject);
    const header = engine.reservationHeader('order-1');
    assert.equal(header?.status, 'expired');
    // A transfer is logged in two shards: shipped in its source's (store-h, shard 3), arrived and received
    // in its destination's (dc-1, shard 2); its outbox record lives until the arrival.
    const shipped = await engine.transfers.create(
      { transferId: 'move-1', from: 'store-h', to: 'dc-1', lines: [{ sku: 'sku-h', qty: 2 }] },
      META,
    );
    assert.equal(shipped.result.ok, true);
    await settle(subject);
    assert.equal(engine.transferHeader('move-1')?.status, 'arrived');
    const received = await engine.transfers.receive(
      { transferId: 'move-1', lines: [{ sku: 'sku-h', qty: 1 }] },
      META,
    );
    assert.equal(received.result.status, 'received');
    const returned = await engine.returns.create(
      {
        returnId: 'rma-1',
        location: 'store-h',
        originalOrderId: null,
        lines: [{ sku: 'sku-h', qty: 2, reason: 'damaged box' }],
      },
      META,
    );
    assert.equal(returned.result.header.revision, 1);
    await engine.returns.dispose(
      {
        returnId: 'rma-1',
        dispositionId: 'inspect-1',
        lines: [{ sku: 'sku-h', qty: 1, disposition: 'restock' }],
      },
      META,
    );
    await engine.close();
    assert.deepEqual(subject.fatalErrors, []);

    const honest = await verifyDataDir({ dataDir: data.path });
    assert.deepEqual(honest.problems, []);

    cpSync(data.path, copy.path, { recursive: true });
    const root = openRaw(copy.path);
    const headers = root.openDB<ReservationHeader, string>(tableOptions('reservations'));
    const stored = headers.get('order-1');
    assert.ok(stored !== undefined);
    await headers.put('order-1', { ...stored, status: 'held' });
    await root.close();
    const report = await verifyDataDir({ dataDir: copy.path });
    assert.equal(report.ok, false);
    assert.equal(report.problems.length, 1, report.problems.join('\n'));
    assert.match(
      report.problems[0]!,
      /^reservation header order-1 differs from its logged revision \d+ .*status: "held" instead of "expired"$/,
    );
  });
});
