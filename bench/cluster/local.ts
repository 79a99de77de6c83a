// `npm run cluster`: a 3-server NATS JetStream cluster and 3 stockledger nodes as local processes, the
// shape docker-compose.yml describes, for trying cluster mode and for benchmarks. It prints the NATS URLs
// and each node's HTTP and /metrics URLs, writes every process's log to <data>/logs/<name>.log (and a
// node's warnings and errors to the terminal too), and on Ctrl-C or SIGTERM stops the nodes (SIGTERM,
// waiting for each to drain and exit) and then NATS. The children run in their own process groups, so
// the terminal's Ctrl-C reaches only this launcher and the order holds; a second Ctrl-C (a second or more
// after the first) kills them all.
// STOCKLEDGER_* and LOG_LEVEL set in this launcher's environment are passed on to every node.

import type { WriteStream } from 'node:fs';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { LocalCluster } from './local-cluster.ts';
import { startLocalCluster } from './local-cluster.ts';

/** Node settings this launcher sets per node: the environment's values are not passed on for these. */
const perNodeSettings = new Set(['STOCKLEDGER_NODE_ID', 'STOCKLEDGER_DATA_DIR']);
/**
 * A Ctrl-C reaches this process twice, from the terminal and relayed by tsx (npm run goes through it):
 * a signal this soon after the first is the same one, not a second Ctrl-C.
 */
const sameSignalWindowMs = 1_000;
/** pino's level number for warn: lines at or above it also go to the terminal. */
const terminalLevelMin = 40;

function whole(min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

interface Flags {
  readonly nodes: number;
  readonly natsServers: number;
  readonly basePort: number;
  readonly dataDir?: string;
  readonly embedded?: boolean;
}

const program = new Command('cluster')
  .description('Start a local NATS JetStream cluster and stockledger nodes joined to it; Ctrl-C stops them')
  .option('--nodes <count>', 'stockledger nodes (node-1, node-2, ...)', whole(1, 16), 3)
  .option('--nats-servers <count>', 'nats-server processes in the JetStream cluster', whole(1, 7), 3)
  .option(
    '--base-port <port>',
    'node-N listens on base-port + N - 1; 0 picks free ports',
    whole(0, 65_000),
    3001,
  )
  .option(
    '--data-dir <dir>',
    'keep data and logs here (nats/, nodes/, logs/), reused by the next run; default a temporary ' +
      'directory removed on exit',
  )
  .option(
    '--embedded',
    'start the nodes without NATS_URL: independent embedded nodes beside the NATS cluster',
  )
  .parse();

const flags = program.opts<Flags>();

function environmentSettings(): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || perNodeSettings.has(name)) continue;
    if (name.startsWith('STOCKLEDGER_') || name === 'LOG_LEVEL') settings[name] = value;
  }
  return settings;
}

const keepData = flags.dataDir !== undefined;
const dataDir = path.resolve(flags.dataDir ?? mkdtempSync(path.join(tmpdir(), 'stockledger-cluster-')));
const logDir = path.join(dataDir, 'logs');
mkdirSync(logDir, { recursive: true });
const logs = new Map<string, WriteStream>();

function onLine(source: string, line: string): void {
  let log = logs.get(source);
  if (log === undefined) {
    log = createWriteStream(path.join(logDir, `${source}.log`), { flags: 'a' });
    logs.set(source, log);
  }
  log.write(`${line}\n`);
  if (!source.startsWith('node-')) return;
  const level = /"level":(\d+)/.exec(line)?.[1];
  if (level === undefined ? line.trim() !== '' : Number(level) >= terminalLevelMin) {
    process.stderr.write(`[${source}] ${line}\n`);
  }
}

async function closeLogs(): Promise<void> {
  await Promise.all(
    [...logs.values()].map((log) => new Promise<void>((resolve) => log.end(() => resolve()))),
  );
}

function removeData(): void {
  if (!keepData) rmSync(dataDir, { recursive: true, force: true });
}

function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function printCluster(cluster: LocalCluster): void {
  const lines = [
    `stockledger local cluster: ${counted(cluster.nats?.servers.length ?? 0, 'NATS server')}, ` +
      `${counted(cluster.nodes.length, flags.embedded === true ? 'embedded node' : 'node')}` +
      `${flags.embedded === true ? ' (no NATS_URL)' : ' joined to it'}`,
    `data and logs: ${dataDir}${keepData ? '' : ' (removed on exit; --data-dir keeps them)'}`,
    '',
    `NATS_URL=${cluster.nats?.natsUrl ?? ''}`,
    ...(cluster.nats?.servers ?? []).map(
      (server) => `  ${server.name}  ${server.url}  monitoring http://127.0.0.1:${server.monitorPort}`,
    ),
    '',
    ...cluster.nodes.map(
      (node) => `  ${node.id}  ${node.address}  metrics ${node.address}/metrics  (pid ${node.pid})`,
    ),
    '',
    'Ctrl-C stops the nodes, then NATS.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

let cluster: LocalCluster | null = null;
let stoppingSinceMs: number | null = null;

async function shutDown(signal: NodeJS.Signals): Promise<void> {
  if (stoppingSinceMs !== null && Date.now() - stoppingSinceMs < sameSignalWindowMs) return;
  if (stoppingSinceMs !== null || cluster === null) {
    // A second signal, or one during the start: nothing waits any more.
    cluster?.killAll();
    process.stderr.write(`${signal}: killed every process\n`);
    await closeLogs();
    removeData();
    process.exit(130);
  }
  stoppingSinceMs = Date.now();
  process.stdout.write(`${signal}: stopping the nodes (they drain), then NATS...\n`);
  await cluster.stop();
  process.stdout.write('stopped\n');
  await closeLogs();
  removeData();
  process.exit(0);
}

process.on('SIGINT', (signal) => void shutDown(signal));
process.on('SIGTERM', (signal) => void shutDown(signal));
// Whatever ends this process, the children (in their own process groups) do not outlive it.
process.on('exit', () => cluster?.killAll());

try {
  cluster = await startLocalCluster({
    nodes: flags.nodes,
    natsSize: flags.natsServers,
    ...(flags.basePort === 0 ? {} : { basePort: flags.basePort }),
    dataDir,
    joinNats: flags.embedded !== true,
    settings: environmentSettings(),
    detached: true,
    onLine,
  });
} catch (error) {
  process.stderr.write(`npm run cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  await closeLogs();
  removeData();
  process.exit(1);
}
printCluster(cluster);
for (const node of cluster.nodes) {
  void node.exited.then((exit) => {
    if (stoppingSinceMs === null)
      process.stderr.write(`${node.id} exited (${exit.signal ?? `code ${exit.code}`})\n`);
  });
}
