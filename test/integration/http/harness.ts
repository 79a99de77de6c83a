// Starts the real HTTP app on 127.0.0.1, port 0, over a real engine on LMDB files in a temporary
// directory, and talks to it with fetch over a real socket. Responses are checked against their route
// schemas (`checkResponses`), so a field the serializer would drop fails the test that meets it.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../adapters/http/app.ts';
import type { ApiKeys } from '../../../adapters/http/auth.ts';
import { parseApiKeys } from '../../../adapters/http/auth.ts';
import { loadConfig } from '../../../engine/config.ts';
import type { Engine } from '../../../engine/engine.ts';
import { createEngine } from '../../../engine/engine.ts';
import { silentLogger } from '../../../engine/logger.ts';

export interface KeySpec {
  readonly key: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly locations?: readonly string[];
  readonly requestsPerMinute?: number;
}

export interface ServerOptions {
  readonly settings?: Readonly<Record<string, string>>;
  readonly keys?: readonly KeySpec[];
  readonly isReady?: () => boolean;
}

export interface Answer<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: T;
}

export interface RequestOptions {
  readonly body?: unknown;
  /** Sent as is, with this content type (NDJSON, malformed JSON ...). */
  readonly raw?: { readonly text: string; readonly type: string };
  readonly key?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface TestServer {
  readonly url: string;
  readonly engine: Engine;
  readonly app: FastifyInstance;
  request<T = Record<string, unknown>>(
    method: string,
    route: string,
    options?: RequestOptions,
  ): Promise<Answer<T>>;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stockledger-http-'));
  const config = loadConfig({
    STOCKLEDGER_DATA_DIR: dataDir,
    STOCKLEDGER_SHARDS: '8',
    STOCKLEDGER_EXPIRY_TICK_MS: '20',
    ...options.settings,
  });
  let apiKeys: ApiKeys | null = null;
  if (options.keys !== undefined) {
    const file = path.join(dataDir, 'keys.json');
    writeFileSync(file, JSON.stringify({ keys: options.keys }));
    apiKeys = parseApiKeys(JSON.stringify({ keys: options.keys }), file);
  }
  const engine = await createEngine({
    config,
    logger: silentLogger(),
    onFatal: (error) => {
      throw error;
    },
  });
  const app = buildApp({
    engine,
    config,
    logger: silentLogger(),
    apiKeys,
    checkResponses: true,
    ...(options.isReady === undefined ? {} : { isReady: options.isReady }),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    engine,
    app,
    async request<T>(method: string, route: string, request: RequestOptions = {}): Promise<Answer<T>> {
      const headers: Record<string, string> = { ...request.headers };
      let body: string | undefined;
      if (request.raw !== undefined) {
        body = request.raw.text;
        headers['content-type'] = request.raw.type;
      } else if (request.body !== undefined) {
        body = JSON.stringify(request.body);
        headers['content-type'] = 'application/json';
      }
      if (request.key !== undefined) headers.authorization = `Bearer ${request.key}`;
      const response = await fetch(`${url}${route}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const text = await response.text();
      const type = response.headers.get('content-type') ?? '';
      return {
        status: response.status,
        headers: response.headers,
        text,
        body: (type.startsWith('application/json') ? JSON.parse(text) : text) as T,
      };
    },
    async close() {
      await app.close();
      await engine.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Asserts an answer's status and, for errors, the documented error shape and code. */
export function expectStatus(answer: Answer, status: number, code?: string): void {
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text}`);
  if (code !== undefined) {
    const error = (answer.body as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error;
    assert.ok(error !== undefined, `expected an error body, got ${answer.text}`);
    assert.equal(error.code, code, answer.text);
    assert.equal(typeof error.message, 'string');
    assert.equal(typeof error.details, 'object');
  }
}

let counter = 0;
/** An id unique within the test process. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** Receives `qty` of `sku` at `location` through the API. */
export async function receive(server: TestServer, location: string, sku: string, qty: number, key?: string) {
  const answer = await server.request('POST', '/v1/receipts', {
    body: { receiptId: unique('rcpt'), location, lines: [{ sku, qty }] },
    ...(key === undefined ? {} : { key }),
  });
  expectStatus(answer, 201);
}

export interface PositionBody {
  readonly onHand: number;
  readonly reserved: number;
  readonly inTransit: number;
  readonly quarantine: number;
  readonly safetyStock: number;
  readonly availableToSell: number;
  readonly status: string;
  readonly integrity: string;
  readonly version: number;
  readonly updatedAt: string | null;
}

export async function position(
  server: TestServer,
  location: string,
  sku: string,
  key?: string,
): Promise<PositionBody> {
  const answer = await server.request<PositionBody>('GET', `/v1/stock/${location}/${sku}`, {
    ...(key === undefined ? {} : { key }),
  });
  expectStatus(answer, 200);
  return answer.body;
}

/** Polls until `condition` holds or `timeoutMs` passes. */
export async function eventually(condition: () => Promise<boolean>, timeoutMs = 3_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
