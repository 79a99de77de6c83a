// Proves `stockledger replay` on the real December 2010 UCI Online Retail log, end to end as a user runs
// it (the bin, a fresh data directory, default settings): the final on-hand and quarantine of every
// SKU-location equal an independent fold of the same file, computed here with plain code (its own CSV
// reader, its own list of non-product codes, its own location names; nothing from the adapter); every
// non-product line, and only those, is a dead letter with its reason; and a second replay of the file
// changes no position and no letter, and reports every applied line as a duplicate.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { openEngine, temporaryDirectory } from '../../helpers/engine.ts';

const bin = fileURLToPath(new URL('../../../engine/stockledger.js', import.meta.url));
const logFile = fileURLToPath(
  new URL('../../../../shared/data/online-retail-2010-12.csv.gz', import.meta.url),
);
const directory = temporaryDirectory('replay-uci');
after(() => directory.remove());

/** RFC 4180 fields of one line, written out by hand: quoted fields, doubled quotes. Null if malformed. */
function fieldsOf(line: string): string[] | null {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (line[at] === '"') {
      let value = '';
      at++;
      for (;;) {
        if (at >= line.length) return null;
        if (line[at] === '"') {
          if (line[at + 1] === '"') {
            value += '"';
            at += 2;
            continue;
          }
          at++;
          break;
        }
        value += line[at];
        at++;
      }
      fields.push(value);
      if (at === line.length) return fields;
      if (line[at] !== ',') return null;
      at++;
    } else {
      const comma = line.indexOf(',', at);
      const value = comma === -1 ? line.slice(at) : line.slice(at, comma);
      if (value.includes('"')) return null;
      fields.push(value);
      if (comma === -1) return fields;
      at = comma + 1;
    }
  }
}

const NOT_STOCK = new Set([
  'POST',
  'DOT',
  'M',
  'C2',
  'D',
  'S',
  'B',
  'AMAZONFEE',
  'BANK CHARGES',
  'CRUK',
  'PADS',
]);

interface Fold {
  readonly onHand: Map<string, number>;
  readonly quarantine: Map<string, number>;
  readonly lettersByLine: Map<number, string>;
  readonly lines: number;
  readonly sales: number;
  readonly returns: number;
  readonly adjustments: number;
}

/** The file folded by this test alone. Keys are `location|sku`. */
function fold(): Fold {
  const text = gunzipSync(readFileSync(logFile)).toString('utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  assert.equal(lines[0], 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country');
  const onHand = new Map<string, number>();
  const quarantine = new Map<string, number>();
  const lettersByLine = new Map<number, string>();
  const add = (map: Map<string, number>, key: string, qty: number) => map.set(key, (map.get(key) ?? 0) + qty);
  let sales = 0;
  let returns = 0;
  let adjustments = 0;
  for (let index = 1; index < lines.length; index++) {
    const lineNumber = index + 1;
    const fields = fieldsOf(lines[index]!.replace(/\r$/, ''));
    if (fields === null || fields.length !== 8) {
      lettersByLine.set(lineNumber, 'MALFORMED');
      continue;
    }
    const [invoice, code, , quantityText, , , , country] = fields as [string, ...string[]];
    const quantity = Number(quantityText);
    if (!Number.isInteger(quantity) || quantity === 0) {
      lettersByLine.set(lineNumber, 'MALFORMED');
      continue;
    }
    const upper = code!.toUpperCase();
    if (NOT_STOCK.has(upper) || upper.startsWith('GIFT_')) {
      lettersByLine.set(lineNumber, `NON_PRODUCT ${upper}`);
      continue;
    }
    const location = country!
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((part) => part !== '')
      .join('-');
    const key = `${location}|${code}`;
    if (invoice.startsWith('C')) {
      add(quarantine, key, -quantity);
      returns++;
    } else if (quantity > 0) {
      add(onHand, key, -quantity);
      sales++;
    } else {
      add(onHand, key, quantity);
      adjustments++;
    }
  }
  return { onHand, quarantine, lettersByLine, lines: lines.length - 1, sales, returns, adjustments };
}

interface Summary {
  lines: number;
  sales: number;
  returns: number;
  adjustments: number;
  duplicates: number;
  deadLetters: { total: number; new: number; alreadyRecorded: number; byReason: Record<string, number> };
  elapsedSeconds: number;
  saleLinesPerSecond: number;
}

function replay(): Summary {
  const run = spawnSync(process.execPath, [bin, 'replay', logFile, '--data-dir', directory.path, '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Summary;
}

interface Observed {
  readonly positions: Map<string, { onHand: number; quarantine: number; version: number }>;
  readonly lettersByLine: Map<number, string>;
  readonly letters: number;
}

/** What the data directory holds, read through the engine after the CLI has exited. */
async function observe(): Promise<Observed> {
  const engine = await openEngine(directory.path, { STOCKLEDGER_SHARDS: '64' });
  try {
    const positions = new Map<string, { onHand: number; quarantine: number; version: number }>();
    for (const [sku, location] of engine.store.skuLocations.getKeys({})) {
      const position = engine.position(location, sku);
      positions.set(`${location}|${sku}`, {
        onHand: position.onHand,
        quarantine: position.quarantine,
        version: position.version,
      });
    }
    const lettersByLine = new Map<number, string>();
    let letters = 0;
    let after: string | undefined;
    for (;;) {
      const page = engine.deadLetters.list({ limit: 500, ...(after === undefined ? {} : { after }) });
      for (const letter of page.letters) {
        letters++;
        assert.equal(letter.adapter, 'cli:replay');
        const payload = letter.payload as { line: number; record?: { StockCode: string } };
        const code = letter.reason.split(':')[0]!;
        const label = code === 'NON_PRODUCT' ? `${code} ${payload.record!.StockCode.toUpperCase()}` : code;
        assert.ok(!lettersByLine.has(payload.line), `line ${payload.line} has two letters`);
        lettersByLine.set(payload.line, label);
      }
      if (page.next === null) break;
      after = page.next;
    }
    return { positions, lettersByLine, letters };
  } finally {
    await engine.close();
  }
}

test('a replay of the December 2010 log equals an independent fold, and a second replay changes nothing', async (t) => {
  const expected = fold();
  assert.equal(expected.lines, 42_481);

  const first = replay();
  t.diagnostic(
    `first replay: ${first.lines} lines in ${first.elapsedSeconds.toFixed(1)} s, ${Math.round(first.saleLinesPerSecond)} sale lines/s`,
  );
  assert.equal(first.lines, expected.lines);
  assert.equal(first.sales, expected.sales);
  assert.equal(first.returns, expected.returns);
  assert.equal(first.adjustments, expected.adjustments);
  assert.equal(first.duplicates, 0);
  assert.equal(first.deadLetters.total, expected.lettersByLine.size);
  assert.equal(first.deadLetters.new, expected.lettersByLine.size);

  const observed = await observe();
  const keys = new Set([...expected.onHand.keys(), ...expected.quarantine.keys()]);
  assert.equal(observed.positions.size, keys.size, 'one position per SKU-location of the file, no other');
  for (const key of keys) {
    const position = observed.positions.get(key);
    assert.ok(position !== undefined, `no position for ${key}`);
    assert.deepEqual(
      { onHand: position.onHand, quarantine: position.quarantine },
      { onHand: expected.onHand.get(key) ?? 0, quarantine: expected.quarantine.get(key) ?? 0 },
      key,
    );
  }
  assert.deepEqual(
    [...observed.lettersByLine].sort(([left], [right]) => left - right),
    [...expected.lettersByLine].sort(([left], [right]) => left - right),
  );
  const byReason: Record<string, number> = {};
  for (const label of expected.lettersByLine.values()) {
    const code = label.split(' ')[0]!;
    byReason[code] = (byReason[code] ?? 0) + 1;
  }
  assert.deepEqual(first.deadLetters.byReason, byReason);

  const second = replay();
  t.diagnostic(`second replay: ${second.duplicates} duplicates in ${second.elapsedSeconds.toFixed(1)} s`);
  assert.equal(second.duplicates, expected.sales + expected.returns + expected.adjustments);
  assert.equal(second.deadLetters.new, 0);
  assert.equal(second.deadLetters.alreadyRecorded, expected.lettersByLine.size);
  const again = await observe();
  assert.deepEqual(again.positions, observed.positions, 'no position changed, not even its version');
  assert.equal(again.letters, observed.letters);
});
