// Starts a real cluster of nats-server processes with JetStream, for cluster tests, `npm run cluster` and
// the cluster benchmark: each server on 127.0.0.1 with its own client, route and monitoring port (free
// ports, never the shared 4222) and its own store directory. `startNatsCluster` resolves only once
// JetStream is usable across the cluster: every server's /healthz answers ok (which needs a JetStream
// meta leader that server is current with), all of them name the same meta leader, and a client
// connected to the cluster reads its JetStream account info. Each server can be SIGKILLed and restarted
// on the same ports with the same store, so tests can take a quorum member away and bring it back.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, natsServerBinary } from './nats-server.ts';

/** The shared development server's ports: tests never use them. */
const sharedPorts = new Set([4222, 6222, 8222]);
const clusterSizeMax = 7;
const startTimeoutMs = 20_000;
const stopTimeoutMs = 5_000;
const pollIntervalMs = 100;
const probeTimeoutMs = 1_000;
const startAttemptsMax = 3;
/** Server output kept for failure messages. */
const logCharactersMax = 64 * 1024;

export interface NatsClusterOptions {
  /** How many servers; 3 by default. JetStream needs a majority of them up. */
  readonly size?: number;
  /**
   * The directory that holds one store directory per server (`<dataDir>/<name>`). By default a fresh
   * temporary directory, removed by `stop()`; a directory given here is kept, so a later start reuses it.
   */
  readonly dataDir?: string;
  readonly clusterName?: string;
  /**
   * Start the servers in their own process group, so a Ctrl-C in the terminal reaches only the parent
   * (which then stops them in order) and not the servers directly.
   */
  readonly detached?: boolean;
  /** Every line a server writes (its log), with the server's name. */
  readonly onLine?: (server: string, line: string) => void;
}

export interface NatsClusterServer {
  /** The server's name in the cluster: n1, n2, ... */
  readonly name: string;
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  /** The running process's id; undefined while the server is down. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** SIGKILL: no shutdown, no flush; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** Starts the server again on the same ports with the same store; resolves once it is healthy. */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after a few seconds); keeps the store, so `restart` works afterwards. */
  stop(): Promise<void>;
  /** The last lines the server wrote, for failure messages. */
  log(): string;
}

export interface NatsCluster {
  readonly urls: readonly string[];
  /** The urls as one comma-separated list, the form NATS_URL takes. */
  readonly natsUrl: string;
  readonly servers: readonly NatsClusterServer[];
  readonly dataDir: string;
  /** Stops every server, then removes the store directories unless `dataDir` was given. */
  stop(): Promise<void>;
}

interface Ports {
  readonly client: number;
  readonly cluster: number;
  readonly monitor: number;
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count; attempt++) {
    if (attempt > count * 20) throw new Error(`could not find ${count} distinct free ports`);
    const port = await freePort();
    if (!sharedPorts.has(port)) ports.add(port);
  }
  return [...ports];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function monitoring(monitorPort: number, route: string): Promise<unknown> {
  try {
    const response = await fetch(`http://127.0.0.1:${monitorPort}${route}`, {
      signal: AbortSignal.timeout(probeTimeoutMs),
    });
    return (await response.json()) as unknown;
  } catch {
    return null;
  }
}

/**
 * The JetStream meta leader this server knows of, or null when it knows none or is not healthy. A
 * standalone server has no meta group: it is its own leader once healthy.
 */
async function healthyMetaLeader(monitorPort: number, standaloneName: string | null): Promise<string | null> {
  const health = (await monitoring(monitorPort, '/healthz')) as { status?: string } | null;
  if (health?.status !== 'ok') return null;
  if (standaloneName !== null) return standaloneName;
  const jsz = (await monitoring(monitorPort, '/jsz')) as { meta_cluster?: { leader?: string } } | null;
  const leader = jsz?.meta_cluster?.leader;
  return typeof leader === 'string' && leader !== '' ? leader : null;
}

class ClusterServer implements NatsClusterServer {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly #arguments: readonly string[];
  readonly #binary: string;
  readonly #options: NatsClusterOptions;
  readonly #standalone: boolean;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  constructor(
    binary: string,
    name: string,
    ports: Ports,
    routes: readonly string[],
    storeDir: string,
    options: NatsClusterOptions,
  ) {
    this.#binary = binary;
    this.#options = options;
    this.name = name;
    this.port = ports.client;
    this.clusterPort = ports.cluster;
    this.monitorPort = ports.monitor;
    this.url = `nats://127.0.0.1:${ports.client}`;
    this.storeDir = storeDir;
    this.#arguments = [
      '-a',
      '127.0.0.1',
      '-p',
      String(ports.client),
      '-m',
      String(ports.monitor),
      '-js',
      '-sd',
      storeDir,
      '--server_name',
      name,
      // One server runs JetStream standalone: clustered JetStream would wait for peers that never come.
      ...(routes.length < 2
        ? []
        : [
            '--cluster_name',
            options.clusterName ?? 'stockledger-test',
            '--cluster',
            `nats://127.0.0.1:${ports.cluster}`,
            '--routes',
            routes.join(','),
          ]),
    ];
    this.#standalone = routes.length < 2;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  log(): string {
    return this.#log;
  }

  /** Spawns the process; `healthy` says when it is usable. */
  spawn(): void {
    if (this.#child !== null) throw new Error(`nats-server ${this.name} is already running`);
    mkdirSync(this.storeDir, { recursive: true });
    const child = spawn(this.#binary, this.#arguments, {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: this.#options.detached === true,
    });
    this.#child = child;
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.#log = (this.#log + text).slice(-logCharactersMax);
      if (this.#options.onLine === undefined) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.#options.onLine(this.name, line);
    });
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        if (this.#child === child) this.#child = null;
        resolve();
      });
    });
  }

  /** Resolves with the meta leader once this server is healthy; fails if it exits or the time runs out. */
  async healthy(deadlineMs: number): Promise<string> {
    while (Date.now() < deadlineMs) {
      if (this.#child === null)
        throw new Error(`nats-server ${this.name} exited:\n${this.#log.slice(-2_000)}`);
      const leader = await healthyMetaLeader(this.monitorPort, this.#standalone ? this.name : null);
      if (leader !== null) return leader;
      await delay(pollIntervalMs);
    }
    throw new Error(`nats-server ${this.name} was not healthy in time:\n${this.#log.slice(-2_000)}`);
  }

  async kill9(): Promise<void> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    await this.#exited;
    clearTimeout(killed);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.spawn();
    await this.healthy(Date.now() + startTimeoutMs);
  }
}

async function startOnce(binary: string, size: number, options: NatsClusterOptions): Promise<NatsCluster> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'stockledger-nats-cluster-'));
  const ports = await distinctFreePorts(size * 3);
  const portsOf = (index: number): Ports => ({
    client: ports[index * 3]!,
    cluster: ports[index * 3 + 1]!,
    monitor: ports[index * 3 + 2]!,
  });
  const routes = Array.from({ length: size }, (_, index) => `nats://127.0.0.1:${portsOf(index).cluster}`);
  const servers = Array.from({ length: size }, (_, index) => {
    const name = `n${index + 1}`;
    return new ClusterServer(binary, name, portsOf(index), routes, path.join(dataDir, name), options);
  });
  const urls = servers.map((server) => server.url);
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (const server of servers) server.spawn();
    const deadlineMs = Date.now() + startTimeoutMs;
    const leaders = await Promise.all(servers.map((server) => server.healthy(deadlineMs)));
    if (new Set(leaders).size !== 1) throw new Error(`the servers name different meta leaders: ${leaders}`);
    await jetStreamAnswers(urls, deadlineMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls, natsUrl: urls.join(','), servers, dataDir, stop };
}

/** A client connected to the cluster reads its JetStream account info (the meta leader answers). */
async function jetStreamAnswers(urls: readonly string[], deadlineMs: number): Promise<void> {
  const connection = await connect({
    servers: [...urls],
    noAsyncTraces: true,
    timeout: probeTimeoutMs * 5,
    maxReconnectAttempts: -1,
  });
  try {
    const manager = await jetstreamManager(connection, { timeout: probeTimeoutMs * 5 });
    for (;;) {
      try {
        await manager.getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() >= deadlineMs) throw error;
        await delay(pollIntervalMs);
      }
    }
  } finally {
    await connection.close();
  }
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1 || size > clusterSizeMax) {
    throw new Error(`a NATS cluster has 1 to ${clusterSizeMax} servers, not ${size}`);
  }
  const binary = natsServerBinary();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, size, options);
    } catch (error) {
      // Another process may have taken a port between our probe and the server's bind: try other ports.
      if (attempt >= startAttemptsMax) throw error;
    }
  }
}
