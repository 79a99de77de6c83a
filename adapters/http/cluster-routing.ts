// Cluster mode at the HTTP layer: any node takes any request. A mutation whose shard this node does not
// own travels to the owner (engine/cluster/router.ts) as { type, input, caller }, and the owner runs
// it exactly as its endpoint does (same idempotency key), so a retry after a timeout or a handover is
// answered with the stored first outcome. Reads of one SKU-location, reservation or return go to the
// owner too (as the HTTP request itself, answered by the owner's app), so a read follows the writes
// it comes after. Requests by a header id (commit, fulfil, release, dispose, transfer receipt) find
// the header's shard first: locally when this node has the header, else by asking the owners.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RoutedResult } from '../../engine/cluster/router.ts';
import type { Access, Scope } from './auth.ts';
import { errorReply, HttpError, toHttpError } from './errors.ts';
import type { Outcome } from './idempotency.ts';
import { runMutation } from './idempotency.ts';
import { MUTATIONS } from './mutations/index.ts';
import type { Caller, Mutation, Services } from './mutations/mutation.ts';
import { createdReply, stepReply } from './mutations/reservations.ts';
import type { CommandType } from './schemas.ts';

/** Marks a request the owner runs for another node: it is never routed again. */
export const FORWARDED_HEADER = 'x-stockledger-forwarded';

interface WireAccess {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly locations: readonly string[] | null;
  readonly requestsPerMinute: number | null;
}

type RoutedItem =
  | {
      readonly t: 'm';
      readonly type: CommandType;
      readonly input: unknown;
      readonly access: WireAccess;
      readonly meta: Caller['meta'];
    }
  | {
      readonly t: 'h';
      readonly method: 'GET';
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
    }
  | { readonly t: 'j'; readonly name: string; readonly shard: number; readonly payload: unknown };

/** Jobs other adapters run at a shard's owner (an order webhook), by name: see `runAtOwner`. */
const routedJobs = new Map<string, (payload: unknown, shard: number) => Promise<unknown>>();

export function registerRoutedJob(
  name: string,
  run: (payload: unknown, shard: number) => Promise<unknown>,
): void {
  routedJobs.set(name, run);
}

/**
 * Runs a registered job for `shard` here when this node owns it, else at its owner (retried while the
 * shard moves); resolves with the job's value, or throws the owner's error as an HttpError.
 */
export async function runAtOwner(
  services: Services,
  name: string,
  shard: number,
  payload: unknown,
): Promise<unknown> {
  const run = routedJobs.get(name);
  if (run === undefined) throw new Error(`no routed job ${name}`);
  const cluster = services.cluster!;
  if (cluster.owns(shard)) return run(payload, shard);
  const result = await cluster.router.forward(shard, { t: 'j', name, shard, payload } satisfies RoutedItem);
  if (!result.ok) throw resultError(result);
  return result.value;
}

/** The shard of a header from this node's store or by asking the nodes; null when no node has it. */
export async function findHeaderShard(services: Services, kind: string, id: string): Promise<number | null> {
  const shard = await shardOfHeader(services, kind, id, -1);
  return shard === -1 ? null : shard;
}

interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

function toWire(access: Access): WireAccess {
  return {
    name: access.name,
    scopes: [...access.scopes],
    locations: access.locations === null ? null : [...access.locations],
    requestsPerMinute: access.requestsPerMinute,
  };
}

function fromWire(access: WireAccess): Access {
  return {
    name: access.name,
    scopes: new Set(access.scopes),
    locations: access.locations === null ? null : new Set(access.locations),
    requestsPerMinute: access.requestsPerMinute,
  };
}

function errorResult(error: unknown): RoutedResult {
  const http = toHttpError(error);
  return {
    ok: false,
    error: {
      code: http.code,
      message: http.message,
      details: http.details,
      retryAfterSeconds: http.retryAfterSeconds,
    },
  };
}

function resultError(result: Extract<RoutedResult, { ok: false }>): HttpError {
  const { code, message, details, retryAfterSeconds } = result.error;
  return new HttpError(code as HttpError['code'], message, details, retryAfterSeconds);
}

/** The kind and id of the header a by-id mutation acts on, or null for a mutation that names its location. */
function headerOf(type: CommandType, input: Record<string, unknown>): { kind: string; id: string } | null {
  if (type === 'commit' || type === 'fulfil' || type === 'release')
    return { kind: 'reservation', id: String(input.reservationId) };
  if (type === 'dispose') return { kind: 'return', id: String(input.returnId) };
  if (type === 'transferReceipt') return { kind: 'transfer', id: String(input.transferId) };
  return null;
}

/** The header a creating mutation makes, whose shard is then known without asking. */
function createdHeaderOf(
  type: CommandType,
  input: Record<string, unknown>,
): { kind: string; id: string } | null {
  if (type === 'reserve') return { kind: 'reservation', id: String(input.reservationId) };
  if (type === 'return') return { kind: 'return', id: String(input.returnId) };
  if (type === 'transfer') return { kind: 'transfer', id: String(input.transferId) };
  return null;
}

/** Where a header lives, by what this node's store holds (its location never changes). */
export function localHeaderShard(services: Services, kind: string, id: string): number | null {
  const engine = services.engine;
  if (kind === 'reservation') {
    // In cluster mode a reservation's header lives in its first line's shard (engine.reservationShard).
    const location = engine.reservationHeader(id)?.lines[0]?.location;
    return location === undefined ? null : engine.shardOfLocation(location);
  }
  if (kind === 'return') {
    const header = engine.returnHeader(id);
    return header === undefined ? null : engine.shardOfLocation(header.location);
  }
  if (kind === 'transfer') {
    // Received at its destination, whose copy of the header follows the transfer to the end.
    const header = engine.transferHeader(id);
    return header === undefined ? null : engine.shardOfLocation(header.to);
  }
  return null;
}

/**
 * The shard of a header: from this node's store, or by asking the nodes. A header no node has is in no
 * shard yet: `planned` (its endpoint answers 404 there). When not every node answered, 503: retry.
 */
async function shardOfHeader(services: Services, kind: string, id: string, planned: number): Promise<number> {
  const local = localHeaderShard(services, kind, id);
  if (local !== null) return local;
  const cluster = services.cluster!;
  const found = await cluster.router.find(kind, id, Math.max(1, cluster.stats().liveNodes));
  if (found === 'absent') return planned;
  if (found === 'unknown') {
    throw new HttpError(
      'SHARD_UNAVAILABLE',
      `could not find the shard of ${kind} ${id} in time; retry shortly`,
      { id },
      1,
    );
  }
  return found;
}

/**
 * Cluster mode: runs the mutation at the owner of its shard when that is another node; null when this
 * node owns it (the caller runs it here). Scope and locations were checked by the caller.
 */
export async function routeMutation<Input>(
  services: Services,
  mutation: Mutation<Input>,
  input: Input,
  caller: Caller,
  plannedShard: number,
): Promise<Outcome | null> {
  const cluster = services.cluster!;
  let shard = plannedShard;
  const header = headerOf(mutation.type, input as Record<string, unknown>);
  if (header !== null) shard = await shardOfHeader(services, header.kind, header.id, plannedShard);
  const created = createdHeaderOf(mutation.type, input as Record<string, unknown>);
  if (created !== null) {
    // A transfer is received, and read, at its destination's shard (the copy that is kept up to date).
    const to = (input as { to?: unknown }).to;
    const home =
      created.kind === 'transfer' && typeof to === 'string' ? services.engine.shardOfLocation(to) : shard;
    cluster.router.remember(created.kind, created.id, home);
  }
  if (cluster.owns(shard)) return null;
  const item: RoutedItem = {
    t: 'm',
    type: mutation.type,
    input,
    access: toWire(caller.access),
    meta: caller.meta,
  };
  const result = await cluster.router.forward(shard, item);
  if (!result.ok) throw resultError(result);
  return result.value as Outcome;
}

/** Reads of one shard's data, by route: the shard, from the request's path. */
function readShard(services: Services, request: FastifyRequest): number | null | Promise<number | null> {
  const params = request.params as Record<string, string>;
  const engine = services.engine;
  switch (request.routeOptions.url) {
    case '/v1/stock/:location/:sku':
    case '/v1/stock/:location/:sku/history':
      return engine.shardOfLocation(params.location ?? '');
    case '/v1/reservations/:id':
      return shardOfHeader(services, 'reservation', params.id ?? '', engine.shardOfKey(params.id ?? ''));
    case '/v1/transfers/:id':
      return shardOfHeader(services, 'transfer', params.id ?? '', engine.shardOfKey(params.id ?? ''));
    case '/v1/returns/:returnId':
      return shardOfHeader(
        services,
        'return',
        params.returnId ?? '',
        engine.shardOfKey(params.returnId ?? ''),
      );
    default:
      return null;
  }
}

const passedHeaders = ['authorization', 'accept'];
// (Spelled out: idempotency.ts imports this module, so its constant is not initialised yet here.)
const returnedHeaders = ['content-type', 'retry-after', 'idempotent-replayed', 'x-correlation-id'];

/** The owner's side, and the read forwarding hook; only in cluster mode. */
export function installClusterRouting(app: FastifyInstance, services: Services): void {
  const cluster = services.cluster!;
  services.engine.reservations.setCreateAnswer(createdReply);
  services.engine.reservations.setStepAnswer(stepReply);
  cluster.router.setHandler(async (_shard, items) =>
    Promise.all(
      (items as RoutedItem[]).map(async (item): Promise<RoutedResult> => {
        try {
          if (item.t === 'm') {
            const mutation = MUTATIONS[item.type] as unknown as Mutation<unknown>;
            const outcome = await runMutation(
              services,
              mutation,
              item.input,
              { access: fromWire(item.access), meta: item.meta },
              undefined,
              true,
            );
            return { ok: true, value: outcome };
          }
          if (item.t === 'j') {
            const run = routedJobs.get(item.name);
            if (run === undefined) throw new Error(`no routed job ${item.name}`);
            return { ok: true, value: await run(item.payload, item.shard) };
          }
          const response = await app.inject({
            method: item.method,
            url: item.url,
            headers: { ...item.headers, [FORWARDED_HEADER]: '1' },
          });
          const headers: Record<string, string> = {};
          for (const name of returnedHeaders) {
            const value = response.headers[name];
            if (typeof value === 'string') headers[name] = value;
          }
          const answer: HttpAnswer = { status: response.statusCode, headers, body: response.body };
          return { ok: true, value: answer };
        } catch (error) {
          const result = errorResult(error);
          if (!result.ok && result.error.code === 'INTERNAL_ERROR')
            app.log.error({ err: error }, 'a routed request failed at its owner');
          return result;
        }
      }),
    ),
  );
  for (const kind of ['reservation', 'return', 'transfer']) {
    cluster.router.answerFind(kind, (id) => localHeaderShard(services, kind, id));
  }
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'GET' || request.headers[FORWARDED_HEADER] !== undefined) return;
    const shard = await readShard(services, request);
    if (shard === null || cluster.owns(shard)) return;
    const headers: Record<string, string> = {};
    for (const name of passedHeaders) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    headers['x-correlation-id'] = request.correlationId;
    const result = await cluster.router.forward(shard, { t: 'h', method: 'GET', url: request.url, headers });
    if (!result.ok) {
      const error = resultError(result);
      if (error.retryAfterSeconds !== null) reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(error.status).send(errorReply(error));
    }
    const answer = result.value as HttpAnswer;
    for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
    return reply.status(answer.status).send(answer.body);
  });
}
