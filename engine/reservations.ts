// The reservation coordinator (DESIGN.md §6). A reservation's header lives in the shard of
// hash(reservationId); its lines live in the SKU-location actors. Every step runs as one job: the
// header and every line command of the step are applied in the same batch and so committed in the
// same LMDB transaction. An all-or-nothing request checks every line first, in the same synchronous
// turn that applies them, so either every line is held or none is: no partial hold can exist even for
// an instant, and there is no crash window to compensate.
//
// Cluster mode, where a job is one shard's and lines may live in shards other nodes own: a reservation
// whose lines share a shard is done the same way, by that shard's owner. One whose lines span shards is
// a saga run by the same coordinator through the same outbox (DESIGN.md §6). Its header lives in its
// first line's shard. The step's job there applies the lines of that shard, and it logs the intent with
// the header (the step's outbox records, one per other shard, and their ids in `saga.open`). Each record
// is delivered to its shard's owner, whose job (idempotent under the record's key) does that shard's
// lines and answers per line. The answer is settled in the header's shard: the header takes the lines'
// outcomes and the record is removed. When every line of a create has answered, an all-or-nothing
// request with a refused line releases the lines it holds (compensation records, delivered the same
// way). The create's stored answer is then replaced by the final one. A crash anywhere is finished on
// recovery: the records are on disk until settled, and a redelivery is answered its first result.
// Lines in other shards hold until the header's expiry; the header's shard learns of their expiry by a
// timer of its own, a `watch` record due at that instant.

import type { Refusal } from '../actors/index.ts';
import {
  assert,
  channelId,
  locationId,
  reservationId as reservationIdOf,
  sku as skuOf,
} from '../actors/index.ts';
import { derivedCommandId, idempotencyKey } from './command-ids.ts';
import type { BatchContext, Engine, JobResult, JobSpec } from './engine.ts';
import { EngineError, ShardUnavailableError } from './errors.ts';
import type { CommandInput } from './inputs.ts';
import type {
  CommandMeta,
  OutboxRecord,
  ReservationHeader,
  ReservationHeaderLine,
  ReservationMode,
  ReservationSaga,
  ReservationStepCommand,
  ReservationStepLine,
} from './store/records.ts';

const STEP = 'reservationStep';

/** What the owner of another shard answers for each of its lines of a step. */
interface StepLineResult {
  readonly at: number;
  /** The line's command was applied (for a hold: the line holds). */
  readonly done: boolean;
  readonly refusal: Refusal | null;
}

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

/** The saga of a step across shards: its records, and the key of the request waiting for its answer. */
function stepSaga(records: readonly OutboxRecord[], answerKey: string | undefined): ReservationSaga {
  return { open: records.map((record) => record.id), answerKey: answerKey ?? null, answer: 'step' };
}

/** A create for an id that exists is refused, whatever it asks. */
function refuseExisting(context: BatchContext, reservationId: string): void {
  const found = context.reservation(reservationId);
  if (found !== undefined) {
    throw new EngineError('INVALID_STATE', `reservation ${reservationId} already exists`, {
      state: found.status,
    });
  }
}

/** The hold of each line of a create, with ids derived from the reservation's. */
function holdInputs(request: CreateReservation) {
  return request.lines.map((line, at) => ({
    type: 'reserve' as const,
    commandId: derivedCommandId(request.reservationId, 'hold', at),
    sku: skuOf(line.sku),
    location: locationId(line.location),
    reservationId: reservationIdOf(request.reservationId),
    channel: channelId(request.channel),
    qty: line.qty,
    ttlSeconds: request.ttlSeconds,
  }));
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
  /** Renders a create's final answer (the HTTP layer's), stored in place of the pending one. */
  #createAnswer: ((result: CreateResult) => unknown) | null = null;
  /** Renders a step's final answer from the header as settled (the HTTP layer's). */
  #stepAnswer: ((header: ReservationHeader) => unknown) | null = null;

  constructor(engine: Engine) {
    this.#engine = engine;
    engine.registerOutboxHandler(STEP, {
      target: (record) => this.#stepJob(record),
      settle: (record, result) => this.#settleJob(record, result as readonly StepLineResult[]),
    });
  }

  /** Cluster mode: how a create's final answer is rendered once a reservation across shards settles. */
  setCreateAnswer(render: (result: CreateResult) => unknown): void {
    this.#createAnswer = render;
  }

  /** Cluster mode: how a commit's, fulfilment's or release's final answer is rendered once it settles. */
  setStepAnswer(render: (header: ReservationHeader) => unknown): void {
    this.#stepAnswer = render;
  }

  /**
   * Resolves true once the reservation has no steps under way on other shards (at once for one that
   * never had), false when `timeoutMs` passes first. A step's records go in the same batch as the header
   * that takes their answers, so once they are gone the header says what came of them, including any
   * records (compensations) that batch added.
   */
  async settled(reservationId: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let before: readonly string[] = [];
    for (;;) {
      const open = this.#engine.reservationHeader(reservationId)?.saga?.open ?? [];
      if (open.length === 0) return true;
      // The same records again once they are gone: this node's copy of the header is not the live one.
      if (open.length === before.length && open.every((id, at) => id === before[at])) return false;
      before = open;
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.#engine.outboxSettled(open, left))) return false;
    }
  }

  /** Cluster mode: do the lines live in more than the header's shard? */
  #spansShards(lines: readonly { location: string }[], shard: number): boolean {
    return (
      this.#engine.clustered && lines.some((line) => this.#engine.shardOfLocation(line.location) !== shard)
    );
  }

  /** The lines outside the header's shard, by their shard. */
  #byOtherShard(lines: readonly ReservationStepLine[], shard: number): Map<number, ReservationStepLine[]> {
    const groups = new Map<number, ReservationStepLine[]>();
    for (const line of lines) {
      const at = this.#engine.shardOfLocation(line.location);
      if (at === shard) continue;
      const group = groups.get(at) ?? [];
      group.push(line);
      groups.set(at, group);
    }
    return groups;
  }

  /** One outbox record per other shard for a step, written by the header's shard. */
  #stepRecords(
    header: Pick<ReservationHeader, 'reservationId' | 'channel' | 'mode' | 'expiresAtMs'>,
    home: number,
    step: ReservationStepCommand['step'],
    stepId: string,
    lines: readonly ReservationStepLine[],
    atMs: number,
    meta: CommandMeta,
  ): OutboxRecord[] {
    return [...this.#byOtherShard(lines, home)].map(([shard, group]) => ({
      id: `${recordPrefix(header.reservationId, home)}:${stepId}:${shard}`,
      command: {
        kind: STEP,
        reservationId: header.reservationId,
        step,
        stepId,
        shard,
        lines: group,
        channel: header.channel,
        mode: header.mode,
        expiresAtMs: header.expiresAtMs,
        correlationId: meta.correlationId,
      },
      createdAtMs: atMs,
      attempts: 0,
      home,
    }));
  }

  /** A step on a reservation across shards waits while an earlier step is still under way. */
  #requireNoStepUnderWay(header: ReservationHeader, shard: number): void {
    if (header.saga !== undefined && header.saga.open.length > 0) {
      throw new ShardUnavailableError(
        shard,
        `reservation ${header.reservationId} has a step under way on other shards; retry shortly`,
      );
    }
  }

  #headerShard(reservationId: string): number {
    return this.#engine.reservationShard(reservationId);
  }

  /**
   * The shard a header is in, from the header itself: a job that runs a step inside a job of its own (an
   * order webhook creating and committing at once) may hold a header that is not committed yet.
   */
  #shardOfHeader(header: ReservationHeader): number {
    const first = header.lines[0]?.location;
    return this.#engine.clustered && first !== undefined
      ? this.#engine.shardOfLocation(first)
      : this.#engine.shardOfKey(header.reservationId);
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
  createJob(
    request: CreateReservation,
    meta: CommandMeta,
    /** Cluster mode: the key under which the caller's answer is stored, for a create across shards. */
    answerKey?: string,
  ): JobSpec<CreateResult> {
    assertDistinctLines(request.lines);
    const shard = this.#engine.reservationShard(request.reservationId, request.lines[0]?.location);
    if (this.#spansShards(request.lines, shard)) {
      if (answerKey === undefined)
        assertOneShard(
          this.#engine,
          request.lines.map((line) => line.location),
        );
      else return this.#createAcrossShards(request, meta, shard, answerKey);
    }
    return {
      shard,
      key: idempotencyKey('reservation', request.reservationId),
      body: request,
      run: (context): CreateResult => {
        refuseExisting(context, request.reservationId);
        const inputs = holdInputs(request);
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

  /** `answerKey`, cluster mode: the caller's idempotency key, whose answer is stored once the step settles. */
  commitJob(reservationId: string, meta: CommandMeta, answerKey?: string): JobSpec<ReservationHeader> {
    return {
      shard: this.#headerShard(reservationId),
      key: null,
      body: null,
      run: (context) => {
        const header = this.#existing(context, reservationId);
        const shard = this.#shardOfHeader(header);
        if (header.status === 'committed') return header;
        this.#requireNoStepUnderWay(header, shard);
        this.#requireHeld(context, header);
        const across = this.#spansShards(header.lines, shard);
        const inputs = header.lines
          .filter(
            (line) =>
              line.status === 'held' && (!across || this.#engine.shardOfLocation(line.location) === shard),
          )
          .map((line) => ({
            type: 'commit' as const,
            commandId: derivedCommandId(reservationId, 'commit', line.location, line.sku),
            sku: skuOf(line.sku),
            location: locationId(line.location),
            reservationId: reservationIdOf(reservationId),
          }));
        this.#checkAll(context, inputs, reservationId);
        for (const input of inputs) context.apply(input, meta);
        const records = across
          ? this.#stepRecords(
              header,
              shard,
              'commit',
              'commit',
              header.lines.flatMap((line, at) =>
                line.status === 'held' ? [{ at, sku: line.sku, location: line.location, qty: 0 }] : [],
              ),
              context.atMs,
              meta,
            )
          : [];
        for (const record of records) context.addOutbox(record);
        const next: ReservationHeader = {
          ...header,
          status: 'committed',
          expiresAtMs: null,
          lines: header.lines.map((line) =>
            line.status === 'held' ? { ...line, status: 'committed' } : line,
          ),
          revision: header.revision + 1,
          ...(across ? { saga: stepSaga(records, answerKey) } : {}),
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
    answerKey?: string,
  ): JobSpec<ReservationHeader> {
    return this.#change('fulfil', reservationId, fulfilmentId, lines, meta, answerKey);
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
    answerKey?: string,
  ): JobSpec<ReservationHeader> {
    return this.#change('release', reservationId, releaseId, lines, meta, answerKey);
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
    answerKey?: string,
  ): JobSpec<ReservationHeader> {
    if (requested !== null) assertDistinctLines(requested);
    return {
      shard: this.#headerShard(reservationId),
      key: idempotencyKey(kind, reservationId, changeId),
      body: { reservationId, lines: requested },
      run: (context) => {
        const header = this.#existing(context, reservationId);
        const shard = this.#shardOfHeader(header);
        if (kind === 'release' && (header.status === 'expired' || header.status === 'released'))
          return header;
        this.#requireNoStepUnderWay(header, shard);
        const across = this.#spansShards(header.lines, shard);
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
        const here = (at: number) =>
          !across || this.#engine.shardOfLocation(header.lines[at]!.location) === shard;
        const inputs = changes
          .filter(({ at }) => here(at))
          .map(({ at, qty }) => {
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
        const records = across
          ? this.#stepRecords(
              header,
              shard,
              kind,
              `${kind}:${changeId}`,
              changes.map(({ at, qty }) => ({
                at,
                sku: header.lines[at]!.sku,
                location: header.lines[at]!.location,
                qty,
              })),
              context.atMs,
              meta,
            )
          : [];
        for (const record of records) context.addOutbox(record);
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
          ...(across ? { saga: stepSaga(records, answerKey) } : {}),
        };
        context.putReservation(shard, next);
        return next;
      },
    };
  }

  // ---- cluster mode: reservations across shards ---------------------------------------------------

  /**
   * The first step of a create across shards, in the header's shard: this shard's lines are checked
   * and held (all-or-nothing: held only if all of them fit), the header is logged `pending` with the
   * other shards' lines, and one record per other shard asks for their holds. When a line here is
   * refused an all-or-nothing request is refused already; the other shards are then only asked
   * whether their lines would fit (`check`), so the answer names every refused line as in embedded mode.
   */
  #createAcrossShards(
    request: CreateReservation,
    meta: CommandMeta,
    shard: number,
    answerKey: string,
  ): JobSpec<CreateResult> {
    return {
      shard,
      key: idempotencyKey('reservation', request.reservationId),
      body: request,
      run: (context): CreateResult => {
        refuseExisting(context, request.reservationId);
        const here = (location: string) => this.#engine.shardOfLocation(location) === shard;
        const inputs = holdInputs(request);
        const refusals = inputs.map((input) => (here(input.location) ? context.check(input) : null));
        const refusedHere = refusals.some((refusal) => refusal !== null);
        const holdsNothing = request.mode === 'all-or-nothing' && refusedHere;
        const lines: ReservationHeaderLine[] = request.lines.map((line, at) => {
          const base = { sku: line.sku, location: line.location, requested: line.qty };
          const closed = { fulfilled: 0, released: 0, expired: 0 };
          if (!here(line.location)) return { ...base, held: 0, ...closed, status: 'pending' };
          const refusal = refusals[at] ?? null;
          const holds = !holdsNothing && refusal === null;
          if (holds) context.apply(inputs[at]!, meta);
          return {
            ...base,
            held: holds ? line.qty : 0,
            ...closed,
            status: holds ? 'held' : 'refused',
            ...(refusal === null ? {} : { refusal }),
          };
        });
        const expiresAtMs = request.ttlSeconds === null ? null : context.atMs + request.ttlSeconds * 1000;
        const identity = {
          reservationId: request.reservationId,
          channel: request.channel,
          mode: request.mode,
          expiresAtMs,
        };
        const records = this.#stepRecords(
          identity,
          shard,
          holdsNothing ? 'check' : 'hold',
          'hold',
          request.lines.map((line, at) => ({ at, ...line })),
          context.atMs,
          meta,
        );
        for (const record of records) context.addOutbox(record);
        const header: ReservationHeader = {
          ...identity,
          createdAtMs: context.atMs,
          status: 'pending',
          lines,
          revision: 1,
          saga: { open: records.map((record) => record.id), answerKey, answer: 'create' },
        };
        context.putReservation(shard, header);
        return { ok: false, header, refused: [] };
      },
    };
  }

  /** A step's delivery job, in the shard its record names: that shard's lines of the step. */
  #stepJob(record: OutboxRecord): JobSpec<unknown> {
    const command = record.command;
    assert(command.kind === STEP, `not a reservation step: ${command.kind}`);
    if (command.step === 'watch') return this.#watchJob(record, command);
    const meta: CommandMeta = { correlationId: command.correlationId ?? null, source: 'engine:outbox' };
    const reservationId = reservationIdOf(command.reservationId);
    return {
      shard: command.shard,
      key: idempotencyKey(
        'reservation-step',
        command.reservationId,
        String(record.home ?? -1),
        command.stepId,
        String(command.shard),
      ),
      body: command,
      run: (context): StepLineResult[] => {
        if (command.step === 'hold' || command.step === 'check') {
          const inputs = command.lines.map(
            (line): CommandInput => ({
              type: 'reserve',
              commandId: derivedCommandId(command.reservationId, 'hold', line.at),
              sku: skuOf(line.sku),
              location: locationId(line.location),
              reservationId,
              channel: channelId(command.channel),
              qty: line.qty,
              expiresAtMs: command.expiresAtMs,
            }),
          );
          // A hold asked for after the header's expiry (a delivery held up past it) is refused as expired.
          const lapsed = command.expiresAtMs !== null && context.atMs >= command.expiresAtMs;
          const refusals = inputs.map((input): Refusal | null =>
            lapsed
              ? { code: 'RESERVATION_EXPIRED', reservationId, expiresAtMs: command.expiresAtMs ?? 0 }
              : context.check(input),
          );
          const holds =
            command.step === 'hold' &&
            (command.mode === 'partial' || refusals.every((refusal) => refusal === null));
          return command.lines.map((line, index) => {
            const refusal = refusals[index] ?? null;
            const done = holds && refusal === null;
            if (done) context.apply(inputs[index]!, meta);
            return { at: line.at, done, refusal };
          });
        }
        return command.lines.map((line) => {
          const input: CommandInput =
            command.step === 'commit'
              ? {
                  type: 'commit',
                  commandId: derivedCommandId(command.reservationId, 'commit', line.location, line.sku),
                  sku: skuOf(line.sku),
                  location: locationId(line.location),
                  reservationId,
                }
              : {
                  type: command.step === 'fulfil' ? 'fulfil' : 'release',
                  commandId:
                    command.stepId === 'compensate'
                      ? derivedCommandId(command.reservationId, 'compensate', line.at)
                      : derivedCommandId(
                          command.reservationId,
                          command.step,
                          command.stepId.slice(command.step.length + 1),
                          line.at,
                        ),
                  sku: skuOf(line.sku),
                  location: locationId(line.location),
                  reservationId,
                  qty: line.qty,
                };
          const refusal = context.check(input);
          if (refusal === null) context.apply(input, meta);
          return { at: line.at, done: refusal === null, refusal };
        });
      },
    };
  }

  /**
   * The header's own timer for its lines in other shards: at the reservation's expiry, the lines still
   * held there are marked expired (their shards expire the holds themselves, at the same instant).
   */
  #watchJob(record: OutboxRecord, command: ReservationStepCommand): JobSpec<unknown> {
    return {
      shard: command.shard,
      key: null,
      body: null,
      run: (context) => {
        const header = context.reservation(command.reservationId);
        if (
          header !== undefined &&
          command.expiresAtMs !== null &&
          header.expiresAtMs === command.expiresAtMs
        ) {
          if (context.atMs < command.expiresAtMs) {
            throw new ShardUnavailableError(command.shard, 'the expiry is not due yet on this clock');
          }
          let changed = false;
          const lines = header.lines.map((line) => {
            if (line.status !== 'held' || this.#engine.shardOfLocation(line.location) === command.shard)
              return line;
            changed = true;
            return { ...line, status: 'expired' as const, expired: remainingOf(line) };
          });
          if (changed) {
            context.putReservation(command.shard, {
              ...header,
              lines,
              status: lines.some((line) => line.status === 'held') ? header.status : 'expired',
              revision: header.revision + 1,
            });
          }
        }
        context.ackOutbox(record.id);
        return null;
      },
    };
  }

  /**
   * Settles a step's answer in the header's shard: the header takes each line's outcome and the record
   * is removed. The last answer of a create decides it (compensating an all-or-nothing request that
   * had a refused line, or expiring one whose expiry came first) and stores its final answer; the last
   * answer of another step stores that step's answer, rendered from the header as settled.
   */
  #settleJob(record: OutboxRecord, results: readonly StepLineResult[]): JobSpec<unknown> | null {
    const command = record.command;
    assert(command.kind === STEP, `not a reservation step: ${command.kind}`);
    if (command.step === 'watch') return null;
    const shard = record.home ?? this.#engine.reservationShard(command.reservationId);
    const meta: CommandMeta = { correlationId: command.correlationId ?? null, source: 'engine:outbox' };
    return {
      shard,
      key: null,
      body: null,
      run: (context) => {
        const header = context.reservation(command.reservationId);
        if (header?.saga === undefined || !header.saga.open.includes(record.id)) {
          context.ackOutbox(record.id);
          return null;
        }
        let lines = [...header.lines];
        const byAt = new Map(results.map((result) => [result.at, result]));
        const stepLine = new Map(command.lines.map((line) => [line.at, line]));
        if (command.step === 'hold' || command.step === 'check') {
          lines = lines.map((line, at) => {
            const result = byAt.get(at);
            if (result === undefined) return line;
            if (result.done) return { ...line, held: line.requested, status: 'held' as const };
            return {
              ...line,
              held: 0,
              status: 'refused' as const,
              ...(result.refusal === null ? {} : { refusal: result.refusal }),
            };
          });
        } else if (command.stepId !== 'compensate') {
          // The header decided the step and counted it; a line its shard refused can only have expired
          // there first (a delivery held up past the expiry): the count is taken back, the rest expired.
          lines = lines.map((line, at) => {
            const result = byAt.get(at);
            if (result === undefined || result.done) return line;
            const qty = stepLine.get(at)?.qty ?? 0;
            const undone =
              command.step === 'fulfil'
                ? { ...line, fulfilled: line.fulfilled - qty }
                : command.step === 'release'
                  ? { ...line, released: line.released - qty }
                  : line;
            return {
              ...undone,
              status: 'expired' as const,
              expired: undone.held - undone.fulfilled - undone.released,
            };
          });
        }
        let open = header.saga.open.filter((id) => id !== record.id);
        let status: ReservationHeader['status'] =
          command.step === 'hold' || command.step === 'check' || command.stepId === 'compensate'
            ? header.status
            : statusAfter(header, lines);
        let decided = false;
        if (status === 'pending' && !lines.some((line) => line.status === 'pending')) {
          decided = true;
          const failed = header.mode === 'all-or-nothing' && lines.some((line) => line.status === 'refused');
          const lapsed = header.expiresAtMs !== null && context.atMs >= header.expiresAtMs;
          if (failed) {
            const compensate: ReservationStepLine[] = [];
            for (const [at, line] of lines.entries()) {
              if (line.status !== 'held') continue;
              if (this.#engine.shardOfLocation(line.location) === shard) {
                context.apply(
                  {
                    type: 'release',
                    commandId: derivedCommandId(command.reservationId, 'compensate', at),
                    sku: skuOf(line.sku),
                    location: locationId(line.location),
                    reservationId: reservationIdOf(command.reservationId),
                    qty: line.held,
                  },
                  meta,
                );
              } else {
                compensate.push({ at, sku: line.sku, location: line.location, qty: line.held });
              }
            }
            const records = this.#stepRecords(
              header,
              shard,
              'release',
              'compensate',
              compensate,
              context.atMs,
              meta,
            );
            for (const added of records) context.addOutbox(added);
            open = [...open, ...records.map((added) => added.id)];
            lines = lines.map((line) => ({ ...line, held: 0, status: 'refused' as const }));
            status = 'refused';
          } else if (lapsed) {
            // The expiry came before the last answer: every line held expires (each shard expires its hold
            // at this same instant by itself).
            lines = lines.map((line) =>
              line.status === 'held'
                ? { ...line, status: 'expired' as const, expired: remainingOf(line) }
                : line,
            );
            status = lines.some((line) => line.status === 'expired') ? 'expired' : 'refused';
          } else {
            status = lines.some((line) => line.status === 'held') ? 'held' : 'refused';
            const remoteHeld = lines.some(
              (line) => line.status === 'held' && this.#engine.shardOfLocation(line.location) !== shard,
            );
            if (status === 'held' && header.expiresAtMs !== null && remoteHeld) {
              context.addOutbox({
                id: `${recordPrefix(command.reservationId, shard)}:watch`,
                command: { ...command, step: 'watch', stepId: 'watch', shard, lines: [] },
                createdAtMs: context.atMs,
                attempts: 0,
                home: shard,
                notBeforeMs: header.expiresAtMs,
              });
            }
          }
        }
        const saga = header.saga;
        const next: ReservationHeader = {
          ...header,
          lines,
          status,
          revision: header.revision + 1,
          saga: { ...saga, open },
        };
        if (saga.answerKey !== null) {
          if (decided && saga.answer !== 'step' && this.#createAnswer !== null) {
            const refused = lines.flatMap((line) =>
              line.refusal === undefined
                ? []
                : [
                    {
                      sku: line.sku,
                      location: line.location,
                      requested: line.requested,
                      refusal: line.refusal,
                    },
                  ],
            );
            const answer = this.#createAnswer({ ok: status !== 'refused', header: next, refused });
            context.replaceOutcome(saga.answerKey, answer);
          }
          if (saga.answer === 'step' && open.length === 0 && this.#stepAnswer !== null)
            context.replaceOutcome(saga.answerKey, this.#stepAnswer(next));
        }
        context.ackOutbox(record.id);
        context.putReservation(shard, next);
        return status;
      },
    };
  }
}

/** Outbox record ids of a reservation's steps: by its id and its header's shard (an id reused elsewhere). */
function recordPrefix(reservationId: string, headerShard: number): string {
  return `reservation:${reservationId}@${headerShard}`;
}
