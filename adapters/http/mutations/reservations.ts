// Reservations run the engine's reservation coordinator inside a job of their own: the job checks the
// caller's locations against the header and the channel's open-reservation cap before the coordinator
// acts, and turns its result into the HTTP answer that is stored for replays.

import { idempotencyKey } from '../../../engine/command-ids.ts';
import type { BatchContext } from '../../../engine/engine.ts';
import type { CreateResult, LineChange } from '../../../engine/reservations.ts';
import type { ReservationHeader } from '../../../engine/store/records.ts';
import type { Access } from '../auth.ts';
import { requireLocations } from '../auth.ts';
import { errorReply, HttpError, refusalError } from '../errors.ts';
import type { CommitInput, CreateReservation, FulfilInput, ReleaseInput } from '../schemas.ts';
import {
  CommitInput as CommitSchema,
  CreateReservation as CreateSchema,
  FulfilInput as FulfilSchema,
  ReleaseInput as ReleaseSchema,
  reservationTtlSecondsDefault,
} from '../schemas.ts';
import { reservationView } from '../views.ts';
import type { Mutation, Reply } from './mutation.ts';

/** A step on an existing reservation may only be taken by a key allowed at every one of its locations. */
function requireReservationLocations(context: BatchContext, access: Access, reservationId: string): void {
  const header = context.reservation(reservationId);
  if (header !== undefined) requireLocations(access, new Set(header.lines.map((line) => line.location)));
}

/** The answer to a create that held nothing: 409, with each refused line's figures. */
export function refusedReply(result: CreateResult): Reply {
  const other = result.refused.find(({ refusal }) => refusal.code !== 'INSUFFICIENT_STOCK');
  if (other !== undefined) {
    const error = refusalError(other.refusal, '/lines', `reservation ${result.header.reservationId}`);
    return { status: error.status, body: errorReply(error) };
  }
  const lines = result.refused.map(({ sku, location, requested, refusal }) => {
    const line = { sku, location, requested, availableToSell: 0 };
    if (refusal.code !== 'INSUFFICIENT_STOCK') return line;
    return refusal.exposed === undefined
      ? { ...line, availableToSell: refusal.availableToSell }
      : { ...line, availableToSell: refusal.availableToSell, exposed: refusal.exposed };
  });
  const error = new HttpError(
    'INSUFFICIENT_STOCK',
    `reservation ${result.header.reservationId}: not enough stock to hold ${lines.length === 1 ? 'the line' : `${lines.length} lines`}; nothing is held`,
    { lines },
  );
  return { status: error.status, body: errorReply(error) };
}

/** The answer to a commit, fulfilment or release: the reservation as it is after it. */
export function stepReply(header: ReservationHeader): Reply {
  return { status: 200, body: reservationView(header) };
}

/** The answer to a create: 201 with the reservation, or the refusal. */
export function createdReply(result: CreateResult): Reply {
  if (!result.ok) return refusedReply(result);
  return { status: 201, body: reservationView(result.header, result.refused) };
}

/**
 * Cluster mode: a reservation with steps under way on other shards is answered once they settle
 * (runMutation waits); the stored answer of a create is replaced by its final one then.
 */
function withSteps(reservationId: string, reply: Reply, header: ReservationHeader): Reply {
  return header.saga !== undefined && header.saga.open.length > 0 ? { ...reply, saga: reservationId } : reply;
}

const reserveKey = (input: CreateReservation) => idempotencyKey('http:reservation', input.reservationId);
const commitKey = (input: CommitInput) => idempotencyKey('http:commit', input.reservationId);
const fulfilKey = (input: FulfilInput) =>
  idempotencyKey('http:fulfil', input.reservationId, input.fulfilmentId);
const releaseKey = (input: ReleaseInput) =>
  idempotencyKey('http:release', input.reservationId, input.releaseId);

export const reserveMutation: Mutation<CreateReservation> = {
  type: 'reserve',
  scope: 'reservations:write',
  schema: CreateSchema,
  id: (input) => input.reservationId,
  key: reserveKey,
  locations: (input) => input.lines.map((line) => line.location),
  plan: ({ engine, openReservations }, input, { meta }) => {
    const spec = engine.reservations.createJob(
      {
        reservationId: input.reservationId,
        channel: input.channel,
        ttlSeconds: input.ttlSeconds ?? reservationTtlSecondsDefault,
        mode: input.mode ?? 'all-or-nothing',
        lines: input.lines,
      },
      meta,
      reserveKey(input),
    );
    return {
      shard: spec.shard,
      run: (context) => {
        if (context.reservation(input.reservationId) === undefined)
          openReservations.requireRoom(input.channel);
        const result = spec.run(context);
        openReservations.observe(result.header);
        if (result.header.status === 'pending') {
          const pending = { status: 202, body: { reservationId: input.reservationId, status: 'pending' } };
          return withSteps(input.reservationId, pending, result.header);
        }
        return createdReply(result);
      },
    };
  },
};

export const commitMutation: Mutation<CommitInput> = {
  type: 'commit',
  scope: 'reservations:write',
  schema: CommitSchema,
  id: (input) => input.reservationId,
  key: commitKey,
  locations: () => [],
  plan: ({ engine }, input, { access, meta }) => {
    const spec = engine.reservations.commitJob(input.reservationId, meta, commitKey(input));
    return {
      shard: spec.shard,
      run: (context) => {
        requireReservationLocations(context, access, input.reservationId);
        const header = spec.run(context);
        return withSteps(input.reservationId, stepReply(header), header);
      },
    };
  },
};

function changes(input: FulfilInput | ReleaseInput): LineChange[] | null {
  return input.lines === undefined ? null : input.lines.map((line) => ({ ...line }));
}

export const fulfilMutation: Mutation<FulfilInput> = {
  type: 'fulfil',
  scope: 'reservations:write',
  schema: FulfilSchema,
  id: (input) => input.fulfilmentId,
  key: fulfilKey,
  locations: (input) => (input.lines ?? []).map((line) => line.location),
  plan: ({ engine }, input, { access, meta }) => {
    const spec = engine.reservations.fulfilJob(
      input.reservationId,
      input.fulfilmentId,
      changes(input),
      meta,
      fulfilKey(input),
    );
    return {
      shard: spec.shard,
      run: (context) => {
        requireReservationLocations(context, access, input.reservationId);
        const header = spec.run(context);
        return withSteps(input.reservationId, stepReply(header), header);
      },
    };
  },
};

export const releaseMutation: Mutation<ReleaseInput> = {
  type: 'release',
  scope: 'reservations:write',
  schema: ReleaseSchema,
  id: (input) => input.releaseId,
  key: releaseKey,
  locations: (input) => (input.lines ?? []).map((line) => line.location),
  plan: ({ engine }, input, { access, meta }) => {
    const spec = engine.reservations.releaseJob(
      input.reservationId,
      input.releaseId,
      changes(input),
      meta,
      releaseKey(input),
    );
    return {
      shard: spec.shard,
      run: (context) => {
        requireReservationLocations(context, access, input.reservationId);
        const header = spec.run(context);
        return withSteps(input.reservationId, stepReply(header), header);
      },
    };
  },
};
