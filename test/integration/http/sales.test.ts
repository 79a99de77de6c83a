// Proves the POS endpoints of API.md over a real socket and a real engine: a multi-line sale is one
// job (its commands share one log record), a sale of a reserved unit is accepted and flagged
// `oversold`, an offline backlog replayed twice and shuffled through sales:batch is applied once, a bad
// backlog line becomes a dead letter without stopping the rest, and the documented errors (400, 409
// IDEMPOTENCY_CONFLICT, 413) answer in the documented shape.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, receive, startServer, unique } from './harness.ts';

interface SaleBody {
  transactionId: string;
  lines: { sku: string; onHand: number; availableToSell: number; integrity: string }[];
}
interface BatchBody {
  accepted: number;
  duplicates: number;
  rejected: { line: number; error: { code: string }; deadLetterId: string }[];
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  for (let at = copy.length - 1; at > 0; at--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const other = state % (at + 1);
    [copy[at], copy[other]] = [copy[other]!, copy[at]!];
  }
  return copy;
}

describe('POST /v1/sales', () => {
  test('a multi-line sale answers each line and is committed as one job, in one log record', async () => {
    const [first, second] = [unique('SKU'), unique('SKU')];
    await receive(server, 'store-7', first, 5);
    await receive(server, 'store-7', second, 5);
    const transactionId = unique('pos-007');
    const answer = await server.request<SaleBody>('POST', '/v1/sales', {
      body: {
        transactionId,
        location: 'store-7',
        register: '07',
        sequence: 123,
        occurredAt: '2026-11-22T14:03:00Z',
        lines: [
          { sku: first, qty: 1 },
          { sku: second, qty: 2 },
        ],
      },
    });
    expectStatus(answer, 201);
    assert.deepEqual(answer.body, {
      transactionId,
      lines: [
        { sku: first, onHand: 4, availableToSell: 4, integrity: 'consistent' },
        { sku: second, onHand: 3, availableToSell: 3, integrity: 'consistent' },
      ],
    });
    const records = [...server.engine.readFeed(0, 10_000)].filter((record) =>
      record.record.entries.some(
        (entry) => entry.kind === 'command' && entry.command.commandId.startsWith(`${transactionId}:`),
      ),
    );
    assert.equal(records.length, 1, 'both lines are in one log record');
  });

  test('a POS sale of a reserved unit is accepted and the position is flagged oversold', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-8', sku, 1);
    expectStatus(
      await server.request('POST', '/v1/reservations', {
        body: {
          reservationId: unique('cart'),
          channel: 'web',
          lines: [{ sku, location: 'store-8', qty: 1 }],
        },
      }),
      201,
    );
    const sale = await server.request<SaleBody>('POST', '/v1/sales', {
      body: { transactionId: unique('pos'), location: 'store-8', lines: [{ sku, qty: 1 }] },
    });
    expectStatus(sale, 201);
    assert.deepEqual(sale.body.lines[0], { sku, onHand: 0, availableToSell: 0, integrity: 'oversold' });
    const now = await position(server, 'store-8', sku);
    assert.deepEqual([now.onHand, now.reserved, now.integrity], [0, 1, 'oversold']);
  });

  test('a sale that names a SKU twice is refused whole (400) and changes nothing', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-9', sku, 5);
    const answer = await server.request('POST', '/v1/sales', {
      body: {
        transactionId: unique('pos'),
        location: 'store-9',
        lines: [
          { sku, qty: 1 },
          { sku, qty: 1 },
        ],
      },
    });
    expectStatus(answer, 400, 'VALIDATION_FAILED');
    assert.equal((await position(server, 'store-9', sku)).onHand, 5);
  });

  test('413 PAYLOAD_TOO_LARGE for a body past the limit', async () => {
    const answer = await server.request('POST', '/v1/sales', {
      raw: { text: `{"transactionId":"big","pad":"${'x'.repeat(1_100_000)}"}`, type: 'application/json' },
    });
    expectStatus(answer, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('POST /v1/sales:batch', () => {
  test("an offline store's backlog replayed twice, shuffled, is applied once", async () => {
    const skus = [unique('SKU'), unique('SKU'), unique('SKU')];
    for (const sku of skus) await receive(server, 'store-off', sku, 100);
    const sales = Array.from({ length: 60 }, (_, at) => ({
      transactionId: unique('off'),
      location: 'store-off',
      register: '02',
      sequence: at,
      lines: [{ sku: skus[at % 3]!, qty: 1 + (at % 2) }],
    }));
    const lines = sales.map((sale) => JSON.stringify(sale));
    const first = await server.request<BatchBody>('POST', '/v1/sales:batch', {
      raw: { text: `${shuffled(lines, 7).join('\n')}\n`, type: 'application/x-ndjson' },
    });
    expectStatus(first, 200);
    assert.deepEqual(first.body, { accepted: 60, duplicates: 0, rejected: [] });
    const second = await server.request<BatchBody>('POST', '/v1/sales:batch', {
      raw: { text: shuffled(lines, 11).join('\r\n'), type: 'application/x-ndjson' },
    });
    expectStatus(second, 200);
    assert.deepEqual(second.body, { accepted: 0, duplicates: 60, rejected: [] });
    for (const [index, sku] of skus.entries()) {
      const sold = sales
        .filter((_, at) => at % 3 === index)
        .reduce((sum, sale) => sum + sale.lines[0]!.qty, 0);
      assert.equal((await position(server, 'store-off', sku)).onHand, 100 - sold);
    }
  });

  test('a bad line goes to the dead letters with its reason and does not stop the rest', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-dl', sku, 10);
    const good = (id: string) =>
      JSON.stringify({ transactionId: id, location: 'store-dl', lines: [{ sku, qty: 1 }] });
    const conflicting = unique('conflict');
    expectStatus(
      await server.request('POST', '/v1/sales', {
        body: { transactionId: conflicting, location: 'store-dl', lines: [{ sku, qty: 1 }] },
      }),
      201,
    );
    const text = [
      good(unique('ok')),
      '{"transactionId": "broken", ',
      JSON.stringify({ transactionId: unique('bad'), location: 'store-dl', lines: [{ sku, qty: '5' }] }),
      '',
      JSON.stringify({ transactionId: conflicting, location: 'store-dl', lines: [{ sku, qty: 2 }] }),
      good(unique('ok')),
    ].join('\n');
    const answer = await server.request<BatchBody>('POST', '/v1/sales:batch', {
      raw: { text, type: 'application/x-ndjson' },
    });
    expectStatus(answer, 200);
    assert.equal(answer.body.accepted, 2);
    assert.deepEqual(
      answer.body.rejected.map((rejected) => [rejected.line, rejected.error.code]),
      [
        [2, 'VALIDATION_FAILED'],
        [3, 'VALIDATION_FAILED'],
        [5, 'IDEMPOTENCY_CONFLICT'],
      ],
    );
    assert.equal((await position(server, 'store-dl', sku)).onHand, 7);
    const letters = await server.request<{ letters: { id: string; payload: unknown; status: string }[] }>(
      'GET',
      '/v1/dead-letters?adapter=http:sales:batch&status=open&limit=500',
    );
    const ids = new Set(letters.body.letters.map((letter) => letter.id));
    for (const rejected of answer.body.rejected) assert.ok(ids.has(rejected.deadLetterId));
    const broken = letters.body.letters.find((letter) => letter.id === answer.body.rejected[0]!.deadLetterId);
    assert.equal(broken?.payload, '{"transactionId": "broken", ');
  });

  test('400 for a backlog sent as JSON rather than NDJSON', async () => {
    expectStatus(
      await server.request('POST', '/v1/sales:batch', { body: { transactionId: 'x' } }),
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('back-pressure', () => {
  test('a full mailbox answers 503 OVERLOADED with Retry-After; the retried backlog then applies once', async () => {
    const small = await startServer({ settings: { STOCKLEDGER_MAILBOX_MAX: '1' } });
    try {
      const sku = unique('SKU');
      const lines = Array.from({ length: 5 }, () =>
        JSON.stringify({ transactionId: unique('busy'), location: 'store-busy', lines: [{ sku, qty: 1 }] }),
      );
      const busy = await small.request('POST', '/v1/sales:batch', {
        raw: { text: lines.join('\n'), type: 'application/x-ndjson' },
      });
      expectStatus(busy, 503, 'OVERLOADED');
      assert.equal(busy.headers.get('retry-after'), '1');
      const bulk = await small.request<{ results: { status: number; body: { error?: { code: string } } }[] }>(
        'POST',
        '/v1/commands',
        { body: { commands: lines.map((line) => ({ type: 'sale', ...JSON.parse(line) })) } },
      );
      expectStatus(bulk, 200);
      assert.ok(bulk.body.results.some((result) => result.body.error?.code === 'OVERLOADED'));
      // One at a time fits; lines applied before the 503 count as duplicates.
      let applied = 0;
      for (const line of lines) {
        const answer = await small.request('POST', '/v1/sales', {
          raw: { text: line, type: 'application/json' },
        });
        expectStatus(answer, 201);
        applied += 1;
      }
      assert.equal(applied, 5);
      assert.equal((await position(small, 'store-busy', sku)).onHand, -5);
    } finally {
      await small.close();
    }
  });
});
