// Idempotency (API.md conventions): every mutating request runs as ONE engine job keyed by the
// mutation and the request's own id, with the request (body and path ids) as the job's body. The
// engine stores the job's result, which is the HTTP answer itself, as the key's first outcome: a
// repeated request gets that stored answer (so the same bytes) with `Idempotent-Replayed: true`, and
// the same id with another body is refused by the engine (409 IDEMPOTENCY_CONFLICT).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { IdempotencyConflictError } from '../../engine/errors.ts';
import { requireLocations, requireScope } from './auth.ts';
import { routeMutation } from './cluster-routing.ts';
import { HttpError } from './errors.ts';
import type { Caller, Mutation, Reply, Services } from './mutations/mutation.ts';

export const REPLAYED_HEADER = 'idempotent-replayed';

export interface Outcome extends Reply {
  readonly replayed: boolean;
}

/**
 * Runs a mutation for a caller: scope and the named locations first (403), then the job. `shard`
 * overrides the job's mailbox: commands of one bulk request share a mailbox so they apply in order.
 * The job is queued synchronously, before this function first awaits, so calls queue in call order.
 */
export async function runMutation<Input>(
  services: Services,
  mutation: Mutation<Input>,
  input: Input,
  caller: Caller,
  shard?: number,
  /** Cluster mode: run it here even if another node owns the shard (the owner's side of a route). */
  here = false,
): Promise<Outcome> {
  requireScope(caller.access, [mutation.scope]);
  requireLocations(caller.access, mutation.locations(input));
  const planned = mutation.plan(services, input, caller);
  // In cluster mode a job is its shard's alone, so a bulk request's mailbox override does not apply.
  const target = services.cluster === undefined ? (shard ?? planned.shard) : planned.shard;
  if (services.cluster !== undefined && !here) {
    const routed = await routeMutation(services, mutation, input, caller, target);
    if (routed !== null) return routed;
  }
  try {
    const { result, replayed } = await services.engine.run({
      shard: target,
      key: mutation.key(input),
      body: input,
      run: planned.run,
    });
    if (result.saga !== undefined) return await settledOutcome(services, mutation, input, result, replayed);
    if (result.outbox !== undefined) return await deliveredOutcome(services, result, replayed);
    return { ...result, replayed };
  } catch (error) {
    if (error instanceof IdempotencyConflictError) {
      const id = mutation.id(input);
      throw new HttpError(
        'IDEMPOTENCY_CONFLICT',
        `${mutation.type} ${id ?? ''} was already made with a different body; use a new id for a new request`,
        { id },
      );
    }
    throw error;
  }
}

/** How long a request waits for its reservation's steps on other shards before it answers 503. */
const stepsWaitMs = 4_000;

/**
 * Cluster mode: waits for the steps a reservation request started on other shards, then answers. A
 * create answers its final answer (stored in place of the pending one); a step its own, the header's
 * decision. When they take too long: 503 with Retry-After; the retry is answered the same way.
 */
async function settledOutcome<Input>(
  services: Services,
  mutation: Mutation<Input>,
  input: Input,
  pending: Reply,
  replayed: boolean,
): Promise<Outcome> {
  const reservationId = pending.saga!;
  const settled = await services.engine.reservations.settled(reservationId, stepsWaitMs);
  const key = mutation.key(input);
  // The final answer replaced the pending one under the request's key when the steps settled.
  const stored = key === null ? undefined : (services.engine.storedOutcome(key) as Reply | undefined);
  const final = stored !== undefined && stored.saga === undefined ? stored : null;
  if (!settled || (final === null && mutation.type === 'reserve')) {
    throw new HttpError(
      'SHARD_UNAVAILABLE',
      `reservation ${reservationId} is still waiting for its other shards; retry shortly`,
      { reservationId },
      1,
    );
  }
  const { saga: _saga, ...reply } = final ?? pending;
  return { ...reply, replayed };
}

/** Answers once the outbox records a request wrote are delivered (503 if that takes too long). */
async function deliveredOutcome(services: Services, reply: Reply, replayed: boolean): Promise<Outcome> {
  const ids = reply.outbox ?? [];
  if (!(await services.engine.outboxSettled(ids, stepsWaitMs))) {
    throw new HttpError(
      'SHARD_UNAVAILABLE',
      'the request is still being delivered to another shard; retry shortly',
      { outbox: [...ids] },
      1,
    );
  }
  const { outbox: _outbox, ...rest } = reply;
  return { ...rest, replayed };
}

/** Sends an outcome: its status and body, marked when it is the stored answer of an earlier request. */
export function sendOutcome(reply: FastifyReply, outcome: Outcome): FastifyReply {
  if (outcome.replayed) reply.header(REPLAYED_HEADER, 'true');
  return reply.status(outcome.status).send(outcome.body);
}

/** The caller of a request: its key's access, and the meta every command it causes carries. */
export function callerOf(request: FastifyRequest, source: string): Caller {
  return { access: request.access, meta: { correlationId: request.correlationId, source } };
}
