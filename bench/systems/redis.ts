// Redis with Lua scripts as a peer: the in-memory ledger a team would script. One hash per SKU-location
// (`oh` on-hand, `rs` reserved, `qu` quarantine), one hash per reservation and per return lot, and an
// idempotency key per command id taken with SET NX (kept 7 days, as stockledger keeps its records). The
// reserve script claims the id, checks with HMGET, holds with HINCRBY; each script runs atomically.
//
// Each `open` starts the bench's OWN redis-server (never the shared 6379) on a free loopback port with a
// temporary --dir, AOF on: `appendfsync always` (the AOF is fsynced before the replies of each event-loop
// turn go out: durable) or `everysec` (up to a second of acknowledged writes can be lost: not durable).
// `close` shuts it down and removes the directory.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../ports.ts';
import type { Audit, Operation, Outcome, Peer, PeerInstance, PeerOpenOptions, Target } from './system.ts';
import { PeerUnavailable } from './system.ts';

const binary = '/usr/bin/redis-server';
const sharedPort = 6379;
const startTimeoutMs = 10_000;
const stopTimeoutMs = 10_000;
/** One connection pipelines many commands; a few connections spread the client's socket work. */
const connectionsMax = 16;
const retentionSeconds = 7 * 24 * 3600;
const pipelineCommandsMax = 2_000;
const scanCount = 10_000;

export type AppendFsync = 'always' | 'everysec';

// Every script takes the idempotency key last among KEYS; a repeated id answers the stored outcome.
const CLAIM = `
if not redis.call('SET', KEYS[#KEYS], 'OK', 'NX', 'EX', ${retentionSeconds}) then
  return redis.call('GET', KEYS[#KEYS])
end
local function refuse(code)
  redis.call('SET', KEYS[#KEYS], code, 'XX', 'KEEPTTL')
  return code
end
`;

const SCRIPTS = {
  // KEYS: stock, reservation, idempotency. ARGV: qty, ttlSeconds.
  reserve: `${CLAIM}
local stock = redis.call('HMGET', KEYS[1], 'oh', 'rs')
local qty = tonumber(ARGV[1])
if (tonumber(stock[1]) or 0) - (tonumber(stock[2]) or 0) < qty then return refuse('INSUFFICIENT_STOCK') end
redis.call('HINCRBY', KEYS[1], 'rs', qty)
redis.call('HSET', KEYS[2], 'q', qty, 'st', 'held', 'k', KEYS[1], 'ttl', ARGV[2])
return 'OK'`,
  // KEYS: stock, reservation, idempotency.
  release: `${CLAIM}
local line = redis.call('HMGET', KEYS[2], 'q', 'st')
if not line[1] or line[2] ~= 'held' then return refuse('RESERVATION_NOT_FOUND') end
redis.call('HINCRBY', KEYS[1], 'rs', -tonumber(line[1]))
redis.call('DEL', KEYS[2])
return 'OK'`,
  // KEYS: reservation, idempotency.
  commit: `${CLAIM}
if redis.call('HGET', KEYS[1], 'st') ~= 'held' then return refuse('RESERVATION_NOT_FOUND') end
redis.call('HSET', KEYS[1], 'st', 'committed')
return 'OK'`,
  // KEYS: stock, idempotency. ARGV: delta of on-hand (receive, sale, adjust).
  move: `${CLAIM}
redis.call('HINCRBY', KEYS[1], 'oh', tonumber(ARGV[1]))
return 'OK'`,
  // KEYS: stock, idempotency. ARGV: counted.
  count: `${CLAIM}
redis.call('HSET', KEYS[1], 'oh', tonumber(ARGV[1]))
return 'OK'`,
  // KEYS: stock, lot, idempotency. ARGV: qty.
  return: `${CLAIM}
redis.call('HINCRBY', KEYS[2], 'q', tonumber(ARGV[1]))
redis.call('HINCRBY', KEYS[1], 'qu', tonumber(ARGV[1]))
return 'OK'`,
  // KEYS: stock, lot, idempotency. ARGV: qty, restock (1 or 0).
  dispose: `${CLAIM}
local qty = tonumber(ARGV[1])
local lot = tonumber(redis.call('HGET', KEYS[2], 'q'))
if not lot or lot < qty then return refuse('RETURN_NOT_FOUND') end
if lot == qty then redis.call('DEL', KEYS[2]) else redis.call('HINCRBY', KEYS[2], 'q', -qty) end
redis.call('HINCRBY', KEYS[1], 'qu', -qty)
if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[1], 'oh', qty) end
return 'OK'`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

const stockKey = (location: string, sku: string) => `s:${location}:${sku}`;
const reservationKey = (id: string) => `r:${id}`;
const lotKey = (id: string) => `t:${id}`;
const idempotencyKey = (id: string) => `i:${id}`;

/** The script, its keys and its arguments for an operation. */
export function scriptCallFor(
  operation: Operation,
  id: string,
): { script: ScriptName; keys: string[]; args: (string | number)[] } {
  const stock = stockKey(operation.location, operation.sku);
  const claim = idempotencyKey(id);
  switch (operation.kind) {
    case 'reserve':
      return {
        script: 'reserve',
        keys: [stock, reservationKey(operation.reservationId), claim],
        args: [operation.qty, operation.ttlSeconds],
      };
    case 'release':
      return { script: 'release', keys: [stock, reservationKey(operation.reservationId), claim], args: [] };
    case 'commit':
      return { script: 'commit', keys: [reservationKey(operation.reservationId), claim], args: [] };
    case 'receive':
      return { script: 'move', keys: [stock, claim], args: [operation.qty] };
    case 'sale':
      return { script: 'move', keys: [stock, claim], args: [-operation.qty] };
    case 'adjust':
      return { script: 'move', keys: [stock, claim], args: [operation.delta] };
    case 'count':
      return { script: 'count', keys: [stock, claim], args: [operation.counted] };
    case 'return':
      return { script: 'return', keys: [stock, lotKey(operation.returnId), claim], args: [operation.qty] };
    case 'dispose':
      return {
        script: 'dispose',
        keys: [stock, lotKey(operation.returnId), claim],
        args: [operation.qty, operation.disposition === 'restock' ? 1 : 0],
      };
  }
}

/** A redis-server of the bench's own: loopback, a free port (never 6379), a temporary --dir. */
class RedisServerProcess {
  readonly port: number;
  readonly dir: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #log = '';

  private constructor(port: number, dir: string, child: ChildProcess) {
    this.port = port;
    this.dir = dir;
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      this.#log = (this.#log + text).slice(-4_000);
    });
  }

  static async start(appendFsync: AppendFsync): Promise<RedisServerProcess> {
    if (!existsSync(binary))
      throw new PeerUnavailable(`${binary} is not installed (apt-get install redis-server)`);
    let port = await freePort();
    while (port === sharedPort) port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stockledger-bench-redis-'));
    const child = spawn(
      binary,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        appendFsync,
        '--save',
        '',
        '--protected-mode',
        'yes',
        '--daemonize',
        'no',
        '--logfile',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new RedisServerProcess(port, dir, child);
    const deadline = Date.now() + startTimeoutMs;
    const probe = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      for (;;) {
        if (child.exitCode !== null)
          throw new PeerUnavailable(`redis-server exited at start: ${server.#log}`);
        const ready = await probe
          .connect()
          .then(() => probe.ping())
          .then(
            (answer) => answer === 'PONG',
            () => false,
          );
        if (ready) break;
        if (Date.now() > deadline) {
          await server.stop();
          throw new PeerUnavailable(`redis-server did not answer on port ${port} in time: ${server.#log}`);
        }
        probe.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      probe.disconnect();
    }
    return server;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const killer = setTimeout(() => this.#child.kill('SIGKILL'), stopTimeoutMs);
      await this.#exited;
      clearTimeout(killer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function redisPeer(appendFsync: AppendFsync): Peer {
  return {
    name: `redis-lua:${appendFsync}`,
    description:
      `Redis ${appendFsync === 'always' ? '(durable) ' : ''}with Lua scripts (SET NX idempotency, HMGET check, HINCRBY), its own redis-server, ` +
      `appendonly yes, appendfsync ${appendFsync}, ioredis`,
    open: (options) => openRedis(appendFsync, options),
  };
}

async function openRedis(appendFsync: AppendFsync, options: PeerOpenOptions): Promise<PeerInstance> {
  const server = await RedisServerProcess.start(appendFsync);
  const connections = Array.from(
    { length: Math.max(1, Math.min(connectionsMax, options.clients)) },
    () =>
      new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, enableOfflineQueue: true }),
  );
  try {
    const shas = new Map<ScriptName, string>();
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      shas.set(name, String(await connections[0]!.script('LOAD', SCRIPTS[name])));
    }
    const version = String(await connections[0]!.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
    return new RedisInstance(server, connections, shas, appendFsync, version);
  } catch (error) {
    for (const connection of connections) connection.disconnect();
    await server.stop();
    throw error;
  }
}

class RedisInstance implements PeerInstance {
  readonly name: string;
  readonly durable: boolean;
  readonly version: string;
  readonly #server: RedisServerProcess;
  readonly #connections: Redis[];
  readonly #shas: ReadonlyMap<ScriptName, string>;
  #next = 0;

  constructor(
    server: RedisServerProcess,
    connections: Redis[],
    shas: ReadonlyMap<ScriptName, string>,
    appendFsync: AppendFsync,
    version: string,
  ) {
    this.#server = server;
    this.#connections = connections;
    this.#shas = shas;
    this.name = `redis-lua:${appendFsync}`;
    this.durable = appendFsync === 'always';
    this.version = version;
  }

  get #connection(): Redis {
    const connection = this.#connections[this.#next]!;
    this.#next = (this.#next + 1) % this.#connections.length;
    return connection;
  }

  async apply(operation: Operation, id: string): Promise<Outcome> {
    const call = scriptCallFor(operation, id);
    const answer = await this.#connection.evalsha(
      this.#shas.get(call.script)!,
      call.keys.length,
      ...call.keys,
      ...call.args,
    );
    return answer === 'OK' ? { ok: true } : { ok: false, refusal: String(answer) };
  }

  async stock(targets: readonly Target[], units: number): Promise<void> {
    const connection = this.#connections[0]!;
    for (let start = 0; start < targets.length; start += pipelineCommandsMax) {
      const pipeline = connection.pipeline();
      for (const target of targets.slice(start, start + pipelineCommandsMax)) {
        pipeline.hincrby(stockKey(target.location, target.sku), 'oh', units);
      }
      await pipeline.exec();
    }
  }

  async audit(targets: readonly Target[]): Promise<Audit> {
    const connection = this.#connections[0]!;
    let oversoldUnits = 0;
    let onHandUnits = 0;
    let reservedUnits = 0;
    const reservedByStock = new Map<string, number>();
    const unique = [...new Set(targets.map((target) => stockKey(target.location, target.sku)))];
    for (let start = 0; start < unique.length; start += pipelineCommandsMax) {
      const keys = unique.slice(start, start + pipelineCommandsMax);
      const pipeline = connection.pipeline();
      for (const key of keys) pipeline.hmget(key, 'oh', 'rs');
      const answers = (await pipeline.exec()) ?? [];
      answers.forEach(([error, value], at) => {
        if (error !== null) throw error;
        const [onHand, reserved] = (value as (string | null)[]).map((field) => Number(field ?? 0));
        oversoldUnits += Math.max(0, (reserved ?? 0) - (onHand ?? 0));
        onHandUnits += onHand ?? 0;
        reservedUnits += reserved ?? 0;
        reservedByStock.set(keys[at]!, reserved ?? 0);
      });
    }
    // Every reservation hash in the store, read back: its count and, per SKU-location, its units.
    let holds = 0;
    const linesByStock = new Map<string, number>();
    let cursor = '0';
    do {
      const [nextCursor, keys] = await connection.scan(cursor, 'MATCH', 'r:*', 'COUNT', scanCount);
      cursor = nextCursor;
      if (keys.length === 0) continue;
      const pipeline = connection.pipeline();
      for (const key of keys) pipeline.hmget(key, 'q', 'k');
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        if (error !== null) throw error;
        const [qty, stock] = value as (string | null)[];
        if (stock === null || stock === undefined) continue;
        holds++;
        linesByStock.set(stock, (linesByStock.get(stock) ?? 0) + Number(qty ?? 0));
      }
    } while (cursor !== '0');
    let inconsistent = 0;
    for (const [key, reserved] of reservedByStock) {
      if ((linesByStock.get(key) ?? 0) !== reserved) inconsistent++;
    }
    for (const key of linesByStock.keys()) if (!reservedByStock.has(key)) inconsistent++;
    return { oversoldUnits, holds, onHandUnits, reservedUnits, inconsistent };
  }

  async memory(): Promise<Record<string, number>> {
    const info = String(await this.#connections[0]!.info('memory'));
    const persistence = String(await this.#connections[0]!.info('persistence'));
    const field = (text: string, name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(text)?.[1] ?? 0);
    return {
      used_memory_bytes: field(info, 'used_memory'),
      rss_bytes: field(info, 'used_memory_rss'),
      aof_bytes: field(persistence, 'aof_current_size'),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.#connections.map((connection) => connection.quit().catch(() => {})));
    await this.#server.stop();
  }
}
