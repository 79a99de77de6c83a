// Configuration is read once, here, from the environment (DESIGN.md §9). Every other module receives a
// `Config`. An unknown STOCKLEDGER_* variable or an invalid value stops the start with a message that
// names the setting, so a typo never silently falls back to a default.

import path from 'node:path';
import { inlineEntriesMaxDefault } from './store/snapshots.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fault injection for tests: the commit of batch number N (1-based) fails inside the LMDB transaction. */
export interface FaultInjection {
  readonly failCommitAtBatch: number | null;
  readonly stallCommitAtBatch: number | null;
  /** Outbox records are written but not delivered: shows that recovery delivers them. */
  readonly pauseOutbox: boolean;
  /** Cluster mode: each shard-log append waits this long first (so a test can pause a node mid-append). */
  readonly appendDelayMs: number;
}

export interface ClusterConfig {
  /** How long a shard lease lasts without renewal; a crashed owner's shards move after it. */
  readonly leaseTtlMs: number;
  /** Replicas of the shard log stream and the KV buckets (3 in production, across failure domains). */
  readonly replicas: number;
  /** How long the router retries a request for a shard that is moving before it answers 503. */
  readonly routeRetryMs: number;
}

/** POS live ingest over NATS JetStream (adapters/pos/). */
export interface PosConfig {
  /** The NATS server the POS stream lives on; null = POS ingest over NATS is off. */
  readonly natsUrl: string | null;
  /** Stores that get their own `store` label on the sync-lag gauge; the rest share `_other`. */
  readonly lagMetricStoresMax: number;
}

/** Offline backlogs (NATS `pos.*.backlog`, `POST /v1/sales:batch`) drain at the rate live traffic leaves. */
export interface BacklogConfig {
  /** Backlog sales queued in the engine at once while no live sale is waiting. */
  readonly inFlightMax: number;
  /** Backlog sales queued in the engine at once while live sales are waiting (they go first). */
  readonly inFlightWhileLive: number;
}

/** Inbound ecommerce order webhooks (adapters/ecommerce/). */
export interface OrderWebhookConfig {
  /** The shared HMAC-SHA256 secret; null = the webhook endpoint is not served. */
  readonly secret: string | null;
  /** How far a webhook's timestamp may be from now, either way. */
  readonly toleranceSeconds: number;
}

/** Outbound availability feeds (adapters/feeds/). */
export interface FeedConfig {
  /** The NATS server that `inv.avail.*` and `inv.evt.*` go to; null = no NATS feed. */
  readonly natsUrl: string | null;
  /** Publish every recorded event on `inv.evt.<location>.<sku>` (core NATS) as well. */
  readonly publishEvents: boolean;
  /** Signed webhook pushes go to each of these; empty = no push. */
  readonly webhookUrls: readonly string[];
  /** The HMAC-SHA256 secret pushes are signed with (required when there are URLs). */
  readonly webhookSecret: string | null;
  /** Exposed-quantity thresholds per channel (`*` = every channel and the unshared figure). */
  readonly thresholds: Readonly<Record<string, readonly number[]>>;
  /** Updates waiting per push target; past it the queue coalesces to the latest per SKU-location. */
  readonly queueMax: number;
  /** Attempts per push before the update is given up (logged and counted). */
  readonly attemptsMax: number;
  /** The first retry's delay; each later one doubles, up to 30 s. */
  readonly retryBaseMs: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly shardCount: number;
  readonly maxResidentActors: number;
  /** Open lines, lots and transfers a snapshot keeps inline; beyond, they are rows of their own. */
  readonly snapshotInlineEntriesMax: number;
  readonly apiKeysFile: string | null;
  readonly natsUrl: string | null;
  readonly nodeId: string;
  readonly logLevel: LogLevel;
  /** How long a command id's first outcome is kept for idempotent replays. */
  readonly idempotencyRetentionMs: number;
  /** Commands applied and committed together in one LMDB transaction, at most. */
  readonly batchCommandsMax: number;
  /** Commands waiting in one shard's mailbox before new ones are refused with OVERLOADED. */
  readonly mailboxCommandsMax: number;
  /** A commit that has not reached the disk after this long stops the process. */
  readonly commitWatchdogMs: number;
  /** How often the deadline heaps are checked for due reservation expiries. */
  readonly expiryTickMs: number;
  /** HTTP requests one API key (or, without keys, one client address) may make per minute; 0 = no limit. */
  readonly rateLimitPerMinute: number;
  /** Reservations one channel may hold open (held or committed) at once; 0 = no cap. */
  readonly openReservationsPerChannelMax: number;
  /** Prometheus metrics and the dashboard, and the engine-side figures they read; false = none of it. */
  readonly metricsEnabled: boolean;
  /** Cluster mode (NATS_URL set): leases, replication and routing (engine/cluster). */
  readonly cluster: ClusterConfig;
  readonly pos: PosConfig;
  readonly backlog: BacklogConfig;
  readonly orderWebhooks: OrderWebhookConfig;
  readonly feeds: FeedConfig;
  readonly faults: FaultInjection;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.setting = setting;
  }
}

const KNOWN = new Set([
  'STOCKLEDGER_DATA_DIR',
  'STOCKLEDGER_SHARDS',
  'STOCKLEDGER_MAX_RESIDENT_ACTORS',
  'STOCKLEDGER_SNAPSHOT_INLINE_ENTRIES_MAX',
  'STOCKLEDGER_API_KEYS',
  'STOCKLEDGER_NODE_ID',
  'STOCKLEDGER_LEASE_TTL_MS',
  'STOCKLEDGER_CLUSTER_REPLICAS',
  'STOCKLEDGER_ROUTE_RETRY_MS',
  'STOCKLEDGER_IDEMPOTENCY_RETENTION_HOURS',
  'STOCKLEDGER_BATCH_MAX',
  'STOCKLEDGER_MAILBOX_MAX',
  'STOCKLEDGER_COMMIT_WATCHDOG_MS',
  'STOCKLEDGER_EXPIRY_TICK_MS',
  'STOCKLEDGER_RATE_LIMIT_PER_MINUTE',
  'STOCKLEDGER_OPEN_RESERVATIONS_PER_CHANNEL_MAX',
  'STOCKLEDGER_METRICS',
  'STOCKLEDGER_POS_NATS_URL',
  'STOCKLEDGER_POS_LAG_METRIC_STORES_MAX',
  'STOCKLEDGER_BACKLOG_IN_FLIGHT_MAX',
  'STOCKLEDGER_BACKLOG_IN_FLIGHT_WHILE_LIVE',
  'STOCKLEDGER_ORDER_WEBHOOK_SECRET',
  'STOCKLEDGER_ORDER_WEBHOOK_TOLERANCE_SECONDS',
  'STOCKLEDGER_FEED_NATS_URL',
  'STOCKLEDGER_FEED_EVENTS',
  'STOCKLEDGER_FEED_WEBHOOK_URLS',
  'STOCKLEDGER_FEED_WEBHOOK_SECRET',
  'STOCKLEDGER_FEED_THRESHOLDS',
  'STOCKLEDGER_FEED_QUEUE_MAX',
  'STOCKLEDGER_FEED_ATTEMPTS_MAX',
  'STOCKLEDGER_FEED_RETRY_BASE_MS',
  'STOCKLEDGER_FAULT_FAIL_COMMIT_AT_BATCH',
  'STOCKLEDGER_FAULT_STALL_COMMIT_AT_BATCH',
  'STOCKLEDGER_FAULT_PAUSE_OUTBOX',
  'STOCKLEDGER_FAULT_APPEND_DELAY_MS',
]);

type Environment = Readonly<Record<string, string | undefined>>;

function integer(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]+$/.test(text))
    throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < min || value > max) throw new ConfigError(name, `must be from ${min} to ${max}, got ${value}`);
  return value;
}

function optionalInteger(env: Environment, name: string): number | null {
  return env[name] === undefined || env[name] === ''
    ? null
    : integer(env, name, 0, 1, Number.MAX_SAFE_INTEGER);
}

function text(env: Environment, name: string): string | null {
  const value = env[name];
  return value === undefined || value === '' ? null : value;
}

function natsUrlOf(env: Environment, name: string): string | null {
  const url = text(env, name);
  if (url !== null && !/^(nats|tls):\/\/[^\s,]+$/.test(url)) {
    throw new ConfigError(name, `must look like nats://host:port, got ${JSON.stringify(url)}`);
  }
  return url;
}

/** Shared secrets are at least this long, so that a placeholder like "secret" is refused. */
const secretLengthMin = 16;

function secretOf(env: Environment, name: string): string | null {
  const secret = text(env, name);
  if (secret !== null && secret.length < secretLengthMin) {
    throw new ConfigError(name, `must be at least ${secretLengthMin} characters`);
  }
  return secret;
}

function feedsOf(env: Environment): FeedConfig {
  const webhookUrls = (text(env, 'STOCKLEDGER_FEED_WEBHOOK_URLS') ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  for (const url of webhookUrls) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new ConfigError('STOCKLEDGER_FEED_WEBHOOK_URLS', `${JSON.stringify(url)} is not an http(s) URL`);
    }
  }
  const webhookSecret = secretOf(env, 'STOCKLEDGER_FEED_WEBHOOK_SECRET');
  if (webhookUrls.length > 0 && webhookSecret === null) {
    throw new ConfigError(
      'STOCKLEDGER_FEED_WEBHOOK_SECRET',
      'is required when STOCKLEDGER_FEED_WEBHOOK_URLS is set',
    );
  }
  return {
    natsUrl: natsUrlOf(env, 'STOCKLEDGER_FEED_NATS_URL'),
    publishEvents: integer(env, 'STOCKLEDGER_FEED_EVENTS', 1, 0, 1) === 1,
    webhookUrls,
    webhookSecret,
    thresholds: thresholdsOf(text(env, 'STOCKLEDGER_FEED_THRESHOLDS')),
    queueMax: integer(env, 'STOCKLEDGER_FEED_QUEUE_MAX', 10_000, 1, 10_000_000),
    attemptsMax: integer(env, 'STOCKLEDGER_FEED_ATTEMPTS_MAX', 8, 1, 100),
    retryBaseMs: integer(env, 'STOCKLEDGER_FEED_RETRY_BASE_MS', 500, 10, 60_000),
  };
}

/** Thresholds one channel may have, at most. */
const thresholdsPerChannelMax = 16;

/** `web=5,20;*=10`: per channel (or `*`), the exposed quantities whose crossing fires a feed update. */
function thresholdsOf(value: string | null): Record<string, readonly number[]> {
  const thresholds: Record<string, readonly number[]> = {};
  if (value === null) return thresholds;
  for (const entry of value.split(';')) {
    if (entry.trim() === '') continue;
    const match = /^\s*(\*|[A-Za-z0-9][A-Za-z0-9._:/-]{0,127})\s*=\s*([0-9]+(?:\s*,\s*[0-9]+)*)\s*$/.exec(
      entry,
    );
    if (match === null) {
      throw new ConfigError(
        'STOCKLEDGER_FEED_THRESHOLDS',
        `${JSON.stringify(entry)} is not channel=n,n (e.g. web=5,20;*=10)`,
      );
    }
    const numbers = [...new Set(match[2]!.split(',').map((part) => Number(part.trim())))].sort(
      (a, b) => a - b,
    );
    if (numbers.length > thresholdsPerChannelMax || numbers.some((n) => n < 1 || !Number.isSafeInteger(n))) {
      throw new ConfigError(
        'STOCKLEDGER_FEED_THRESHOLDS',
        `${match[1]}: at most ${thresholdsPerChannelMax} whole numbers from 1`,
      );
    }
    thresholds[match[1]!] = numbers;
  }
  return thresholds;
}

/** Reads the configuration from `env` (the process environment by default); `overrides` come from CLI flags. */
export function loadConfig(env: Environment = process.env, overrides: Partial<Config> = {}): Config {
  for (const name of Object.keys(env)) {
    if (name.startsWith('STOCKLEDGER_') && !KNOWN.has(name)) {
      throw new ConfigError(name, 'is not a setting stockledger knows; check the spelling');
    }
  }
  const logLevel = text(env, 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(
      'LOG_LEVEL',
      `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`,
    );
  }
  const host = text(env, 'HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host))
    throw new ConfigError('HOST', `is not a host name or address: ${host}`);
  const natsUrl = text(env, 'NATS_URL');
  if (natsUrl !== null && !natsUrl.split(',').every((url) => /^(nats|tls):\/\/[^\s,]+$/.test(url))) {
    throw new ConfigError(
      'NATS_URL',
      `must look like nats://host:port, or a comma-separated list of them, got ${JSON.stringify(natsUrl)}`,
    );
  }
  const nodeId = text(env, 'STOCKLEDGER_NODE_ID') ?? 'node-1';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(nodeId)) {
    throw new ConfigError('STOCKLEDGER_NODE_ID', 'must be 1-64 letters, digits, dots, dashes or underscores');
  }
  const config: Config = {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host,
    dataDir: path.resolve(text(env, 'STOCKLEDGER_DATA_DIR') ?? './data'),
    shardCount: integer(env, 'STOCKLEDGER_SHARDS', 64, 1, 4096),
    maxResidentActors: integer(env, 'STOCKLEDGER_MAX_RESIDENT_ACTORS', 200_000, 16, 50_000_000),
    snapshotInlineEntriesMax: integer(
      env,
      'STOCKLEDGER_SNAPSHOT_INLINE_ENTRIES_MAX',
      inlineEntriesMaxDefault,
      0,
      100_000,
    ),
    apiKeysFile: text(env, 'STOCKLEDGER_API_KEYS'),
    natsUrl,
    nodeId,
    logLevel: logLevel as LogLevel,
    idempotencyRetentionMs:
      integer(env, 'STOCKLEDGER_IDEMPOTENCY_RETENTION_HOURS', 168, 1, 24 * 365) * 3_600_000,
    batchCommandsMax: integer(env, 'STOCKLEDGER_BATCH_MAX', 2048, 1, 100_000),
    mailboxCommandsMax: integer(env, 'STOCKLEDGER_MAILBOX_MAX', 50_000, 1, 10_000_000),
    commitWatchdogMs: integer(env, 'STOCKLEDGER_COMMIT_WATCHDOG_MS', 15_000, 100, 600_000),
    expiryTickMs: integer(env, 'STOCKLEDGER_EXPIRY_TICK_MS', 250, 10, 60_000),
    rateLimitPerMinute: integer(env, 'STOCKLEDGER_RATE_LIMIT_PER_MINUTE', 60_000, 0, 100_000_000),
    openReservationsPerChannelMax: integer(
      env,
      'STOCKLEDGER_OPEN_RESERVATIONS_PER_CHANNEL_MAX',
      1_000_000,
      0,
      100_000_000,
    ),
    metricsEnabled: integer(env, 'STOCKLEDGER_METRICS', 1, 0, 1) === 1,
    cluster: {
      leaseTtlMs: integer(env, 'STOCKLEDGER_LEASE_TTL_MS', 5_000, 300, 600_000),
      replicas: integer(env, 'STOCKLEDGER_CLUSTER_REPLICAS', 1, 1, 5),
      routeRetryMs: integer(env, 'STOCKLEDGER_ROUTE_RETRY_MS', 10_000, 0, 600_000),
    },
    pos: {
      natsUrl: natsUrlOf(env, 'STOCKLEDGER_POS_NATS_URL'),
      lagMetricStoresMax: integer(env, 'STOCKLEDGER_POS_LAG_METRIC_STORES_MAX', 50, 0, 10_000),
    },
    backlog: {
      inFlightMax: integer(env, 'STOCKLEDGER_BACKLOG_IN_FLIGHT_MAX', 256, 1, 100_000),
      inFlightWhileLive: integer(env, 'STOCKLEDGER_BACKLOG_IN_FLIGHT_WHILE_LIVE', 8, 1, 100_000),
    },
    orderWebhooks: {
      secret: secretOf(env, 'STOCKLEDGER_ORDER_WEBHOOK_SECRET'),
      toleranceSeconds: integer(env, 'STOCKLEDGER_ORDER_WEBHOOK_TOLERANCE_SECONDS', 300, 1, 86_400),
    },
    feeds: feedsOf(env),
    faults: {
      failCommitAtBatch: optionalInteger(env, 'STOCKLEDGER_FAULT_FAIL_COMMIT_AT_BATCH'),
      stallCommitAtBatch: optionalInteger(env, 'STOCKLEDGER_FAULT_STALL_COMMIT_AT_BATCH'),
      pauseOutbox: integer(env, 'STOCKLEDGER_FAULT_PAUSE_OUTBOX', 0, 0, 1) === 1,
      appendDelayMs: integer(env, 'STOCKLEDGER_FAULT_APPEND_DELAY_MS', 0, 0, 60_000),
    },
  };
  // A webhook id must be remembered for as long as its timestamp would be accepted, or a replay
  // arriving inside the window could be applied a second time.
  if (config.orderWebhooks.toleranceSeconds * 1000 > config.idempotencyRetentionMs) {
    throw new ConfigError(
      'STOCKLEDGER_ORDER_WEBHOOK_TOLERANCE_SECONDS',
      'must not exceed STOCKLEDGER_IDEMPOTENCY_RETENTION_HOURS, which is how long webhook ids are remembered',
    );
  }
  return { ...config, ...overrides };
}

/** The command-line flags that override settings, and the setting each one stands for. */
export const FLAG_SETTINGS = {
  port: 'PORT',
  host: 'HOST',
  dataDir: 'STOCKLEDGER_DATA_DIR',
} as const;

export type SettingFlags = { readonly [flag in keyof typeof FLAG_SETTINGS]?: string | undefined };

/**
 * The environment's configuration with command-line flags taking precedence. A bad flag value is
 * reported under the flag's own name (`--port`), a bad environment value under the variable's.
 */
export function loadConfigWithFlags(flags: SettingFlags, env: Environment = process.env): Config {
  const merged: Record<string, string | undefined> = { ...env };
  const fromFlag = new Map<string, string>();
  for (const [flag, setting] of Object.entries(FLAG_SETTINGS)) {
    const value = flags[flag as keyof typeof FLAG_SETTINGS];
    if (value === undefined) continue;
    merged[setting] = value;
    fromFlag.set(setting, `--${flag.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`);
  }
  try {
    return loadConfig(merged);
  } catch (error) {
    const flag = error instanceof ConfigError ? fromFlag.get(error.setting) : undefined;
    if (error instanceof ConfigError && flag !== undefined) {
      throw new ConfigError(flag, error.message.slice(error.setting.length + 2));
    }
    throw error;
  }
}
