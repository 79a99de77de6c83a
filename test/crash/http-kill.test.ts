// Proves that SIGKILL of the real server (`npm start`'s `stockledger serve`, a Node process on a temporary
// LMDB data dir) in the middle of HTTP traffic loses no acknowledged request and applies none twice: each
// of 5 cycles starts the server, checks everything acknowledged so far, then sends concurrent sales,
// receipts and reservations with unique ids (32 at a time, keep-alive) and kills the process -9 at a random
// moment. After each restart every acknowledged (2xx) request, replayed, answers `Idempotent-Replayed:
// true` with the same status and body, and each position equals the starting stock plus exactly the
// requests its audit history shows applied (found by the request's correlation id), which include every
// acknowledged one, no unsent one and none twice. Finally every request ever sent is resubmitted and
// every total is the plain sum of all of them.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fastCheckSeed } from '../helpers/fast-check.ts';
import { listeningWithin, ServerProcess } from '../helpers/server-process.ts';
import { randomSource } from './workload.ts';

const cycles = 5;
const killAfterMinMs = 200;
const killAfterMaxMs = 1_200;
const connections = 32;
const readyTimeoutMs = 20_000;
const testTimeoutMs = 180_000;
const LOCATIONS = ['store-k1', 'store-k2', 'store-k3', 'store-k4'] as const;
const SKUS = ['SKU-K1', 'SKU-K2', 'SKU-K3', 'SKU-K4', 'SKU-K5'] as const;
/** Stock each SKU-location starts with: enough that no reservation is ever refused. */
const startingStock = 1_000_000;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stockledger-http-kill-'));
const servers = new Set<ServerProcess>();

after(() => {
  for (const server of servers) server.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

type Kind = 'receipt' | 'sale' | 'reservation';

interface Sent {
  /** The request's own id, also sent as its correlation id, so its events can be found in history. */
  readonly id: string;
  readonly kind: Kind;
  readonly path: string;
  readonly body: string;
  readonly location: string;
  readonly sku: string;
  readonly qty: number;
}

interface Acknowledged {
  readonly status: number;
  readonly text: string;
}

interface Effect {
  onHand: number;
  reserved: number;
}

function effectOf(request: Sent): Effect {
  switch (request.kind) {
    case 'receipt':
      return { onHand: request.qty, reserved: 0 };
    case 'sale':
      return { onHand: -request.qty, reserved: 0 };
    case 'reservation':
      return { onHand: 0, reserved: request.qty };
  }
}

function requestOf(kind: Kind, id: string, location: string, sku: string, qty: number): Sent {
  const line = { sku, qty };
  const [requestPath, body] =
    kind === 'receipt'
      ? ['/v1/receipts', { receiptId: id, location, lines: [line] }]
      : kind === 'sale'
        ? ['/v1/sales', { transactionId: id, location, lines: [line] }]
        : [
            '/v1/reservations',
            { reservationId: id, channel: 'web', ttlSeconds: 86_400, lines: [{ sku, location, qty }] },
          ];
  return { id, kind, path: requestPath, body: JSON.stringify(body), location, sku, qty };
}

async function post(
  address: string,
  request: Sent,
): Promise<{ status: number; text: string; replayed: boolean }> {
  const response = await fetch(`${address}${request.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-correlation-id': request.id },
    body: request.body,
  });
  const text = await response.text();
  return { status: response.status, text, replayed: response.headers.get('idempotent-replayed') === 'true' };
}

/** Runs `work` over `items` with `concurrency` at a time. */
async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await work(item);
      }
    }),
  );
}

interface HistoryEntry {
  readonly correlationId: string | null;
  readonly deltas: { readonly onHand?: number; readonly reserved?: number };
}

/** Every history entry of a SKU-location, paged newest first. */
async function historyOf(address: string, location: string, sku: string): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  let before: number | null = null;
  for (;;) {
    const query: string = before === null ? 'limit=1000' : `limit=1000&before=${before}`;
    const response = await fetch(`${address}/v1/stock/${location}/${sku}/history?${query}`);
    assert.equal(response.status, 200);
    const page = (await response.json()) as { entries: HistoryEntry[]; next: number | null };
    entries.push(...page.entries);
    if (page.next === null) return entries;
    before = page.next;
  }
}

/**
 * Checks what a restarted server holds against what was sent and acknowledged: each request applied
 * zero times or once (its history deltas are 0 or its effect), every acknowledged one applied, and each
 * position equal to the starting stock plus the effects of the applied requests.
 */
async function assertDurable(
  address: string,
  sent: readonly Sent[],
  acknowledged: ReadonlyMap<string, Acknowledged>,
  context: string,
): Promise<number> {
  const byId = new Map(sent.map((request) => [request.id, request]));
  let appliedUnacknowledged = 0;
  for (const location of LOCATIONS) {
    for (const sku of SKUS) {
      const applied = new Map<string, Effect>();
      for (const entry of await historyOf(address, location, sku)) {
        if (entry.correlationId === null) continue;
        const found = applied.get(entry.correlationId) ?? { onHand: 0, reserved: 0 };
        found.onHand += entry.deltas.onHand ?? 0;
        found.reserved += entry.deltas.reserved ?? 0;
        applied.set(entry.correlationId, found);
      }
      const expected: Effect = { onHand: 0, reserved: 0 };
      for (const [id, effect] of applied) {
        const request = byId.get(id);
        assert.ok(request !== undefined, `${context}: ${location}/${sku} has events of ${id}, never sent`);
        assert.deepEqual(effect, effectOf(request), `${context}: ${id} applied other than once`);
        expected.onHand += effect.onHand;
        expected.reserved += effect.reserved;
        if (!acknowledged.has(id)) appliedUnacknowledged++;
      }
      for (const request of sent) {
        if (request.location !== location || request.sku !== sku || !acknowledged.has(request.id)) continue;
        assert.ok(
          applied.has(request.id),
          `${context}: ${request.id} was acknowledged but is not in the history`,
        );
      }
      const response = await fetch(`${address}/v1/stock/${location}/${sku}`);
      const position = (await response.json()) as Effect;
      assert.deepEqual(
        { onHand: position.onHand, reserved: position.reserved },
        expected,
        `${context}: ${location}/${sku} differs from the requests applied`,
      );
    }
  }
  return appliedUnacknowledged;
}

/** Every acknowledged request, sent again: the first answer, marked as replayed. */
async function assertReplays(
  address: string,
  sent: readonly Sent[],
  acknowledged: ReadonlyMap<string, Acknowledged>,
  context: string,
) {
  const replayable = sent.filter((request) => acknowledged.has(request.id));
  await inParallel(replayable, connections, async (request) => {
    const first = acknowledged.get(request.id)!;
    const again = await post(address, request);
    assert.equal(
      again.replayed,
      true,
      `${context}: ${request.id} was not answered as a replay: ${again.status} ${again.text}`,
    );
    assert.equal(again.status, first.status, `${context}: ${request.id} answered another status`);
    assert.equal(again.text, first.text, `${context}: ${request.id} answered another body`);
  });
  return replayable.length;
}

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

async function startServer(): Promise<{ server: ServerProcess; address: string }> {
  const server = new ServerProcess({ dataDir, settings: { STOCKLEDGER_RATE_LIMIT_PER_MINUTE: '0' } });
  servers.add(server);
  return { server, address: await listeningWithin(server, readyTimeoutMs) };
}

test(`kill -9 of stockledger serve mid-traffic loses no acknowledged request (seed ${fastCheckSeed})`, {
  timeout: testTimeoutMs,
}, async (t) => {
  t.diagnostic(`seed ${fastCheckSeed}; replay with FC_SEED=${fastCheckSeed}`);
  const random = randomSource(fastCheckSeed);
  const pickOf = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
  const sent: Sent[] = [];
  const acknowledged = new Map<string, Acknowledged>();
  const startedMs = performance.now();

  for (let cycle = 0; cycle <= cycles; cycle++) {
    const { server, address } = await startServer();
    const context = `cycle ${cycle} (seed ${fastCheckSeed})`;
    if (cycle === 0) {
      const stock = LOCATIONS.flatMap((location) =>
        SKUS.map((sku) => requestOf('receipt', `stock-${location}-${sku}`, location, sku, startingStock)),
      );
      for (const request of stock) {
        sent.push(request);
        const answer = await post(address, request);
        assert.equal(answer.status, 201, answer.text);
        acknowledged.set(request.id, { status: answer.status, text: answer.text });
      }
    } else {
      const replays = await assertReplays(address, sent, acknowledged, context);
      const extra = await assertDurable(address, sent, acknowledged, context);
      t.diagnostic(
        `${context}: restarted; ${replays} acknowledged requests replayed identically; ${extra} applied without an acknowledgement so far`,
      );
    }
    if (cycle === cycles) {
      // The end: every request ever sent, sent again; totals are the plain sum of all of them.
      await inParallel(sent, connections, async (request) => {
        const answer = await post(address, request);
        assert.ok(
          answer.status === 201,
          `${context}: resubmitting ${request.id}: ${answer.status} ${answer.text}`,
        );
      });
      const everything = new Map(sent.map((request) => [request.id, { status: 201, text: '' }]));
      const unacknowledged = await assertDurable(
        address,
        sent,
        everything,
        `${context} after resubmitting all`,
      );
      assert.equal(unacknowledged, 0);
      for (const location of LOCATIONS) {
        for (const sku of SKUS) {
          const total = sent
            .filter((request) => request.location === location && request.sku === sku)
            .reduce(
              (sum, request) => {
                const effect = effectOf(request);
                return { onHand: sum.onHand + effect.onHand, reserved: sum.reserved + effect.reserved };
              },
              { onHand: 0, reserved: 0 },
            );
          const position = (await (await fetch(`${address}/v1/stock/${location}/${sku}`)).json()) as Effect;
          assert.deepEqual(
            { onHand: position.onHand, reserved: position.reserved },
            total,
            `${location}/${sku}`,
          );
        }
      }
      server.kill('SIGTERM');
      const exit = await server.exited;
      servers.delete(server);
      assert.equal(exit.code, 0, `the server did not drain cleanly:\n${exit.output}`);
      break;
    }

    // Traffic until the kill: each worker sends one request after another over keep-alive connections.
    let stopped = false;
    let counter = 0;
    let answered = 0;
    const failures = new Map<string, number>();
    const workers = Array.from({ length: connections }, async () => {
      while (!stopped) {
        counter += 1;
        const kind = pickOf<Kind>(['sale', 'sale', 'receipt', 'reservation', 'reservation']);
        const request = requestOf(
          kind,
          `${kind}-${cycle}-${counter}`,
          pickOf(LOCATIONS),
          pickOf(SKUS),
          1 + Math.floor(random() * 3),
        );
        sent.push(request);
        try {
          const answer = await post(address, request);
          assert.ok(
            answer.status < 300,
            `${context}: ${request.id} answered ${answer.status} ${answer.text}`,
          );
          acknowledged.set(request.id, { status: answer.status, text: answer.text });
          answered++;
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          // The connection died with the server: this request is unacknowledged.
          const name =
            (error as Error).cause instanceof Error
              ? ((error as Error).cause as Error).message
              : String(error);
          failures.set(name, (failures.get(name) ?? 0) + 1);
          return;
        }
      }
    });
    const killAfterMs = killAfterMinMs + Math.floor(random() * (killAfterMaxMs - killAfterMinMs));
    await sleep(killAfterMs);
    server.kill('SIGKILL');
    stopped = true;
    const exit = await server.exited;
    servers.delete(server);
    await Promise.all(workers);
    assert.equal(exit.signal, 'SIGKILL', `${context}: the server ended on its own:\n${exit.output}`);
    t.diagnostic(
      `${context}: killed after ${killAfterMs} ms; ${answered} requests acknowledged, ` +
        `${[...failures.values()].reduce((sum, count) => sum + count, 0)} cut off (${[...failures.keys()].join(', ')})`,
    );
  }
  t.diagnostic(
    `${sent.length} requests sent over ${cycles} kills, ${acknowledged.size} acknowledged; ${((performance.now() - startedMs) / 1000).toFixed(1)} s`,
  );
});
