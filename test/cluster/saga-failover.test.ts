// Reservations across shards under a kill -9: clients send all-or-nothing reservations of two lines in
// two shards (and some of three, one too large for its stock, so they are refused and compensated)
// through every node,
// and one node is killed mid-way. Every request ends answered 201 or 409 after retries; each location's
// reserved figure is then exactly what the held reservations hold there (no partial hold survives, none
// is applied twice), read through every node, and again after the killed node has rejoined.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { shardOf } from '../../engine/shard-of.ts';
import { locationsOverShards, waitBalanced } from '../helpers/cluster-load.ts';
import type { TestNode } from '../helpers/cluster-nodes.ts';
import { removeDataDir, send, startNode, stopNodes, waitReady } from '../helpers/cluster-nodes.ts';
import type { NatsServer } from '../helpers/nats-server.ts';
import { startNatsServer } from '../helpers/nats-server.ts';

const SHARDS = 8;
const STOCK = 40;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const locations = locationsOverShards(SHARDS, 1);

let nats: NatsServer;
const nodes: TestNode[] = [];
let live: TestNode[] = [];

before(async () => {
  nats = await startNatsServer();
  for (const id of ['node-1', 'node-2', 'node-3'])
    nodes.push(await startNode({ id, natsUrl: nats.url, shards: SHARDS }));
  live = [...nodes];
  await waitReady(nodes);
  await waitBalanced(nats.url, nodes, SHARDS);
  for (const location of locations) {
    const receipt = { receiptId: `stock-${location}`, location, lines: [{ sku: 'sku-1', qty: STOCK }] };
    assert.equal((await send(() => [nodes[0]!.address], '/v1/receipts', receipt)).status, 201);
  }
});

after(async () => {
  await stopNodes(nodes);
  for (const node of nodes) removeDataDir(node);
  await nats.stop();
});

interface Sent {
  readonly id: string;
  readonly lines: readonly { location: string; qty: number }[];
  status: number;
}

async function reservedEverywhere(through: readonly TestNode[]): Promise<Map<string, number>[]> {
  return Promise.all(
    through.map(async (node) => {
      const figures = new Map<string, number>();
      for (const location of locations) {
        const answer = await send(() => [node.address], `/v1/stock/${location}/sku-1`, null);
        figures.set(location, (answer.body as { reserved: number }).reserved);
      }
      return figures;
    }),
  );
}

test('reservations across shards through a kill -9 end whole or not at all', async (t) => {
  const sent: Sent[] = [];
  let running = true;
  let next = 0;
  const worker = async (offset: number) => {
    while (running) {
      const n = next++;
      const first = locations[n % locations.length]!;
      let second = locations[(n * 3 + 1) % locations.length]!;
      for (let step = 2; shardOf(second, SHARDS) === shardOf(first, SHARDS); step++)
        second = locations[(n * 3 + step) % locations.length]!;
      const lines = [
        { location: first, qty: 1 },
        { location: second, qty: 1 },
      ];
      // One in four has a third line, in a third shard, that asks more than its location has: refused,
      // and the holds of its other lines (one in another shard) compensated.
      if (n % 4 === 0) {
        let third = locations[(n * 5 + 2) % locations.length]!;
        for (let step = 3; [first, second].some((l) => shardOf(l, SHARDS) === shardOf(third, SHARDS)); step++)
          third = locations[(n * 5 + step) % locations.length]!;
        lines.push({ location: third, qty: STOCK + 1 });
      }
      const request: Sent = { id: `rsv-${n}`, lines, status: 0 };
      sent.push(request);
      const answer = await send(
        () => live.map((_, at) => live[(at + offset + n) % live.length]!.address),
        '/v1/reservations',
        {
          reservationId: request.id,
          channel: 'web',
          ttlSeconds: 3_600,
          lines: lines.map((line) => ({ sku: 'sku-1', ...line })),
        },
        60_000,
      );
      request.status = answer.status;
    }
  };
  const workers = Array.from({ length: 8 }, (_, at) => worker(at));
  await sleep(2_000);
  const victim = nodes[1]!;
  live = nodes.filter((node) => node !== victim);
  victim.process.kill('SIGKILL');
  await victim.exited;
  await sleep(4_000);
  running = false;
  await Promise.all(workers);
  const byStatus = new Map<number, number>();
  for (const request of sent) byStatus.set(request.status, (byStatus.get(request.status) ?? 0) + 1);
  t.diagnostic(`${sent.length} reservations across shards: ${JSON.stringify(Object.fromEntries(byStatus))}`);
  assert.deepEqual(
    [...byStatus.keys()].filter((status) => status !== 201 && status !== 409),
    [],
    'every request answered 201 (held) or 409 (refused) in the end',
  );
  assert.ok((byStatus.get(201) ?? 0) > 0 && (byStatus.get(409) ?? 0) > 0);
  const expected = new Map(locations.map((location) => [location, 0]));
  for (const request of sent) {
    if (request.status !== 201) continue;
    for (const line of request.lines) expected.set(line.location, expected.get(line.location)! + line.qty);
  }
  // Compensations may still be on their way for a moment after the last answer.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const figures = await reservedEverywhere(live);
    if (
      figures.every((figure) =>
        [...figure].every(([location, reserved]) => reserved === expected.get(location)),
      )
    )
      break;
    assert.ok(
      Date.now() < deadline,
      `reserved ${JSON.stringify(figures.map((figure) => Object.fromEntries(figure)))} vs held ${JSON.stringify(Object.fromEntries(expected))}`,
    );
    await sleep(200);
  }
  // The killed node rejoins on its data directory and reads the same.
  const restarted = await startNode({
    id: victim.id,
    natsUrl: nats.url,
    shards: SHARDS,
    dataDir: victim.dataDir,
  });
  nodes[1] = restarted;
  await waitReady(nodes);
  for (const figure of await reservedEverywhere(nodes))
    assert.deepEqual(Object.fromEntries(figure), Object.fromEntries(expected));
});
