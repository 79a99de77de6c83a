// Rebalance: under load, a third node joins (the others hand it its share of the shards) and then one
// node leaves with SIGTERM (it hands its shards over before it stops). Every request, retried as a
// client retries, succeeds; the leaving node exits 0; the shards end up spread over the nodes left;
// and every acknowledged receipt is there once.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  differences,
  expectedOnHand,
  leaseOwners,
  locationsOverShards,
  ReceiptLoad,
} from '../helpers/cluster-load.ts';
import type { TestNode } from '../helpers/cluster-nodes.ts';
import { removeDataDir, startNode, stopNodes, waitReady } from '../helpers/cluster-nodes.ts';
import type { NatsServer } from '../helpers/nats-server.ts';
import { startNatsServer } from '../helpers/nats-server.ts';

const SHARDS = 8;
const LEASE_TTL_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let nats: NatsServer;
const started: TestNode[] = [];

before(async () => {
  nats = await startNatsServer();
  for (const id of ['node-1', 'node-2']) {
    started.push(await startNode({ id, natsUrl: nats.url, shards: SHARDS, leaseTtlMs: LEASE_TTL_MS }));
  }
  await waitReady(started);
});

after(async () => {
  await stopNodes(started);
  for (const node of started) removeDataDir(node);
  await nats.stop();
});

async function leasesBy(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { owner } of (await leaseOwners(nats.url)).values())
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

test('a node joining and a node leaving under load fail no request', async (t) => {
  const locations = locationsOverShards(SHARDS, 2);
  let live = [...started];
  const load = new ReceiptLoad(() => live, locations, 'rebalance', 16);
  await sleep(1_000);
  // Join: node-3 starts; the shards spread 3/3/2.
  const joining = await startNode({
    id: 'node-3',
    natsUrl: nats.url,
    shards: SHARDS,
    leaseTtlMs: LEASE_TTL_MS,
  });
  started.push(joining);
  live = [...live, joining];
  await until('the shards spread over three nodes', async () => {
    const counts = await leasesBy();
    return [...counts.values()].sort().join(',') === '2,3,3' && !counts.has('');
  });
  const afterJoin = load.acknowledged.length;
  await sleep(1_000);
  // Leave: node-1 gets SIGTERM, hands its shards over and exits 0; clients stop picking it once it
  // refuses connections.
  const leaving = started[0]!;
  leaving.process.kill('SIGTERM');
  const exit = await leaving.exited;
  live = live.filter((node) => node !== leaving);
  started.shift();
  assert.equal(exit.code, 0, exit.output.slice(-2_000));
  const handedOver = /"handovers":(\d+),"msg":"cluster: left/.exec(exit.output)?.[1];
  await until('the shards spread over the two nodes left', async () => {
    const counts = await leasesBy();
    return [...counts.values()].sort().join(',') === '4,4' && !counts.has(leaving.id) && !counts.has('');
  });
  await sleep(1_000);
  const result = await load.stop();
  t.diagnostic(
    `${result.acknowledged.length} receipts acknowledged (${afterJoin} by the end of the join); ${result.retried} needed a retry; ` +
      `${leaving.id} made ${handedOver ?? '?'} handovers in all (the join's rebalance and the leave)`,
  );
  assert.deepEqual([...result.failures], [], 'every request succeeded (with retries)');
  const expected = expectedOnHand(result.acknowledged);
  for (const node of live) assert.deepEqual(await differences(node, expected), [], `read through ${node.id}`);
});
