// NATS faults: three engine nodes on a real three-server NATS cluster (JetStream, R3 stream and
// buckets). Under load, one NATS server is killed with SIGKILL and later restarted. The nodes reconnect
// to the others, appends and lease renewals retry through the leader elections, no acknowledged receipt
// is lost, none is applied twice, and writes succeed again after the restart.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { differences, expectedOnHand, locationsOverShards, ReceiptLoad } from '../helpers/cluster-load.ts';
import type { TestNode } from '../helpers/cluster-nodes.ts';
import { removeDataDir, startNode, stopNodes, waitReady } from '../helpers/cluster-nodes.ts';
import type { NatsCluster } from '../helpers/nats-cluster.ts';
import { startNatsCluster } from '../helpers/nats-cluster.ts';

const SHARDS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let nats: NatsCluster;
const nodes: TestNode[] = [];

before(async () => {
  nats = await startNatsCluster({ size: 3 });
  for (const id of ['node-1', 'node-2', 'node-3']) {
    // A longer lease than the other tests: a NATS leader election must not cost the leases.
    nodes.push(
      await startNode({ id, natsUrl: nats.natsUrl, shards: SHARDS, leaseTtlMs: 4_000, replicas: 3 }),
    );
  }
  await waitReady(nodes, 60_000);
});

after(async () => {
  await stopNodes(nodes);
  for (const node of nodes) removeDataDir(node);
  await nats.stop();
});

test('kill -9 and restart of one NATS server under load loses nothing acknowledged', async (t) => {
  const locations = locationsOverShards(SHARDS, 2);
  const load = new ReceiptLoad(() => nodes, locations, 'natsfault', 16);
  await sleep(1_500);
  const beforeKill = load.acknowledged.length;
  const victim = nats.servers[0]!;
  await victim.kill9();
  await sleep(3_000);
  const whileDown = load.acknowledged.length - beforeKill;
  await victim.restart();
  const atRestart = load.acknowledged.length;
  await sleep(2_500);
  const afterRestart = load.acknowledged.length - atRestart;
  const result = await load.stop();
  t.diagnostic(
    `${result.acknowledged.length} receipts acknowledged: ${beforeKill} before the kill, ${whileDown} while ${victim.name} was down, ` +
      `${afterRestart} in 2.5 s after its restart; ${result.retried} needed retries`,
  );
  for (const node of nodes) {
    const exit = await Promise.race([node.exited, sleep(0).then(() => null)]);
    assert.equal(
      exit,
      null,
      `${node.id} exited: ${JSON.stringify(exit && { ...exit, output: exit.output.slice(-4_000) })}`,
    );
  }
  assert.deepEqual([...result.failures], [], 'every receipt was answered 201 in the end');
  assert.ok(afterRestart > 0, 'writes succeed after the NATS server is back');
  const expected = expectedOnHand(result.acknowledged);
  for (const node of nodes)
    assert.deepEqual(await differences(node, expected), [], `read through ${node.id}`);
});
