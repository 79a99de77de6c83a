// Measures the POS ingest over NATS with a real nats-server and a real engine on LMDB: how fast an
// offline backlog drains (sales/s, from its first commit to its last) and the latency of live sales
// published at a steady rate while it drains (publish → commit, p50/p99/max), against the same live
// rate with no backlog. Run: `npx tsx bench/pos-backlog.ts [backlogSales] [liveRatePerSecond]`.
// Bounded: it publishes a fixed number of messages and stops by itself.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startPosIngest } from '../adapters/pos/nats-ingest.ts';
import { posSubject } from '../adapters/pos/subjects.ts';
import { loadConfig } from '../engine/config.ts';
import { createEngine } from '../engine/engine.ts';
import { silentLogger } from '../engine/logger.ts';
import { startNatsServer } from '../test/helpers/nats-server.ts';

const backlogSales = Number(process.argv[2] ?? 20_000);
const liveRatePerSecond = Number(process.argv[3] ?? 200);
const stores = 20;
const liveSalesPerPhaseMax = 2_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(latenciesMs: number[]): string {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return `n=${sorted.length} p50=${percentile(sorted, 50).toFixed(2)} ms p99=${percentile(sorted, 99).toFixed(2)} ms max=${sorted.at(-1)?.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stockledger-bench-pos-'));
  const engine = await createEngine({
    config: loadConfig({ STOCKLEDGER_DATA_DIR: dataDir }),
    logger: silentLogger(),
  });
  const connection = await connect({ servers: nats.url, noAsyncTraces: true });
  const js = jetstream(connection);
  const publishedAt = new Map<string, number>();
  const liveLatenciesMs: number[] = [];
  let backlogCommitted = 0;
  let backlogFirstMs = 0;
  let backlogLastMs = 0;
  engine.onCommit((batch) => {
    const nowMs = performance.now();
    for (const { record } of batch.records) {
      for (const entry of record.entries) {
        if (entry.kind !== 'command') continue;
        if (entry.meta.source === 'pos:nats:backlog') {
          if (backlogCommitted === 0) backlogFirstMs = nowMs;
          backlogCommitted++;
          backlogLastMs = nowMs;
          continue;
        }
        const transactionId = entry.command.commandId.split(':')[0]!;
        const sentMs = publishedAt.get(transactionId);
        if (sentMs !== undefined) {
          liveLatenciesMs.push(nowMs - sentMs);
          publishedAt.delete(transactionId);
        }
      }
    }
  });
  let live = 0;
  const publishLive = async (count: number) => {
    const gapMs = 1_000 / liveRatePerSecond;
    const startMs = performance.now();
    for (let i = 0; i < count; i++) {
      const waitMs = startMs + i * gapMs - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const location = `store-${i % stores}`;
      const transactionId = `live-${++live}`;
      publishedAt.set(transactionId, performance.now());
      void js.publish(
        posSubject(location, 'live'),
        JSON.stringify({
          transactionId,
          location,
          register: 'L',
          sequence: live,
          lines: [{ sku: 'SKU-1', qty: 1 }],
        }),
      );
    }
  };
  let backlogs = 0;
  /** Publishes a backlog while no ingest runs, as a store that comes back online finds the node. */
  const publishBacklog = async () => {
    backlogs++;
    const publishes: Promise<unknown>[] = [];
    for (let i = 0; i < backlogSales; i++) {
      const location = `store-${i % stores}`;
      publishes.push(
        js.publish(
          posSubject(location, 'backlog'),
          JSON.stringify({
            transactionId: `backlog-${backlogs}-${i}`,
            location,
            register: `B${backlogs}`,
            sequence: i,
            occurredAt: new Date(Date.now() - 3_600_000).toISOString(),
            lines: [{ sku: 'SKU-1', qty: 1 }],
          }),
        ),
      );
      if (publishes.length === 1_000) await Promise.all(publishes.splice(0));
    }
    await Promise.all(publishes);
  };
  const drain = async (withLive: boolean): Promise<number> => {
    backlogCommitted = 0;
    await publishBacklog();
    const ingest = await startPosIngest({ engine, logger: silentLogger(), url: nats.url });
    let sent = 0;
    const liveDuring = (async () => {
      while (withLive && backlogCommitted < backlogSales && sent < liveSalesPerPhaseMax * 10) {
        await publishLive(Math.ceil(liveRatePerSecond / 10));
        sent += Math.ceil(liveRatePerSecond / 10);
      }
    })();
    while (backlogCommitted < backlogSales) await new Promise((resolve) => setTimeout(resolve, 5));
    await liveDuring;
    while (publishedAt.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await ingest.stop();
    return backlogSales / ((backlogLastMs - backlogFirstMs) / 1_000);
  };

  // Phase 1: live sales alone.
  const ingest = await startPosIngest({ engine, logger: silentLogger(), url: nats.url });
  const baselineCount = Math.min(liveSalesPerPhaseMax, liveRatePerSecond * 5);
  await publishLive(baselineCount);
  while (liveLatenciesMs.length < baselineCount) await new Promise((resolve) => setTimeout(resolve, 20));
  const baseline = summary(liveLatenciesMs.splice(0));
  await ingest.stop();
  // Phase 2: a backlog alone. Phase 3: a backlog while live sales go on at the same rate.
  const aloneRate = await drain(false);
  const withLiveRate = await drain(true);
  const during = summary(liveLatenciesMs.splice(0));

  console.log(
    `POS backlog over NATS: ${backlogSales} sales in ${stores} stores, live ${liveRatePerSecond}/s`,
  );
  console.log(`  backlog drain rate alone:         ${Math.round(aloneRate)} sales/s`);
  console.log(`  backlog drain rate with live:     ${Math.round(withLiveRate)} sales/s`);
  console.log(`  live latency, no backlog:         ${baseline}`);
  console.log(`  live latency while it drains:     ${during}`);

  await connection.close();
  await engine.close();
  rmSync(dataDir, { recursive: true, force: true });
  await nats.stop();
}

await main();
