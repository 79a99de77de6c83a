// Fencing: SIGSTOP an owner under load past its lease TTL, let the others take its shards and write to
// them, then SIGCONT it. Whatever it had not yet appended is refused (by its own lease clock or by
// JetStream's expected last sequence, after the new owner's epoch marker); it steps down, and nothing
// it answered is lost, nothing is applied twice, and its data directory still verifies.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shardOf } from '../../engine/shard-of.ts';
import type { Receipt } from '../helpers/cluster-load.ts';
import { differences, expectedOnHand, leaseOwners, locationsOverShards } from '../helpers/cluster-load.ts';
import type { TestNode } from '../helpers/cluster-nodes.ts';
import { removeDataDir, send, startNode, stopNodes, waitReady } from '../helpers/cluster-nodes.ts';
import type { NatsServer } from '../helpers/nats-server.ts';
import { startNatsServer } from '../helpers/nats-server.ts';

const SHARDS = 8;
const LEASE_TTL_MS = 1_500;
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let nats: NatsServer;
const started: TestNode[] = [];
/** The most appends node-1 (the paused one) has reported refused. */
let refusedAppends = 0;

before(async () => {
  nats = await startNatsServer();
  for (const id of ['node-1', 'node-2', 'node-3']) {
    // node-1, the one paused, holds each append back 200 ms first, so the pause always finds appends
    // under way (STOCKLEDGER_FAULT_APPEND_DELAY_MS; the lease check happens after the wait).
    const settings: Record<string, string> =
      id === 'node-1' ? { STOCKLEDGER_FAULT_APPEND_DELAY_MS: '200' } : {};
    // Its refused appends are counted from its log as it is written: the 503s it answers while stepping
    // down can push the lines that count them out of the output a process keeps.
    const onLine = (line: string) => {
      const count = /"refusedAppends":(\d+)/.exec(line)?.[1];
      if (id === 'node-1' && count !== undefined) refusedAppends = Math.max(refusedAppends, Number(count));
    };
    started.push(
      await startNode({ id, natsUrl: nats.url, shards: SHARDS, leaseTtlMs: LEASE_TTL_MS, settings, onLine }),
    );
  }
  await waitReady(started);
});

after(async () => {
  for (const node of started) node.process.kill('SIGCONT');
  await stopNodes(started);
  for (const node of started) removeDataDir(node);
  await nats.stop();
});

test('an owner paused past its TTL has its pending appends refused and steps down', async (t) => {
  const owners = await leaseOwners(nats.url);
  const victim = started[0]!;
  const others = started.slice(1);
  const victimShards = new Set(
    [...owners].filter(([, lease]) => lease.owner === victim.id).map(([shard]) => shard),
  );
  assert.ok(victimShards.size > 0);
  const locations = locationsOverShards(SHARDS, 2).filter((location) =>
    victimShards.has(shardOf(location, SHARDS)),
  );
  // Load straight at the victim, for its own shards, with no retries: what it answers is what it said.
  const sent: Receipt[] = [];
  const answered = new Map<string, number>();
  let running = true;
  let next = 0;
  const worker = async () => {
    while (running) {
      const n = next++;
      const receipt = {
        id: `fence-${n}`,
        location: locations[n % locations.length]!,
        sku: `sku-${n % 3}`,
        qty: 1 + (n % 4),
      };
      sent.push(receipt);
      try {
        const response = await fetch(`${victim.address}/v1/receipts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            receiptId: receipt.id,
            location: receipt.location,
            lines: [{ sku: receipt.sku, qty: receipt.qty }],
          }),
        });
        await response.text();
        answered.set(receipt.id, response.status);
      } catch {
        answered.set(receipt.id, 0);
      }
    }
  };
  const workers = Array.from({ length: 48 }, worker);
  await sleep(800);
  victim.process.kill('SIGSTOP');
  const stoppedAt = Date.now();
  // The others take its shards (a higher epoch) and write to them.
  for (;;) {
    const now = await leaseOwners(nats.url);
    if (
      [...victimShards].every(
        (shard) => (now.get(shard)?.owner ?? victim.id) !== victim.id && now.get(shard)!.owner !== '',
      )
    )
      break;
    assert.ok(Date.now() - stoppedAt < 20_000, "the paused owner's shards did not move");
    await sleep(100);
  }
  const during: Receipt[] = [];
  for (const [at, location] of locations.entries()) {
    const receipt = { id: `taken-${at}`, location, sku: 'sku-0', qty: 1 };
    const answer = await send(() => others.map((node) => node.address), '/v1/receipts', {
      receiptId: receipt.id,
      location,
      lines: [{ sku: receipt.sku, qty: 1 }],
    });
    assert.equal(answer.status, 201);
    during.push(receipt);
  }
  victim.process.kill('SIGCONT');
  // It wakes with batches it can no longer append: refused, answered 503, and the node exits 75.
  const outcome = await Promise.race([victim.exited, sleep(10_000).then(() => null)]);
  running = false;
  await Promise.all(workers);
  const output = outcome?.output ?? '';
  const statuses = new Map<number, number>();
  for (const status of answered.values()) statuses.set(status, (statuses.get(status) ?? 0) + 1);
  t.diagnostic(
    `paused ${victim.id} owning shards ${[...victimShards].join(',')}; refused appends after SIGCONT: ${refusedAppends}; ` +
      `exit ${outcome === null ? 'none (stepped down, still serving)' : outcome.code}; answers to the direct load: ` +
      JSON.stringify(Object.fromEntries(statuses)),
  );
  assert.ok(outcome !== null, 'the fenced node stepped down and exited');
  assert.equal(outcome.code, 75, `the fenced node exits 75 (EX_TEMPFAIL): ${output.slice(-1_500)}`);
  assert.ok(refusedAppends > 0, 'a fenced exit follows a refused append');
  assert.ok((statuses.get(201) ?? 0) > 0, 'the paused node had answered some receipts before the pause');
  // The clients retry what was not acknowledged (same ids): each receipt ends up applied exactly once.
  const live = others;
  for (const receipt of sent) {
    if (answered.get(receipt.id) === 201) continue;
    const answer = await send(() => live.map((node) => node.address), '/v1/receipts', {
      receiptId: receipt.id,
      location: receipt.location,
      lines: [{ sku: receipt.sku, qty: receipt.qty }],
    });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
  }
  const expected = expectedOnHand([...sent, ...during]);
  assert.deepEqual(await differences(others[0]!, expected), []);
  // The paused node's data directory is intact: verify proves its log chain and snapshots.
  {
    const report = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'engine/cli.ts', 'verify', '--data-dir', victim.dataDir],
      {
        cwd: repositoryRoot,
        encoding: 'utf8',
      },
    );
    t.diagnostic(report.trim().split('\n').slice(-2).join(' | '));
  }
});
