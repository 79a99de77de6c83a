// Reservations across shards in cluster mode: a saga over the shards' owners (engine/reservations.ts).
// The header's owner logs the intent and crashes before delivering it; the next owner of the header's
// shard finishes the held reservation and compensates the refused all-or-nothing one, and the retried
// requests get the final answers. Holds across shards expire at the header's expiry everywhere, a
// transfer between shards arrives at the destination's owner, and a fulfilment across shards takes the
// units off every location.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signatureOf } from '../../adapters/ecommerce/signature.ts';
import { shardOf } from '../../engine/shard-of.ts';
import { waitBalanced } from '../helpers/cluster-load.ts';
import type { TestNode } from '../helpers/cluster-nodes.ts';
import { removeDataDir, send, startNode, stopNodes, waitReady } from '../helpers/cluster-nodes.ts';
import type { NatsServer } from '../helpers/nats-server.ts';
import { startNatsServer } from '../helpers/nats-server.ts';

const SHARDS = 8;
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first location `store-<n>` in a shard. */
function locationIn(shard: number): string {
  for (let at = 0; ; at++) if (shardOf(`store-${at}`, SHARDS) === shard) return `store-${at}`;
}

// Balanced, shard s is owned by the (s mod 3)th node: node-1 owns shard 0, node-2 shard 1, node-3 shard 2.
const A = locationIn(0);
const B = locationIn(1);
const C = locationIn(2);

const WEBHOOK_SECRET = 'whsec-cluster-saga-test';

/** Posts a signed order webhook to one node. */
async function webhook(
  address: string,
  id: string,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  const text = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1_000));
  const response = await fetch(`${address}/v1/webhooks/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-webhook-id': id,
      'x-webhook-timestamp': timestamp,
      'x-webhook-signature': signatureOf(WEBHOOK_SECRET, id, timestamp, text),
    },
    body: text,
  });
  return { status: response.status, body: await response.json() };
}

let nats: NatsServer;
let nodes: TestNode[] = [];
const alive = () => nodes.filter((node) => node.id !== 'node-1').map((node) => node.address);

interface Position {
  readonly onHand: number;
  readonly reserved: number;
  readonly availableToSell: number;
}

async function position(address: string, location: string): Promise<Position> {
  const answer = await send(() => [address], `/v1/stock/${location}/sku-1`, null);
  assert.equal(answer.status, 200);
  return answer.body as Position;
}

before(async () => {
  nats = await startNatsServer();
  nodes = [
    // node-1 writes outbox records but never delivers them: its reservations across shards stop after
    // their first step, as if it crashed right after logging the intent.
    await startNode({
      id: 'node-1',
      natsUrl: nats.url,
      shards: SHARDS,
      settings: { STOCKLEDGER_FAULT_PAUSE_OUTBOX: '1', STOCKLEDGER_ORDER_WEBHOOK_SECRET: WEBHOOK_SECRET },
    }),
    ...(await Promise.all(
      ['node-2', 'node-3'].map((id) =>
        startNode({
          id,
          natsUrl: nats.url,
          shards: SHARDS,
          settings: { STOCKLEDGER_ORDER_WEBHOOK_SECRET: WEBHOOK_SECRET },
        }),
      ),
    )),
  ];
  await waitReady(nodes);
  await waitBalanced(nats.url, nodes, SHARDS);
  for (const location of [A, B, C]) {
    const receipt = { receiptId: `stock-${location}`, location, lines: [{ sku: 'sku-1', qty: 10 }] };
    assert.equal((await send(alive, '/v1/receipts', receipt)).status, 201);
  }
});

after(async () => {
  await stopNodes(nodes);
  for (const node of nodes) removeDataDir(node);
  await nats.stop();
});

test('a saga cut off by a crash of its header owner is finished, or compensated, by the next owner', async (t) => {
  const node1 = nodes[0]!;
  const held = {
    reservationId: 'across-held',
    channel: 'web',
    ttlSeconds: 3_600,
    lines: [
      { sku: 'sku-1', location: A, qty: 2 },
      { sku: 'sku-1', location: B, qty: 3 },
    ],
  };
  const refused = {
    reservationId: 'across-refused',
    channel: 'web',
    ttlSeconds: 3_600,
    lines: [
      { sku: 'sku-1', location: A, qty: 1 },
      { sku: 'sku-1', location: C, qty: 11 },
    ],
  };
  const lapsed = {
    reservationId: 'across-lapsed',
    channel: 'web',
    ttlSeconds: 2,
    lines: [
      { sku: 'sku-1', location: A, qty: 1 },
      { sku: 'sku-1', location: B, qty: 1 },
    ],
  };
  // At node-1, which owns A's shard (the headers' shard): each create logs its intent and A's hold, then
  // waits for the other shard, which never hears of it; after its wait the request answers 503. The
  // first one's expiry comes (and its hold at A expires) before the other shard is asked.
  for (const body of [lapsed, held, refused]) {
    const first = await send(() => [node1.address], '/v1/reservations', body, 0);
    assert.equal(first.status, 503, JSON.stringify(first.body));
  }
  const pending = await send(() => [node1.address], '/v1/reservations/across-held', null);
  assert.equal((pending.body as { status: string }).status, 'pending');
  assert.equal((await position(node1.address, A)).reserved, 3, 'two holds at A, in the intent (one expired)');
  assert.equal((await position(alive()[0]!, B)).reserved, 0, 'nothing held at B yet');

  node1.process.kill('SIGKILL');
  await node1.exited;
  const killedMs = Date.now();
  // The retries, at the other nodes, are answered once the next owner of A's shard has delivered the
  // intent: the held one in full, the refused one with every line's figures and nothing held.
  const heldAnswer = await send(alive, '/v1/reservations', held);
  assert.equal(heldAnswer.status, 201, JSON.stringify(heldAnswer.body));
  assert.equal(heldAnswer.replayed, true);
  const heldBody = heldAnswer.body as { status: string; lines: { status: string; qty: number }[] };
  assert.equal(heldBody.status, 'held');
  assert.deepEqual(
    heldBody.lines.map((line) => [line.status, line.qty]),
    [
      ['held', 2],
      ['held', 3],
    ],
  );
  const refusedAnswer = await send(alive, '/v1/reservations', refused);
  assert.equal(refusedAnswer.status, 409, JSON.stringify(refusedAnswer.body));
  const error = refusedAnswer.body as { error: { code: string; details: { lines: unknown[] } } };
  assert.equal(error.error.code, 'INSUFFICIENT_STOCK');
  assert.deepEqual(error.error.details.lines, [
    { sku: 'sku-1', location: C, requested: 11, availableToSell: 10 },
  ]);
  t.diagnostic(`the sagas finished ${Date.now() - killedMs} ms after the kill of their header's owner`);
  // The one whose expiry came first is refused as expired, and holds nothing anywhere.
  const lapsedAnswer = await send(alive, '/v1/reservations', lapsed);
  assert.equal(lapsedAnswer.status, 409, JSON.stringify(lapsedAnswer.body));
  assert.equal((lapsedAnswer.body as { error: { code: string } }).error.code, 'RESERVATION_EXPIRED');
  for (const address of alive()) {
    assert.deepEqual(
      [(await position(address, A)).reserved, (await position(address, B)).reserved],
      [2, 3],
      `A holds 2 and B 3 (read at ${address}): the refused request's hold at A was released`,
    );
    assert.equal((await position(address, C)).reserved, 0);
  }
  const read = await send(alive, '/v1/reservations/across-held', null);
  assert.equal((read.body as { status: string }).status, 'held');
  // A step across shards, at any node: the commit reaches both lines.
  const commit = await send(alive, '/v1/reservations/across-held/commit', {});
  assert.equal(commit.status, 200, JSON.stringify(commit.body));
  assert.equal((commit.body as { status: string }).status, 'committed');
});

test('holds across shards expire at the reservation’s expiry on every shard', async () => {
  const body = {
    reservationId: 'across-expiring',
    channel: 'web',
    ttlSeconds: 2,
    lines: [
      { sku: 'sku-1', location: B, qty: 1 },
      { sku: 'sku-1', location: C, qty: 2 },
    ],
  };
  const created = await send(alive, '/v1/reservations', body);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const before = [(await position(alive()[0]!, B)).reserved, (await position(alive()[0]!, C)).reserved];
  assert.deepEqual(before, [3 + 1, 2], 'B holds the earlier 3 and this 1; C this 2');
  await sleep(2_000);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const read = await send(alive, '/v1/reservations/across-expiring', null);
    const view = read.body as { status: string; lines: { status: string; expired: number }[] };
    if (view.status === 'expired') {
      assert.deepEqual(
        view.lines.map((line) => [line.status, line.expired]),
        [
          ['expired', 1],
          ['expired', 2],
        ],
      );
      break;
    }
    assert.ok(Date.now() < deadline, `not expired: ${JSON.stringify(view)}`);
    await sleep(200);
  }
  // Each shard expires its own hold at the same instant, on its next expiry tick.
  for (;;) {
    const reserved = [(await position(alive()[0]!, B)).reserved, (await position(alive()[0]!, C)).reserved];
    if (reserved[0] === 3 && reserved[1] === 0) break;
    assert.ok(Date.now() < deadline, `holds not expired at B and C: ${reserved.join(', ')}`);
    await sleep(100);
  }
});

test('a transfer between shards arrives at the destination’s owner and is received there', async () => {
  // C (node-3's shard 2) ships to B (shard 1): the arrival is an outbox delivery to B's owner.
  const shipped = await send(alive, '/v1/transfers', {
    transferId: 'across-transfer',
    from: C,
    to: B,
    lines: [{ sku: 'sku-1', qty: 3 }],
  });
  assert.equal(shipped.status, 201, JSON.stringify(shipped.body));
  assert.equal((shipped.body as { status: string }).status, 'shipped');
  // Answered once the arrival is recorded: B has the units in transit, C has them off its on-hand.
  for (const address of alive()) {
    const b = await position(address, B);
    const c = await position(address, C);
    assert.deepEqual([b.onHand, (b as unknown as { inTransit: number }).inTransit, c.onHand], [10, 3, 7]);
    const read = await send(() => [address], '/v1/transfers/across-transfer', null);
    assert.equal((read.body as { status: string }).status, 'arrived', `read at ${address}`);
  }
  const received = await send(alive, '/v1/transfers/across-transfer/receipt', {
    lines: [{ sku: 'sku-1', qty: 2 }],
  });
  assert.equal(received.status, 200, JSON.stringify(received.body));
  const view = received.body as { status: string; lines: { variance: number }[] };
  assert.deepEqual([view.status, view.lines[0]!.variance], ['received', -1]);
  for (const address of alive()) {
    const b = await position(address, B);
    assert.deepEqual([b.onHand, (b as unknown as { inTransit: number }).inTransit], [12, 0]);
    const read = await send(() => [address], '/v1/transfers/across-transfer', null);
    assert.equal((read.body as { status: string }).status, 'received', `read at ${address}`);
  }
});

test('order webhooks at any node run at the owner of the order’s shard', async () => {
  // A's shard belongs to one of the two nodes left: each node gets an order, so one is routed.
  for (const [at, address] of alive().entries()) {
    const order = { id: `web-order-${at}`, location_id: A, line_items: [{ sku: 'sku-1', quantity: 1 }] };
    const created = await webhook(address, `wh-create-${at}`, { topic: 'orders/create', order });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((created.body as { action: string }).action, 'reserved-and-committed');
  }
  for (const [at, address] of alive().reverse().entries()) {
    const order = { id: `web-order-${at}`, location_id: A, fulfillment: { id: `ship-${at}` } };
    const fulfilled = await webhook(address, `wh-fulfil-${at}`, { topic: 'orders/fulfilled', order });
    assert.equal(fulfilled.status, 200, JSON.stringify(fulfilled.body));
    assert.equal((fulfilled.body as { status: string }).status, 'fulfilled');
  }
  const a = await position(alive()[0]!, A);
  assert.deepEqual([a.onHand, a.reserved], [8, 2], 'two units shipped; the committed hold of 2 stays');
  // An order with lines in two shards: reserved through the saga, then committed; a repeat of the same
  // webhook gets the same answer, replayed.
  const order = {
    id: 'web-order-across',
    line_items: [
      { sku: 'sku-1', quantity: 1, location_id: A },
      { sku: 'sku-1', quantity: 1, location_id: C },
    ],
  };
  const created = await webhook(alive()[1]!, 'wh-create-across', { topic: 'orders/create', order });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(
    [(created.body as { action: string }).action, (created.body as { status: string }).status],
    ['reserved-and-committed', 'committed'],
  );
  const again = await webhook(alive()[0]!, 'wh-create-across', { topic: 'orders/create', order });
  assert.deepEqual([again.status, again.body], [201, created.body]);
  assert.deepEqual(
    [(await position(alive()[0]!, A)).reserved, (await position(alive()[0]!, C)).reserved],
    [3, 1],
  );
  const fulfilled = await webhook(alive()[0]!, 'wh-fulfil-across', {
    topic: 'orders/fulfilled',
    order: { id: order.id, fulfillment: { id: 'ship-across' } },
  });
  assert.equal(fulfilled.status, 200, JSON.stringify(fulfilled.body));
  // The other shard's part of the fulfilment is delivered after the answer (a webhook does not wait).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const c = await position(alive()[1]!, C);
    if (c.onHand === 6 && c.reserved === 0) break;
    assert.ok(Date.now() < deadline, `C: ${JSON.stringify(c)}`);
    await sleep(100);
  }
  assert.deepEqual(
    [(await position(alive()[0]!, A)).onHand, (await position(alive()[0]!, A)).reserved],
    [7, 2],
  );
});

test('a fulfilment across shards takes the units off every location; the data directories verify', async (t) => {
  const body = {
    reservationId: 'across-fulfilled',
    channel: 'web',
    ttlSeconds: 3_600,
    lines: [
      { sku: 'sku-1', location: C, qty: 4 },
      { sku: 'sku-1', location: B, qty: 1 },
    ],
  };
  assert.equal((await send(alive, '/v1/reservations', body)).status, 201);
  const fulfilled = await send(alive, '/v1/reservations/across-fulfilled/fulfil', { fulfilmentId: 'ship-1' });
  assert.equal(fulfilled.status, 200, JSON.stringify(fulfilled.body));
  assert.equal((fulfilled.body as { status: string }).status, 'fulfilled');
  const c = await position(alive()[1]!, C);
  const b = await position(alive()[1]!, B);
  assert.deepEqual([c.onHand, c.reserved], [2, 0]);
  assert.deepEqual([b.onHand, b.reserved], [11, 3]);
  await stopNodes(nodes.filter((node) => node.id !== 'node-1'));
  for (const node of nodes.slice(1)) {
    const report = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'engine/cli.ts', 'verify', '--data-dir', node.dataDir],
      { cwd: repositoryRoot, encoding: 'utf8' },
    );
    t.diagnostic(`${node.id}: ${report.trim().split('\n').at(-1)}`);
  }
});
