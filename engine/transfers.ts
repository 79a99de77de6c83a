// Transfers between locations (DESIGN.md §6): ship at the source, arrive at the destination, receive
// there. Shipping writes the source's TransferShipped events, the header and an outbox record in one
// transaction; the outbox record is delivered to the destination's shard (TransferArrived, inTransit
// up) and removed in the same transaction as that delivery, so a crash in between redelivers it, and
// idempotency (the delivery's own key) makes redelivery harmless. Receiving records the variance.
//
// Cluster mode, between locations in shards that different nodes may own: the record carries the
// shipped header and is delivered to the destination's owner, whose job records the arrival and its
// own copy of the header; the source's owner then removes the record and marks its copy arrived. The
// receipt goes to the destination's shard, whose copy is the transfer's from then on.

import type { Refusal } from '../actors/index.ts';
import { assert, locationId, sku as skuOf, transferId as transferIdOf } from '../actors/index.ts';
import { derivedCommandId, idempotencyKey } from './command-ids.ts';
import type { BatchContext, Engine, JobResult, JobSpec } from './engine.ts';
import { EngineError } from './errors.ts';
import type { CommandMeta, OutboxRecord, TransferHeader } from './store/records.ts';

export interface CreateTransfer {
  readonly transferId: string;
  readonly from: string;
  readonly to: string;
  readonly lines: readonly { readonly sku: string; readonly qty: number }[];
}

export interface ReceiveTransfer {
  readonly transferId: string;
  /** What was physically received, per SKU; a shipped SKU left out was received as 0. */
  readonly lines: readonly { readonly sku: string; readonly qty: number }[];
}

export type TransferResult =
  | { readonly ok: true; readonly header: TransferHeader }
  | {
      readonly ok: false;
      readonly refused: readonly {
        readonly sku: string;
        readonly requested: number;
        readonly refusal: Refusal;
      }[];
    };

const ARRIVE = 'transferArrive';

function notFound(transferId: string): EngineError {
  return new EngineError('TRANSFER_NOT_FOUND', `no transfer ${transferId}`, { transferId });
}

function assertDistinctSkus(lines: readonly { sku: string }[]): void {
  const seen = new Set<string>();
  for (const [at, line] of lines.entries()) {
    if (seen.has(line.sku)) {
      throw new EngineError('VALIDATION_FAILED', `line ${at} repeats ${line.sku}`, {
        issues: [{ path: `/lines/${at}`, message: 'each SKU may appear once per request' }],
      });
    }
    seen.add(line.sku);
  }
}

export class TransferCoordinator {
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
    engine.registerOutboxHandler(ARRIVE, {
      target: (record) => this.#arrivalJob(record),
      settle: (record) => this.#settleArrival(record),
    });
  }

  create(request: CreateTransfer, meta: CommandMeta): Promise<JobResult<TransferResult>> {
    return this.#engine.run(this.createJob(request, meta));
  }

  /** The job `create` runs, for callers that run it inside a job of their own; throws on a bad request. */
  createJob(request: CreateTransfer, meta: CommandMeta): JobSpec<TransferResult> {
    assertDistinctSkus(request.lines);
    if (request.from === request.to) {
      throw new EngineError('VALIDATION_FAILED', 'a transfer goes from one location to another', {
        issues: [{ path: '/to', message: 'must differ from from' }],
      });
    }
    const shard = this.#engine.shardOfLocation(request.from);
    const across = this.#engine.clustered && this.#engine.shardOfLocation(request.to) !== shard;
    return {
      shard,
      key: idempotencyKey('transfer', request.transferId),
      body: request,
      run: (context): TransferResult => {
        const found = context.transfer(request.transferId);
        if (found !== undefined) {
          throw new EngineError('INVALID_STATE', `transfer ${request.transferId} already exists`, {
            state: found.status,
          });
        }
        const inputs = request.lines.map((line, at) => ({
          type: 'transferOut' as const,
          commandId: derivedCommandId(request.transferId, 'ship', at),
          sku: skuOf(line.sku),
          location: locationId(request.from),
          transferId: transferIdOf(request.transferId),
          destination: locationId(request.to),
          qty: line.qty,
        }));
        const refused = inputs.flatMap((input, at) => {
          const refusal = context.check(input);
          return refusal === null
            ? []
            : [{ sku: request.lines[at]!.sku, requested: request.lines[at]!.qty, refusal }];
        });
        if (refused.length > 0) return { ok: false, refused };
        for (const input of inputs) context.apply(input, meta);
        const header: TransferHeader = {
          transferId: request.transferId,
          from: request.from,
          to: request.to,
          status: 'shipped',
          shippedAtMs: context.atMs,
          receivedAtMs: null,
          lines: request.lines.map((line) => ({
            sku: line.sku,
            shipped: line.qty,
            received: null,
            variance: null,
          })),
          revision: 1,
        };
        context.putTransfer(shard, header);
        context.addOutbox({
          id: arrivalRecordId(request.transferId),
          command: {
            kind: ARRIVE,
            transferId: request.transferId,
            correlationId: meta.correlationId,
            ...(across ? { shipped: header } : {}),
          },
          createdAtMs: context.atMs,
          attempts: 0,
          ...(across ? { home: shard } : {}),
        });
        return { ok: true, header };
      },
    };
  }

  receive(request: ReceiveTransfer, meta: CommandMeta): Promise<JobResult<TransferHeader>> {
    assertDistinctSkus(request.lines);
    if (this.#engine.transferHeader(request.transferId) === undefined) throw notFound(request.transferId);
    return this.#engine.run(this.receiveJob(request, meta));
  }

  /**
   * The job `receive` runs. The transfer is looked up inside the job, so a receipt queued behind its
   * transfer's shipment (not yet committed) still finds it.
   */
  receiveJob(request: ReceiveTransfer, meta: CommandMeta): JobSpec<TransferHeader> {
    assertDistinctSkus(request.lines);
    const committed = this.#engine.transferHeader(request.transferId);
    // Cluster mode: the receipt was routed to the destination's shard; a node with no copy has none yet.
    if (committed === undefined && this.#engine.clustered) throw notFound(request.transferId);
    const shard =
      committed === undefined
        ? this.#engine.shardOfKey(request.transferId)
        : this.#engine.shardOfLocation(committed.to);
    return {
      shard,
      key: idempotencyKey('transfer-receipt', request.transferId),
      body: request,
      run: (context) => {
        let current = context.transfer(request.transferId);
        if (current === undefined) throw notFound(request.transferId);
        if (current.status === 'received') {
          throw new EngineError('INVALID_STATE', `transfer ${request.transferId} was already received`, {
            state: 'received',
          });
        }
        const shipped = new Set(current.lines.map((line) => line.sku));
        for (const [at, line] of request.lines.entries()) {
          if (!shipped.has(line.sku)) {
            throw new EngineError(
              'VALIDATION_FAILED',
              `transfer ${request.transferId} shipped no ${line.sku}`,
              {
                issues: [{ path: `/lines/${at}/sku`, message: 'not a line of this transfer' }],
              },
            );
          }
        }
        // The receipt may overtake the outbox delivery; then the arrival happens here, first.
        if (current.status === 'shipped') current = this.#arrive(context, current, meta);
        const received = new Map(request.lines.map((line) => [line.sku, line.qty]));
        const lines = current.lines.map((line, at) => {
          const qty = received.get(line.sku) ?? 0;
          context.apply(
            {
              type: 'transferReceive',
              commandId: derivedCommandId(request.transferId, 'receive', at),
              sku: skuOf(line.sku),
              location: locationId(current.to),
              transferId: transferIdOf(request.transferId),
              receivedQty: qty,
            },
            meta,
          );
          return { ...line, received: qty, variance: qty - line.shipped };
        });
        const next: TransferHeader = {
          ...current,
          status: 'received',
          receivedAtMs: context.atMs,
          lines,
          revision: current.revision + 1,
        };
        context.putTransfer(this.#engine.shardOfLocation(current.to), next);
        return next;
      },
    };
  }

  #arrive(
    context: BatchContext,
    header: TransferHeader,
    meta: CommandMeta,
    /** False when the record lives in another shard, whose owner removes it (cluster mode). */
    ack = true,
  ): TransferHeader {
    for (const [at, line] of header.lines.entries()) {
      context.apply(
        {
          type: 'transferIn',
          commandId: derivedCommandId(header.transferId, 'arrive', at),
          sku: skuOf(line.sku),
          location: locationId(header.to),
          transferId: transferIdOf(header.transferId),
          origin: locationId(header.from),
          qty: line.shipped,
        },
        meta,
      );
    }
    const next: TransferHeader = { ...header, status: 'arrived', revision: header.revision + 1 };
    context.putTransfer(this.#engine.shardOfLocation(header.to), next);
    if (ack) context.ackOutbox(arrivalRecordId(header.transferId));
    return next;
  }

  #arrivalJob(record: OutboxRecord): JobSpec<unknown> {
    const command = record.command;
    assert(command.kind === ARRIVE, `not a transfer arrival: ${command.kind}`);
    const header = command.shipped ?? this.#engine.transferHeader(command.transferId);
    const shard = header === undefined ? 0 : this.#engine.shardOfLocation(header.to);
    // Between shards (cluster mode) the source's owner removes the record once this job is done.
    const here = record.home === undefined;
    return {
      shard,
      key: here ? null : idempotencyKey('transfer-arrival', command.transferId),
      body: here ? null : command.transferId,
      run: (context) => {
        const current = context.transfer(command.transferId) ?? command.shipped;
        if (current === undefined || current.status !== 'shipped') {
          // Already arrived (the receipt got there first) or unknown: acknowledge and stop delivering.
          if (here) context.ackOutbox(record.id);
          return current?.status ?? 'unknown';
        }
        const meta = { correlationId: command.correlationId ?? null, source: 'engine:outbox' };
        return this.#arrive(context, current, meta, here).status;
      },
    };
  }

  /** Cluster mode, between shards: in the source's shard, the record goes and its copy is marked arrived. */
  #settleArrival(record: OutboxRecord): JobSpec<unknown> | null {
    const command = record.command;
    if (record.home === undefined || command.kind !== ARRIVE) return null;
    const home = record.home;
    return {
      shard: home,
      key: null,
      body: null,
      run: (context) => {
        context.ackOutbox(record.id);
        // This shard's log records the transfer as arrived (or as the later state this node's copy has
        // when it holds the destination too): its next owner must not find it shipped with no record.
        const header = context.transfer(command.transferId) ?? command.shipped;
        if (header !== undefined) {
          context.putTransfer(
            home,
            header.status === 'shipped'
              ? { ...header, status: 'arrived', revision: header.revision + 1 }
              : header,
          );
        }
        return null;
      },
    };
  }
}

export function arrivalRecordId(transferId: string): string {
  return `arrive:${transferId}`;
}
