// Engines on real LMDB files driven by a clock the test moves (directories come from ./engine.ts):
// reservations expire when the test advances time, and `settle` waits until every expiry that time made
// due has been committed, so that a test can read positions that nothing in the background will change.

import { loadConfig } from '../../engine/config.ts';
import type { Engine } from '../../engine/engine.ts';
import { createEngine } from '../../engine/engine.ts';
import type { StockPosition } from '../../engine/inputs.ts';
import { silentLogger } from '../../engine/logger.ts';

/** An engine time the test sets; it starts at a fixed instant so that runs are comparable. */
export class TestClock {
  nowMs: number;

  constructor(startMs = 1_750_000_000_000) {
    this.nowMs = startMs;
  }

  advance(byMs: number): void {
    this.nowMs += byMs;
  }

  readonly read = (): number => this.nowMs;
}

export interface ClockedEngineSettings {
  readonly shards: number;
  /** Small values split a burst into several batches in flight at once, as heavy load does. */
  readonly batchCommandsMax?: number;
  readonly expiryTickMs?: number;
}

/** An engine and the fatal errors it reported (a commit that failed or stalled); tests expect none. */
export interface ClockedEngine {
  readonly engine: Engine;
  readonly fatalErrors: readonly Error[];
  readonly settings: ClockedEngineSettings;
}

export const expiryTickMsDefault = 10;

export async function openClockedEngine(
  dir: string,
  clock: TestClock,
  settings: ClockedEngineSettings,
): Promise<ClockedEngine> {
  const config = loadConfig({
    STOCKLEDGER_DATA_DIR: dir,
    STOCKLEDGER_SHARDS: String(settings.shards),
    // An actor with two open entries spills its snapshot: both forms, and the change, are exercised.
    STOCKLEDGER_SNAPSHOT_INLINE_ENTRIES_MAX: '1',
    STOCKLEDGER_EXPIRY_TICK_MS: String(settings.expiryTickMs ?? expiryTickMsDefault),
    STOCKLEDGER_BATCH_MAX: String(settings.batchCommandsMax ?? 2048),
    LOG_LEVEL: 'silent',
  });
  const fatalErrors: Error[] = [];
  const engine = await createEngine({
    config,
    logger: silentLogger(),
    wallClockMs: clock.read,
    onFatal: (error) => {
      fatalErrors.push(error);
    },
  });
  return { engine, fatalErrors, settings };
}

/**
 * Returns once the engine is quiet at the current test time: an expiry tick has run (so every deadline due
 * now is queued) and a no-op job on every shard has committed (so everything queued before it has too).
 */
export async function settle(subject: ClockedEngine): Promise<void> {
  const tickMs = subject.settings.expiryTickMs ?? expiryTickMsDefault;
  await new Promise((resolve) => setTimeout(resolve, tickMs * 3));
  const barriers: Promise<unknown>[] = [];
  for (let shard = 0; shard < subject.engine.layout.shardCount; shard++) {
    barriers.push(subject.engine.run({ shard, key: null, body: null, run: () => null }));
  }
  await Promise.all(barriers);
}

export interface ActorAddress {
  readonly location: string;
  readonly sku: string;
}

export function actorKeyOfAddress(address: ActorAddress): string {
  return `${address.location}|${address.sku}`;
}

/** The committed position of every actor named, by actor key. */
export function positionsOf(engine: Engine, actors: readonly ActorAddress[]): Map<string, StockPosition> {
  return new Map(
    actors.map((actor) => [actorKeyOfAddress(actor), engine.position(actor.location, actor.sku)]),
  );
}
