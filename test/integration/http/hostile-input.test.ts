// Proves that no hostile request can crash the HTTP API, answer outside the contract, or move stock:
// fast-check builds 10,000+ requests per run (hostile-requests.ts: wrong types, unknown and prototype keys
// at any depth, huge and NaN-ish numbers, deep nesting, bad ids, oversize bodies, bad content types,
// malformed JSON and NDJSON, bad path parameters, query strings, keys and correlation ids, unknown
// routes, and raw protocol garbage) against every mutating route and every GET route with parameters of
// a real server on a real socket (keep-alive) over real LMDB files. Every answer must be one of API.md's
// documented 4xx status/code pairs in the documented `{"error": {...}}` shape (an NDJSON backlog of
// hostile lines: 200 with every line rejected), never a 5xx, and after each request the engine's commit
// feed must not have moved; at the end every stock position, header and dead letter is as before.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { jsonBodyBytesMax } from '../../../adapters/http/app.ts';
import { ndjsonBodyBytesMax } from '../../../adapters/http/routes/sales.ts';
import { assertAsyncProperty, fastCheckSeed } from '../../helpers/fast-check.ts';
import type { TestServer } from './harness.ts';
import { expectStatus, startServer } from './harness.ts';
import type { Fixtures, HostileRequest, MutationOp, Plan } from './hostile-requests.ts';
import {
  buildRequest,
  LOCATIONS,
  planArbitrary,
  RAW_REQUESTS,
  routeTemplates,
  SKUS,
} from './hostile-requests.ts';

/** Generated requests per run (each is one request; a raw-socket case is one too). */
const numRuns = 10_000;
const requestTimeoutMs = 15_000;
const testTimeoutMs = 300_000;
const ADMIN = 'hostile-admin-key-0123456789abcdef';

/** API.md's table: each 4xx status and the codes it may carry. */
const DOCUMENTED: ReadonlyMap<number, ReadonlySet<string>> = new Map([
  [400, new Set(['VALIDATION_FAILED'])],
  [401, new Set(['UNAUTHORIZED'])],
  [403, new Set(['FORBIDDEN'])],
  [404, new Set(['NOT_FOUND', 'RESERVATION_NOT_FOUND', 'RETURN_NOT_FOUND', 'TRANSFER_NOT_FOUND'])],
  [
    409,
    new Set([
      'INSUFFICIENT_STOCK',
      'INVALID_STATE',
      'IDEMPOTENCY_CONFLICT',
      'QUARANTINE_INSUFFICIENT',
      'RESERVATION_EXPIRED',
    ]),
  ],
  [413, new Set(['PAYLOAD_TOO_LARGE'])],
  [429, new Set(['RATE_LIMITED'])],
]);

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

let server: TestServer;
let fixtures: Fixtures;
let port: number;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

before(async () => {
  server = await startServer({
    keys: [{ key: ADMIN, name: 'ops', scopes: ['admin'] }],
    settings: { STOCKLEDGER_RATE_LIMIT_PER_MINUTE: '0' },
  });
  port = Number(new URL(server.url).port);
  fixtures = await prepare();
});

after(async () => {
  agent.destroy();
  await server?.close();
});

/** Stock, a held reservation, a return in quarantine, a shipped transfer and an open dead letter. */
async function prepare(): Promise<Fixtures> {
  const admin = { key: ADMIN };
  for (const location of LOCATIONS) {
    for (const sku of SKUS) {
      expectStatus(
        await server.request('POST', '/v1/receipts', {
          ...admin,
          body: { receiptId: `hostile-stock-${location}-${sku}`, location, lines: [{ sku, qty: 1_000 }] },
        }),
        201,
      );
    }
  }
  const made: Fixtures = {
    reservationId: 'hostile-held',
    returnId: 'hostile-return',
    transferId: 'hostile-transfer',
    deadLetterId: '',
  };
  expectStatus(
    await server.request('POST', '/v1/reservations', {
      ...admin,
      body: {
        reservationId: made.reservationId,
        channel: 'web',
        ttlSeconds: 86_400,
        lines: [{ sku: 'SKU-H1', location: 'store-h1', qty: 2 }],
      },
    }),
    201,
  );
  expectStatus(
    await server.request('POST', '/v1/returns', {
      ...admin,
      body: {
        returnId: made.returnId,
        location: 'store-h1',
        lines: [{ sku: 'SKU-H1', qty: 5, reason: 'damaged' }],
      },
    }),
    201,
  );
  expectStatus(
    await server.request('POST', '/v1/transfers', {
      ...admin,
      body: {
        transferId: made.transferId,
        from: 'store-h1',
        to: 'store-h2',
        lines: [{ sku: 'SKU-H2', qty: 3 }],
      },
    }),
    201,
  );
  const letter = await server.request<{ rejected: { deadLetterId: string }[] }>('POST', '/v1/sales:batch', {
    ...admin,
    raw: { text: '{"transactionId":"hostile-letter"}\n', type: 'application/x-ndjson' },
  });
  expectStatus(letter, 200);
  const deadLetterId = letter.body.rejected[0]?.deadLetterId;
  assert.ok(deadLetterId !== undefined, letter.text);
  // The transfer's arrival comes through the outbox: wait until the feed stops moving.
  let last = -1;
  while (server.engine.feedPosition() !== last) {
    last = server.engine.feedPosition();
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return { ...made, deadLetterId };
}

/** Everything a hostile request could have changed. */
function snapshot(): string {
  const { engine } = server;
  const positions = LOCATIONS.flatMap((location) => SKUS.map((sku) => engine.position(location, sku)));
  return JSON.stringify({
    feed: engine.feedPosition(),
    positions,
    reservation: engine.reservationHeader(fixtures.reservationId),
    return: engine.returnHeader(fixtures.returnId),
    transfer: engine.transferHeader(fixtures.transferId),
    letter: engine.deadLetters.get(fixtures.deadLetterId)?.status,
  });
}

function send(request: HostileRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
    let answered = false;
    const outgoing = http.request(
      { host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.setTimeout(requestTimeoutMs, () =>
      outgoing.destroy(new Error(`no answer in ${requestTimeoutMs} ms`)),
    );
    // The server may answer (413) and close before it has read a large body: the answer counts.
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    outgoing.end(request.body);
  });
}

/** Writes `text` to a fresh connection and reads until the server closes it. */
function sendRaw(text: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(requestTimeoutMs, () => socket.destroy(new Error('no answer')));
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const whole = Buffer.concat(chunks).toString('utf8');
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(whole);
      const split = whole.indexOf('\r\n\r\n');
      resolve({
        status: match === null ? 0 : Number(match[1]),
        headers: {},
        text: split < 0 ? '' : whole.slice(split + 4),
      });
    });
  });
}

function describe(request: HostileRequest): string {
  const body =
    request.body === undefined
      ? '(no body)'
      : Buffer.byteLength(request.body) > 600
        ? `(${Buffer.byteLength(request.body)} bytes) ${request.body.toString().slice(0, 300)}...`
        : request.body.toString();
  return `${request.method} ${request.path.slice(0, 300)}\nheaders ${JSON.stringify(request.headers).slice(0, 300)}\nbody ${body}\napplied ${request.applied.join(', ')}`;
}

function assertDocumentedError(reply: Reply, context: string): void {
  const codes = DOCUMENTED.get(reply.status);
  assert.ok(
    codes !== undefined,
    `${context}\nanswered ${reply.status}, not a documented 4xx: ${reply.text.slice(0, 500)}`,
  );
  let body: unknown;
  try {
    body = JSON.parse(reply.text);
  } catch {
    assert.fail(
      `${context}\nanswered ${reply.status} with a body that is not JSON: ${reply.text.slice(0, 500)}`,
    );
  }
  const envelope = body as { error?: { code?: unknown; message?: unknown; details?: unknown } };
  assert.deepEqual(
    Object.keys(envelope),
    ['error'],
    `${context}\nnot the documented shape: ${reply.text.slice(0, 500)}`,
  );
  const error = envelope.error!;
  assert.deepEqual(
    Object.keys(error).toSorted(),
    ['code', 'details', 'message'],
    `${context}\nnot the documented shape: ${reply.text.slice(0, 500)}`,
  );
  assert.ok(codes.has(String(error.code)), `${context}\n${reply.status} with code ${String(error.code)}`);
  assert.ok(typeof error.message === 'string' && error.message !== '', `${context}\nno message`);
  assert.ok(
    typeof error.details === 'object' && error.details !== null && !Array.isArray(error.details),
    `${context}\ndetails is not an object`,
  );
}

type Case = { readonly kind: 'http'; readonly plan: Plan } | { readonly kind: 'raw'; readonly index: number };

test(`hostile input: ${numRuns} generated requests, every answer a documented 4xx, no stock moved (seed ${fastCheckSeed})`, {
  timeout: testTimeoutMs,
}, async (t) => {
  t.diagnostic(`seed ${fastCheckSeed}; replay with FC_SEED=${fastCheckSeed}`);
  const templates = routeTemplates(fixtures);
  const before = snapshot();
  const byRoute = new Map<string, number>();
  const byOp = new Map<string, number>();
  const byStatus = new Map<number, number>();
  let sent = 0;
  let freshCounter = 0;
  const freshId = () => {
    freshCounter += 1;
    return `hostile-${freshCounter}`;
  };
  const count = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

  const cases: fc.Arbitrary<Case> = fc.oneof(
    {
      weight: 98,
      arbitrary: planArbitrary(templates.length).map((plan) => ({ kind: 'http' as const, plan })),
    },
    {
      weight: 2,
      arbitrary: fc.nat({ max: RAW_REQUESTS.length - 1 }).map((index) => ({ kind: 'raw' as const, index })),
    },
  );

  const startedMs = performance.now();
  await assertAsyncProperty(
    fc.asyncProperty(cases, async (hostile) => {
      sent++;
      if (hostile.kind === 'raw') {
        const rawRequest = RAW_REQUESTS[hostile.index]!;
        const context = `raw request: ${rawRequest.name}`;
        const feedBefore = server.engine.feedPosition();
        const reply = await sendRaw(rawRequest.text);
        count(byRoute, 'raw protocol garbage');
        count(byStatus, reply.status);
        assert.ok(reply.status < 500, `${context}: answered ${reply.status}`);
        assertDocumentedError(reply, context);
        assert.equal(server.engine.feedPosition(), feedBefore, `${context}: the commit feed moved`);
        return;
      }
      const request = buildRequest(
        templates,
        hostile.plan,
        { valid: ADMIN },
        freshId,
        jsonBodyBytesMax,
        ndjsonBodyBytesMax,
      );
      const context = `${request.route} as\n${describe(request)}`;
      const feedBefore = server.engine.feedPosition();
      const reply = await send(request);
      count(byRoute, request.route);
      for (const op of new Set<MutationOp | 'backlog'>(request.applied)) count(byOp, op);
      count(byStatus, reply.status);
      assert.ok(reply.status < 500, `${context}\nanswered ${reply.status}: ${reply.text.slice(0, 500)}`);
      if (request.method === 'HEAD') {
        assert.ok(DOCUMENTED.has(reply.status), `${context}\nanswered ${reply.status}`);
      } else if (reply.status === 200 && request.backlogLines !== null) {
        const backlog = JSON.parse(reply.text) as {
          accepted: number;
          duplicates: number;
          rejected: unknown[];
        };
        assert.equal(
          backlog.accepted,
          0,
          `${context}\na hostile backlog line was accepted: ${reply.text.slice(0, 500)}`,
        );
        assert.equal(backlog.duplicates, 0, context);
        assert.equal(
          backlog.rejected.length,
          request.backlogLines,
          `${context}\n${reply.text.slice(0, 500)}`,
        );
      } else {
        assertDocumentedError(reply, context);
      }
      assert.ok(
        typeof reply.headers['x-correlation-id'] === 'string',
        `${context}\nno X-Correlation-Id echoed`,
      );
      if (request.applied.length === 1 && request.applied[0] === 'oversize') {
        assert.equal(reply.status, 413, `${context}\na body over the limit was not refused as too large`);
      }
      assert.equal(
        server.engine.feedPosition(),
        feedBefore,
        `${context}\nthe commit feed moved: something was applied (${reply.status} ${reply.text.slice(0, 300)})`,
      );
    }),
    numRuns,
    import.meta.url,
  );
  const elapsedMs = performance.now() - startedMs;

  assert.equal(snapshot(), before, 'a position, header or dead letter changed');
  assert.equal(sent >= numRuns, true);
  const summary = (map: Map<string | number, number>) =>
    [...map.entries()]
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])))
      .map(([key, value]) => `${key}: ${value}`)
      .join('; ');
  t.diagnostic(
    `${sent} requests in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round((sent * 1000) / elapsedMs)}/s)`,
  );
  t.diagnostic(`by status: ${summary(byStatus)}`);
  t.diagnostic(`by route: ${summary(byRoute)}`);
  t.diagnostic(`by mutation: ${summary(byOp)}`);
  // Every route and every kind of mutation was exercised, not just generated.
  for (const template of templates) {
    assert.ok(
      (byRoute.get(template.name) ?? 0) >= 100,
      `${template.name}: only ${byRoute.get(template.name) ?? 0} requests`,
    );
  }
  for (const op of [
    'wrongType',
    'hostileValue',
    'removeField',
    'extraField',
    'prototypeKey',
    'duplicateKey',
    'deepNesting',
    'emptyArray',
    'tooManyItems',
    'corruptText',
    'contentType',
    'oversize',
    'param',
    'query',
    'unknownQuery',
    'duplicateQuery',
    'method',
    'pathSuffix',
    'authorization',
    'correlation',
    'backlog',
  ]) {
    assert.ok((byOp.get(op) ?? 0) >= 20, `mutation ${op} applied only ${byOp.get(op) ?? 0} times`);
  }
});
