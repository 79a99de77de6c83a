// W5: kill -9 recovery. A `stockledger serve` child (node --import tsx engine/cli.ts serve, as the tests
// run it) takes single-command reservations from a closed loop over HTTP; at a moment under load it is
// killed with SIGKILL and started again at once on the same data directory and port. Recovery time is
// from the kill to the first reservation answered 2xx by the new process (so it includes Node and tsx
// starting, the engine opening its LMDB files, and Fastify listening). After the last cycle the data
// directory is opened in this process: every reservation acknowledged before a kill must be there,
// and no SKU-location may hold more than it has.

import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { REPOSITORY_ROOT } from './children.ts';
import { freePort } from './ports.ts';
import { auditLedgers } from './systems/audit.ts';
import { openEngine } from './systems/engine.ts';
import type { Target } from './systems/system.ts';
import type { Catalogue } from './workloads/catalogue.ts';
import { sizeOf, targetAt } from './workloads/catalogue.ts';
import { Random } from './workloads/random.ts';

const readyTimeoutMs = 60_000;
const probeIntervalMs = 2;
const stockUnits = 1_000_000;
const stockCommandsPerRequest = 1_000;
const connections = 32;
const reservationTtlSeconds = 3_600;

type Child = ChildProcessByStdio<null, Readable, Readable>;

function startServer(dataDir: string, port: number): { child: Child; output: () => string } {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('STOCKLEDGER_')) env[name] = value;
  }
  Object.assign(env, {
    LOG_LEVEL: 'warn',
    STOCKLEDGER_RATE_LIMIT_PER_MINUTE: '0',
    STOCKLEDGER_OPEN_RESERVATIONS_PER_CHANNEL_MAX: '0',
  });
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'engine/cli.ts',
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
    ],
    { cwd: REPOSITORY_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (text: string) => {
    output = (output + text).slice(-8_000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  return { child, output: () => output };
}

function exited(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}

function reservationBody(id: string, target: Target): string {
  return JSON.stringify({
    reservationId: id,
    channel: 'web',
    ttlSeconds: reservationTtlSeconds,
    lines: [{ sku: target.sku, location: target.location, qty: 1 }],
  });
}

async function post(pool: Pool, route: string, body: string): Promise<number> {
  const response = await pool.request({
    method: 'POST',
    path: route,
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.body.text();
  return response.statusCode;
}

export interface RecoveryResult {
  readonly recoveriesMs: readonly number[];
  readonly acknowledged: number;
  /** Acknowledged reservations absent after the restarts: must be 0. */
  readonly lost: number;
  /** Holds in the store beyond the acknowledged ones: requests in flight at a kill that had committed. */
  readonly unacknowledgedHolds: number;
  readonly inFlightAtKills: number;
  readonly oversoldUnits: number;
  readonly failedRequests: number;
}

export async function killRecovery(options: {
  readonly cycles: number;
  readonly catalogue: Catalogue;
  readonly loadMs: number;
  readonly progress: (line: string) => void;
}): Promise<RecoveryResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'stockledger-bench-kill-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const random = new Random(0x9a11);
  const acknowledged: string[] = [];
  const recoveriesMs: number[] = [];
  let inFlightAtKills = 0;
  let failedRequests = 0;
  let sequence = 0;
  const targetAtRandom = () => targetAt(options.catalogue, random.below(sizeOf(options.catalogue)));
  let server = startServer(dataDir, port);
  const pool = new Pool(base, { connections, pipelining: 1 });
  const probe = new Pool(base, { connections: 1, pipelining: 1 });
  try {
    await waitReady(probe, server);
    for (let start = 0; start < sizeOf(options.catalogue); start += stockCommandsPerRequest) {
      const commands = [];
      for (
        let index = start;
        index < Math.min(sizeOf(options.catalogue), start + stockCommandsPerRequest);
        index++
      ) {
        const target = targetAt(options.catalogue, index);
        commands.push({
          type: 'receive',
          receiptId: `kill.stock.${index}`,
          location: target.location,
          lines: [{ sku: target.sku, qty: stockUnits }],
        });
      }
      const status = await post(pool, '/v1/commands', JSON.stringify({ commands }));
      if (status >= 300) throw new Error(`stocking the kill -9 server answered ${status}`);
    }
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      // Load: `connections` reservations in flight until the kill.
      let loading = true;
      let inFlight = 0;
      const worker = async () => {
        while (loading) {
          const id = `kill.${(sequence++).toString(36)}`;
          inFlight++;
          try {
            const status = await post(pool, '/v1/reservations', reservationBody(id, targetAtRandom()));
            if (status < 300) acknowledged.push(id);
            else failedRequests++;
          } catch {
            failedRequests++;
          } finally {
            inFlight--;
          }
        }
      };
      const workers = Array.from({ length: connections }, worker);
      await new Promise((resolve) => setTimeout(resolve, options.loadMs));
      inFlightAtKills += inFlight;
      server.child.kill('SIGKILL');
      const killedMs = performance.now();
      loading = false;
      await exited(server.child);
      server = startServer(dataDir, port);
      // The first request the new process answers 2xx ends the recovery.
      for (;;) {
        const id = `kill.${(sequence++).toString(36)}`;
        const status = await post(probe, '/v1/reservations', reservationBody(id, targetAtRandom())).catch(
          () => 0,
        );
        if (status > 0 && status < 300) {
          acknowledged.push(id);
          recoveriesMs.push(performance.now() - killedMs);
          break;
        }
        if (server.child.exitCode !== null)
          throw new Error(`the restarted server exited: ${server.output()}`);
        if (performance.now() - killedMs > readyTimeoutMs)
          throw new Error(`no answer ${readyTimeoutMs} ms after the kill: ${server.output()}`);
        await new Promise((resolve) => setTimeout(resolve, probeIntervalMs));
      }
      await Promise.all(workers);
      options.progress(
        `kill -9 ${cycle + 1}/${options.cycles}: first reservation answered ${recoveriesMs.at(-1)!.toFixed(0)} ms after the kill`,
      );
    }
  } finally {
    await pool.close().catch(() => {});
    await probe.close().catch(() => {});
    server.child.kill('SIGTERM');
    await exited(server.child);
  }
  try {
    const opened = await openEngine({ dataDir });
    try {
      let lost = 0;
      for (const id of acknowledged) if (opened.engine.reservationHeader(id) === undefined) lost++;
      const { holds, oversoldUnits } = auditLedgers(
        Array.from({ length: sizeOf(options.catalogue) }, (_, index) => {
          const target = targetAt(options.catalogue, index);
          return opened.engine.committedLedger(target.location, target.sku);
        }),
      );
      return {
        recoveriesMs,
        acknowledged: acknowledged.length,
        lost,
        unacknowledgedHolds: holds - (acknowledged.length - lost),
        inFlightAtKills,
        oversoldUnits,
        failedRequests,
      };
    } finally {
      await opened.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function waitReady(probe: Pool, server: { child: Child; output: () => string }): Promise<void> {
  const startedMs = performance.now();
  for (;;) {
    const ready = await probe
      .request({ method: 'GET', path: '/ready' })
      .then(async (response) => {
        await response.body.text();
        return response.statusCode === 200;
      })
      .catch(() => false);
    if (ready) return;
    if (server.child.exitCode !== null) throw new Error(`the server exited: ${server.output()}`);
    if (performance.now() - startedMs > readyTimeoutMs) throw new Error(`not ready: ${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
