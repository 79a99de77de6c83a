// Proves how the replay treats each kind of line, in process on a real engine over LMDB files and on a
// small log written here: sales (a quoted description with a comma included), cancellations into
// quarantine, other negative lines as adjustments (`damaged` when the description says so), and every
// kind of bad line (non-product, unbalanced quotes, a field too many, a quantity that is no number or 0,
// a date that is none, no country, a positive cancellation, a code outside the id grammar) as a dead
// letter with its reason, reaching no actor. Then: a second replay is all duplicates and writes no
// letter twice; a replay under `restock` disposes of the quarantined returns; the item master and
// location codes steer the mapping (a barcode, a kit, a store code); a file in another format is
// refused whole, with nothing applied.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { importItemsCsv, importLocationsCsv } from '../../../adapters/mapping/imports.ts';
import type { ReturnPolicy } from '../../../adapters/replay/online-retail.ts';
import { ReplayRefusedError, replayFile } from '../../../adapters/replay/replay.ts';
import type { Engine } from '../../../engine/engine.ts';
import { openEngine, temporaryDirectory } from '../../helpers/engine.ts';
import { HEADER, LINES } from '../../helpers/online-retail-lines.ts';

const directories: { remove(): void }[] = [];
const engines: Engine[] = [];
after(async () => {
  for (const engine of engines) await engine.close();
  for (const directory of directories) directory.remove();
});

async function setUp(name: string, lines = LINES, gzip = false): Promise<{ engine: Engine; file: string }> {
  const directory = temporaryDirectory(`replay-${name}`);
  directories.push(directory);
  const text = `${[HEADER, ...lines.map(([line]) => line)].join('\r\n')}\r\n`;
  const file = path.join(directory.path, gzip ? 'log.csv.gz' : 'log.csv');
  writeFileSync(file, gzip ? gzipSync(text) : text);
  const engine = await openEngine(path.join(directory.path, 'data'));
  engines.push(engine);
  return { engine, file };
}

function replay(engine: Engine, file: string, policy: ReturnPolicy = 'none') {
  return replayFile({
    engine,
    file,
    policy,
    inFlightMax: 3,
    meta: { correlationId: 'test', source: 'cli:replay' },
  });
}

function onHand(engine: Engine, location: string, sku: string) {
  const { onHand: units, quarantine, integrity } = engine.position(location, sku);
  return { onHand: units, quarantine, integrity };
}

describe('replay, line by line', () => {
  test('each kind of line becomes what it says, and every bad line a dead letter with its reason', async () => {
    const { engine, file } = await setUp('kinds', LINES, true);
    const summary = await replay(engine, file);
    assert.deepEqual(
      { ...summary, elapsedSeconds: 0, linesPerSecond: 0, saleLinesPerSecond: 0, file: '' },
      {
        file: '',
        policy: 'none',
        lines: 15,
        blank: 1,
        sales: 3,
        returns: 1,
        adjustments: 1,
        dispositions: 0,
        duplicates: 0,
        deadLetters: {
          total: 9,
          new: 9,
          alreadyRecorded: 0,
          byReason: { NON_PRODUCT: 1, MALFORMED: 7, UNKNOWN_ITEM: 1 },
          nonProductByCode: { POST: 1 },
        },
        elapsedSeconds: 0,
        linesPerSecond: 0,
        saleLinesPerSecond: 0,
      },
    );
    assert.deepEqual(onHand(engine, 'united-kingdom', '85123A'), {
      onHand: -6,
      quarantine: 2,
      integrity: 'negative',
    });
    assert.deepEqual(onHand(engine, 'united-kingdom', '22633'), {
      onHand: -9,
      quarantine: 0,
      integrity: 'negative',
    });
    assert.deepEqual(onHand(engine, 'eire', '85123A'), { onHand: -5, quarantine: 0, integrity: 'negative' });
    // Nothing of the bad lines reached an actor: France has no position at all.
    assert.deepEqual(engine.locationsOf('85123A', 10), ['eire', 'united-kingdom']);
    const adjusted = engine
      .history('united-kingdom', '22633', 10, null)
      .entries.find((entry) => entry.event.type === 'Adjusted');
    assert.equal(adjusted?.command.type === 'adjust' ? adjusted.command.reason : null, 'damaged');
    assert.equal(adjusted?.command.commandId, 'uci.536380.5');
    assert.deepEqual(
      engine.returnHeader('uci.C536379.4')?.lines.map((line) => [line.sku, line.returned]),
      [['85123A', 2]],
    );

    const letters = engine.deadLetters.list({ limit: 100 }).letters;
    const expected = LINES.flatMap(([, kind], at) => (/^[A-Z_]+$/.test(kind) ? [[at + 2, kind]] : []));
    assert.deepEqual(
      letters
        .map((letter) => [(letter.payload as { line: number }).line, letter.reason.split(':')[0]])
        .sort(([left], [right]) => Number(left) - Number(right)),
      expected,
    );
    assert.ok(letters.every((letter) => letter.adapter === 'cli:replay' && letter.status === 'open'));
    const quote = letters.find((letter) => (letter.payload as { line: number }).line === 7);
    assert.equal(quote?.reason, 'MALFORMED: unbalanced quotes');
    assert.equal((quote?.payload as { text: string } | undefined)?.text, LINES[5]![0]);
  });

  test('a second replay is all duplicates and writes no letter twice; under restock the returns come back', async () => {
    const { engine, file } = await setUp('twice');
    await replay(engine, file);
    const positions = () => ['85123A', '22633'].map((sku) => engine.position('united-kingdom', sku));
    const before = positions();
    const second = await replay(engine, file);
    assert.equal(second.duplicates, 5);
    assert.deepEqual([second.sales, second.returns, second.adjustments], [3, 1, 1]);
    assert.deepEqual([second.deadLetters.new, second.deadLetters.alreadyRecorded], [0, 9]);
    assert.deepEqual(positions(), before);
    assert.equal(engine.deadLetters.list({ limit: 100 }).letters.length, 9);

    const restocked = await replay(engine, file, 'restock');
    assert.equal(restocked.dispositions, 1);
    assert.equal(restocked.duplicates, 5);
    assert.deepEqual(onHand(engine, 'united-kingdom', '85123A'), {
      onHand: -4,
      quarantine: 0,
      integrity: 'negative',
    });
    assert.deepEqual(engine.returnHeader('uci.C536379.4')?.lines[0]?.disposed, {
      restock: 2,
      scrap: 0,
      vendor: 0,
    });
    const again = await replay(engine, file, 'restock');
    assert.equal(again.dispositions, 0);
    assert.deepEqual(onHand(engine, 'united-kingdom', '85123A'), {
      onHand: -4,
      quarantine: 0,
      integrity: 'negative',
    });
  });

  test('the item master and location codes steer the mapping: a barcode, a kit, a store code', async () => {
    const lines: [string, string][] = [
      ['536400,4006381333931,MUG BY BARCODE,2,2010-12-01 10:00:00,1.0,,United Kingdom', 'sale'],
      ['536401,GIFT-1,GIFT SET,3,2010-12-01 10:00:00,1.0,,United Kingdom', 'sale'],
      ['C536402,GIFT-1,GIFT SET,-1,2010-12-01 10:00:00,1.0,,EIRE', 'return'],
    ];
    const { engine, file } = await setUp('mapped', lines);
    await importItemsCsv(
      engine,
      'sku,barcodes,components\nMUG-1,4006381333931,\nSPOON-1,,\nGIFT-1,,MUG-1*1;SPOON-1*2\n',
    );
    await importLocationsCsv(engine, 'code,location\nUnited Kingdom,uk-dc\nEIRE,dublin\n');
    const summary = await replay(engine, file);
    assert.deepEqual([summary.sales, summary.returns, summary.deadLetters.total], [2, 1, 0]);
    assert.equal(engine.position('uk-dc', 'MUG-1').onHand, -5);
    assert.equal(engine.position('uk-dc', 'SPOON-1').onHand, -6);
    assert.equal(engine.position('dublin', 'MUG-1').quarantine, 1);
    assert.equal(engine.position('dublin', 'SPOON-1').quarantine, 2);
    assert.deepEqual(engine.locationsOf('GIFT-1', 10), [], 'a kit is never stocked as such');
  });

  test('a file in another format is refused whole, and nothing is applied', async () => {
    const directory = temporaryDirectory('replay-refused');
    directories.push(directory);
    const engine = await openEngine(path.join(directory.path, 'data'));
    engines.push(engine);
    const file = path.join(directory.path, 'other.csv');
    writeFileSync(file, 'sku,qty\nA,1\n');
    await assert.rejects(replay(engine, file), (error: unknown) => {
      assert.ok(error instanceof ReplayRefusedError);
      assert.match(error.message, /not a UCI Online Retail log: the header has unknown column "sku"/);
      return true;
    });
    await assert.rejects(replay(engine, path.join(directory.path, 'missing.csv')), ReplayRefusedError);
    assert.equal([...engine.store.log.getKeys({})].length, 0);
    assert.equal(engine.deadLetters.list({ limit: 10 }).letters.length, 0);
  });
});
