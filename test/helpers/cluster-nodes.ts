// Engine nodes for the cluster tests: real `stockledger serve` processes (test/helpers/server-process.ts)
// joined to a real nats-server over NATS_URL, each with its own temporary data directory, and a client
// that retries 503 answers (Retry-After) and refused connections as a real client would, with the same
// idempotency key, so a request sent across a failover or a handover is answered exactly once.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerExit } from './server-process.ts';
import { listeningWithin, ServerProcess } from './server-process.ts';

export interface ClusterNodeOptions {
  readonly id: string;
  readonly natsUrl: string;
  readonly shards?: number;
  readonly leaseTtlMs?: number;
  readonly replicas?: number;
  readonly dataDir?: string;
  readonly settings?: Readonly<Record<string, string>>;
  /** Every line the node writes, as it comes (the process keeps only the last 20,000 characters). */
  readonly onLine?: (line: string) => void;
}

export interface TestNode {
  readonly id: string;
  readonly dataDir: string;
  readonly process: ServerProcess;
  readonly address: string;
  readonly exited: Promise<ServerExit>;
}

export async function startNode(options: ClusterNodeOptions): Promise<TestNode> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), `stockledger-${options.id}-`));
  const process = new ServerProcess({
    dataDir,
    ...(options.onLine === undefined ? {} : { onLine: options.onLine }),
    settings: {
      NATS_URL: options.natsUrl,
      STOCKLEDGER_NODE_ID: options.id,
      STOCKLEDGER_SHARDS: String(options.shards ?? 8),
      STOCKLEDGER_LEASE_TTL_MS: String(options.leaseTtlMs ?? 1_500),
      STOCKLEDGER_CLUSTER_REPLICAS: String(options.replicas ?? 1),
      ...options.settings,
    },
  });
  const address = await listeningWithin(process, 60_000);
  return { id: options.id, dataDir, process, address, exited: process.exited };
}

export function removeDataDir(node: TestNode): void {
  rmSync(node.dataDir, { recursive: true, force: true });
}

/** Waits until GET /ready answers 200 on every node: each has joined and every shard has an owner. */
export async function waitReady(nodes: readonly TestNode[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const node of nodes) {
    for (;;) {
      const response = await fetch(`${node.address}/ready`).catch(() => null);
      if (response?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`${node.id} not ready in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly replayed: boolean;
  /** Attempts it took (1: answered at once). */
  readonly attempts: number;
}

/**
 * POSTs (or GETs, when body is null) at the given nodes, starting with the first: a refused connection
 * moves to the next node, a 503 waits its Retry-After (capped) and tries again; the same body, so the
 * same idempotency key. Gives up after `deadlineMs`.
 */
export async function send(
  addresses: () => readonly string[],
  route: string,
  body: unknown,
  deadlineMs = 30_000,
): Promise<Answer> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const list = addresses();
    const address = list[(attempt - 1) % list.length]!;
    try {
      const signal = AbortSignal.timeout(10_000);
      const response = await fetch(
        `${address}${route}`,
        body === null
          ? { signal }
          : {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
              signal,
            },
      );
      const text = await response.text();
      if (response.status !== 503 || Date.now() - started > deadlineMs) {
        return {
          status: response.status,
          body: text === '' ? null : JSON.parse(text),
          replayed: response.headers.get('idempotent-replayed') === 'true',
          attempts: attempt,
        };
      }
      const retryAfter = Number(response.headers.get('retry-after') ?? '1');
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, retryAfter * 1_000)));
    } catch (error) {
      if (Date.now() - started > deadlineMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The fields of a position that do not depend on when it was read or which clock stamped it. */
export function stablePosition(position: unknown): unknown {
  const { updatedAt: _updatedAt, ...rest } = position as Record<string, unknown>;
  return rest;
}

/** Drops timestamps (createdAt, expiresAt, updatedAt ...) anywhere in an answer. */
export function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (/At$/.test(key)) continue;
    out[key] = withoutTimes(inner);
  }
  return out;
}

/** Stops nodes with SIGTERM (graceful leave) and waits for them; SIGKILL after a timeout. */
export async function stopNodes(nodes: readonly TestNode[]): Promise<void> {
  for (const node of nodes) node.process.kill('SIGTERM');
  await Promise.all(
    nodes.map(async (node) => {
      const timer = setTimeout(() => node.process.kill('SIGKILL'), 15_000);
      await node.exited;
      clearTimeout(timer);
    }),
  );
}
