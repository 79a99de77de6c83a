// Failover: kill -9 the owner of shards while receipts pour in through every node. The survivors take
// its shards after the lease TTL plus catch-up; every acknowledged receipt is still there, none is
// applied twice, and the killed node, restarted on its own data directory, rejoins and agrees.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { shardOf } from '../../engine/shard-of.ts';
import {
  differences,
  expectedOnHand,
  leaseOwners,
  locationsOverShards,
  ReceiptLoad,
} from '../helpers/cluster-load.ts';
import type { TestNode } from '../helpers/cluster-nodes.ts';
import { removeDataDir, send, startNode, stopNodes, waitReady } from '../helpers/cluster-nodes.ts';
import type { NatsServer } from '../helpers/nats-server.ts';
import { startNatsServer } from '../helpers/nats-server.ts';

const SHARDS = 8;
const LEASE_TTL_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let nats: NatsServer;
const started: TestNode[] = [];

before(async () => {
  nats = await startNatsServer();
  for (const id of ['node-1', 'node-2', 'node-3']) {
    started.push(await startNode({ id, natsUrl: nats.url, shards: SHARDS, leaseTtlMs: LEASE_TTL_MS }));
  }
  await waitReady(started);
});

after(async () => {
  await stopNodes(started);
  for (const node of started) removeDataDir(node);
  await nats.stop();
});

test('kill -9 of an owner under load: its shards move, nothing acknowledged is lost or doubled', async (t) => {
  const locations = locationsOverShards(SHARDS, 2);
  let live = [...started];
  const load = new ReceiptLoad(() => live, locations, 'failover', 16);
  await sleep(1_500);
  const owners = await leaseOwners(nats.url);
  const victim = started[1]!;
  const victimShards = new Set(
    [...owners].filter(([, lease]) => lease.owner === victim.id).map(([shard]) => shard),
  );
  assert.ok(victimShards.size > 0, `${victim.id} owns no shard: ${JSON.stringify([...owners])}`);
  let firstWriteAfterKill: number | null = null;
  let killedAt = 0;
  // Failover time: from the kill to the first acknowledgement of a write sent after it to a moved shard.
  load.onAck = (receipt, sentAtMs, atMs) => {
    if (killedAt > 0 && sentAtMs > killedAt && victimShards.has(shardOf(receipt.location, SHARDS))) {
      if (firstWriteAfterKill !== null && firstWriteAfterKill <= atMs) return;
      firstWriteAfterKill = atMs;
    }
  };
  const acknowledgedBefore = load.acknowledged.length;
  victim.process.kill('SIGKILL');
  killedAt = Date.now();
  live = live.filter((node) => node !== victim);
  await victim.exited;
  // Every shard of the victim gets a live owner with a higher epoch.
  for (;;) {
    const now = await leaseOwners(nats.url);
    const moved = [...victimShards].every((shard) => {
      const lease = now.get(shard);
      return (
        lease !== undefined &&
        lease.owner !== '' &&
        lease.owner !== victim.id &&
        lease.epoch > owners.get(shard)!.epoch
      );
    });
    if (moved) break;
    assert.ok(Date.now() - killedAt < 20_000, "the killed owner's shards did not move within 20 s");
    await sleep(100);
  }
  await sleep(1_000);
  const result = await load.stop();
  assert.deepEqual([...result.failures], [], 'every receipt was answered 201 in the end');
  assert.ok(firstWriteAfterKill !== null, 'a write to a moved shard succeeded after the kill');
  t.diagnostic(
    `${result.acknowledged.length} receipts acknowledged (${acknowledgedBefore} before the kill), ${result.retried} needed retries; ` +
      `${victimShards.size} shards moved; first write on a moved shard ${firstWriteAfterKill! - killedAt} ms after the kill (lease TTL ${LEASE_TTL_MS} ms)`,
  );
  const expected = expectedOnHand(result.acknowledged);
  for (const node of live) assert.deepEqual(await differences(node, expected), [], `read through ${node.id}`);
  // A repeat of an acknowledged receipt is its stored answer, not a second receipt.
  for (const receipt of result.acknowledged.slice(0, 20)) {
    const again = await send(() => live.map((node) => node.address), '/v1/receipts', {
      receiptId: receipt.id,
      location: receipt.location,
      lines: [{ sku: receipt.sku, qty: receipt.qty }],
    });
    assert.equal(again.status, 201);
    assert.equal(again.replayed, true, `${receipt.id} replayed`);
  }
  // The killed node comes back on its own data directory, catches up and rejoins.
  const back = await startNode({
    id: victim.id,
    natsUrl: nats.url,
    shards: SHARDS,
    leaseTtlMs: LEASE_TTL_MS,
    dataDir: victim.dataDir,
  });
  started[1] = back;
  await waitReady([back]);
  for (;;) {
    const now = await leaseOwners(nats.url);
    if ([...now.values()].some((lease) => lease.owner === back.id)) break;
    await sleep(100);
  }
  assert.deepEqual(await differences(back, expected), [], 'read through the restarted node');
});
