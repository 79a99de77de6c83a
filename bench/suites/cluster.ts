// Cluster mode (issue 7), on this one 2-core machine, so routing overhead is what shows, not scale:
//   w1      W1 (the mixed workload) over HTTP from one client: an embedded node, then a 3-node cluster on
//           one nats-server (requests spread over the nodes round-robin, so two thirds are routed to
//           another node's shard), in the same run, alternating.
//   across  reservations of two lines, both in one shard or in two shards, on the same 3-node cluster
//           (and on an embedded node): what the saga across owners costs next to a one-shard job.
//   failover kill -9 of a shard owner, repeatedly: the time from the kill to the first acknowledged
//           write sent after it to one of the killed node's shards; the node is restarted on its data
//           directory between kills, so every kill finds a full cluster.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { shardOf } from '../../engine/shard-of.ts';
import { leaseOwners, locationsOverShards, waitBalanced } from '../../test/helpers/cluster-load.ts';
import type { TestNode } from '../../test/helpers/cluster-nodes.ts';
import { removeDataDir, startNode, stopNodes, waitReady } from '../../test/helpers/cluster-nodes.ts';
import { startNatsServer } from '../../test/helpers/nats-server.ts';
import { listeningWithin, ServerProcess } from '../../test/helpers/server-process.ts';
import type { LoopResult } from '../driver.ts';
import { closedLoop } from '../driver.ts';
import { issueFrom, setScene } from '../issue.ts';
import { describeNoise, NoiseMonitor } from '../noise.ts';
import type { BenchRecord } from '../report.ts';
import { median } from '../stats.ts';
import { HttpLedger } from '../systems/http-ledger.ts';
import type { Catalogue } from '../workloads/catalogue.ts';
import { sizeOf, targetAt } from '../workloads/catalogue.ts';
import { MixedWorkload, prestockUnits } from '../workloads/mixed.ts';
import type { Suite, SuiteContext } from './suite.ts';

const PHASES = ['w1', 'across', 'failover'] as const;
/** W1's mix on a catalogue small enough to stock over HTTP in seconds. */
const CATALOGUE: Catalogue = { locations: 200, skusPerLocation: 50 };
const SHARDS = 64;
const connectionsPerNode = 64;
const clients = 64;
const leaseTtlMs = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const formatCount = (value: number) => Math.round(value).toLocaleString('en-US');

export const clusterSuite: Suite = {
  name: 'cluster',
  description: 'W1 over HTTP, embedded vs a 3-node cluster on one nats-server; failover time over kill -9s',
  phases: PHASES,
  async run(context: SuiteContext): Promise<BenchRecord[]> {
    const records: BenchRecord[] = [];
    const wants = (phase: string) => context.only === null || context.only.has(phase);
    if (wants('w1')) records.push(...(await w1(context)));
    if (wants('across')) records.push(...(await across(context)));
    if (wants('failover')) records.push(...(await failover(context)));
    return records;
  },
};

/** Runs `use` against one embedded node (every shard local, no NATS), then stops it and removes its data. */
async function withEmbeddedNode<T>(use: (system: HttpLedger) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stockledger-bench-embedded-'));
  const node = new ServerProcess({ dataDir, settings: { STOCKLEDGER_SHARDS: String(SHARDS) } });
  const system = new HttpLedger(
    'stockledger:embedded-http',
    [await listeningWithin(node, 60_000)],
    connectionsPerNode,
  );
  try {
    return await use(system);
  } finally {
    await system.close();
    node.kill('SIGTERM');
    await node.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs `use` against three nodes on one nats-server, requests round-robin over them, once balanced. */
async function withCluster<T>(
  use: (system: HttpLedger, nodes: readonly TestNode[]) => Promise<T>,
): Promise<T> {
  const nats = await startNatsServer();
  const nodes = await Promise.all(
    ['node-1', 'node-2', 'node-3'].map((id) =>
      startNode({ id, natsUrl: nats.url, shards: SHARDS, leaseTtlMs: 5_000 }),
    ),
  );
  const system = new HttpLedger(
    'stockledger:cluster-3',
    nodes.map((node) => node.address),
    connectionsPerNode,
  );
  try {
    await waitReady(nodes);
    await waitBalanced(nats.url, nodes, SHARDS);
    return await use(system, nodes);
  } finally {
    await system.close();
    await stopNodes(nodes);
    for (const node of nodes) removeDataDir(node);
    await nats.stop();
  }
}

async function runW1(
  system: HttpLedger,
  seed: number,
  context: SuiteContext,
  tag: string,
): Promise<LoopResult> {
  const targets = Array.from({ length: sizeOf(CATALOGUE) }, (_, at) => targetAt(CATALOGUE, at));
  await system.stock(targets, prestockUnits, `${tag}-stock`);
  const workload = new MixedWorkload(CATALOGUE, seed, tag);
  await setScene(system, workload.prime(2_000, 500), 'priming', clients);
  workload.resetIssued();
  const result = await closedLoop({
    issue: issueFrom(() => workload.next(), system),
    outstandingMax: clients,
    warmupMs: context.profile.warmupMs,
    durationMs: Math.max(5_000, context.profile.closedLoopMs),
  });
  // Answers over HTTP come continuously, not in group-commit bursts: the plain count over the window.
  return { ...result, throughputPerSecond: (result.completed * 1_000) / result.measuredMs };
}

async function w1(context: SuiteContext): Promise<BenchRecord[]> {
  const { progress, profile } = context;
  const runs: Record<'embedded' | 'cluster', LoopResult[]> = { embedded: [], cluster: [] };
  const monitor = new NoiseMonitor();
  const pairs = Math.max(Number(process.env.CLUSTER_BENCH_PAIRS ?? 3), profile.repetitions);
  for (let pair = 0; pair < pairs; pair++) {
    // Embedded: one node process, every shard local, no NATS.
    await withEmbeddedNode(async (system) => {
      const result = await runW1(system, 0xc1 + pair, context, `emb${pair}`);
      runs.embedded.push(result);
      progress(`W1 embedded over HTTP: ${formatCount(result.throughputPerSecond)} ops/s`);
    });
    // Cluster: one nats-server, three nodes, requests round-robin over them.
    await withCluster(async (system, nodes) => {
      const result = await runW1(system, 0xc1 + pair, context, `clu${pair}`);
      runs.cluster.push(result);
      let routeRetries = 0;
      let routed = 0;
      for (const node of nodes) {
        const text = await (await fetch(`${node.address}/metrics`)).text();
        routeRetries += Number(/^stockledger_cluster_route_retries_total (\d+)/m.exec(text)?.[1] ?? 0);
        routed += Number(/^stockledger_cluster_routed_items_total (\d+)/m.exec(text)?.[1] ?? 0);
      }
      progress(
        `W1 on 3 cluster nodes over HTTP: ${formatCount(result.throughputPerSecond)} ops/s ` +
          `(${formatCount(routed)} routed, ${routeRetries} router retries, ${system.retried} client 503 retries)`,
      );
    });
  }
  const noise = monitor.read();
  const throughput = (variant: 'embedded' | 'cluster') =>
    median(runs[variant].map((run) => run.throughputPerSecond));
  const ratio = throughput('cluster') / throughput('embedded');
  progress(`cluster/embedded throughput ${ratio.toFixed(2)}; ${describeNoise(noise)}`);
  const record = (variant: 'embedded' | 'cluster'): BenchRecord => {
    const last = runs[variant].at(-1)!;
    const latency = last.latency.summary();
    return {
      workload: `w1-mixed-${formatCount(sizeOf(CATALOGUE))} over HTTP`,
      system: variant === 'embedded' ? 'stockledger:embedded-http' : 'stockledger:cluster-3',
      throughput_per_s: Math.round(throughput(variant)),
      p50_ms: latency.p50Ms,
      p99_ms: latency.p99Ms,
      p999_ms: latency.p999Ms,
      errors: runs[variant].reduce((sum, run) => sum + run.failed, 0),
      durable: true,
      notes:
        `W1 mix, ${clients} requests in flight from one client process, median of ${runs[variant].length} ` +
        (variant === 'embedded'
          ? 'on one embedded node (every shard local).'
          : `on 3 nodes + 1 nats-server on the same 2 cores, requests round-robin over the nodes (about two ` +
            `thirds routed to the owner over NATS), each batch appended to inv.log.<shard> before its LMDB ` +
            `commit; throughput ${ratio.toFixed(2)}x embedded in the same run.`) +
        ` Closed loop: latency is mostly queueing. ${describeNoise(noise)}.`,
      metrics: variant === 'cluster' ? { ratio_to_embedded: ratio } : {},
    };
  };
  return [record('embedded'), record('cluster')];
}

/** Two-line reservations: both lines at one location (one shard), or at two locations in two shards. */
async function reservationsOf(
  system: HttpLedger,
  context: SuiteContext,
  spread: 'one-shard' | 'two-shards',
  tag: string,
): Promise<LoopResult> {
  const locations = Array.from({ length: 64 }, (_, at) => `res-store-${at}`);
  const skus = ['sku-a', 'sku-b'];
  await system.stock(
    locations.flatMap((location) => skus.map((sku) => ({ location, sku }))),
    1_000_000,
    `${tag}-stock`,
  );
  let issued = 0;
  const next = () => {
    const at = issued++;
    const first = locations[at % locations.length]!;
    let second = first;
    if (spread === 'two-shards') {
      for (let step = 1; shardOf(second, SHARDS) === shardOf(first, SHARDS); step++)
        second = locations[(at + step * 7) % locations.length]!;
    }
    return system.post('/v1/reservations', {
      reservationId: `${tag}-${at}`,
      channel: 'web',
      ttlSeconds: 3_600,
      lines: [
        { sku: 'sku-a', location: first, qty: 1 },
        { sku: 'sku-b', location: second, qty: 1 },
      ],
    });
  };
  const result = await closedLoop({
    issue: next,
    outstandingMax: clients,
    warmupMs: context.profile.warmupMs,
    durationMs: Math.max(5_000, context.profile.closedLoopMs),
  });
  return { ...result, throughputPerSecond: (result.completed * 1_000) / result.measuredMs };
}

async function across(context: SuiteContext): Promise<BenchRecord[]> {
  const { progress } = context;
  const monitor = new NoiseMonitor();
  const results = new Map<string, LoopResult[]>();
  const keep = (name: string, result: LoopResult) => {
    results.set(name, [...(results.get(name) ?? []), result]);
    const latency = result.latency.summary();
    progress(
      `${name}: ${formatCount(result.throughputPerSecond)} reservations/s, p50 ${latency.p50Ms?.toFixed(1)} ms, ` +
        `p99 ${latency.p99Ms?.toFixed(1)} ms, ${result.failed} failed`,
    );
  };
  const rounds = Math.max(3, context.profile.repetitions);
  const alternate = async (system: HttpLedger, variant: string, tag: string) => {
    for (let round = 0; round < rounds; round++) {
      for (const spread of ['one-shard', 'two-shards'] as const)
        keep(
          `${variant} ${spread}`,
          await reservationsOf(system, context, spread, `${tag}${round}${spread}`),
        );
    }
  };
  await withEmbeddedNode((system) => alternate(system, 'embedded', 'e'));
  await withCluster((system) => alternate(system, 'cluster', 'c'));
  const noise = monitor.read();
  const throughputOf = (name: string) =>
    median((results.get(name) ?? []).map((run) => run.throughputPerSecond));
  const sagaRatio = throughputOf('cluster two-shards') / throughputOf('cluster one-shard');
  progress(`cluster: two-shard/one-shard reservations ${sagaRatio.toFixed(2)}; ${describeNoise(noise)}`);
  return [...results].map(([name, runs]): BenchRecord => {
    const latency = runs.at(-1)!.latency.summary();
    const clustered = name.startsWith('cluster');
    return {
      workload: `reservations of 2 lines, ${name.split(' ')[1]} over HTTP`,
      system: clustered ? 'stockledger:cluster-3' : 'stockledger:embedded-http',
      throughput_per_s: Math.round(throughputOf(name)),
      p50_ms: latency.p50Ms,
      p99_ms: latency.p99Ms,
      p999_ms: latency.p999Ms,
      errors: runs.reduce((sum, run) => sum + run.failed, 0),
      durable: true,
      notes:
        `POST /v1/reservations with two lines (one unit each) ${name.endsWith('two-shards') ? 'at two locations in different shards' : 'at one location'}, ` +
        `${clients} in flight, median of ${runs.length} (latency of the last). ` +
        (clustered
          ? `3 nodes + 1 nats-server on the same 2 cores, requests round-robin over the nodes; across shards a ` +
            `saga: the header's owner holds its line and logs the intent, the other shard's owner holds its line ` +
            `(an outbox delivery over NATS), the header settles, then the answer; two-shard/one-shard ` +
            `${sagaRatio.toFixed(2)}x. `
          : 'Embedded: one job either way. ') +
        `${describeNoise(noise)}.`,
      metrics: clustered && name.endsWith('two-shards') ? { ratio_to_one_shard: sagaRatio } : {},
    };
  });
}

async function failover(context: SuiteContext): Promise<BenchRecord[]> {
  const { progress, profile } = context;
  const kills = profile.name === 'full' ? 40 : 20;
  const nats = await startNatsServer();
  const ids = ['node-1', 'node-2', 'node-3'];
  const nodes: TestNode[] = [];
  for (const id of ids) {
    nodes.push(await startNode({ id, natsUrl: nats.url, shards: 8, leaseTtlMs }));
  }
  const times: number[] = [];
  let probes = 0;
  try {
    await waitReady(nodes);
    const locations = locationsOverShards(8, 1);
    for (let kill = 0; kill < kills; kill++) {
      const owners = await leaseOwners(nats.url);
      const at = kill % nodes.length;
      const victim = nodes[at]!;
      const shards = [...owners].filter(([, lease]) => lease.owner === victim.id).map(([shard]) => shard);
      if (shards.length === 0) throw new Error(`${victim.id} owns no shard before kill ${kill + 1}`);
      const location = locations.find((candidate) => shardOf(candidate, 8) === shards[0])!;
      const survivors = nodes.filter((node) => node !== victim);
      victim.process.kill('SIGKILL');
      const killedMs = Date.now();
      await victim.exited;
      // Probes: a new receipt every 20 ms at a survivor, for a location of the killed node's first shard.
      let acknowledgedMs: number | null = null;
      let probe = 0;
      while (acknowledgedMs === null) {
        const id = `probe-${kill}-${probe++}`;
        probes++;
        const response = await fetch(`${survivors[probe % survivors.length]!.address}/v1/receipts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ receiptId: id, location, lines: [{ sku: 'probe', qty: 1 }] }),
        }).catch(() => null);
        if (response !== null) {
          await response.text();
          if (response.status === 201) acknowledgedMs = Date.now();
        }
        if (Date.now() - killedMs > 30_000)
          throw new Error('no write succeeded on the moved shard within 30 s');
        if (acknowledgedMs === null) await sleep(20);
      }
      times.push(acknowledgedMs - killedMs);
      progress(
        `kill ${kill + 1}/${kills}: first write on the moved shard after ${acknowledgedMs - killedMs} ms`,
      );
      nodes[at] = await startNode({
        id: victim.id,
        natsUrl: nats.url,
        shards: 8,
        leaseTtlMs,
        dataDir: victim.dataDir,
      });
      await waitReady(nodes);
      // Let the restarted node take its share back before the next kill.
      for (;;) {
        const now = await leaseOwners(nats.url);
        const counts = new Map<string, number>();
        for (const { owner } of now.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
        if (ids.every((id) => (counts.get(id) ?? 0) >= 2) && !counts.has('')) break;
        await sleep(100);
      }
    }
  } finally {
    await stopNodes(nodes);
    for (const node of nodes) removeDataDir(node);
    await nats.stop();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  progress(
    `failover over ${kills} kills: p50 ${pick(0.5)} ms, p99 ${pick(0.99)} ms (lease TTL ${leaseTtlMs} ms)`,
  );
  return [
    {
      workload: `failover: kill -9 of a shard owner (${kills} kills)`,
      system: 'stockledger:cluster-3',
      throughput_per_s: null,
      p50_ms: pick(0.5),
      p99_ms: pick(0.99),
      p999_ms: null,
      errors: 0,
      durable: true,
      notes:
        `Time from SIGKILL of the owner to the first acknowledged receipt sent after it to one of its shards ` +
        `(probes every 20 ms at the survivors, ${probes} in all), lease TTL ${leaseTtlMs} ms, 8 shards, 3 nodes on one ` +
        `nats-server; the node is restarted on its data directory between kills. Min ${sorted[0]} ms, max ${sorted.at(-1)} ms.`,
      metrics: { lease_ttl_ms: leaseTtlMs, kills },
    },
  ];
}
