// Returns (DESIGN.md §2 rule 4): returned units enter quarantine and leave it only by a disposition;
// only `restock` puts them back on hand. The actors keep each return's open lot per SKU-location; a
// return header (shard of its location) keeps what the return said and what inspection decided, so
// `GET /v1/returns/{id}` can answer returned / disposed by disposition / still in quarantine. Each step
// is one job: the header and every line's command are committed in the same transaction. Every line
// is checked before any is applied, so a step is applied whole or not at all.

import type { Disposition } from '../actors/index.ts';
import { assert, findEntry, locationId, returnId as returnIdOf, sku as skuOf } from '../actors/index.ts';
import { derivedCommandId, idempotencyKey } from './command-ids.ts';
import type { BatchContext, Engine, JobResult, JobSpec } from './engine.ts';
import { EngineError } from './errors.ts';
import type { StockPosition } from './inputs.ts';
import type { CommandMeta, ReturnHeader, ReturnHeaderLine } from './store/records.ts';

export interface CreateReturn {
  readonly returnId: string;
  readonly location: string;
  readonly originalOrderId: string | null;
  readonly lines: readonly { readonly sku: string; readonly qty: number; readonly reason: string }[];
}

export interface DisposeReturn {
  readonly returnId: string;
  readonly dispositionId: string;
  readonly lines: readonly {
    readonly sku: string;
    readonly qty: number;
    readonly disposition: Disposition;
  }[];
}

/** The header after the step, and each request line's SKU-location position after it, in request order. */
export interface ReturnStep {
  readonly header: ReturnHeader;
  readonly positions: readonly StockPosition[];
}

function issue(path: string, message: string): EngineError {
  return new EngineError('VALIDATION_FAILED', message, { issues: [{ path, message }] });
}

/** Units of a return still in quarantine at one SKU-location, as the actor holds them. */
export function quarantinedOf(context: BatchContext, header: ReturnHeader, sku: string): number {
  return findEntry(context.ledger(header.location, sku).returnLots, header.returnId)?.qty ?? 0;
}

export class ReturnCoordinator {
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  create(request: CreateReturn, meta: CommandMeta): Promise<JobResult<ReturnStep>> {
    return this.#engine.run(this.createJob(request, meta));
  }

  dispose(request: DisposeReturn, meta: CommandMeta): Promise<JobResult<ReturnStep>> {
    return this.#engine.run(this.disposeJob(request, meta));
  }

  /** Units enter quarantine at the return's location. Throws VALIDATION_FAILED for a repeated SKU. */
  createJob(request: CreateReturn, meta: CommandMeta): JobSpec<ReturnStep> {
    const seen = new Set<string>();
    for (const [at, line] of request.lines.entries()) {
      if (seen.has(line.sku)) throw issue(`/lines/${at}/sku`, `line ${at} repeats ${line.sku}`);
      seen.add(line.sku);
    }
    const shard = this.#engine.shardOfLocation(request.location);
    return {
      shard,
      key: idempotencyKey('return', request.returnId),
      body: request,
      run: (context) => {
        const found = context.returnHeader(request.returnId);
        if (found !== undefined) {
          throw new EngineError('INVALID_STATE', `return ${request.returnId} already exists`, {
            state: 'recorded',
          });
        }
        const inputs = request.lines.map((line, at) => ({
          type: 'return' as const,
          commandId: derivedCommandId(request.returnId, 'return', at),
          sku: skuOf(line.sku),
          location: locationId(request.location),
          returnId: returnIdOf(request.returnId),
          qty: line.qty,
          reason: line.reason,
        }));
        for (const [at, input] of inputs.entries()) {
          const refusal = context.check(input);
          if (refusal !== null) {
            throw new EngineError(refusal.code, `line ${at} of return ${request.returnId}: ${refusal.code}`, {
              refusal,
            });
          }
        }
        const positions = inputs.map((input, at) => {
          const outcome = context.apply(input, meta);
          assert(outcome.ok, `return line ${at} of ${request.returnId} refused after its check`);
          return outcome.position;
        });
        const header: ReturnHeader = {
          returnId: request.returnId,
          location: request.location,
          originalOrderId: request.originalOrderId,
          createdAtMs: context.atMs,
          lines: request.lines.map(
            (line): ReturnHeaderLine => ({
              sku: line.sku,
              reason: line.reason,
              returned: line.qty,
              disposed: { restock: 0, scrap: 0, vendor: 0 },
            }),
          ),
          revision: 1,
        };
        context.putReturn(shard, header);
        return { header, positions };
      },
    };
  }

  /**
   * Inspection decides: quarantine down, and on-hand up for `restock`. More than the return's lot still
   * holds is QUARANTINE_INSUFFICIENT (lines of one SKU are summed first, so two dispositions of the same
   * lot cannot together take more than it holds).
   */
  disposeJob(request: DisposeReturn, meta: CommandMeta): JobSpec<ReturnStep> {
    const seen = new Set<string>();
    for (const [at, line] of request.lines.entries()) {
      const key = `${line.sku}|${line.disposition}`;
      if (seen.has(key)) {
        throw issue(`/lines/${at}`, `line ${at} repeats ${line.disposition} of ${line.sku}`);
      }
      seen.add(key);
    }
    const committed = this.#engine.returnHeader(request.returnId);
    const shard =
      committed === undefined
        ? this.#engine.shardOfKey(request.returnId)
        : this.#engine.shardOfLocation(committed.location);
    return {
      shard,
      key: idempotencyKey('disposition', request.returnId, request.dispositionId),
      body: request,
      run: (context) => {
        const header = context.returnHeader(request.returnId);
        if (header === undefined) {
          throw new EngineError('RETURN_NOT_FOUND', `no return ${request.returnId}`, {
            returnId: request.returnId,
          });
        }
        const returned = new Set(header.lines.map((line) => line.sku));
        const wanted = new Map<string, number>();
        for (const [at, line] of request.lines.entries()) {
          if (!returned.has(line.sku)) {
            throw issue(`/lines/${at}/sku`, `return ${request.returnId} has no ${line.sku}`);
          }
          wanted.set(line.sku, (wanted.get(line.sku) ?? 0) + line.qty);
        }
        const short = [...wanted].flatMap(([sku, requested]) => {
          const remaining = quarantinedOf(context, header, sku);
          return requested > remaining ? [{ sku, requested, remaining }] : [];
        });
        if (short.length > 0) {
          throw new EngineError(
            'QUARANTINE_INSUFFICIENT',
            `return ${request.returnId} has less in quarantine than the disposition names`,
            { returnId: request.returnId, lines: short },
          );
        }
        const positions = request.lines.map((line, at) => {
          const outcome = context.apply(
            {
              type: 'dispose',
              commandId: derivedCommandId(request.returnId, 'dispose', request.dispositionId, at),
              sku: skuOf(line.sku),
              location: locationId(header.location),
              returnId: returnIdOf(request.returnId),
              qty: line.qty,
              disposition: line.disposition,
            },
            meta,
          );
          // Every line was checked against its lot above: a refusal now is a broken invariant.
          assert(outcome.ok, `disposition line ${at} of ${request.returnId} refused after its check`);
          return outcome.position;
        });
        const lines = header.lines.map((line) => {
          let disposed = line.disposed;
          for (const change of request.lines) {
            if (change.sku !== line.sku) continue;
            disposed = { ...disposed, [change.disposition]: disposed[change.disposition] + change.qty };
          }
          return disposed === line.disposed ? line : { ...line, disposed };
        });
        const next: ReturnHeader = { ...header, lines, revision: header.revision + 1 };
        context.putReturn(this.#engine.shardOfLocation(header.location), next);
        return { header: next, positions };
      },
    };
  }
}
