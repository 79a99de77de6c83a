// Proves the operations side: /health, /ready (503 until the node is ready), /metrics in Prometheus
// text with the command counter; and the real `stockledger serve` binary (engine/stockledger.js on
// Node 20) started as a child process: it listens on the port it logs, a SIGTERM drains and exits 0
// with every acknowledged command on disk for the next start, and a configuration that cannot start
// exits non-zero naming the setting.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TestServer } from './harness.ts';
import { expectStatus, receive, startServer } from './harness.ts';

const binary = fileURLToPath(new URL('../../../engine/stockledger.js', import.meta.url));

let server: TestServer;
let ready = false;
before(async () => {
  server = await startServer({ isReady: () => ready });
});
after(async () => {
  await server.close();
});

describe('health, readiness and metrics', () => {
  test('/health answers while /ready is 503 SHARD_UNAVAILABLE until the node is ready', async () => {
    const health = await server.request('GET', '/health');
    expectStatus(health, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const notYet = await server.request('GET', '/ready');
    expectStatus(notYet, 503, 'SHARD_UNAVAILABLE');
    assert.equal(notYet.headers.get('retry-after'), '1');
    ready = true;
    const now = await server.request('GET', '/ready');
    expectStatus(now, 200);
    assert.deepEqual(now.body, { ready: true });
  });

  test('/metrics is Prometheus text with default metrics, requests and applied commands', async () => {
    await receive(server, 'store-m', 'SKU-M', 1);
    const metrics = await server.request<string>('GET', '/metrics');
    expectStatus(metrics, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(metrics.body, /^process_cpu_user_seconds_total \d/m);
    assert.match(metrics.body, /^stockledger_commands_applied_total [1-9]/m);
    assert.match(
      metrics.body,
      /^stockledger_http_requests_total\{method="POST",route="\/v1\/receipts",status="201"\} 1$/m,
    );
  });
});

interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function run(args: readonly string[], env: Readonly<Record<string, string>>): Child {
  const child = spawn(process.execPath, [binary, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

async function listening(child: Child): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const match = /"address":"(http:\/\/[^"]+)"/.exec(child.output());
    if (match !== null) return match[1]!;
    if (Date.now() > deadline) throw new Error(`the server did not start: ${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('stockledger serve', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stockledger-serve-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('serves on the flags given, drains on SIGTERM with exit 0, and the next start has the data', async () => {
    const first = run(['serve', '--port', '0', '--data-dir', dataDir], { STOCKLEDGER_SHARDS: '4' });
    const address = await listening(first);
    assert.match(address, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(first.output(), /no API keys configured/);
    const receipt = await fetch(`${address}/v1/receipts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ receiptId: 'asn-1', location: 'store-s', lines: [{ sku: 'SKU-S', qty: 4 }] }),
    });
    assert.equal(receipt.status, 201);
    first.process.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    assert.match(first.output(), /every accepted command committed/);

    const second = run(['serve', '--port', '0'], { STOCKLEDGER_SHARDS: '4', STOCKLEDGER_DATA_DIR: dataDir });
    const again = await listening(second);
    const stock = (await (await fetch(`${again}/v1/stock/store-s/SKU-S`)).json()) as { onHand: number };
    assert.equal(stock.onHand, 4);
    second.process.kill('SIGINT');
    assert.equal(await second.exited, 0, second.output());
  });

  test('a configuration that cannot start exits 78 naming the setting', async () => {
    const cases: [readonly string[], Record<string, string>, RegExp][] = [
      [['serve'], { STOCKLEDGER_SHARDZ: '4' }, /STOCKLEDGER_SHARDZ: is not a setting/],
      [['serve', '--port', 'eighty'], {}, /--port: must be a whole number/],
      [['serve'], { HOST: '0.0.0.0', STOCKLEDGER_DATA_DIR: dataDir }, /HOST: .*STOCKLEDGER_API_KEYS/],
      [
        ['serve'],
        { STOCKLEDGER_API_KEYS: path.join(dataDir, 'missing.json') },
        /STOCKLEDGER_API_KEYS: .*cannot be read/,
      ],
    ];
    await Promise.all(
      cases.map(async ([args, env, pattern]) => {
        const child = run(args, env);
        assert.equal(await child.exited, 78, child.output());
        assert.match(child.output(), pattern);
      }),
    );
  });
});
