// The cluster shape of docker-compose.yml as local processes, for `npm run cluster`, cluster tests and the
// cluster benchmark: a JetStream cluster of real nats-server processes (test/helpers/nats-cluster.ts),
// then engine nodes node-1..node-N, each a `stockledger serve` process (test/helpers/server-process.ts)
// with its own HTTP port and data directory, joined to the NATS cluster through NATS_URL. Everything
// lives under one directory: <dataDir>/nats/<server>, <dataDir>/nodes/<node id>. `stop` stops the nodes
// first (SIGTERM: each drains and hands its shards over) and NATS after them, so a leaving node can
// still reach the cluster.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NatsCluster } from '../../test/helpers/nats-cluster.ts';
import { startNatsCluster } from '../../test/helpers/nats-cluster.ts';
import type { ServerExit } from '../../test/helpers/server-process.ts';
import { listeningWithin, ServerProcess } from '../../test/helpers/server-process.ts';
import { freePort } from '../ports.ts';

const nodesMax = 16;
const nodeStartTimeoutMsDefault = 60_000;
/** JetStream replicas of the engine's KV bucket and log stream: R3 (production) or fewer servers. */
const replicasMax = 3;

export interface LocalClusterOptions {
  /** Engine nodes; 3 by default. */
  readonly nodes?: number;
  /** nats-server processes; 3 by default. 0 starts none (only with `joinNats: false`). */
  readonly natsSize?: number;
  /** Settings (STOCKLEDGER_*, LOG_LEVEL) every node gets; they override the ones set here. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Node i (from 0) listens on basePort + i; by default each node gets a free port. */
  readonly basePort?: number;
  /** Where data goes; by default a fresh temporary directory that `stop` removes. A given one is kept. */
  readonly dataDir?: string;
  /**
   * Give the nodes NATS_URL (and the cluster settings), making them cluster members; true by default.
   * False starts them embedded (each its own independent node) beside the NATS cluster.
   */
  readonly joinNats?: boolean;
  /** Put every process in its own process group (see ServerProcess), for a launcher that owns Ctrl-C. */
  readonly detached?: boolean;
  /** Every line a process writes, with its name (node-1, n1, ...). */
  readonly onLine?: (source: string, line: string) => void;
  readonly nodeStartTimeoutMs?: number;
}

export interface LocalNode {
  /** node-1, node-2, ... (STOCKLEDGER_NODE_ID) */
  readonly id: string;
  readonly port: number;
  readonly dataDir: string;
  /** http://127.0.0.1:<port> */
  readonly address: string;
  /** The running process's id. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Resolves when the current process exits. */
  readonly exited: Promise<ServerExit>;
  /** Sends a signal to the current process (SIGKILL by default); safe once it has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit (SIGKILL if the drain takes too long). */
  stop(): Promise<ServerExit>;
  /** Stops the node if it runs, then starts it again on the same port with the same data directory. */
  restart(): Promise<void>;
}

export interface LocalCluster {
  /** The NATS cluster; null when `natsSize` is 0. */
  readonly nats: NatsCluster | null;
  readonly nodes: readonly LocalNode[];
  readonly dataDir: string;
  /** Stops the nodes, then NATS, then removes the data unless `dataDir` was given. */
  stop(): Promise<void>;
  /** SIGKILLs every process now, synchronously: for a process 'exit' handler, when nothing can wait. */
  killAll(): void;
}

class Node implements LocalNode {
  readonly id: string;
  readonly port: number;
  readonly dataDir: string;
  readonly address: string;
  readonly #settings: Readonly<Record<string, string>>;
  readonly #options: LocalClusterOptions;
  #process: ServerProcess;

  constructor(
    id: string,
    port: number,
    dataDir: string,
    settings: Readonly<Record<string, string>>,
    options: LocalClusterOptions,
  ) {
    this.id = id;
    this.port = port;
    this.dataDir = dataDir;
    this.address = `http://127.0.0.1:${port}`;
    this.#settings = settings;
    this.#options = options;
    this.#process = this.#spawn();
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get running(): boolean {
    return this.#process.running;
  }

  get exited(): Promise<ServerExit> {
    return this.#process.exited;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#process.kill(signal);
  }

  stop(): Promise<ServerExit> {
    return this.#process.stop();
  }

  async restart(): Promise<void> {
    await this.#process.stop();
    this.#process = this.#spawn();
    await this.listening();
  }

  /** Waits until the current process listens; one that does not in time is killed and the wait fails. */
  async listening(): Promise<void> {
    let address: string;
    try {
      address = await listeningWithin(
        this.#process,
        this.#options.nodeStartTimeoutMs ?? nodeStartTimeoutMsDefault,
      );
    } catch (error) {
      throw new Error(`${this.id} did not start: ${error instanceof Error ? error.message : error}`, {
        cause: error,
      });
    }
    if (address !== this.address) throw new Error(`${this.id} listens on ${address}, not ${this.address}`);
  }

  #spawn(): ServerProcess {
    const onLine = this.#options.onLine;
    return new ServerProcess({
      dataDir: this.dataDir,
      port: this.port,
      settings: this.#settings,
      detached: this.#options.detached === true,
      ...(onLine === undefined ? {} : { onLine: (line: string) => onLine(this.id, line) }),
    });
  }
}

async function nodePorts(count: number, basePort: number | undefined): Promise<number[]> {
  if (basePort !== undefined) {
    if (!Number.isInteger(basePort) || basePort < 1 || basePort + count - 1 > 65_535) {
      throw new Error(`the base port must leave room for ${count} ports below 65536, not ${basePort}`);
    }
    return Array.from({ length: count }, (_, index) => basePort + index);
  }
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const nodeCount = options.nodes ?? 3;
  const natsSize = options.natsSize ?? 3;
  const joinNats = options.joinNats ?? true;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > nodesMax) {
    throw new Error(`a local cluster has 1 to ${nodesMax} nodes, not ${nodeCount}`);
  }
  if (joinNats && natsSize < 1) throw new Error('nodes that join NATS need at least one nats-server');
  const ports = await nodePorts(nodeCount, options.basePort);
  const ownDataDir = options.dataDir === undefined;
  const dataDir = path.resolve(options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'stockledger-cluster-')));
  mkdirSync(path.join(dataDir, 'nodes'), { recursive: true });

  let nats: NatsCluster | null = null;
  const nodes: Node[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await nats?.stop();
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const killAll = () => {
    for (const node of nodes) node.kill('SIGKILL');
    for (const server of nats?.servers ?? []) void server.kill9();
  };
  try {
    if (natsSize > 0) {
      const onLine = options.onLine;
      nats = await startNatsCluster({
        size: natsSize,
        dataDir: path.join(dataDir, 'nats'),
        clusterName: 'stockledger-local',
        detached: options.detached === true,
        ...(onLine === undefined ? {} : { onLine }),
      });
    }
    for (let index = 0; index < nodeCount; index++) {
      const id = `node-${index + 1}`;
      const cluster: Record<string, string> =
        joinNats && nats !== null
          ? { NATS_URL: nats.natsUrl, STOCKLEDGER_CLUSTER_REPLICAS: String(Math.min(natsSize, replicasMax)) }
          : {};
      const settings = { ...cluster, STOCKLEDGER_NODE_ID: id, ...options.settings };
      nodes.push(new Node(id, ports[index]!, path.join(dataDir, 'nodes', id), settings, options));
    }
    await Promise.all(nodes.map((node) => node.listening()));
  } catch (error) {
    await stop();
    throw error;
  }
  return { nats, nodes, dataDir, stop, killAll };
}
