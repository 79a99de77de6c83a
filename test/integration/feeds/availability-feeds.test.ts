// Proves the outbound availability feeds on a real engine (LMDB) with a real local HTTP receiver and a
// real nats-server: pushes fire on status changes (in → low → out → back in) and threshold crossings
// only, never on a unit that moves within a status and a threshold band (a sequence of ten commits
// yields exactly six pushes, with their reasons and per-channel exposed quantities); each push is
// signed; a receiver that fails the first three requests gets the same delivery again with backoff
// doubling between attempts; a full queue coalesces to the latest update per SKU-location; and the
// `INV_AVAIL` stream keeps only the last message per subject while `inv.evt.*` carries every event.

import assert from 'node:assert/strict';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { signatureMatches } from '../../../adapters/ecommerce/signature.ts';
import type { AvailabilityUpdate } from '../../../adapters/feeds/availability-updates.ts';
import type { Feeds } from '../../../adapters/feeds/feeds.ts';
import { startFeeds } from '../../../adapters/feeds/feeds.ts';
import { AVAILABILITY_STREAM, availabilitySubject } from '../../../adapters/feeds/nats-feed.ts';
import { WebhookPush } from '../../../adapters/feeds/webhook-push.ts';
import type { Engine } from '../../../engine/engine.ts';
import type { CommandInput } from '../../../engine/inputs.ts';
import { silentLogger } from '../../../engine/logger.ts';
import type { EngineSettings } from '../../helpers/engine.ts';
import { eventually, ids, META, nextId, openEngine, temporaryDirectory } from '../../helpers/engine.ts';
import type { NatsServer } from '../../helpers/nats-server.ts';
import { startNatsServer } from '../../helpers/nats-server.ts';

const SECRET = 'feed-secret-0123456789abcdef';

interface Received {
  readonly atMs: number;
  readonly deliveryId: string;
  readonly signed: boolean;
  readonly updates: AvailabilityUpdate[];
}

interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  close(): Promise<void>;
}

/** A local HTTP receiver that answers 500 to its first `failures` requests, then 204. */
async function startReceiver(failures = 0, holdFirstMs = 0): Promise<Receiver> {
  const requests: Received[] = [];
  let seen = 0;
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const deliveryId = String(request.headers['x-stockledger-delivery']);
      const signed = signatureMatches(
        SECRET,
        deliveryId,
        String(request.headers['x-stockledger-timestamp']),
        body,
        String(request.headers['x-stockledger-signature']),
      );
      const parsed = JSON.parse(body) as { updates: AvailabilityUpdate[] };
      requests.push({ atMs: performance.now(), deliveryId, signed, updates: parsed.updates });
      seen++;
      const answer = () => {
        response.statusCode = seen <= failures ? 500 : 204;
        response.end();
      };
      if (seen === 1 && holdFirstMs > 0) setTimeout(answer, holdFirstMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/stock-feed`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Harness {
  readonly engine: Engine;
  readonly feeds: Feeds;
  close(): Promise<void>;
}

async function startHarness(settings: EngineSettings): Promise<Harness> {
  const directory = temporaryDirectory('feeds');
  const engine = await openEngine(directory.path, settings);
  const feeds = await startFeeds({ engine, config: engine.config, logger: silentLogger() });
  return {
    engine,
    feeds,
    async close() {
      await engine.close();
      await feeds.stop();
      directory.remove();
    },
  };
}

/** Each command is its own commit (awaited before the next), as separate requests would be. */
async function step(engine: Engine, command: CommandInput): Promise<void> {
  const [result] = await engine.submit([command], META);
  assert.ok(result?.result.ok, JSON.stringify(result?.result));
}

describe('webhook pushes', () => {
  let receiver: Receiver;
  let harness: Harness;
  before(async () => {
    receiver = await startReceiver();
    harness = await startHarness({
      STOCKLEDGER_FEED_WEBHOOK_URLS: receiver.url,
      STOCKLEDGER_FEED_WEBHOOK_SECRET: SECRET,
      STOCKLEDGER_FEED_THRESHOLDS: 'web=3',
    });
  });
  after(async () => {
    await harness.close();
    await receiver.close();
  });

  test('fire on status changes and threshold crossings only, with each channel exposed quantity', async () => {
    const { engine, feeds } = harness;
    const { location, sku } = ids('store-feed', 'SKU-F');
    const at = { sku, location };
    const sale = (qty: number): CommandInput => ({ type: 'sale', commandId: nextId(), ...at, qty });
    const receive = (qty: number): CommandInput => ({ type: 'receive', commandId: nextId(), ...at, qty });
    const steps: CommandInput[] = [
      {
        type: 'setPolicy',
        commandId: nextId(),
        ...at,
        policy: { safetyStock: 0, lowStockThreshold: 3, channels: { web: { share: 0.5 } } },
      },
      receive(10), // ATS 10, web 5: out → in, web crosses 3
      sale(1), //     ATS 9, web 4: nothing
      sale(4), //     ATS 5, web 2: web crosses 3, still in stock
      sale(1), //     ATS 4, web 2: nothing
      sale(1), //     ATS 3, web 1: in → low
      sale(1), //     ATS 2, web 1: nothing (moves within low)
      sale(2), //     ATS 0, web 0: low → out
      receive(10), // ATS 10, web 5: out → in, web crosses 3
      sale(1), //     ATS 9, web 4: nothing
    ];
    for (const command of steps) await step(engine, command);
    await feeds.idle();
    const updates = receiver.requests.flatMap((request) => request.updates);
    assert.ok(
      receiver.requests.every((request) => request.signed),
      'every push is signed',
    );
    assert.deepEqual(
      updates.map(({ status, availableToSell, channels, reasons }) => ({
        status,
        availableToSell,
        channels,
        reasons,
      })),
      [
        { status: 'outOfStock', availableToSell: 0, channels: { web: 0 }, reasons: ['policy'] },
        { status: 'inStock', availableToSell: 10, channels: { web: 5 }, reasons: ['status', 'threshold'] },
        { status: 'inStock', availableToSell: 5, channels: { web: 2 }, reasons: ['threshold'] },
        { status: 'lowStock', availableToSell: 3, channels: { web: 1 }, reasons: ['status'] },
        { status: 'outOfStock', availableToSell: 0, channels: { web: 0 }, reasons: ['status'] },
        { status: 'inStock', availableToSell: 10, channels: { web: 5 }, reasons: ['status', 'threshold'] },
      ],
    );
    assert.deepEqual(
      updates.map((update) => update.version),
      [...updates.map((update) => update.version)].sort((a, b) => a - b),
      'in version order',
    );
    assert.equal(feeds.stats().updates, 6);
  });
});

test('a failing receiver gets the same delivery again, with backoff doubling between attempts', async () => {
  const receiver = await startReceiver(3);
  const retryBaseMs = 60;
  const harness = await startHarness({
    STOCKLEDGER_FEED_WEBHOOK_URLS: receiver.url,
    STOCKLEDGER_FEED_WEBHOOK_SECRET: SECRET,
    STOCKLEDGER_FEED_RETRY_BASE_MS: String(retryBaseMs),
  });
  try {
    const { location, sku } = ids('store-retry', 'SKU-R');
    await step(harness.engine, { type: 'receive', commandId: nextId(), sku, location, qty: 5 });
    await eventually(() => receiver.requests.length === 4, 10_000, 'four attempts');
    await harness.feeds.idle();
    const attempts = receiver.requests;
    assert.equal(new Set(attempts.map((attempt) => attempt.deliveryId)).size, 1, 'one delivery, retried');
    const gapsMs = attempts.slice(1).map((attempt, at) => attempt.atMs - attempts[at]!.atMs);
    // Timers never fire early: each gap is at least its backoff (60, 120, 240 ms), so they grow.
    for (const [at, gapMs] of gapsMs.entries()) {
      assert.ok(
        gapMs >= retryBaseMs * 2 ** at - 2,
        `attempt ${at + 2} came ${gapMs} ms after the one before`,
      );
    }
    const [push] = harness.feeds.stats().pushes;
    assert.equal(push?.retries, 3);
    assert.equal(push?.delivered, 1);
    assert.equal(push?.failed, 0);
    assert.equal(receiver.requests.length, 4);
  } finally {
    await harness.close();
    await receiver.close();
  }
});

test('a full queue coalesces to the latest update per SKU-location, in order', async () => {
  // The first request is held for a while, so the updates after it pile up in a queue of three.
  const receiver = await startReceiver(0, 300);
  const push = new WebhookPush({
    url: receiver.url,
    secret: SECRET,
    queueMax: 3,
    attemptsMax: 1,
    retryBaseMs: 10,
    logger: silentLogger(),
  });
  const update = (sku: string, version: number): AvailabilityUpdate => ({
    sku,
    location: 'store-q',
    status: 'inStock',
    availableToSell: version,
    channels: {},
    reasons: ['status'],
    version,
    at: new Date(0).toISOString(),
    position: version,
  });
  push.push(update('A', 1));
  await eventually(() => receiver.requests.length === 1, 3_000, 'the first request');
  for (const [sku, version] of [
    ['A', 2],
    ['B', 3],
    ['A', 4],
    ['B', 5],
    ['C', 6],
    ['A', 7],
  ] as const) {
    push.push(update(sku, version));
  }
  await push.idle();
  push.stop();
  await receiver.close();
  const delivered = receiver.requests.flatMap((request) =>
    request.updates.map((u) => `${u.sku}${u.version}`),
  );
  assert.deepEqual(delivered, ['A1', 'B5', 'C6', 'A7']);
  assert.equal(push.stats().coalesced, 3);
  assert.equal(push.stats().dropped, 0);
});

describe('NATS feed', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    await nats.stop();
  });

  test('inv.avail keeps the last update per subject; inv.evt carries every recorded event', async () => {
    const harness = await startHarness({ STOCKLEDGER_FEED_NATS_URL: nats.url });
    const connection = await connect({ servers: nats.url, noAsyncTraces: true });
    try {
      const events: string[] = [];
      const subscription = connection.subscribe('inv.evt.>', {
        callback: (_error, message) => {
          events.push(message.subject);
        },
      });
      await connection.flush();
      const first = ids('dc.north:1', 'SKU/1.a');
      const second = ids('dc.north:1', 'SKU-2');
      let recorded = 0;
      for (const [at, qty] of [
        [first, 10],
        [second, 4],
      ] as const) {
        const [result] = await harness.engine.submit(
          [{ type: 'receive', commandId: nextId(), ...at, qty }],
          META,
        );
        recorded += result?.result.ok === true ? result.result.events.length : 0;
      }
      for (const qty of [10, 1]) {
        // Out of stock, then back in (a negative position is allowed for sales): two more updates.
        const type = qty === 10 ? 'sale' : 'receive';
        const [result] = await harness.engine.submit([{ type, commandId: nextId(), ...first, qty }], META);
        recorded += result?.result.ok === true ? result.result.events.length : 0;
      }
      await harness.feeds.idle();
      const manager = await jetstreamManager(connection);
      await eventually(() => events.length === recorded, 5_000, 'every event on inv.evt');
      const info = await manager.streams.info(AVAILABILITY_STREAM);
      assert.equal(info.state.messages, 2, 'one message per SKU-location');
      assert.equal(harness.feeds.stats().nats?.published, 4);
      const last = await manager.streams.getMessage(AVAILABILITY_STREAM, {
        last_by_subj: availabilitySubject(first.location, first.sku),
      });
      const update = JSON.parse(last?.string() ?? '{}') as AvailabilityUpdate;
      assert.equal(update.status, 'inStock');
      assert.equal(update.availableToSell, 1);
      assert.equal(last?.subject, 'inv.avail.dc%2Enorth%3A1.SKU%2F1%2Ea');
      assert.ok(events.every((subject) => subject.startsWith('inv.evt.dc%2Enorth%3A1.')));
      subscription.unsubscribe();
    } finally {
      await connection.close();
      await harness.close();
    }
  });
});
