// The reservation coordinator (DESIGN.md §6). A reservation's header lives in the shard of
// hash(reservationId); its lines live in the SKU-location actors. Every step runs as one job: the
// header and every line command of the step are applied in the same batch and so committed in the
// same LMDB transaction. An all-or-nothing request checks every line first, in the same synchronous
// turn that applies them, so either every line is held or none is: no partial hold can exist even for
// an instant, and there is no crash window to compensate. (In cluster mode, where lines may live on
// other nodes, the same steps become a logged intent plus outbox deliveries; see engine/cluster.)

import type { Refusal } from '../actors/index.ts';
import { channelId, locationId, reservationId as reservationIdOf, sku as skuOf } from '../actors/index.ts';
import { derivedCommandId, idempotencyKey } from './command-ids.ts';
import type { BatchContext, Engine, JobResult, JobSpec } from './engine.ts';
import { EngineError } from './errors.ts';
import type {
  CommandMeta,
  ReservationHeader,
  ReservationHeaderLine,
  ReservationMode,
} from './store/records.ts';

export interface LineRequest {
  readonly sku: string;
  readonly location: string;
  readonly qty: number;
}

export interface CreateReservation {
  readonly reservationId: string;
  readonly channel: string;
  /** Null for a hold that does not expire until released. */
  readonly ttlSeconds: number | null;
  readonly mode: ReservationMode;
  readonly lines: readonly LineRequest[];
}

export interface RefusedLine {
  readonly sku: string;
  readonly location: string;
  readonly requested: number;
  readonly refusal: Refusal;
}

export type CreateResult =
  | { readonly ok: true; readonly header: ReservationHeader; readonly refused: readonly RefusedLine[] }
  | { readonly ok: false; readonly header: ReservationHeader; readonly refused: readonly RefusedLine[] };

export interface LineChange {
  readonly sku: string;
  readonly location: string;
  readonly qty: number;
}

function lineKey(line: { sku: string; location: string }): string {
  return `${line.location}|${line.sku}`;
}

function assertDistinctLines(lines: readonly { sku: string; location: string }[]): void {
  const seen = new Set<string>();
  for (const [at, line] of lines.entries()) {
    const key = lineKey(line);
    if (seen.has(key)) {
      throw new EngineError('VALIDATION_FAILED', `line ${at} repeats ${line.sku} at ${line.location}`, {
        issues: [{ path: `/lines/${at}`, message: 'each SKU-location may appear once per request' }],
      });
    }
    seen.add(key);
  }
}

/**
 * Cluster mode: one request is done by one owner, so its locations must share a shard. (Reservations
 * spanning shards owned by different nodes need a cross-node saga, which this build does not have.)
 */
export function assertOneShard(engine: Engine, locations: readonly string[]): void {
  const shards = new Set(locations.map((location) => engine.shardOfLocation(location)));
  if (shards.size > 1) {
    throw new EngineError(
      'VALIDATION_FAILED',
      `in cluster mode the locations of one request must share a shard; these are in shards ${[...shards].join(', ')}`,
      { issues: [{ path: '/lines', message: 'locations in more than one shard (cluster mode)' }] },
    );
  }
}

/** Units of a line still held (neither fulfilled, released nor expired). */
export function remainingOf(line: ReservationHeaderLine): number {
  return line.held - line.fulfilled - line.released - line.expired;
}

/** A reservation keeps its status while any unit is held; then it is named for what became of the units. */
function statusAfter(
  header: ReservationHeader,
  lines: readonly ReservationHeaderLine[],
): ReservationHeader['status'] {
  if (lines.some((line) => remainingOf(line) > 0)) return header.status;
  if (lines.some((line) => line.fulfilled > 0)) return 'fulfilled';
  if (lines.some((line) => line.released > 0)) return 'released';
  return 'expired';
}

export class ReservationCoordinator {
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  #headerShard(reservationId: string): number {
    return this.#engine.reservationShard(reservationId);
  }

  #existing(context: BatchContext, reservationId: string): ReservationHeader {
    const header = context.reservation(reservationId);
    if (header === undefined) {
      throw new EngineError('RESERVATION_NOT_FOUND', `no reservation ${reservationId}`, { reservationId });
    }
    return header;
  }

  create(request: CreateReservation, meta: CommandMeta): Promise<JobResult<CreateResult>> {
    return this.#engine.run(this.createJob(request, meta));
  }

  /**
   * The job `create` runs, for callers that run it inside a job of their own (the HTTP API keys its
   * jobs by route). Throws VALIDATION_FAILED at once for a request naming a SKU-location twice.
   */
  createJob(request: CreateReservation, meta: CommandMeta): JobSpec<CreateResult> {
    assertDistinctLines(request.lines);
    const shard = this.#engine.reservationShard(request.reservationId, request.lines[0]?.location);
    if (this.#engine.clustered)
      assertOneShard(
        this.#engine,
        request.lines.map((line) => line.location),
      );
    return {
      shard,
      key: idempotencyKey('reservation', request.reservationId),
      body: request,
      run: (context): CreateResult => {
        const found = context.reservation(request.reservationId);
        if (found !== undefined) {
          throw new EngineError('INVALID_STATE', `reservation ${request.reservationId} already exists`, {
            state: found.status,
          });
        }
        const inputs = request.lines.map((line, at) => ({
          type: 'reserve' as const,
          commandId: derivedCommandId(request.reservationId, 'hold', at),
          sku: skuOf(line.sku),
          location: locationId(line.location),
          reservationId: reservationIdOf(request.reservationId),
          channel: channelId(request.channel),
          qty: line.qty,
          ttlSeconds: request.ttlSeconds,
        }));
        const refusals = inputs.map((input) => context.check(input));
        const refused: RefusedLine[] = [];
        for (const [at, refusal] of refusals.entries()) {
          const line = request.lines[at]!;
          if (refusal !== null)
            refused.push({ sku: line.sku, location: line.location, requested: line.qty, refusal });
        }
        const allOrNothingFails = request.mode === 'all-or-nothing' && refused.length > 0;
        const lines: ReservationHeaderLine[] = request.lines.map((line, at) => {
          const holds = !allOrNothingFails && refusals[at] === null;
          if (holds) context.apply(inputs[at]!, meta);
          return {
            sku: line.sku,
            location: line.location,
            requested: line.qty,
            held: holds ? line.qty : 0,
            fulfilled: 0,
            released: 0,
            expired: 0,
            status: holds ? 'held' : 'refused',
          };
        });
        const anyHeld = lines.some((line) => line.status === 'held');
        const header: ReservationHeader = {
          reservationId: request.reservationId,
          channel: request.channel,
          mode: request.mode,
          createdAtMs: context.atMs,
          expiresAtMs: request.ttlSeconds === null ? null : context.atMs + request.ttlSeconds * 1000,
          status: anyHeld ? 'held' : 'refused',
          lines,
          revision: 1,
        };
        context.putReservation(shard, header);
        return { ok: anyHeld, header, refused };
      },
    };
  }

  /** Order placed: the holds no longer expire. Committing a committed reservation changes nothing. */
  commit(reservationId: string, meta: CommandMeta): Promise<JobResult<ReservationHeader>> {
    return this.#engine.run(this.commitJob(reservationId, meta));
  }

  commitJob(reservationId: string, meta: CommandMeta): JobSpec<ReservationHeader> {
    const shard = this.#headerShard(reservationId);
    return {
      shard,
      key: null,
      body: null,
      run: (context) => {
        const header = this.#existing(context, reservationId);
        if (header.status === 'committed') return header;
        this.#requireHeld(context, header);
        const inputs = header.lines
          .filter((line) => line.status === 'held')
          .map((line) => ({
            type: 'commit' as const,
            commandId: derivedCommandId(reservationId, 'commit', line.location, line.sku),
            sku: skuOf(line.sku),
            location: locationId(line.location),
            reservationId: reservationIdOf(reservationId),
          }));
        this.#checkAll(context, inputs, reservationId);
        for (const input of inputs) context.apply(input, meta);
        const next: ReservationHeader = {
          ...header,
          status: 'committed',
          expiresAtMs: null,
          lines: header.lines.map((line) =>
            line.status === 'held' ? { ...line, status: 'committed' } : line,
          ),
          revision: header.revision + 1,
        };
        context.putReservation(shard, next);
        return next;
      },
    };
  }

  /** Shipped or picked up: on-hand and reserved both go down. `lines` omitted fulfils everything left. */
  fulfil(
    reservationId: string,
    fulfilmentId: string,
    lines: readonly LineChange[] | null,
    meta: CommandMeta,
  ): Promise<JobResult<ReservationHeader>> {
    return this.#engine.run(this.fulfilJob(reservationId, fulfilmentId, lines, meta));
  }

  fulfilJob(
    reservationId: string,
    fulfilmentId: string,
    lines: readonly LineChange[] | null,
    meta: CommandMeta,
  ): JobSpec<ReservationHeader> {
    return this.#change('fulfil', reservationId, fulfilmentId, lines, meta);
  }

  /** Cancelled or abandoned. Releasing an expired or released reservation is a no-op success. */
  release(
    reservationId: string,
    releaseId: string,
    lines: readonly LineChange[] | null,
    meta: CommandMeta,
  ): Promise<JobResult<ReservationHeader>> {
    return this.#engine.run(this.releaseJob(reservationId, releaseId, lines, meta));
  }

  releaseJob(
    reservationId: string,
    releaseId: string,
    lines: readonly LineChange[] | null,
    meta: CommandMeta,
  ): JobSpec<ReservationHeader> {
    return this.#change('release', reservationId, releaseId, lines, meta);
  }

  #requireHeld(context: BatchContext, header: ReservationHeader): void {
    if (header.status === 'expired' || (header.expiresAtMs !== null && context.atMs >= header.expiresAtMs)) {
      throw new EngineError('RESERVATION_EXPIRED', `reservation ${header.reservationId} expired`, {
        reservationId: header.reservationId,
        expiresAt: header.expiresAtMs === null ? null : new Date(header.expiresAtMs).toISOString(),
      });
    }
    if (header.status !== 'held' && header.status !== 'committed') {
      throw new EngineError('INVALID_STATE', `reservation ${header.reservationId} is ${header.status}`, {
        state: header.status,
      });
    }
  }

  #checkAll(
    context: BatchContext,
    inputs: readonly Parameters<BatchContext['check']>[0][],
    reservationId: string,
  ) {
    for (const input of inputs) {
      const refusal = context.check(input);
      if (refusal === null) continue;
      if (refusal.code === 'RESERVATION_EXPIRED') {
        throw new EngineError('RESERVATION_EXPIRED', `reservation ${reservationId} expired`, {
          reservationId,
        });
      }
      throw new EngineError('INVALID_STATE', `reservation ${reservationId}: ${refusal.code}`, { refusal });
    }
  }

  #change(
    kind: 'fulfil' | 'release',
    reservationId: string,
    changeId: string,
    requested: readonly LineChange[] | null,
    meta: CommandMeta,
  ): JobSpec<ReservationHeader> {
    if (requested !== null) assertDistinctLines(requested);
    const shard = this.#headerShard(reservationId);
    return {
      shard,
      key: idempotencyKey(kind, reservationId, changeId),
      body: { reservationId, lines: requested },
      run: (context) => {
        const header = this.#existing(context, reservationId);
        if (kind === 'release' && (header.status === 'expired' || header.status === 'released'))
          return header;
        if (kind === 'fulfil' || header.status !== 'fulfilled') this.#requireHeld(context, header);
        else
          throw new EngineError('INVALID_STATE', `reservation ${reservationId} is fulfilled`, {
            state: 'fulfilled',
          });
        const byKey = new Map(header.lines.map((line, at) => [lineKey(line), at]));
        const changes: { at: number; qty: number }[] = [];
        if (requested === null) {
          for (const [at, line] of header.lines.entries())
            if (remainingOf(line) > 0) changes.push({ at, qty: remainingOf(line) });
        } else {
          for (const [index, change] of requested.entries()) {
            const at = byKey.get(lineKey(change));
            if (at === undefined) {
              throw new EngineError(
                'VALIDATION_FAILED',
                `reservation ${reservationId} has no line for ${change.sku} at ${change.location}`,
                {
                  issues: [{ path: `/lines/${index}`, message: 'not a line of this reservation' }],
                },
              );
            }
            const line = header.lines[at]!;
            if (change.qty > remainingOf(line)) {
              throw new EngineError(
                'INVALID_STATE',
                `line ${change.sku} at ${change.location} holds ${remainingOf(line)}, not ${change.qty}`,
                {
                  state: line.status,
                  requested: change.qty,
                  remaining: remainingOf(line),
                },
              );
            }
            changes.push({ at, qty: change.qty });
          }
        }
        const inputs = changes.map(({ at, qty }) => {
          const line = header.lines[at]!;
          return {
            type: kind,
            commandId: derivedCommandId(reservationId, kind, changeId, at),
            sku: skuOf(line.sku),
            location: locationId(line.location),
            reservationId: reservationIdOf(reservationId),
            qty,
          };
        });
        this.#checkAll(context, inputs, reservationId);
        for (const input of inputs) context.apply(input, meta);
        const lines = header.lines.map((line, at) => {
          const change = changes.find((candidate) => candidate.at === at);
          if (change === undefined) return line;
          const next =
            kind === 'fulfil'
              ? { ...line, fulfilled: line.fulfilled + change.qty }
              : { ...line, released: line.released + change.qty };
          if (remainingOf(next) > 0) return next;
          return { ...next, status: next.fulfilled > 0 ? ('fulfilled' as const) : ('released' as const) };
        });
        const next: ReservationHeader = {
          ...header,
          lines,
          status: statusAfter(header, lines),
          revision: header.revision + 1,
        };
        context.putReservation(shard, next);
        return next;
      },
    };
  }
}
