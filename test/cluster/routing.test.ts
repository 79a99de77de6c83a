// Routing: three cluster nodes on a real nats-server, and one embedded node, get the same command
// sequence. In the cluster each command goes to a node picked in turn (mostly not the shard's owner);
// every answer, and every position read back from every node, must equal the embedded node's.
// Reservations of several lines mostly span shards: in the cluster they run as sagas over the owners.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { AVAILABILITY_STREAM, availabilitySubject } from '../../adapters/feeds/nats-feed.ts';
import { shardOf } from '../../engine/shard-of.ts';
import type { TestNode } from '../helpers/cluster-nodes.ts';
import {
  removeDataDir,
  send,
  stablePosition,
  startNode,
  stopNodes,
  waitReady,
  withoutTimes,
} from '../helpers/cluster-nodes.ts';
import type { NatsServer } from '../helpers/nats-server.ts';
import { startNatsServer } from '../helpers/nats-server.ts';
import { listeningWithin, ServerProcess } from '../helpers/server-process.ts';

const LOCATIONS = Array.from({ length: 12 }, (_, at) => `store-${at}`);
const SKUS = ['sku-a', 'sku-b', 'sku-c'];

/** A small deterministic generator, so the sequence is the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Step {
  readonly route: string;
  readonly body: unknown;
}

function sequence(length: number): Step[] {
  const random = mulberry32(20261207);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const steps: Step[] = [];
  const reservations: string[] = [];
  const transfers: { id: string; sku: string }[] = [];
  for (let at = 0; at < length; at++) {
    const location = pick(LOCATIONS);
    const sku = pick(SKUS);
    const roll = random();
    if (roll < 0.3) {
      steps.push({
        route: '/v1/receipts',
        body: { receiptId: `r-${at}`, location, lines: [{ sku, qty: 1 + Math.floor(random() * 9) }] },
      });
    } else if (roll < 0.55) {
      steps.push({
        route: '/v1/sales',
        body: { transactionId: `t-${at}`, location, lines: [{ sku, qty: 1 + Math.floor(random() * 4) }] },
      });
    } else if (roll < 0.72) {
      // A reservation of one to three lines, at locations mostly in different shards: in the cluster a
      // reservation across shards runs as a saga over the owners (intent, outbox, compensation).
      const reservationId = `res-${at}`;
      reservations.push(reservationId);
      const count = 1 + Math.floor(random() * 3);
      const lines: { sku: string; location: string; qty: number }[] = [];
      for (let line = 0; line < count; line++) {
        const candidate = { sku: pick(SKUS), location: pick(LOCATIONS), qty: 1 + Math.floor(random() * 3) };
        if (!lines.some((other) => other.sku === candidate.sku && other.location === candidate.location))
          lines.push(candidate);
      }
      const mode = random() < 0.7 ? 'all-or-nothing' : 'partial';
      steps.push({
        route: '/v1/reservations',
        body: { reservationId, channel: 'web', ttlSeconds: 3_600, mode, lines },
      });
    } else if (roll < 0.8 && reservations.length > 0) {
      steps.push({ route: `/v1/reservations/${pick(reservations)}/commit`, body: {} });
    } else if (roll < 0.87 && reservations.length > 0) {
      steps.push({
        route: `/v1/reservations/${pick(reservations)}/fulfil`,
        body: { fulfilmentId: `f-${at}` },
      });
    } else if (roll < 0.9 && reservations.length > 0) {
      steps.push({
        route: `/v1/reservations/${pick(reservations)}/release`,
        body: { releaseId: `rl-${at}` },
      });
    } else if (roll < 0.94) {
      // A transfer, mostly between shards: in the cluster its arrival is an outbox delivery to the owner
      // of the destination's shard, and the receipt is taken there.
      const to = pick(LOCATIONS.filter((other) => other !== location));
      transfers.push({ id: `tr-${at}`, sku });
      steps.push({
        route: '/v1/transfers',
        body: {
          transferId: `tr-${at}`,
          from: location,
          to,
          lines: [{ sku, qty: 1 + Math.floor(random() * 2) }],
        },
      });
    } else if (roll < 0.97 && transfers.length > 0) {
      const transfer = pick(transfers);
      steps.push({
        route: `/v1/transfers/${transfer.id}/receipt`,
        body: { lines: [{ sku: transfer.sku, qty: 1 }] },
      });
    } else {
      // A repeat of an earlier request: answered with the stored first answer, wherever it lands.
      const earlier = steps[Math.floor(random() * steps.length)];
      if (earlier !== undefined) steps.push(earlier);
    }
  }
  return steps;
}

let nats: NatsServer;
let nodes: TestNode[] = [];
let embedded: ServerProcess;
let embeddedAddress: string;
let embeddedDir: string;

before(async () => {
  nats = await startNatsServer();
  nodes = await Promise.all(['node-1', 'node-2', 'node-3'].map((id) => startNode({ id, natsUrl: nats.url })));
  embeddedDir = mkdtempSync(path.join(tmpdir(), 'stockledger-embedded-'));
  embedded = new ServerProcess({ dataDir: embeddedDir, settings: { STOCKLEDGER_SHARDS: '8' } });
  embeddedAddress = await listeningWithin(embedded, 60_000);
  await waitReady(nodes);
});

after(async () => {
  await stopNodes(nodes);
  embedded.kill('SIGTERM');
  await embedded.exited;
  for (const node of nodes) removeDataDir(node);
  rmSync(embeddedDir, { recursive: true, force: true });
  await nats.stop();
});

test('commands sent to any node land on the owner and answer as in embedded mode', async (t) => {
  const steps = sequence(300);
  let forwarded = 0;
  const acrossShards = new Map<number, number>();
  const transfersAcross = new Map<number, number>();
  let receivedTransfers = 0;
  const replayedStep = new Set(steps.flatMap((step, at) => (steps.indexOf(step) < at ? [at] : [])));
  for (const [at, step] of steps.entries()) {
    const node = nodes[at % nodes.length]!;
    const inCluster = await send(() => [node.address], step.route, step.body);
    const alone = await send(() => [embeddedAddress], step.route, step.body);
    assert.equal(
      inCluster.status,
      alone.status,
      `step ${at} ${step.route}: ${JSON.stringify(inCluster.body)}`,
    );
    assert.deepEqual(withoutTimes(inCluster.body), withoutTimes(alone.body), `step ${at} ${step.route}`);
    assert.equal(inCluster.replayed, alone.replayed, `step ${at}: replayed`);
    if (inCluster.attempts > 1) forwarded++;
    if (step.route === '/v1/transfers' && !replayedStep.has(at)) {
      const { from, to } = step.body as { from: string; to: string };
      if (shardOf(from, 8) !== shardOf(to, 8))
        transfersAcross.set(alone.status, (transfersAcross.get(alone.status) ?? 0) + 1);
    }
    if (step.route.endsWith('/receipt') && alone.status === 200) receivedTransfers++;
    const lines = (step.body as { lines?: { location: string }[] } | null)?.lines;
    if (step.route === '/v1/reservations' && lines !== undefined && !replayedStep.has(at)) {
      if (new Set(lines.map((line) => shardOf(line.location, 8))).size > 1)
        acrossShards.set(alone.status, (acrossShards.get(alone.status) ?? 0) + 1);
    }
  }
  t.diagnostic(
    `across shards by answer status: reservations ${JSON.stringify(Object.fromEntries(acrossShards))}, ` +
      `transfers ${JSON.stringify(Object.fromEntries(transfersAcross))}; ${receivedTransfers} transfers received`,
  );
  assert.ok((transfersAcross.get(201) ?? 0) > 0, 'a transfer between shards was shipped');
  assert.ok(receivedTransfers > 0, 'a transfer was received');
  // The sequence has reservations across shards that were held and ones that were refused.
  assert.ok((acrossShards.get(201) ?? 0) > 0, `held across shards: ${JSON.stringify([...acrossShards])}`);
  assert.ok((acrossShards.get(409) ?? 0) > 0, `refused across shards: ${JSON.stringify([...acrossShards])}`);
  // Every node reads every SKU-location's position as the embedded node has it (reads go to the owner).
  for (const location of LOCATIONS) {
    for (const sku of SKUS) {
      const expected = await send(() => [embeddedAddress], `/v1/stock/${location}/${sku}`, null);
      for (const node of nodes) {
        const read = await send(() => [node.address], `/v1/stock/${location}/${sku}`, null);
        assert.equal(read.status, expected.status);
        // The figures are equal. The version may be higher in the cluster: an all-or-nothing reservation
        // refused by one shard leaves a hold and its compensating release on the lines of the others.
        const { version, ...figures } = stablePosition(read.body) as { version: number };
        const { version: expectedVersion, ...expectedFigures } = stablePosition(expected.body) as {
          version: number;
        };
        assert.deepEqual(figures, expectedFigures, `${location}/${sku} on ${node.id}`);
        assert.ok(version >= expectedVersion, `${location}/${sku} version ${version} < ${expectedVersion}`);
      }
    }
  }
  // Events out: the cluster's NATS has each SKU-location's last availability update on INV_AVAIL (the
  // owner publishes one on commit when the status, a policy or a threshold changes), and its status is
  // the status the nodes answer.
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });
  try {
    const manager = await jetstreamManager(nc);
    let checked = 0;
    for (const location of LOCATIONS) {
      for (const sku of SKUS) {
        const position = (await send(() => [embeddedAddress], `/v1/stock/${location}/${sku}`, null)).body as {
          version: number;
          status: string;
        };
        if (position.version === 0) continue;
        const deadline = Date.now() + 5_000;
        for (;;) {
          const last = await manager.streams
            .getMessage(AVAILABILITY_STREAM, { last_by_subj: availabilitySubject(location, sku) })
            .catch(() => null);
          const update = JSON.parse(last?.string() ?? '{}') as { status?: string };
          if (update.status === position.status) break;
          // A SKU-location that never left its first status (out of stock) has had no update to send.
          if (last === null && position.status === 'outOfStock') break;
          assert.ok(
            Date.now() < deadline,
            `inv.avail for ${location}/${sku}: ${JSON.stringify(update)} vs ${position.status}`,
          );
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        checked++;
      }
    }
    assert.ok(checked > 0);
  } finally {
    await nc.close();
  }
  // The owners did the work: routed requests show on the nodes' metrics, and the shards are spread.
  let routed = 0;
  const leases: number[] = [];
  for (const node of nodes) {
    const text = await (await fetch(`${node.address}/metrics`)).text();
    routed += Number(/^stockledger_cluster_routed_items_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
    leases.push(Number(/^stockledger_cluster_leases_held (\d+)/m.exec(text)?.[1] ?? 'NaN'));
  }
  assert.ok(routed > steps.length / 2, `routed ${routed} of ${steps.length} steps`);
  assert.deepEqual(
    leases.sort(),
    [2, 3, 3],
    `8 shards over 3 nodes: ${leases.join(', ')} (retried steps: ${forwarded})`,
  );
});
