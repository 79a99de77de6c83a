// Proves the master data endpoints over a real socket and a real engine (responses checked against their
// schemas): an item is created, read back and found by its barcode; a PUT that breaks a rule answers
// 400 with the rule and changes nothing; a CSV import applies its good rows and dead-letters the bad
// one, which a corrected retry then applies; store codes with spaces round-trip; a kit's availability is
// its components'; a kit reservation holds every component or answers 409 holding nothing; and /metrics
// counts open dead letters by adapter and reason.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, receive, startServer } from './harness.ts';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

const csv = (text: string) => ({ raw: { text, type: 'text/csv' } });

describe('master data over HTTP', () => {
  test('PUT, GET and barcode lookup; a PUT breaking a rule is a 400 that changes nothing', async () => {
    const put = await server.request('PUT', '/v1/items/MUG-1', {
      body: {
        description: 'Mug',
        barcodes: ['4006381333931'],
        caseBarcodes: ['14006381333938'],
        caseSize: 12,
      },
    });
    expectStatus(put, 201);
    assert.equal((put.body as { change: string }).change, 'created');
    const same = await server.request('PUT', '/v1/items/MUG-1', {
      body: {
        description: 'Mug',
        barcodes: ['4006381333931'],
        caseBarcodes: ['14006381333938'],
        caseSize: 12,
      },
    });
    expectStatus(same, 200);
    assert.equal((same.body as { change: string }).change, 'unchanged');
    const item = await server.request<{ barcodes: string[]; caseSize: number; revision: number }>(
      'GET',
      '/v1/items/MUG-1',
    );
    expectStatus(item, 200);
    assert.deepEqual(
      [item.body.barcodes, item.body.caseSize, item.body.revision],
      [['04006381333931'], 12, 1],
    );
    const found = await server.request('GET', '/v1/barcodes/14006381333938');
    expectStatus(found, 200);
    assert.deepEqual(found.body, { barcode: '14006381333938', sku: 'MUG-1', unit: 'case' });
    expectStatus(await server.request('GET', '/v1/barcodes/96385074'), 404, 'NOT_FOUND');
    expectStatus(await server.request('GET', '/v1/items/NOPE-1'), 404, 'NOT_FOUND');

    const wrongDigit = await server.request('PUT', '/v1/items/MUG-1', {
      body: { description: 'Mug', barcodes: ['4006381333932'] },
    });
    expectStatus(wrongDigit, 400, 'VALIDATION_FAILED');
    assert.match(wrongDigit.text, /BARCODE_CHECK_DIGIT: 4006381333932 ends in 2; its check digit is 1/);
    const taken = await server.request('PUT', '/v1/items/CUP-1', { body: { barcodes: ['4006381333931'] } });
    expectStatus(taken, 400, 'VALIDATION_FAILED');
    assert.match(taken.text, /BARCODE_CONFLICT: 04006381333931 is already a barcode of MUG-1/);
    expectStatus(
      await server.request('PUT', '/v1/items/MUG-1', { body: { caseSize: '12' } }),
      400,
      'VALIDATION_FAILED',
    );
    const after = await server.request<{ revision: number }>('GET', '/v1/items/MUG-1');
    assert.equal(after.body.revision, 1);
    expectStatus(await server.request('GET', '/v1/items/CUP-1'), 404, 'NOT_FOUND');
  });

  test('a CSV import applies good rows, dead-letters the bad one, and a corrected retry applies it', async () => {
    const imported = await server.request<{
      created: number;
      rejected: { line: number; reason: string; deadLetterId: string }[];
    }>(
      'POST',
      '/v1/items:import',
      csv('sku,description,barcodes\nSPOON-1,Spoon,96385074\nFORK-1,Fork,036000291453\n'),
    );
    expectStatus(imported, 200);
    assert.equal(imported.body.created, 1);
    assert.equal(imported.body.rejected.length, 1);
    const [rejected] = imported.body.rejected;
    assert.equal(rejected?.line, 3);
    assert.match(rejected?.reason ?? '', /^BARCODE_CHECK_DIGIT: 036000291453/);
    expectStatus(await server.request('GET', '/v1/items/FORK-1'), 404, 'NOT_FOUND');

    const metrics = await server.request('GET', '/metrics');
    assert.match(
      metrics.text,
      /stockledger_dead_letters\{adapter="http:items:import",reason="BARCODE_CHECK_DIGIT"\} 1/,
    );

    const retried = await server.request<{ letter: { status: string }; outcome: { status: number } }>(
      'POST',
      `/v1/dead-letters/${rejected?.deadLetterId}/retry`,
      { body: { payload: { row: { sku: 'FORK-1', description: 'Fork', barcodes: '036000291452' } } } },
    );
    expectStatus(retried, 200);
    assert.deepEqual([retried.body.letter.status, retried.body.outcome.status], ['retried', 201]);
    expectStatus(await server.request('GET', '/v1/items/FORK-1'), 200);
    const cleared = await server.request('GET', '/metrics');
    assert.doesNotMatch(cleared.text, /stockledger_dead_letters\{adapter="http:items:import"/);

    const header = await server.request('POST', '/v1/items:import', csv('sku,colour\nX-1,red\n'));
    expectStatus(header, 400, 'VALIDATION_FAILED');
    assert.match(header.text, /unknown column \\"colour\\"/);
    expectStatus(
      await server.request('POST', '/v1/items:import', { body: { sku: 'X-1' } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  test('store codes: free text in the path, read back, imported from CSV', async () => {
    const put = await server.request('PUT', `/v1/locations/${encodeURIComponent('United Kingdom')}`, {
      body: { location: 'uk-dc', name: 'UK warehouse' },
    });
    expectStatus(put, 201);
    const read = await server.request<{ code: string; location: string }>(
      'GET',
      `/v1/locations/${encodeURIComponent('United Kingdom')}`,
    );
    expectStatus(read, 200);
    assert.deepEqual([read.body.code, read.body.location], ['United Kingdom', 'uk-dc']);
    expectStatus(
      await server.request('PUT', '/v1/locations/042', { body: { location: 'not an id!' } }),
      400,
      'VALIDATION_FAILED',
    );
    const imported = await server.request<{ created: number; rejected: unknown[] }>(
      'POST',
      '/v1/locations:import',
      csv('code,location,name\n042,store-042,High Street\n043,,\n'),
    );
    expectStatus(imported, 200);
    assert.equal(imported.body.created, 1);
    assert.equal(imported.body.rejected.length, 1);
    expectStatus(await server.request('GET', '/v1/locations/042'), 200);
    expectStatus(await server.request('GET', '/v1/locations/043'), 404, 'NOT_FOUND');
  });

  test("a kit's availability is its components'; a kit reservation holds all of them or nothing", async () => {
    expectStatus(await server.request('PUT', '/v1/items/BOWL-1', { body: { description: 'Bowl' } }), 201);
    expectStatus(
      await server.request('PUT', '/v1/items/CHOP-1', { body: { description: 'Chopsticks' } }),
      201,
    );
    expectStatus(
      await server.request('PUT', '/v1/items/NOODLE-KIT', {
        body: {
          components: [
            { sku: 'BOWL-1', qty: 1 },
            { sku: 'CHOP-1', qty: 2 },
          ],
        },
      }),
      201,
    );
    await receive(server, 'store-k', 'BOWL-1', 10);
    await receive(server, 'store-k', 'CHOP-1', 9);
    await receive(server, 'store-j', 'BOWL-1', 3);
    const availability = await server.request<{ total: number; locations: unknown[] }>(
      'GET',
      '/v1/availability/NOODLE-KIT',
    );
    expectStatus(availability, 200);
    // store-j has no chopsticks at all: it is no kit location.
    assert.deepEqual(availability.body, {
      sku: 'NOODLE-KIT',
      total: 4,
      locations: [{ location: 'store-k', availableToSell: 4, exposed: 4, status: 'inStock' }],
    });
    const named = await server.request<{ locations: { availableToSell: number }[] }>(
      'GET',
      '/v1/availability/NOODLE-KIT?locations=store-j,store-k',
    );
    assert.deepEqual(
      named.body.locations.map((row) => row.availableToSell),
      [0, 4],
    );

    const held = await server.request<{ status: string; lines: { sku: string; qty: number }[] }>(
      'POST',
      '/v1/kit-reservations',
      {
        body: {
          reservationId: 'kit-cart-1',
          channel: 'web',
          lines: [{ sku: 'NOODLE-KIT', location: 'store-k', qty: 3 }],
        },
      },
    );
    expectStatus(held, 201);
    assert.deepEqual(
      held.body.lines.map((line) => [line.sku, line.qty]),
      [
        ['BOWL-1', 3],
        ['CHOP-1', 6],
      ],
    );
    const refused = await server.request('POST', '/v1/kit-reservations', {
      body: {
        reservationId: 'kit-cart-2',
        channel: 'web',
        lines: [{ sku: 'NOODLE-KIT', location: 'store-k', qty: 2 }],
      },
    });
    expectStatus(refused, 409, 'INSUFFICIENT_STOCK');
    assert.equal((await position(server, 'store-k', 'BOWL-1')).reserved, 3);
    assert.equal((await position(server, 'store-k', 'CHOP-1')).reserved, 6);
    const replayed = await server.request('POST', '/v1/kit-reservations', {
      body: {
        reservationId: 'kit-cart-1',
        channel: 'web',
        lines: [{ sku: 'NOODLE-KIT', location: 'store-k', qty: 3 }],
      },
    });
    expectStatus(replayed, 201);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    expectStatus(
      await server.request('POST', '/v1/kit-reservations', {
        body: {
          reservationId: 'kit-cart-3',
          channel: 'web',
          mode: 'partial',
          lines: [{ sku: 'NOODLE-KIT', location: 'store-k', qty: 1 }],
        },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });
});
