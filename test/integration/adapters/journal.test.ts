// Proves the movement journal (adapters/erp/journal.ts) and `stockledger export` on a real LMDB data
// directory filled with a seeded random mix of receipts, sales (some overselling), adjustments, counts,
// returns and dispositions submitted concurrently: the full export has one line per recorded event, and
// folding its deltas per SKU-location gives every stored position; exporting in pages of random sizes
// (from the API and from the bin with --since/--limit) and concatenating gives the full export exactly,
// with no duplicate and no gap; a cursor at the end yields nothing until new commands are recorded and
// then exactly those; an entry is never split across pages; CSV rows carry the same lines; a bad cursor
// is refused. The seed is printed; set JOURNAL_SEED to repeat a run.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { CommandId, LocationId, ReturnId, Sku } from '../../../actors/index.ts';
import { commandId, locationId, returnId, sku } from '../../../actors/index.ts';
import type { JournalCursor, MovementLine } from '../../../adapters/erp/journal.ts';
import {
  formatCursor,
  formatLines,
  JOURNAL_START,
  MOVEMENT_COLUMNS,
  parseCursor,
  readJournal,
} from '../../../adapters/erp/journal.ts';
import type { Engine } from '../../../engine/engine.ts';
import type { CommandInput } from '../../../engine/inputs.ts';
import { openEngine, temporaryDirectory } from '../../helpers/engine.ts';

const bin = fileURLToPath(new URL('../../../engine/stockledger.js', import.meta.url));
const directory = temporaryDirectory('journal');
const dataDir = path.join(directory.path, 'data');
/** The CLI runs with the default shard count, so the directory is made with it. */
const DEFAULT_SHARDS = { STOCKLEDGER_SHARDS: '64' };
const seed = Number(process.env.JOURNAL_SEED ?? Date.now() % 1_000_000);
const META = { correlationId: 'journal-test', source: 'test:journal' } as const;

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function randomOf(start: number): (below: number) => number {
  let state = start >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

const LOCATIONS = ['store-1', 'store-2', 'dc-1'];
const SKUS = ['SKU-A', 'SKU-B', 'SKU-C', 'SKU-D'];
let counter = 0;
const returns: { sku: Sku; location: LocationId; returnId: ReturnId }[] = [];
function id(prefix: string): CommandId {
  counter++;
  return commandId(`${prefix}-${seed}-${counter}`);
}

/** A random command at a random SKU-location; returns and their dispositions come in pairs. */
function randomCommands(random: (below: number) => number): CommandInput[] {
  const at = {
    sku: sku(SKUS[random(SKUS.length)]!),
    location: locationId(LOCATIONS[random(LOCATIONS.length)]!),
  };
  switch (random(6)) {
    case 0:
    case 1:
      return [{ type: 'receive', commandId: id('rcv'), ...at, qty: 1 + random(20) }];
    case 2:
      return [{ type: 'sale', commandId: id('sale'), ...at, qty: 1 + random(8) }];
    case 3:
      return [
        { type: 'adjust', commandId: id('adj'), ...at, delta: random(2) === 0 ? -1 : 2, reason: 'damaged' },
      ];
    case 4:
      return [{ type: 'count', commandId: id('count'), ...at, counted: random(30) }];
    default: {
      const returned = returnId(`ret-${seed}-${counter}`);
      returns.push({ ...at, returnId: returned });
      return [{ type: 'return', commandId: id('ret'), ...at, returnId: returned, qty: 3, reason: 'faulty' }];
    }
  }
}

async function fill(engine: Engine, random: (below: number) => number, commands: number): Promise<void> {
  for (let done = 0; done < commands; ) {
    // Concurrent submissions share batches, so records hold several entries.
    const wave: CommandInput[] = [];
    while (wave.length < 25 && done < commands) {
      for (const command of randomCommands(random)) wave.push(command);
      done++;
    }
    await engine.submit(wave, META);
  }
  // Dispose of some returned units: quarantine down, and onHand up for a restock.
  const disposals: CommandInput[] = returns
    .filter(() => random(2) === 0)
    .map((returned) => ({
      type: 'dispose',
      commandId: id('disp'),
      ...returned,
      qty: 1 + random(3),
      disposition: random(2) === 0 ? 'restock' : 'scrap',
    }));
  await engine.submit(disposals, META);
}

function keyOf(line: MovementLine): string {
  return `${line.position}.${line.entry}.${line.event}`;
}

function fullJournal(engine: Engine): MovementLine[] {
  const page = readJournal(engine, JOURNAL_START, 1_000_000);
  assert.equal(page.end, true);
  return [...page.lines];
}

let engine: Engine;
before(async () => {
  engine = await openEngine(dataDir, DEFAULT_SHARDS);
  await fill(engine, randomOf(seed), 300);
});
after(async () => {
  await engine?.close();
  directory.remove();
});

describe('movement journal', () => {
  test('the full export has one line per event, and its deltas fold to every stored position', () => {
    const lines = fullJournal(engine);
    let events = 0;
    for (const record of engine.readFeed(0, 1_000_000)) {
      for (const entry of record.record.entries) if (entry.kind === 'command') events += entry.events.length;
    }
    assert.equal(lines.length, events, `seed ${seed}`);
    assert.equal(new Set(lines.map(keyOf)).size, lines.length, 'no line twice');
    const folded = new Map<string, number[]>();
    for (const line of lines) {
      const key = `${line.location}|${line.sku}`;
      const buckets = folded.get(key) ?? [0, 0, 0, 0];
      buckets[0]! += line.onHand;
      buckets[1]! += line.reserved;
      buckets[2]! += line.inTransit;
      buckets[3]! += line.quarantine;
      folded.set(key, buckets);
      assert.equal(line.correlationId, META.correlationId);
      assert.equal(line.source, META.source);
    }
    for (const location of LOCATIONS) {
      for (const item of SKUS) {
        const stored = engine.position(location, item);
        assert.deepEqual(
          folded.get(`${location}|${item}`) ?? [0, 0, 0, 0],
          [stored.onHand, stored.reserved, stored.inTransit, stored.quarantine],
          `${location} ${item}, seed ${seed}`,
        );
      }
    }
    const adjusted = lines.find((line) => line.type === 'Adjusted');
    if (adjusted !== undefined) assert.equal(adjusted.reason, 'damaged');
  });

  test('pages of random sizes, resumed from each cursor, concatenate to the full export exactly', () => {
    const full = fullJournal(engine);
    const random = randomOf(seed + 1);
    for (let round = 0; round < 5; round++) {
      const paged: MovementLine[] = [];
      let cursor: JournalCursor = JOURNAL_START;
      for (let pages = 0; ; pages++) {
        assert.ok(pages < 10_000, 'paging ends');
        // Round trip through text, as a client keeps it.
        const page = readJournal(
          engine,
          parseCursor(formatCursor(cursor))!,
          1 + random(round === 0 ? 3 : 60),
        );
        paged.push(...page.lines);
        cursor = page.next;
        if (page.end) break;
      }
      assert.deepEqual(paged.map(keyOf), full.map(keyOf), `round ${round}, seed ${seed}`);
      assert.deepEqual(paged, full);
    }
  });

  test('a page never splits an entry: with limit 1 each page holds the lines of one entry', () => {
    let cursor: JournalCursor = JOURNAL_START;
    for (;;) {
      const page = readJournal(engine, cursor, 1);
      assert.ok(new Set(page.lines.map((line) => `${line.position}.${line.entry}`)).size <= 1);
      cursor = page.next;
      if (page.end) break;
    }
  });

  test('a cursor at the end yields nothing, then exactly the lines recorded after it', async () => {
    const end = readJournal(engine, JOURNAL_START, 1_000_000).next;
    assert.deepEqual(readJournal(engine, end, 100).lines, []);
    const before = fullJournal(engine).length;
    await engine.submit(
      [
        {
          type: 'receive',
          commandId: id('late'),
          sku: sku('SKU-LATE'),
          location: locationId('store-1'),
          qty: 4,
        },
        {
          type: 'sale',
          commandId: id('late'),
          sku: sku('SKU-LATE'),
          location: locationId('store-2'),
          qty: 1,
        },
      ],
      META,
    );
    const after = readJournal(engine, end, 100);
    assert.ok(after.lines.every((line) => line.sku === 'SKU-LATE'));
    const movements = after.lines
      .filter((line) => line.onHand !== 0)
      .map((line) => [line.location, line.type]);
    assert.deepEqual(movements.sort(), [
      ['store-1', 'Received'],
      ['store-2', 'Sold'],
    ]);
    const full = fullJournal(engine);
    assert.deepEqual(full.slice(before), after.lines);
  });

  test('CSV rows carry the same fields as the NDJSON lines', () => {
    const lines = fullJournal(engine).slice(0, 50);
    const rows = parse(`${MOVEMENT_COLUMNS.join(',')}\n${formatLines(lines, 'csv')}`, {
      columns: true,
    }) as Record<string, string>[];
    assert.equal(rows.length, lines.length);
    for (const [at, line] of lines.entries()) {
      for (const column of MOVEMENT_COLUMNS) {
        const value = line[column];
        assert.equal(rows[at]![column], value === null ? '' : String(value), column);
      }
    }
  });

  test('cursors that are not one are refused', () => {
    for (const text of ['', '12', '12.', '.3', 'a.b', '1.2.3', '-1.0', '1e3.0']) {
      assert.equal(parseCursor(text), null, text);
    }
    assert.deepEqual(parseCursor('42.7'), { position: 42, entry: 7 });
  });
});

describe('stockledger export (the bin)', () => {
  function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const run = spawnSync(process.execPath, [bin, 'export', '--data-dir', dataDir, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  }
  function cursorOf(stderr: string): string {
    const match = /next cursor: ([0-9]+\.[0-9]+)/.exec(stderr);
    assert.ok(match !== null, stderr);
    return match[1]!;
  }

  let expected: string;
  before(async () => {
    expected = formatLines(fullJournal(engine), 'ndjson');
    await engine.close();
  });

  test('a full export, then pages of random sizes with --since/--limit, give the same lines', () => {
    const full = cli();
    assert.equal(full.status, 0, full.stderr);
    assert.equal(full.stdout, expected);
    const random = randomOf(seed + 2);
    let paged = '';
    let cursor: string | null = null;
    for (let pages = 0; pages < 200; pages++) {
      const limit = String(1 + random(400));
      const run: ReturnType<typeof cli> =
        cursor === null ? cli('--limit', limit) : cli('--since', cursor, '--limit', limit);
      assert.equal(run.status, 0, run.stderr);
      paged += run.stdout;
      const next = cursorOf(run.stderr);
      if (run.stdout === '' && next === cursor) break;
      cursor = next;
    }
    assert.equal(paged, expected, `seed ${seed}`);
  });

  test('--format csv writes a header and one row a line; a bad --since exits 2 and writes nothing', () => {
    const csv = cli('--format', 'csv');
    assert.equal(csv.status, 0, csv.stderr);
    const rows = parse(csv.stdout, { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, expected.trim().split('\n').length);
    const bad = cli('--since', 'yesterday');
    assert.equal(bad.status, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /not a cursor/);
  });
});
