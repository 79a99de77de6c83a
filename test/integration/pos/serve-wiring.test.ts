// Proves the composition root starts the NATS-side adapters only when configured, against a real
// nats-server: `serve` with STOCKLEDGER_POS_NATS_URL and STOCKLEDGER_FEED_NATS_URL applies a sale
// published on `pos.<store>.sales` (readable over HTTP), puts the resulting availability on
// `inv.avail.*` (a receipt over HTTP took it from out of stock to in stock), counts both in
// `GET /metrics`, and stops cleanly (the POS consumer has nothing unacknowledged afterwards); and a
// configured NATS server that cannot be reached stops the start instead of running without it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { AVAILABILITY_STREAM } from '../../../adapters/feeds/nats-feed.ts';
import { LIVE_CONSUMER, POS_STREAM, posSubject } from '../../../adapters/pos/subjects.ts';
import { loadConfig } from '../../../engine/config.ts';
import { silentLogger } from '../../../engine/logger.ts';
import { serve } from '../../../engine/main.ts';
import { temporaryDirectory } from '../../helpers/engine.ts';
import type { NatsServer } from '../../helpers/nats-server.ts';
import { startNatsServer } from '../../helpers/nats-server.ts';

let nats: NatsServer;
before(async () => {
  nats = await startNatsServer();
});
after(async () => {
  await nats.stop();
});

test('serve starts the POS ingest and the NATS feed when configured, and stops them', async () => {
  const directory = temporaryDirectory('serve-nats');
  const running = await serve(
    loadConfig({
      STOCKLEDGER_DATA_DIR: directory.path,
      PORT: '0',
      STOCKLEDGER_SHARDS: '4',
      STOCKLEDGER_POS_NATS_URL: nats.url,
      STOCKLEDGER_FEED_NATS_URL: nats.url,
    }),
    { logger: silentLogger() },
  );
  const connection = await connect({ servers: nats.url, noAsyncTraces: true });
  try {
    // A receipt takes the SKU from out of stock to in stock: an availability update.
    const receipt = await fetch(`${running.address}/v1/receipts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        receiptId: 'asn-wired-1',
        location: 'store-w',
        lines: [{ sku: 'SKU-W', qty: 10 }],
      }),
    });
    assert.equal(receipt.status, 201);
    const sale = { transactionId: 'pos-wired-1', location: 'store-w', lines: [{ sku: 'SKU-W', qty: 2 }] };
    await jetstream(connection).publish(posSubject('store-w', 'live'), JSON.stringify(sale));
    const onHand = async () => {
      const response = await fetch(`${running.address}/v1/stock/store-w/SKU-W`);
      return ((await response.json()) as { onHand: number }).onHand;
    };
    const deadline = Date.now() + 10_000;
    while ((await onHand()) !== 8) {
      assert.ok(Date.now() < deadline, 'the sale was not applied');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const manager = await jetstreamManager(connection);
    const deadlineFeed = Date.now() + 10_000;
    while ((await manager.streams.info(AVAILABILITY_STREAM)).state.messages < 1) {
      assert.ok(Date.now() < deadlineFeed, 'no availability was published');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const metrics = await (await fetch(`${running.address}/metrics`)).text();
    assert.match(metrics, /stockledger_feed_nats_messages_total\{kind="avail"\} [1-9]/);
    assert.match(metrics, /stockledger_pos_nats_messages_total\{outcome="applied"\} 1/);
    await running.stop();
    const consumer = await manager.consumers.info(POS_STREAM, LIVE_CONSUMER);
    assert.equal(consumer.num_ack_pending, 0);
    assert.equal(consumer.num_pending, 0);
  } finally {
    await connection.close();
    await running.stop();
    directory.remove();
  }
});

test('a configured NATS server that cannot be reached stops the start', async () => {
  const directory = temporaryDirectory('serve-nats-down');
  try {
    await assert.rejects(
      serve(
        loadConfig({
          STOCKLEDGER_DATA_DIR: directory.path,
          PORT: '0',
          STOCKLEDGER_SHARDS: '4',
          // A port nothing listens on: the test server's, after it moved elsewhere, is not reusable.
          STOCKLEDGER_POS_NATS_URL: 'nats://127.0.0.1:1',
        }),
        { logger: silentLogger() },
      ),
    );
  } finally {
    directory.remove();
  }
});
