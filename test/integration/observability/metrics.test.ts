// Proves that GET /metrics counts what a known workload did: a real HTTP app on a real engine (LMDB in a
// temporary directory) is sent receipts, sales (one oversells a hold, one drives stock negative), a
// repeated sale id, the same id with another body, a backlog with a malformed line, holds of which one
// expires within five minutes and a sale from a store ten minutes behind; then one scrape is parsed and
// every figure is compared with what those requests must have caused, exactly where the count is
// determined by the requests. With STOCKLEDGER_METRICS=0, /metrics is 404 and nothing is observed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from '../http/harness.ts';
import { expectStatus, startServer } from '../http/harness.ts';

/** `name{labels} value` lines of a Prometheus text exposition, by series. */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

function value(series: Map<string, number>, name: string): number {
  const found = series.get(name);
  assert.ok(found !== undefined, `no series ${name} in:\n${[...series.keys()].join('\n')}`);
  return found;
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

async function post(route: string, body: unknown, status: number) {
  const answer = await server.request('POST', route, { body });
  expectStatus(answer, status);
  return answer;
}

describe('GET /metrics after a known workload', () => {
  test('counts commands, batches, replays, conflicts, dead letters, holds, statuses and sync lag', async () => {
    const receipt = (receiptId: string, location: string, sku: string, qty: number) =>
      post('/v1/receipts', { receiptId, location, lines: [{ sku, qty }] }, 201);
    await receipt('r-1', 'store-1', 'SKU-A', 5);
    await receipt('r-2', 'store-2', 'SKU-B', 1);
    await receipt('r-3', 'store-3', 'SKU-C', 10);
    await receipt('r-4', 'store-3', 'SKU-D', 1);
    const hold = (reservationId: string, ttlSeconds: number, qty: number) =>
      post(
        '/v1/reservations',
        {
          reservationId,
          channel: 'web',
          ttlSeconds,
          mode: 'all-or-nothing',
          lines: [{ sku: 'SKU-A', location: 'store-1', qty }],
        },
        201,
      );
    await hold('cart-soon', 60, 3);
    await hold('cart-later', 3_600, 1);
    const sale = { transactionId: 'pos-1', location: 'store-1', lines: [{ sku: 'SKU-A', qty: 3 }] };
    await post('/v1/sales', sale, 201); // onHand 2 under 4 reserved: oversold
    const replay = await post('/v1/sales', sale, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    await post('/v1/sales', { ...sale, lines: [{ sku: 'SKU-A', qty: 1 }] }, 409);
    await post(
      '/v1/sales',
      { transactionId: 'pos-2', location: 'store-2', lines: [{ sku: 'SKU-B', qty: 2 }] },
      201,
    );
    await post(
      '/v1/sales',
      { transactionId: 'pos-3', location: 'store-3', lines: [{ sku: 'SKU-D', qty: 1 }] },
      201,
    );
    // Nothing is available of SKU-D any more: this hold is refused by its actor.
    await post(
      '/v1/reservations',
      {
        reservationId: 'cart-none',
        channel: 'web',
        ttlSeconds: 60,
        mode: 'partial',
        lines: [{ sku: 'SKU-D', location: 'store-3', qty: 1 }],
      },
      409,
    );
    const tenMinutesAgo = new Date(server.engine.now() - 600_000).toISOString();
    const backlog = [
      JSON.stringify({
        transactionId: 'pos-4',
        location: 'store-9',
        occurredAt: tenMinutesAgo,
        lines: [{ sku: 'SKU-E', qty: 1 }],
      }),
      JSON.stringify({ transactionId: 'pos-5', location: 'store-9', lines: [{ sku: 'SKU-E', qty: 'one' }] }),
    ].join('\n');
    const batch = await server.request('POST', '/v1/sales:batch', {
      raw: { text: backlog, type: 'application/x-ndjson' },
    });
    expectStatus(batch, 200);

    // The status counts are seeded in the background at start; wait for the seed to be done.
    let series = parse((await server.request<string>('GET', '/metrics')).body);
    for (let attempt = 0; value(series, 'stockledger_stock_status_ready') !== 1 && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      series = parse((await server.request<string>('GET', '/metrics')).body);
    }
    const count = (name: string) => value(series, name);
    // Four receipts, two holds, four new sales (pos-1, pos-2, pos-3 and the backlog's pos-4), one reservation refused.
    assert.equal(count('stockledger_commands_total{type="receive",outcome="accepted"}'), 4);
    assert.equal(count('stockledger_commands_total{type="reserve",outcome="accepted"}'), 2);
    assert.equal(count('stockledger_commands_total{type="reserve",outcome="refused"}'), 1);
    assert.equal(count('stockledger_commands_total{type="sale",outcome="accepted"}'), 4);
    assert.equal(count('stockledger_commands_applied_total'), 10);
    // Every committed batch was observed once, and the commands in them add up to those applied.
    const batches = server.engine.stats().batchesCommitted;
    assert.ok(batches > 0);
    assert.equal(count('stockledger_batch_commands_count'), batches);
    assert.equal(count('stockledger_batch_commands_sum'), 10);
    assert.equal(count('stockledger_commit_duration_seconds_count'), batches);
    assert.ok(count('stockledger_commit_duration_seconds_sum') > 0);
    assert.equal(count('stockledger_batch_commands_bucket{le="+Inf"}'), batches);
    assert.equal(count('stockledger_idempotent_replays_total'), 1);
    assert.equal(count('stockledger_idempotency_conflicts_total'), 1);
    assert.equal(count('stockledger_dead_letters{adapter="http:sales:batch",reason="VALIDATION_FAILED"}'), 1);
    assert.equal(count('stockledger_holds_expiring'), 1);
    // SKU-A oversold (2 on hand, 4 held), SKU-B and SKU-E negative, SKU-C in stock, SKU-D sold out.
    assert.equal(count('stockledger_sku_locations{status="inStock"}'), 1);
    assert.equal(count('stockledger_sku_locations{status="lowStock"}'), 0);
    assert.equal(count('stockledger_sku_locations{status="outOfStock"}'), 1);
    assert.equal(count('stockledger_sku_locations{status="oversold"}'), 1);
    assert.equal(count('stockledger_sku_locations{status="negative"}'), 2);
    assert.equal(count('stockledger_actors{state="resident"}'), 5);
    assert.equal(count('stockledger_actors{state="passivated"}'), 0);
    const lag = count('stockledger_sync_lag_seconds{source="pos",store="store-9"}');
    assert.ok(lag >= 600 && lag < 660, `store-9 lag ${lag}`);
    assert.ok(count('stockledger_sync_lag_seconds{source="pos",store="store-1"}') < 60);
    for (let shard = 0; shard < 8; shard++)
      assert.equal(count(`stockledger_shard_mailbox_depth{shard="${shard}"}`), 0);
    // No SKU ever becomes a label.
    assert.doesNotMatch(series.size > 0 ? [...series.keys()].join('\n') : '', /SKU-/);
  });
});

describe('STOCKLEDGER_METRICS=0', () => {
  test('GET /metrics is 404 NOT_FOUND', async () => {
    const off = await startServer({ settings: { STOCKLEDGER_METRICS: '0' } });
    try {
      expectStatus(await off.request('GET', '/metrics'), 404, 'NOT_FOUND');
    } finally {
      await off.close();
    }
  });
});
