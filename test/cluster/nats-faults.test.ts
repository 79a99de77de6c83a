// NATS faults: three engine nodes on a real three-server NATS cluster (JetStream, R3 stream and
// buckets). Under load, one NATS server is killed with SIGKILL and later restarted. The nodes reconnect
// to the others, appends and lease renewals retry through the leader elections, no acknowledged receipt
// is lost, none is applied twice, and writes succeed again after the restart. A node that lost its leases
// while NATS was out of reach steps down (exit 75) and is restarted, as its supervisor would.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { differences, expectedOnHand, locationsOverShards, ReceiptLoad } from '../helpers/cluster-load.ts';
import type { TestNode } from '../helpers/cluster-nodes.ts';
import { removeDataDir, startNode, stopNodes, waitReady } from '../helpers/cluster-nodes.ts';
import type { NatsCluster } from '../helpers/nats-cluster.ts';
import { startNatsCluster } from '../helpers/nats-cluster.ts';

const SHARDS = 8;
const LEASE_TTL_MS = 8_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let nats: NatsCluster;
const nodes: TestNode[] = [];

before(async () => {
  nats = await startNatsCluster({ size: 3 });
  for (const id of ['node-1', 'node-2', 'node-3']) {
    // A longer lease than the other tests: a NATS leader election should not cost the leases.
    nodes.push(
      await startNode({ id, natsUrl: nats.natsUrl, shards: SHARDS, leaseTtlMs: LEASE_TTL_MS, replicas: 3 }),
    );
  }
  await waitReady(nodes, 60_000);
  for (const node of nodes) supervise(node);
});

/**
 * Plays the supervisor (systemd, Kubernetes) for exit 75: a node whose leases ran out while NATS could not
 * renew them, and whose shards another node then took, steps down with EX_TEMPFAIL and is restarted on
 * its data directory. Any other exit fails the test.
 */
const restarts: string[] = [];
const otherExits: string[] = [];
let stopping = false;
function supervise(node: TestNode): void {
  void node.exited.then(async (exit) => {
    if (stopping) return;
    if (exit.code !== 75) {
      otherExits.push(`${node.id}: ${JSON.stringify({ ...exit, output: exit.output.slice(-4_000) })}`);
      return;
    }
    restarts.push(node.id);
    const again = await startNode({
      id: node.id,
      natsUrl: nats.natsUrl,
      shards: SHARDS,
      leaseTtlMs: LEASE_TTL_MS,
      replicas: 3,
      dataDir: node.dataDir,
    });
    nodes[nodes.indexOf(node)] = again;
    supervise(again);
  });
}

after(async () => {
  stopping = true;
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
  t.diagnostic(
    `nodes restarted after stepping down (exit 75): ${restarts.length === 0 ? 'none' : restarts.join(', ')}`,
  );
  assert.deepEqual(otherExits, [], 'no node exited other than by stepping down');
  await waitReady(nodes, 60_000);
  assert.deepEqual([...result.failures], [], 'every receipt was answered 201 in the end');
  assert.ok(afterRestart > 0, 'writes succeed after the NATS server is back');
  const expected = expectedOnHand(result.acknowledged);
  for (const node of nodes)
    assert.deepEqual(await differences(node, expected), [], `read through ${node.id}`);
});
