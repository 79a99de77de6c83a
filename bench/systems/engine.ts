// stockledger's embedded engine as a system under test. One engine serves two views that differ only in
// how reservations travel: `coordinator` goes through `engine.reservations` (the API's path: a header in
// the reservation's shard plus the line command, one job, one transaction), `direct` submits the
// reserve/commit/release commands straight to the SKU-location actor (no header). Everything else is
// one `engine.submit` of one command. An answer comes after the batch's LMDB transaction is flushed.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandId, LocationId, Sku } from '../../actors/index.ts';
import { channelId, commandId, locationId, reservationId, returnId, sku } from '../../actors/index.ts';
import { loadConfig } from '../../engine/config.ts';
import type { CommandOutcome, Engine } from '../../engine/engine.ts';
import { createEngine } from '../../engine/engine.ts';
import { EngineError } from '../../engine/errors.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import { silentLogger } from '../../engine/logger.ts';
import type { CommandMeta } from '../../engine/store/records.ts';
import type { LedgerSystem, Operation, Outcome } from './system.ts';

export type ReservationPath = 'coordinator' | 'direct';

const meta: CommandMeta = { correlationId: null, source: 'bench' };
const channel = channelId('web');
/** Coordinator errors that are operating failures; the others are the ledger refusing a request. */
const operatingCodes: ReadonlySet<string> = new Set(['OVERLOADED', 'ENGINE_CLOSED', 'SHARD_UNAVAILABLE']);

/** Engine settings a benchmark passes; everything else is the engine's default (what `npm start` runs). */
export type EngineSettings = Readonly<Record<string, string>>;

export interface OpenedEngine {
  readonly engine: Engine;
  readonly dataDir: string;
  view(path: ReservationPath): LedgerSystem;
  /** Closes the engine and deletes its data directory when the harness made it. */
  close(): Promise<void>;
}

/** Opens an engine on `dataDir`, or on a fresh temporary directory that `close` removes. */
export async function openEngine(options: {
  readonly dataDir?: string;
  readonly settings?: EngineSettings;
}): Promise<OpenedEngine> {
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'stockledger-bench-'));
  const config = loadConfig({ ...options.settings, STOCKLEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const engine = await createEngine({ config, logger: silentLogger() });
  return {
    engine,
    dataDir,
    view: (reservationPath) => new EngineSystem(engine, reservationPath),
    close: async () => {
      await engine.close();
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface Addressed {
  readonly commandId: CommandId;
  readonly sku: Sku;
  readonly location: LocationId;
}

/** The engine command for an operation that is not a coordinator step. */
export function commandFor(operation: Operation, id: string): CommandInput {
  const base: Addressed = {
    commandId: commandId(id),
    sku: sku(operation.sku),
    location: locationId(operation.location),
  };
  switch (operation.kind) {
    case 'receive':
      return { ...base, type: 'receive', qty: operation.qty };
    case 'sale':
      return { ...base, type: 'sale', qty: operation.qty };
    case 'reserve':
      return {
        ...base,
        type: 'reserve',
        reservationId: reservationId(operation.reservationId),
        channel,
        qty: operation.qty,
        ttlSeconds: operation.ttlSeconds,
      };
    case 'commit':
      return { ...base, type: 'commit', reservationId: reservationId(operation.reservationId) };
    case 'release':
      return { ...base, type: 'release', reservationId: reservationId(operation.reservationId), qty: null };
    case 'return':
      return {
        ...base,
        type: 'return',
        returnId: returnId(operation.returnId),
        qty: operation.qty,
        reason: 'customer',
      };
    case 'dispose':
      return {
        ...base,
        type: 'dispose',
        returnId: returnId(operation.returnId),
        qty: operation.qty,
        disposition: operation.disposition,
      };
    case 'adjust':
      return { ...base, type: 'adjust', delta: operation.delta, reason: 'correction' };
    case 'count':
      return { ...base, type: 'count', counted: operation.counted };
  }
}

function outcomeOf(outcome: CommandOutcome): Outcome {
  return outcome.ok ? { ok: true } : { ok: false, refusal: outcome.refusal.code };
}

class EngineSystem implements LedgerSystem {
  readonly name: string;
  readonly durable = true;
  readonly #engine: Engine;
  readonly #path: ReservationPath;

  constructor(engine: Engine, reservationPath: ReservationPath) {
    this.#engine = engine;
    this.#path = reservationPath;
    this.name = `stockledger:${reservationPath}`;
  }

  async apply(operation: Operation, id: string): Promise<Outcome> {
    if (this.#path === 'coordinator' && isReservationStep(operation)) {
      try {
        return await this.#coordinate(operation, id);
      } catch (error) {
        // The coordinator throws what the HTTP API answers as 409/410: a refusal, not a failure.
        if (error instanceof EngineError && !operatingCodes.has(error.code)) {
          return { ok: false, refusal: error.code };
        }
        throw error;
      }
    }
    const [answer] = await this.#engine.submit([commandFor(operation, id)], meta);
    if (answer === undefined) throw new Error('the engine answered no outcome');
    return outcomeOf(answer.result);
  }

  async #coordinate(operation: ReservationStep, id: string): Promise<Outcome> {
    const reservations = this.#engine.reservations;
    switch (operation.kind) {
      case 'reserve': {
        const created = await reservations.create(
          {
            reservationId: operation.reservationId,
            channel,
            ttlSeconds: operation.ttlSeconds,
            mode: 'all-or-nothing',
            lines: [{ sku: operation.sku, location: operation.location, qty: operation.qty }],
          },
          meta,
        );
        if (created.result.ok) return { ok: true };
        return { ok: false, refusal: created.result.refused[0]?.refusal.code ?? 'REFUSED' };
      }
      case 'commit':
        await reservations.commit(operation.reservationId, meta);
        return { ok: true };
      case 'release':
        await reservations.release(operation.reservationId, id, null, meta);
        return { ok: true };
    }
  }
}

type ReservationStep = Extract<Operation, { kind: 'reserve' | 'commit' | 'release' }>;

function isReservationStep(operation: Operation): operation is ReservationStep {
  return operation.kind === 'reserve' || operation.kind === 'commit' || operation.kind === 'release';
}
