// Proves the master data adapter on a real engine over LMDB files: items, barcodes, cases and store codes
// are stored and resolved (a barcode in any GTIN length names its SKU, 2 cases of 12 are 24 units, a
// store code names its location); every kind of invalid row or code becomes a dead letter whose reason
// names the rule, and leaves the master data and the ledger exactly as they were; a kit's availability
// is its scarcest component's and a kit reservation holds every component or none; importing a file
// twice changes nothing, and the order of its rows does not matter.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { checkGtin } from '../../../adapters/mapping/gtin.ts';
import {
  ITEMS_IMPORT_ADAPTER,
  importItemsCsv,
  importLocationsCsv,
} from '../../../adapters/mapping/imports.ts';
import type { Checked } from '../../../adapters/mapping/items.ts';
import { kitAvailability, reserveKit } from '../../../adapters/mapping/kits.ts';
import { masterDataOf } from '../../../adapters/mapping/master-data.ts';
import { orDeadLetter, Resolver } from '../../../adapters/mapping/resolver.ts';
import type { Engine } from '../../../engine/engine.ts';
import { EngineError } from '../../../engine/errors.ts';
import { ids, META, nextId, openEngine, temporaryDirectory } from '../../helpers/engine.ts';

const directories: { remove(): void }[] = [];
const engines: Engine[] = [];
after(async () => {
  for (const engine of engines) await engine.close();
  for (const directory of directories) directory.remove();
});

async function freshEngine(): Promise<Engine> {
  const directory = temporaryDirectory('master-data');
  directories.push(directory);
  const engine = await openEngine(directory.path);
  engines.push(engine);
  return engine;
}

/** Everything the master data tables and the ledger hold, to show that something changed nothing. */
function stateOf(engine: Engine): unknown {
  const table = <V>(db: { getRange(options: object): Iterable<{ key: unknown; value: V }> }) =>
    [...db.getRange({})].map(({ key, value }) => [key, value]);
  return {
    items: table(engine.store.items),
    barcodes: table(engine.store.barcodes),
    locationCodes: table(engine.store.locationCodes),
    snapshots: table(engine.store.snapshots),
    log: [...engine.store.log.getKeys({})],
  };
}

const CATALOGUE = [
  'sku,description,barcodes,case_barcodes,case_size,components',
  'MUG-1,"Mug, white",4006381333931,14006381333938,12,',
  'SPOON-1,Teaspoon,96385074;036000291452,,,',
  'GIFT-1,Mug and two spoons,5012345678900,,,MUG-1*1;SPOON-1*2',
];

describe('master data', () => {
  test('GTIN check digits: the standard examples pass, a changed digit fails, lengths other than 8/12/13/14 fail', () => {
    for (const valid of ['4006381333931', '036000291452', '96385074', '14006381333938']) {
      assert.equal(checkGtin(valid).ok, true, valid);
    }
    assert.deepEqual(checkGtin('4006381333931'), { ok: true, gtin: '04006381333931' });
    const wrong = checkGtin('4006381333932');
    assert.equal(wrong.ok, false);
    assert.match(
      wrong.ok ? '' : wrong.reason,
      /^BARCODE_CHECK_DIGIT: 4006381333932 ends in 2; its check digit is 1/,
    );
    for (const invalid of ['12345', '400638133393x', '', '40063813339311']) {
      const checked = checkGtin(invalid);
      assert.equal(checked.ok, false, invalid);
    }
  });

  test('a valid catalogue is stored and resolves: barcodes in any length, cases to units, store codes', async () => {
    const engine = await freshEngine();
    const imported = await importItemsCsv(engine, `${CATALOGUE.join('\n')}\n`);
    assert.deepEqual(imported, { created: 3, updated: 0, unchanged: 0, rejected: [] });
    const locations = await importLocationsCsv(
      engine,
      'code,location,name\n042,store-042,High Street\n"United Kingdom",uk-dc,\n',
    );
    assert.deepEqual(locations, { created: 2, updated: 0, unchanged: 0, rejected: [] });
    const master = masterDataOf(engine);
    assert.deepEqual(master.item('MUG-1')?.barcodes, ['04006381333931']);
    assert.equal(master.item('MUG-1')?.description, 'Mug, white');
    assert.deepEqual(master.barcode('04006381333931'), { sku: 'MUG-1', unit: 'each' });
    assert.deepEqual(master.barcode('14006381333938'), { sku: 'MUG-1', unit: 'case' });
    // A UPC-A and the same number as an EAN-13 (a leading 0) name the same SKU.
    assert.deepEqual(master.barcode('0036000291452'), { sku: 'SPOON-1', unit: 'each' });

    const resolver = new Resolver(master);
    assert.deepEqual(resolver.location('042'), { ok: true, value: 'store-042' });
    assert.deepEqual(resolver.location(' United Kingdom '), { ok: true, value: 'uk-dc' });
    assert.deepEqual(resolver.lines([{ code: '4006381333931', qty: 3 }]), {
      ok: true,
      value: [{ sku: 'MUG-1', qty: 3 }],
    });
    assert.deepEqual(resolver.lines([{ code: '14006381333938', qty: 2 }]), {
      ok: true,
      value: [{ sku: 'MUG-1', qty: 24 }],
    });
    assert.deepEqual(resolver.lines([{ code: 'MUG-1', qty: 2, unit: 'case' }]), {
      ok: true,
      value: [{ sku: 'MUG-1', qty: 24 }],
    });
    // A kit is its components; lines of one SKU are summed.
    assert.deepEqual(
      resolver.lines([
        { code: '5012345678900', qty: 3 },
        { code: '96385074', qty: 1 },
      ]),
      {
        ok: true,
        value: [
          { sku: 'MUG-1', qty: 3 },
          { sku: 'SPOON-1', qty: 7 },
        ],
      },
    );
  });

  test('every kind of invalid row becomes a dead letter naming its rule, and changes no state', async () => {
    const engine = await freshEngine();
    await importItemsCsv(engine, `${CATALOGUE.join('\n')}\n`);
    await engine.submit(
      [{ type: 'receive', commandId: nextId('md'), ...ids('store-1', 'MUG-1'), qty: 5 }],
      META,
    );
    const before = stateOf(engine);
    const rows: [string, string][] = [
      ['bad sku!,x,,,,', 'INVALID_SKU'],
      [`LONG-1,${'d'.repeat(201)},,,,`, 'INVALID_DESCRIPTION'],
      ['BC-1,x,12345,,,', 'INVALID_BARCODE'],
      ['BC-2,x,4006381333932,,,', 'BARCODE_CHECK_DIGIT'],
      ['BC-3,x,96385074,,,', 'BARCODE_CONFLICT'],
      ['BC-4,x,5012345678900;05012345678900,,,', 'DUPLICATE_BARCODE'],
      ['CS-1,x,,,twelve,', 'INVALID_CASE_SIZE'],
      ['CS-2,x,,14006381333938,,', 'INVALID_CASE_SIZE'],
      ['CS-3,x,,,0,', 'INVALID_CASE_SIZE'],
      ['KIT-1,x,,,,MUG-1:2', 'INVALID_COMPONENTS'],
      ['KIT-2,x,,,,NOPE-1*1', 'UNKNOWN_COMPONENT'],
      ['KIT-3,x,,,,GIFT-1*1', 'KIT_NESTED'],
      ['KIT-4,x,,,,KIT-4*1', 'KIT_SELF'],
      ['KIT-5,x,,,,MUG-1*0', 'INVALID_COMPONENT_QTY'],
      ['KIT-6,x,,,,MUG-1*1;MUG-1*2', 'INVALID_COMPONENTS'],
      ['DUP-1,first,,,,', 'DUPLICATE_SKU'],
      ['DUP-1,second,,,,', 'DUPLICATE_SKU'],
      ['ROW-1,too,many,fields,,,,', 'MALFORMED'],
      ['ROW-2,"unbalanced,,,,', 'MALFORMED'],
      ['ROW-3,"bad"quote,,,,', 'MALFORMED'],
    ];
    const text = `${CATALOGUE[0]}\n${rows.map(([row]) => row).join('\n')}\n`;
    const result = await importItemsCsv(engine, text);
    assert.deepEqual({ ...result, rejected: [] }, { created: 0, updated: 0, unchanged: 0, rejected: [] });
    assert.deepEqual(
      result.rejected.map(({ line, reason }) => [line, reason.split(':')[0]]),
      rows.map(([, code], at) => [at + 2, code]),
    );
    for (const rejection of result.rejected) {
      const letter = engine.deadLetters.get(rejection.deadLetterId);
      assert.equal(letter?.adapter, ITEMS_IMPORT_ADAPTER);
      assert.equal(letter?.reason, rejection.reason);
      assert.equal((letter?.payload as { line: number } | undefined)?.line, rejection.line);
    }
    assert.deepEqual(stateOf(engine), before, 'the master data and the ledger are unchanged');

    // Codes an adapter cannot resolve: each a dead letter, and still nothing changes.
    const resolver = new Resolver(masterDataOf(engine));
    const unresolved: [Checked<unknown>, string][] = [
      [resolver.lines([{ code: '5901234123457', qty: 1 }]), 'UNKNOWN_BARCODE'],
      [resolver.lines([{ code: '5901234123458', qty: 1 }]), 'BARCODE_CHECK_DIGIT'],
      [resolver.lines([{ code: 'NOT-AN-ITEM', qty: 1 }]), 'UNKNOWN_ITEM'],
      [resolver.lines([{ code: 'SPOON-1', qty: 1, unit: 'case' }]), 'NO_CASE_SIZE'],
      [resolver.lines([{ code: 'MUG-1', qty: 0 }]), 'INVALID_QUANTITY'],
      [resolver.lines([{ code: '14006381333938', qty: 100_000_000 }]), 'QUANTITY_TOO_LARGE'],
      [resolver.location('043'), 'UNKNOWN_LOCATION_CODE'],
    ];
    for (const [resolution, code] of unresolved) {
      const delivered = await orDeadLetter(engine, 'test:pos', { code }, resolution);
      assert.equal(delivered.ok, false, code);
      if (delivered.ok) continue;
      assert.equal(delivered.reason.split(':')[0], code);
      assert.equal(engine.deadLetters.get(delivered.deadLetterId)?.reason, delivered.reason);
    }
    assert.deepEqual(stateOf(engine), before);
    assert.equal(engine.deadLetters.countsByReason().get('test:pos\u0000UNKNOWN_BARCODE'), 1);
  });

  test("a kit's availability is its scarcest component's; reserving kits holds every component or none", async () => {
    const engine = await freshEngine();
    await importItemsCsv(engine, `${CATALOGUE.join('\n')}\n`);
    const master = masterDataOf(engine);
    const kit = master.kit('GIFT-1');
    assert.ok(kit !== null);
    await engine.submit(
      [
        { type: 'receive', commandId: nextId('kit'), ...ids('store-1', 'MUG-1'), qty: 5 },
        { type: 'receive', commandId: nextId('kit'), ...ids('store-1', 'SPOON-1'), qty: 7 },
      ],
      META,
    );
    // 5 mugs make 5 kits, 7 spoons make 3: 3 kits.
    assert.deepEqual(kitAvailability(engine, kit, 'store-1', null), {
      location: 'store-1',
      availableToSell: 3,
      exposed: 3,
      status: 'inStock',
    });
    const held = await reserveKit(
      engine,
      master,
      {
        reservationId: 'kit-r1',
        channel: 'web',
        ttlSeconds: 600,
        lines: [{ sku: 'GIFT-1', location: 'store-1', qty: 2 }],
      },
      META,
    );
    assert.equal(held.result.ok, true);
    assert.deepEqual(
      held.result.header.lines.map((line) => [line.sku, line.held]),
      [
        ['MUG-1', 2],
        ['SPOON-1', 4],
      ],
    );
    assert.equal(kitAvailability(engine, kit, 'store-1', null).availableToSell, 1);
    // Two more kits need 4 spoons; 3 are left: nothing is held, not even the mugs.
    const refused = await reserveKit(
      engine,
      master,
      {
        reservationId: 'kit-r2',
        channel: 'web',
        ttlSeconds: 600,
        lines: [{ sku: 'GIFT-1', location: 'store-1', qty: 2 }],
      },
      META,
    );
    assert.equal(refused.result.ok, false);
    assert.equal(refused.result.header.mode, 'all-or-nothing');
    assert.deepEqual(
      refused.result.refused.map((line) => line.sku),
      ['SPOON-1'],
    );
    assert.equal(engine.position('store-1', 'MUG-1').reserved, 2);
    assert.equal(engine.position('store-1', 'SPOON-1').reserved, 4);
    // A kit line that does not resolve is refused before anything is asked of the engine.
    await assert.rejects(
      reserveKit(
        engine,
        master,
        {
          reservationId: 'kit-r3',
          channel: 'web',
          ttlSeconds: 600,
          lines: [{ sku: 'GIFT-1', location: 'store-1', qty: 0 }],
        },
        META,
      ),
      (error: unknown) => error instanceof EngineError && error.code === 'VALIDATION_FAILED',
    );
  });

  test('importing a file twice changes nothing; the order of its rows does not matter', async () => {
    const inOrder = await freshEngine();
    const text = `${CATALOGUE.join('\n')}\n`;
    await importItemsCsv(inOrder, text);
    const once = stateOf(inOrder);
    const again = await importItemsCsv(inOrder, text);
    assert.deepEqual(again, { created: 0, updated: 0, unchanged: 3, rejected: [] });
    assert.deepEqual(stateOf(inOrder), once);

    // The kit first, its components after, one of them twice (identical): the same catalogue.
    const shuffled = await freshEngine();
    const reordered = [CATALOGUE[0], CATALOGUE[3], CATALOGUE[2], CATALOGUE[1], CATALOGUE[2]].join('\n');
    const result = await importItemsCsv(shuffled, reordered);
    assert.deepEqual(
      { ...result, rejected: result.rejected.length },
      { created: 4, updated: 0, unchanged: 0, rejected: 0 },
    );
    const items = (engine: Engine) =>
      [...engine.store.items.getRange({})].map(({ value }) => ({ ...value, updatedAtMs: 0 }));
    assert.deepEqual(items(shuffled), items(inOrder));
    assert.deepEqual([...shuffled.store.barcodes.getRange({})], [...inOrder.store.barcodes.getRange({})]);

    // A barcode moved from one SKU to another in one import is not a conflict.
    const moved = await importItemsCsv(
      inOrder,
      'sku,barcodes\nSPOON-1,036000291452\nMUG-1,4006381333931;96385074\n',
    );
    assert.deepEqual(moved.rejected, []);
    assert.deepEqual(masterDataOf(inOrder).barcode('96385074'), { sku: 'MUG-1', unit: 'each' });
  });
});
