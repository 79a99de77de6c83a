// Proves the POS ingest over NATS against a real nats-server (JetStream, own port and store) and a real
// engine on LMDB: sales published on `pos.<store>.sales` are applied once (a redelivered duplicate, a
// reordered pair and the same transactionId sent over HTTP are absorbed by idempotency); malformed
// messages become dead letters with their reason and are acknowledged (the consumer has nothing
// pending afterwards); sequence gaps are listed by GET /v1/pos/registers and closed by late sales;
// sync lag per store is served and exported as a metric; and an offline backlog on `pos.<store>.backlog`
// yields to a live sale published while it drains (the live sale commits before the backlog is done).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import type { PosIngest } from '../../../adapters/pos/nats-ingest.ts';
import { startPosIngest } from '../../../adapters/pos/nats-ingest.ts';
import { priorityGateOf } from '../../../adapters/pos/priority-gate.ts';
import {
  BACKLOG_CONSUMER,
  LIVE_CONSUMER,
  POS_ADAPTER,
  POS_STREAM,
  posSubject,
} from '../../../adapters/pos/subjects.ts';
import { silentLogger } from '../../../engine/logger.ts';
import type { NatsServer } from '../../helpers/nats-server.ts';
import { startNatsServer } from '../../helpers/nats-server.ts';
import type { TestServer } from '../http/harness.ts';
import { eventually, expectStatus, position, receive, startServer, unique } from '../http/harness.ts';

let nats: NatsServer;
let server: TestServer;
let ingest: PosIngest;
let connection: NatsConnection;
let js: JetStreamClient;
let manager: JetStreamManager;

before(async () => {
  nats = await startNatsServer();
  // A small backlog window, so that the drain is slow enough to publish a live sale in the middle of it.
  server = await startServer({ settings: { STOCKLEDGER_BACKLOG_IN_FLIGHT_MAX: '32' } });
  ingest = await startPosIngest({ engine: server.engine, logger: silentLogger(), url: nats.url });
  connection = await connect({ servers: nats.url, noAsyncTraces: true });
  js = jetstream(connection);
  manager = await jetstreamManager(connection);
});

after(async () => {
  await ingest.stop();
  await connection.close();
  await server.close();
  await nats.stop();
});

interface SaleBody {
  transactionId: string;
  location: string;
  register?: string;
  sequence?: number;
  occurredAt?: string;
  lines: { sku: string; qty: number }[];
}

function sale(location: string, sku: string, extra: Partial<SaleBody> = {}): SaleBody {
  return { transactionId: unique('pos'), location, lines: [{ sku, qty: 1 }], ...extra };
}

async function publish(body: unknown, location: string, lane: 'live' | 'backlog' = 'live'): Promise<void> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  await js.publish(posSubject(location, lane), text);
}

/** Waits until the consumer has delivered everything and holds no unacknowledged message. */
async function settled(consumer: string): Promise<void> {
  await eventually(
    async () => {
      const info = await manager.consumers.info(POS_STREAM, consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    10_000,
    `${consumer} settled`,
  );
}

describe('POS sales over NATS', () => {
  test('applied once: duplicates, reordering and the same sale over HTTP are absorbed', async () => {
    const location = 'store.north:1';
    const sku = unique('SKU');
    await receive(server, location, sku, 100);
    const first = sale(location, sku, { register: '01', sequence: 1 });
    const second = sale(location, sku, { register: '01', sequence: 2 });
    const third = sale(location, sku, { register: '01', sequence: 3, lines: [{ sku, qty: 2 }] });
    // Reordered (3 before 2), and 1 and 3 redelivered.
    for (const body of [first, third, second, first, third]) await publish(body, location);
    // The same transactionId over HTTP: answered as a replay, applied once.
    await settled(LIVE_CONSUMER);
    const viaHttp = await server.request('POST', '/v1/sales', { body: second });
    expectStatus(viaHttp, 201);
    assert.equal(viaHttp.headers.get('idempotent-replayed'), 'true');
    // And a sale first made over HTTP, then published: applied once.
    const httpFirst = sale(location, sku, { register: '01', sequence: 4 });
    expectStatus(await server.request('POST', '/v1/sales', { body: httpFirst }), 201);
    await publish(httpFirst, location);
    await settled(LIVE_CONSUMER);
    assert.equal((await position(server, location, sku)).onHand, 100 - 1 - 1 - 2 - 1);
    const counts = ingest.counts();
    assert.ok(counts.duplicates >= 3, `duplicates counted: ${JSON.stringify(counts)}`);
  });

  test('malformed messages become dead letters with a reason and are acknowledged', async () => {
    const location = 'store-dl';
    const sku = unique('SKU');
    await publish('{"transactionId": "oops", ', location);
    await publish({ transactionId: unique('pos'), location, lines: [{ sku, qty: 0 }] }, location);
    await publish(
      { transactionId: unique('pos'), location, lines: [{ sku, qty: 1 }], extra: true },
      location,
    );
    // Valid sale, wrong store: the subject says store-dl, the body another store.
    await publish(sale('store-elsewhere', sku), location);
    // The same transactionId with a different body.
    const original = sale(location, sku);
    await publish(original, location);
    await publish({ ...original, lines: [{ sku, qty: 5 }] }, location);
    await settled(LIVE_CONSUMER);
    // This store's letters, matched by reason: ids sort by millisecond, and messages are settled
    // concurrently, so the order of letters is not the order of publishing.
    const letters = server.engine.deadLetters
      .list({ adapter: POS_ADAPTER, limit: 500 })
      .letters.filter((letter) => letter.reason.includes(' pos.store-dl.sales #'));
    assert.equal(letters.length, 5, JSON.stringify(letters.map((letter) => letter.reason)));
    const reasons = letters.map((letter) => letter.reason);
    for (const expected of [
      /^VALIDATION_FAILED: pos\.store-dl\.sales #\d+: \/ is not JSON/,
      /^VALIDATION_FAILED: .*\/lines\/0\/qty/,
      /^VALIDATION_FAILED: .*\/extra is not a known field/,
      /^VALIDATION_FAILED: .*is not the subject's store/,
      /^IDEMPOTENCY_CONFLICT: /,
    ]) {
      assert.ok(
        reasons.some((reason) => expected.test(reason)),
        `${expected} among ${JSON.stringify(reasons)}`,
      );
    }
    // Kept verbatim, so an operator can correct and retry it.
    const notJson = letters.find((letter) => letter.reason.includes('is not JSON'));
    assert.equal(notJson?.payload, '{"transactionId": "oops", ');
    assert.equal((await position(server, location, sku)).onHand, -1);
  });

  test('a dead-lettered POS message can be corrected and retried through the dead-letter API', async () => {
    const location = 'store-retry';
    const sku = unique('SKU');
    const body = { transactionId: unique('pos'), location, lines: [{ sku, qty: 0 }] };
    await publish(body, location);
    await settled(LIVE_CONSUMER);
    const letter = server.engine.deadLetters
      .list({ adapter: POS_ADAPTER, limit: 500 })
      .letters.find((candidate) => candidate.reason.includes(' pos.store-retry.sales #'))!;
    const retried = await server.request('POST', `/v1/dead-letters/${letter.id}/retry`, {
      body: { payload: { ...body, lines: [{ sku, qty: 2 }] } },
    });
    expectStatus(retried, 200);
    assert.equal((await position(server, location, sku)).onHand, -2);
  });

  test('sequence gaps are reported per register and closed by late sales; sync lag per store', async () => {
    const location = 'store-gaps';
    const sku = unique('SKU');
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    for (const sequence of [1, 2, 6, 9]) {
      await publish(
        sale(location, sku, { register: '07', sequence, occurredAt: minutesAgo(20 - sequence) }),
        location,
      );
    }
    await settled(LIVE_CONSUMER);
    interface Registers {
      registers: {
        location: string;
        register: string;
        lastSequence: number;
        missing: number;
        gaps: unknown[];
      }[];
      missing: number;
    }
    const listed = await server.request<Registers>('GET', `/v1/pos/registers?location=${location}&gaps=true`);
    expectStatus(listed, 200);
    assert.deepEqual(
      listed.body.registers.map(({ register, lastSequence, missing, gaps }) => ({
        register,
        lastSequence,
        missing,
        gaps,
      })),
      [
        {
          register: '07',
          lastSequence: 9,
          missing: 5,
          gaps: [
            { from: 3, to: 5 },
            { from: 7, to: 8 },
          ],
        },
      ],
    );
    // Late sales fill the gaps; their old occurredAt does not move the store's sync lag back.
    for (const sequence of [3, 4, 5, 7]) {
      await publish(sale(location, sku, { register: '07', sequence, occurredAt: minutesAgo(60) }), location);
    }
    await settled(LIVE_CONSUMER);
    const after = await server.request<Registers>('GET', `/v1/pos/registers?location=${location}`);
    assert.deepEqual(after.body.registers[0]!.gaps, [{ from: 8, to: 8 }]);
    const stores = await server.request<{ stores: { location: string; syncLagSeconds: number }[] }>(
      'GET',
      '/v1/pos/stores',
    );
    expectStatus(stores, 200);
    const lag = stores.body.stores.find((store) => store.location === location)!.syncLagSeconds;
    // The newest occurredAt was 11 minutes ago (sequence 9).
    assert.ok(lag >= 11 * 60 && lag < 12 * 60, `sync lag ${lag}`);
    const metrics = await server.request('GET', '/metrics');
    const text = metrics.text;
    assert.match(text, new RegExp(`stockledger_pos_sync_lag_seconds\\{store="${location}"\\} \\d+`));
    assert.match(text, /stockledger_pos_sequence_gap_sales_total \d+/);
    assert.match(text, /stockledger_pos_nats_messages_total\{outcome="dead-lettered"\} [1-9]/);
  });

  test('an offline backlog drains behind a live sale published while it drains', async () => {
    const location = 'store-backlog';
    const sku = unique('SKU');
    const backlogSize = 3_000;
    const committed: string[] = [];
    const unsubscribe = server.engine.onCommit((batch) => {
      for (const { record } of batch.records) {
        for (const entry of record.entries) {
          if (entry.kind === 'command' && entry.command.location === location)
            committed.push(entry.meta.source);
        }
      }
    });
    try {
      const publishes: Promise<unknown>[] = [];
      for (let sequence = 1; sequence <= backlogSize; sequence++) {
        publishes.push(publish(sale(location, sku, { register: 'B1', sequence }), location, 'backlog'));
        if (publishes.length === 500) await Promise.all(publishes.splice(0));
      }
      await Promise.all(publishes);
      await eventually(async () => committed.length >= 100, 10_000, 'the backlog to start draining');
      const gate = priorityGateOf(server.engine);
      assert.ok(gate.stats().backlogInFlight <= gate.inFlightMax);
      await publish(sale(location, sku, { register: 'L1', sequence: 1 }), location, 'live');
      await eventually(async () => committed.includes(POS_ADAPTER), 10_000, 'the live sale');
      const backlogBeforeLive = committed.indexOf(POS_ADAPTER);
      assert.ok(
        backlogBeforeLive < backlogSize,
        `the live sale was applied after ${backlogBeforeLive} of ${backlogSize} backlog sales`,
      );
      await settled(BACKLOG_CONSUMER);
      assert.equal(committed.filter((source) => source === `${POS_ADAPTER}:backlog`).length, backlogSize);
      assert.equal((await position(server, location, sku)).onHand, -(backlogSize + 1));
      console.log(
        `backlog: live sale applied after ${backlogBeforeLive} of ${backlogSize} backlog sales (window ${gate.inFlightMax})`,
      );
    } finally {
      unsubscribe();
    }
  });
});
