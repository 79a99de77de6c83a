// `stockledger dead-letters list|retry|discard` as the CLI runs them, on the data directory itself, with
// the same code as the HTTP routes (retry.ts). The data directory is assumed not to be served meanwhile:
// LMDB would let two processes share it, but two engines would each append to the same shard logs. List
// opens it read-only; discard writes only the letter; retry opens the engine (as `serve` does), because
// it applies commands.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Config } from '../../engine/config.ts';
import type { DeadLetterFilter } from '../../engine/dead-letters.ts';
import { DeadLetters, deadLettersPerPageMax } from '../../engine/dead-letters.ts';
import { createEngine } from '../../engine/engine.ts';
import { EXIT_FATAL } from '../../engine/main.ts';
import type { Store } from '../../engine/store/lmdb-store.ts';
import { openStore } from '../../engine/store/lmdb-store.ts';
import type { DeadLetterRecord, DeadLetterStatus } from '../../engine/store/records.ts';
import { LOCAL_ACCESS } from '../http/auth.ts';
import { toHttpError } from '../http/errors.ts';
import { OpenReservations } from '../http/open-reservations.ts';
import { deadLetterView } from '../http/views.ts';
import { discardDeadLetter, retryDeadLetter } from './retry.ts';
import { standaloneCompiler } from './validator.ts';

export const deadLettersListDefault = 100;
/** A letter that could not be retried or discarded (its error is printed). */
export const EXIT_REFUSED = 1;
/** No stockledger data in the directory, or a bad argument. */
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function requireData(config: Config): void {
  if (!existsSync(path.join(config.dataDir, 'ledger'))) {
    throw new UsageError(`no stockledger data in ${config.dataDir}`);
  }
}

async function withStore<T>(
  config: Config,
  readOnly: boolean,
  use: (letters: DeadLetters) => Promise<T>,
): Promise<T> {
  requireData(config);
  const store: Store = openStore({
    dataDir: config.dataDir,
    shardCount: config.shardCount,
    nowMs: Date.now(),
    readOnly,
  });
  try {
    return await use(new DeadLetters(store, () => Date.now()));
  } finally {
    await store.close();
  }
}

function line(letter: DeadLetterRecord): string {
  return `${letter.id}  ${letter.status.padEnd(9)}  ${letter.adapter}  ${letter.reason}\n`;
}

export interface ListFlags {
  readonly status?: DeadLetterStatus | undefined;
  readonly adapter?: string | undefined;
  readonly reason?: string | undefined;
  readonly after?: string | undefined;
  readonly limit: number;
  readonly json: boolean;
}

export async function listCommand(config: Config, flags: ListFlags): Promise<number> {
  const filter: DeadLetterFilter = {
    limit: Math.min(flags.limit, deadLettersPerPageMax),
    ...(flags.status === undefined ? {} : { status: flags.status }),
    ...(flags.adapter === undefined ? {} : { adapter: flags.adapter }),
    ...(flags.reason === undefined ? {} : { reason: flags.reason }),
    ...(flags.after === undefined ? {} : { after: flags.after }),
  };
  const page = await withStore(config, true, async (letters) => letters.list(filter));
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ letters: page.letters.map(deadLetterView), next: page.next })}\n`,
    );
    return 0;
  }
  for (const letter of page.letters) process.stdout.write(line(letter));
  process.stdout.write(
    page.next === null
      ? `${page.letters.length} letters\n`
      : `${page.letters.length} letters; more after ${page.next} (--after ${page.next})\n`,
  );
  return 0;
}

export interface RetryFlags {
  /** A file holding the corrected payload, as JSON. */
  readonly body?: string | undefined;
  readonly note?: string | undefined;
  readonly json: boolean;
}

export async function retryCommand(config: Config, id: string, flags: RetryFlags): Promise<number> {
  requireData(config);
  let payload: unknown;
  if (flags.body !== undefined) {
    try {
      payload = JSON.parse(readFileSync(flags.body, 'utf8'));
    } catch (error) {
      throw new UsageError(`--body ${flags.body}: ${(error as Error).message}`);
    }
  }
  const logger = pino({ level: config.logLevel, base: { node: config.nodeId } }, pino.destination(2));
  const engine = await createEngine({
    config,
    logger: logger.child({ component: 'engine' }),
    onFatal: (error) => {
      process.stderr.write(`stockledger dead-letters retry: the engine stopped: ${error.message}\n`);
      process.exit(EXIT_FATAL);
    },
  });
  const openReservations = new OpenReservations(engine, config.openReservationsPerChannelMax);
  try {
    const { letter, outcome } = await retryDeadLetter(
      {
        services: { engine, config, openReservations },
        // The operator on the data directory may do what an admin key may.
        caller: { access: LOCAL_ACCESS, meta: { correlationId: null, source: 'cli:dead-letters:retry' } },
        compile: standaloneCompiler(),
      },
      id,
      { ...(payload === undefined ? {} : { payload }), note: flags.note },
    );
    process.stdout.write(
      flags.json
        ? `${JSON.stringify({ letter: deadLetterView(letter), outcome })}\n`
        : `${letter.id} ${letter.status}: answered ${outcome.status}${outcome.replayed ? ' (already applied)' : ''}\n${JSON.stringify(outcome.body)}\n`,
    );
    return 0;
  } catch (error) {
    const http = toHttpError(error);
    if (http.code === 'INTERNAL_ERROR') throw error;
    process.stderr.write(`stockledger dead-letters retry: ${http.code}: ${http.message}\n`);
    return EXIT_REFUSED;
  } finally {
    openReservations.close();
    await engine.close();
  }
}

export async function discardCommand(config: Config, id: string, reason: string): Promise<number> {
  return withStore(config, false, async (letters) => {
    try {
      const letter = await discardDeadLetter(letters, id, reason);
      process.stdout.write(`${letter.id} ${letter.status}: ${reason}\n`);
      return 0;
    } catch (error) {
      const http = toHttpError(error);
      if (http.code === 'INTERNAL_ERROR') throw error;
      process.stderr.write(`stockledger dead-letters discard: ${http.code}: ${http.message}\n`);
      return EXIT_REFUSED;
    }
  });
}
