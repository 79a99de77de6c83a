// Issue 4's measurements of the HTTP API, server in a child process (bench/http-server.ts), load from
// this process through undici Pools of a fixed number of keep-alive connections, driven by driver.ts:
//   hot     single-command reservations (`POST /v1/reservations`, unique ids, a TTL) on ONE SKU-location,
//           64 connections, closed loop; then an open loop at half that rate for latency without queueing
//   spread  the same over 100,000 SKU-locations (each request a random one)
//   batch   `POST /v1/commands` with 1,000 sales each, several requests in flight: commands/s
//   echo    a bare Fastify app answering its JSON body, same client, same connections: the ceiling of an
//           HTTP request here, for the ratio single-command / echo
// Every stockledger answer comes after its LMDB commit is flushed (durable). On a 2-core machine the
// client and the server each want a core; the notes give both processes' CPU use and everyone else's.

import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { REPOSITORY_ROOT } from '../children.ts';
import type { Issue, LoopResult } from '../driver.ts';
import { closedLoop, openLoop } from '../driver.ts';
import { describeNoise, NoiseMonitor } from '../noise.ts';
import type { BenchRecord } from '../report.ts';
import { LatencyRecorder, median, relativeSpread } from '../stats.ts';
import type { Outcome } from '../systems/system.ts';
import { HUNDRED_THOUSAND, sizeOf, targetAt } from '../workloads/catalogue.ts';
import { prestockUnits } from '../workloads/mixed.ts';
import { Random } from '../workloads/random.ts';
import { stockedDataDir } from '../workloads/stocked-engine.ts';
import type { Suite, SuiteContext } from './suite.ts';

const PHASES = ['hot', 'spread', 'batch', 'echo'] as const;
type Phase = (typeof PHASES)[number];

/** Connections (and so requests in flight) of the single-command and echo loads. */
const connections = 64;
/** Units on the hot SKU-location: far more than a run reserves. */
const hotStockUnits = 10_000_000;
const commandsPerRequest = 1_000;
/** `POST /v1/commands` requests in flight in the batch load. */
const batchRequestsInFlight = 4;
/**
 * Holds expire after this, so that the hot SKU-location never holds more than the domain's cap of
 * open reservation lines (openReservationsPerActorMax, 10,000; beyond it a reservation is 409
 * INVALID_STATE). Each hold therefore also costs the engine an expiry, on both loads alike.
 */
const reservationTtlSeconds = 1;
const openLoopShare = 0.5;
const openLoopOutstandingMax = 10_000;
const serverStartTimeoutMs = 30_000;
const serverStopTimeoutMs = 30_000;
const HOT = { location: 'store-hot', sku: 'SKU-HOT' } as const;
/** Targets: reported, not asserted. */
const singleToEchoTarget = 0.6;
const batchCommandsPerSecondTarget = 60_000;

const formatCount = (value: number) => Math.round(value).toLocaleString('en-US');

// ---- server processes -------------------------------------------------------------------------------

/** Busy CPU ticks (user + system, 1/100 s) of a process, from /proc; null off Linux. */
function processTicks(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

class ServerChild {
  readonly #child: ChildProcessByStdio<null, Readable, Readable>;
  #stderr = '';
  readonly address: Promise<string>;
  readonly exited: Promise<number | null>;

  constructor(kind: 'stockledger' | 'echo', parameters: object, cpuProfileDir: string | null) {
    const profile = cpuProfileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir];
    this.#child = spawn(
      process.execPath,
      [
        ...profile,
        '--import',
        'tsx',
        path.join(REPOSITORY_ROOT, 'bench', 'http-server.ts'),
        kind,
        JSON.stringify(parameters),
      ],
      { cwd: REPOSITORY_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-4_000);
    });
    this.exited = new Promise((resolve) => this.#child.on('close', (code) => resolve(code)));
    this.address = new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(
        () => reject(new Error(`${kind} did not listen in time: ${this.#stderr}`)),
        serverStartTimeoutMs,
      );
      this.#child.stdout.setEncoding('utf8').on('data', (text: string) => {
        stdout += text;
        const match = /^listening (\S+)$/m.exec(stdout);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      this.#child.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`${kind} exited (${code}) before listening: ${this.#stderr}`));
      });
    });
    this.address.catch(() => {});
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  cpuTicks(): number | null {
    return processTicks(this.pid);
  }

  /** SIGTERM (drain, write the CPU profile), then SIGKILL if it does not stop in time. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), serverStopTimeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---- requests ---------------------------------------------------------------------------------------

class HttpError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** POSTs JSON and reads the answer; 2xx is accepted, 409 is a refusal, anything else an error. */
async function postJson(
  pool: Pool,
  route: string,
  body: string,
): Promise<{ outcome: Outcome; text: string }> {
  const response = await pool.request({
    method: 'POST',
    path: route,
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.body.text();
  if (response.statusCode < 300) return { outcome: { ok: true }, text };
  const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? `HTTP_${response.statusCode}`;
  if (response.statusCode === 409) return { outcome: { ok: false, refusal: code }, text };
  throw new HttpError(code, `${route} answered ${response.statusCode}: ${text.slice(0, 300)}`);
}

function reservationBody(id: string, location: string, sku: string): string {
  return JSON.stringify({
    reservationId: id,
    channel: 'web',
    ttlSeconds: reservationTtlSeconds,
    lines: [{ sku, location, qty: 1 }],
  });
}

interface Measured {
  readonly result: LoopResult;
  /** CPU used by this process (the client) as a share of one core. */
  readonly clientCpuPercent: number;
  /** CPU used by the server process as a share of one core; NaN where unknown. */
  readonly serverCpuPercent: number;
  /** Share of all cores used by everyone else. */
  readonly otherCpuPercent: number;
  readonly loadAverage: number;
}

/** Runs a loop while sampling the client's, the server's and everyone else's CPU. */
async function measure(server: ServerChild, loop: () => Promise<LoopResult>): Promise<Measured> {
  const monitor = new NoiseMonitor();
  const clientBefore = process.cpuUsage();
  const serverBefore = server.cpuTicks();
  const startedMs = performance.now();
  const result = await loop();
  const elapsedMs = performance.now() - startedMs;
  const client = process.cpuUsage(clientBefore);
  const serverAfter = server.cpuTicks();
  const noise = monitor.read();
  const serverCpuPercent =
    serverBefore === null || serverAfter === null
      ? Number.NaN
      : ((serverAfter - serverBefore) * 1000) / elapsedMs;
  // The monitor counts the running server as "other"; it is not.
  const otherCpuPercent =
    noise.otherCpuPercent === null || Number.isNaN(serverCpuPercent)
      ? Number.NaN
      : Math.max(0, noise.otherCpuPercent - serverCpuPercent / os.cpus().length);
  return {
    result,
    clientCpuPercent: ((client.user + client.system) / 1000 / elapsedMs) * 100,
    serverCpuPercent,
    otherCpuPercent,
    loadAverage: noise.loadAverage,
  };
}

function describeCpu(measured: Measured): string {
  return (
    `client ${measured.clientCpuPercent.toFixed(0)}% of a core, server ${measured.serverCpuPercent.toFixed(0)}%, ` +
    `${describeNoise({ otherCpuPercent: Math.round(measured.otherCpuPercent), loadAverage: measured.loadAverage })}`
  );
}

interface Runs {
  readonly throughputs: number[];
  readonly latency: LatencyRecorder;
  readonly client: number[];
  readonly server: number[];
  readonly other: number[];
  readonly loads: number[];
  readonly codes: Map<string, number>;
  notAccepted: number;
}

function emptyRuns(): Runs {
  return {
    throughputs: [],
    latency: new LatencyRecorder(),
    client: [],
    server: [],
    other: [],
    loads: [],
    codes: new Map(),
    notAccepted: 0,
  };
}

function add(runs: Runs, measured: Measured, throughput: number): void {
  runs.throughputs.push(throughput);
  runs.latency.add(measured.result.latency);
  runs.client.push(measured.clientCpuPercent);
  runs.server.push(measured.serverCpuPercent);
  runs.other.push(measured.otherCpuPercent);
  runs.loads.push(measured.loadAverage);
  runs.notAccepted += measured.result.refused + measured.result.failed;
  for (const [code, count] of measured.result.codes)
    runs.codes.set(code, (runs.codes.get(code) ?? 0) + count);
}

function describeCodes(codes: ReadonlyMap<string, number>): string {
  return codes.size === 0
    ? 'none'
    : [...codes.entries()].map(([code, count]) => `${code} ${formatCount(count)}`).join(', ');
}

function cpuNotes(runs: Runs): string {
  const known = (values: number[]) => values.filter((value) => !Number.isNaN(value));
  return (
    `CPU (medians): client ${median(runs.client).toFixed(0)}% of a core, server ${median(known(runs.server)).toFixed(0)}% of a core, ` +
    `other processes ${median(known(runs.other)).toFixed(0)}% of the machine, load ${median(runs.loads).toFixed(1)}.`
  );
}

class HttpSuiteRun {
  readonly #context: SuiteContext;
  readonly records: BenchRecord[] = [];
  readonly #random = new Random(0x4077);
  #counter = 0;

  constructor(context: SuiteContext) {
    this.#context = context;
  }

  #wants(phase: Phase): boolean {
    return this.#context.only === null || this.#context.only.has(phase);
  }

  #id(prefix: string): string {
    this.#counter += 1;
    return `${prefix}-${this.#counter}`;
  }

  async run(): Promise<BenchRecord[]> {
    const { progress, cpuProfileDir = null } = this.#context;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'stockledger-bench-http-'));
    const servers: ServerChild[] = [];
    const pools: Pool[] = [];
    try {
      const wantsLedger = this.#wants('hot') || this.#wants('spread') || this.#wants('batch');
      // The 100k SKU-locations come stocked: the server starts on a copy of the cached stocked data dir
      // and makes them resident before it reports listening (instead of 100k receives over HTTP).
      const stocked = this.#wants('spread') || this.#wants('batch');
      if (stocked)
        cpSync(await stockedDataDir(this.#context.cacheDir, progress), dataDir, { recursive: true });
      const ledger = wantsLedger
        ? new ServerChild(
            'stockledger',
            {
              dataDir,
              makeResident: stocked,
              settings: {
                STOCKLEDGER_RATE_LIMIT_PER_MINUTE: '0',
                // Hundreds of thousands of holds stay open during a run: the per-channel cap is not measured here.
                STOCKLEDGER_OPEN_RESERVATIONS_PER_CHANNEL_MAX: '0',
              },
            },
            cpuProfileDir,
          )
        : null;
      const echo =
        this.#wants('echo') || this.#wants('hot') ? new ServerChild('echo', {}, cpuProfileDir) : null;
      for (const server of [ledger, echo]) if (server !== null) servers.push(server);
      const poolOf = async (server: ServerChild) => {
        const pool = new Pool(await server.address, {
          connections,
          pipelining: 1,
          keepAliveTimeout: 60_000,
          keepAliveMaxTimeout: 60_000,
        });
        pools.push(pool);
        return pool;
      };
      const ledgerPool = ledger === null ? null : await poolOf(ledger);
      const echoPool = echo === null ? null : await poolOf(echo);
      progress(
        `servers up in child processes (${[ledger === null ? null : 'stockledger', echo === null ? null : 'echo'].filter((name) => name !== null).join(', ')}); ` +
          `client: undici Pool, ${connections} connections, in this process`,
      );
      if (ledger !== null && ledgerPool !== null) await this.#prestock(ledgerPool);
      await this.#singles(ledger, ledgerPool, echo, echoPool);
      if (this.#wants('batch') && ledger !== null && ledgerPool !== null)
        await this.#batch(ledger, ledgerPool);
      this.#ratios();
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
      await Promise.all(servers.map((server) => server.stop()));
      rmSync(dataDir, { recursive: true, force: true });
    }
    return this.records;
  }

  async #prestock(pool: Pool): Promise<void> {
    const { progress } = this.#context;
    if (this.#wants('hot')) {
      await postJson(
        pool,
        '/v1/receipts',
        JSON.stringify({
          receiptId: this.#id('stock'),
          ...{ location: HOT.location },
          lines: [{ sku: HOT.sku, qty: hotStockUnits }],
        }),
      );
    }
    if (this.#wants('spread') || this.#wants('batch')) {
      progress(
        `${formatCount(sizeOf(HUNDRED_THOUSAND))} SKU-locations stocked with ${formatCount(prestockUnits)} each from the cached data dir, all resident (not timed)`,
      );
    }
  }

  /** One `POST /v1/commands`; accepted when every command was. */
  async #commands(pool: Pool, body: string): Promise<Outcome> {
    const { outcome, text } = await postJson(pool, '/v1/commands', body);
    if (!outcome.ok) return outcome;
    const refused = /"status":(?!20[01])\d{3}/.exec(text);
    return refused === null ? outcome : { ok: false, refusal: `COMMAND_${refused[0].slice(-3)}` };
  }

  async #singles(
    ledger: ServerChild | null,
    ledgerPool: Pool | null,
    echo: ServerChild | null,
    echoPool: Pool | null,
  ): Promise<void> {
    const { profile, progress } = this.#context;
    const loads: { name: 'hot' | 'spread' | 'echo'; server: ServerChild; issue: Issue }[] = [];
    if (this.#wants('hot') && ledger !== null && ledgerPool !== null) {
      loads.push({
        name: 'hot',
        server: ledger,
        issue: () =>
          postJson(
            ledgerPool,
            '/v1/reservations',
            reservationBody(this.#id('hot'), HOT.location, HOT.sku),
          ).then(({ outcome }) => outcome),
      });
    }
    if (this.#wants('spread') && ledger !== null && ledgerPool !== null) {
      const size = sizeOf(HUNDRED_THOUSAND);
      loads.push({
        name: 'spread',
        server: ledger,
        issue: () => {
          const target = targetAt(HUNDRED_THOUSAND, this.#random.below(size));
          return postJson(
            ledgerPool,
            '/v1/reservations',
            reservationBody(this.#id('spread'), target.location, target.sku),
          ).then(({ outcome }) => outcome);
        },
      });
    }
    if ((this.#wants('echo') || this.#wants('hot')) && echo !== null && echoPool !== null) {
      loads.push({
        name: 'echo',
        server: echo,
        // The same body a hot reservation sends, answered as it came.
        issue: () =>
          postJson(echoPool, '/echo', reservationBody(this.#id('echo'), HOT.location, HOT.sku)).then(
            ({ outcome }) => outcome,
          ),
      });
    }
    const runs = new Map(loads.map((load) => [load.name, emptyRuns()]));
    for (let repetition = 0; repetition < profile.repetitions; repetition++) {
      // Alternate the order, so that a drift in the machine's load favours none of them.
      const order = repetition % 2 === 0 ? loads : loads.toReversed();
      for (const load of order) {
        const measured = await measure(load.server, () =>
          closedLoop({
            issue: load.issue,
            outstandingMax: connections,
            warmupMs: profile.warmupMs,
            durationMs: profile.closedLoopMs,
          }),
        );
        add(runs.get(load.name)!, measured, measured.result.throughputPerSecond);
        const summary = measured.result.latency.summary();
        progress(
          `${load.name} ${repetition + 1}/${profile.repetitions}: ${formatCount(measured.result.throughputPerSecond)} requests/s, ` +
            `p50 ${summary.p50Ms?.toFixed(2)} ms, p99 ${summary.p99Ms?.toFixed(2)} ms; ${describeCpu(measured)}`,
        );
      }
    }
    const systemOf = (name: string) => (name === 'echo' ? 'fastify:echo' : 'stockledger:http');
    const workloadOf: Readonly<Record<string, string>> = {
      hot: 'http-reserve-1-sku',
      spread: 'http-reserve-100k-sku',
      echo: 'http-echo',
    };
    const what: Readonly<Record<string, string>> = {
      hot: `POST /v1/reservations, one line of qty 1, unique ids, ttlSeconds ${reservationTtlSeconds}, all on ONE SKU-location (stocked with ${formatCount(hotStockUnits)})`,
      spread: `POST /v1/reservations as for the hot SKU, each on a random one of ${formatCount(sizeOf(HUNDRED_THOUSAND))} SKU-locations (each stocked with ${formatCount(prestockUnits)}, all resident)`,
      echo: 'A bare Fastify 5 app (no hooks, default JSON parser) whose POST route answers its JSON body; the body is the hot reservation body',
    };
    for (const load of loads) {
      const run = runs.get(load.name)!;
      const latency = run.latency.summary();
      this.records.push({
        workload: workloadOf[load.name]!,
        system: systemOf(load.name),
        throughput_per_s: Math.round(median(run.throughputs)),
        p50_ms: latency.p50Ms,
        p99_ms: latency.p99Ms,
        p999_ms: latency.p999Ms,
        errors: run.notAccepted,
        durable: load.name !== 'echo',
        notes:
          `${what[load.name]}. Closed loop over ${connections} keep-alive connections (undici Pool, one request in flight each), ` +
          `median of ${profile.repetitions} × ${profile.closedLoopMs / 1000} s after ${profile.warmupMs / 1000} s warm-up ` +
          `(runs ${run.throughputs.map(formatCount).join(' / ')} requests/s); latency pooled over runs, request written to answer read` +
          `${load.name === 'echo' ? '' : ', after the LMDB commit'}. Not accepted: ${describeCodes(run.codes)}. Server in a child process, client in the runner. ${cpuNotes(run)}`,
        metrics: {
          runs: profile.repetitions,
          connections,
          best_per_s: Math.round(Math.max(...run.throughputs)),
          spread_percent: Math.round(100 * relativeSpread(run.throughputs)),
          client_cpu_percent: Math.round(median(run.client)),
          server_cpu_percent: Math.round(median(run.server)),
          other_cpu_percent: Math.round(median(run.other.filter((value) => !Number.isNaN(value)))),
        },
      });
    }
    const hot = loads.find((load) => load.name === 'hot');
    if (hot !== undefined) await this.#openLoop(hot.server, hot.issue, median(runs.get('hot')!.throughputs));
  }

  async #openLoop(server: ServerChild, issue: Issue, maximum: number): Promise<void> {
    const { profile, progress } = this.#context;
    const rate = Math.max(100, Math.round(maximum * openLoopShare));
    progress(
      `hot open loop: ${formatCount(rate)} requests/s offered for ${(profile.warmupMs + profile.openLoopMs) / 1000} s`,
    );
    const measured = await measure(server, () =>
      openLoop({
        issue,
        ratePerSecond: rate,
        warmupMs: profile.warmupMs,
        durationMs: profile.openLoopMs,
        outstandingMax: openLoopOutstandingMax,
      }),
    );
    const { result } = measured;
    const latency = result.latency.summary();
    progress(
      `hot open loop: ${formatCount(result.throughputPerSecond)} requests/s answered, p50 ${latency.p50Ms?.toFixed(2)} ms, ` +
        `p99 ${latency.p99Ms?.toFixed(2)} ms; ${describeCpu(measured)}`,
    );
    this.records.push({
      workload: `http-reserve-1-sku-open-${Math.round(openLoopShare * 100)}pct`,
      system: 'stockledger:http',
      throughput_per_s: Math.round(result.throughputPerSecond),
      p50_ms: latency.p50Ms,
      p99_ms: latency.p99Ms,
      p999_ms: latency.p999Ms,
      errors: result.refused + result.failed,
      durable: true,
      notes:
        `Hot-SKU reservations offered at ${formatCount(rate)}/s (${Math.round(openLoopShare * 100)}% of the closed-loop median), one ${profile.openLoopMs / 1000} s run ` +
        `after ${profile.warmupMs / 1000} s warm-up, over the same ${connections} connections (requests beyond them wait in the Pool's queue); ` +
        `latency from the instant each request was due to its durable answer, so a stall is not hidden (no coordinated omission). ` +
        `Not accepted: ${describeCodes(result.codes)}. ${describeCpu(measured)}.`,
      metrics: {
        offered_per_s: rate,
        client_cpu_percent: Math.round(measured.clientCpuPercent),
        server_cpu_percent: Math.round(measured.serverCpuPercent),
        other_cpu_percent: Math.round(measured.otherCpuPercent),
      },
    });
  }

  async #batch(server: ServerChild, pool: Pool): Promise<void> {
    const { profile, progress } = this.#context;
    const size = sizeOf(HUNDRED_THOUSAND);
    const issue: Issue = () => {
      const commands = [];
      for (let at = 0; at < commandsPerRequest; at++) {
        const target = targetAt(HUNDRED_THOUSAND, this.#random.below(size));
        commands.push({
          type: 'sale',
          transactionId: this.#id('batch'),
          location: target.location,
          lines: [{ sku: target.sku, qty: 1 }],
        });
      }
      return this.#commands(pool, JSON.stringify({ commands }));
    };
    const runs = emptyRuns();
    for (let repetition = 0; repetition < profile.repetitions; repetition++) {
      const measured = await measure(server, () =>
        closedLoop({
          issue,
          outstandingMax: batchRequestsInFlight,
          warmupMs: profile.warmupMs,
          durationMs: profile.closedLoopMs,
        }),
      );
      // Requests answer one at a time, not in bursts of a commit: count over the window, not bursts.
      const commandsPerSecond =
        (measured.result.completed * commandsPerRequest * 1000) / measured.result.measuredMs;
      add(runs, measured, commandsPerSecond);
      const summary = measured.result.latency.summary();
      progress(
        `batch ${repetition + 1}/${profile.repetitions}: ${formatCount(commandsPerSecond)} commands/s ` +
          `(${formatCount(measured.result.completed)} requests of ${formatCount(commandsPerRequest)}), p50 ${summary.p50Ms?.toFixed(0)} ms, ` +
          `p99 ${summary.p99Ms?.toFixed(0)} ms per request; ${describeCpu(measured)}`,
      );
    }
    const latency = runs.latency.summary();
    this.records.push({
      workload: 'http-commands-batch',
      system: 'stockledger:http',
      throughput_per_s: Math.round(median(runs.throughputs)),
      p50_ms: latency.p50Ms,
      p99_ms: latency.p99Ms,
      p999_ms: latency.p999Ms,
      errors: runs.notAccepted,
      durable: true,
      notes:
        `POST /v1/commands, ${formatCount(commandsPerRequest)} sales per request (one line each, unique transactionIds, random SKU-locations of ` +
        `${formatCount(size)}), ${batchRequestsInFlight} requests in flight; throughput in COMMANDS/s, latency per request. ` +
        `Median of ${profile.repetitions} × ${profile.closedLoopMs / 1000} s after ${profile.warmupMs / 1000} s warm-up ` +
        `(runs ${runs.throughputs.map(formatCount).join(' / ')} commands/s). Not accepted: ${describeCodes(runs.codes)}. ` +
        `Target ≥ ${formatCount(batchCommandsPerSecondTarget)} commands/s. ${cpuNotes(runs)}`,
      metrics: {
        runs: profile.repetitions,
        commands_per_request: commandsPerRequest,
        requests_in_flight: batchRequestsInFlight,
        best_per_s: Math.round(Math.max(...runs.throughputs)),
        spread_percent: Math.round(100 * relativeSpread(runs.throughputs)),
        target_per_s: batchCommandsPerSecondTarget,
        client_cpu_percent: Math.round(median(runs.client)),
        server_cpu_percent: Math.round(median(runs.server)),
      },
    });
  }

  /** The ratio of each single-command load to the echo, added to its record and printed. */
  #ratios(): void {
    const echo = this.records.find((record) => record.workload === 'http-echo');
    const { progress } = this.#context;
    for (const [at, record] of this.records.entries()) {
      if (
        echo === undefined ||
        !record.workload.startsWith('http-reserve') ||
        record.workload.includes('open')
      )
        continue;
      const ratio = (record.throughput_per_s ?? 0) / (echo.throughput_per_s ?? 1);
      this.records[at] = {
        ...record,
        notes: `${record.notes} Ratio to the echo: ${ratio.toFixed(2)} (target ≥ ${singleToEchoTarget}).`,
        metrics: { ...record.metrics, ratio_to_echo: Number(ratio.toFixed(2)) },
      };
      progress(`${record.workload} / http-echo = ${ratio.toFixed(2)} (target ≥ ${singleToEchoTarget})`);
    }
    const batch = this.records.find((record) => record.workload === 'http-commands-batch');
    if (batch !== undefined) {
      progress(
        `batch ingest: ${formatCount(batch.throughput_per_s ?? 0)} commands/s (target ≥ ${formatCount(batchCommandsPerSecondTarget)})`,
      );
    }
  }
}

export const httpSuite: Suite = {
  name: 'http',
  description:
    'the HTTP API in a child process: single-command reservations on 1 and 100k SKU-locations, batch commands, a Fastify echo for the ratio',
  phases: PHASES,
  run: (context) => new HttpSuiteRun(context).run(),
};
