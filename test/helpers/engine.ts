// Opens real engines on real LMDB files in temporary directories, and removes them afterwards.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CommandId, LocationId, Sku } from '../../actors/index.ts';
import { commandId, locationId, sku } from '../../actors/index.ts';
import { loadConfig } from '../../engine/config.ts';
import type { Engine } from '../../engine/engine.ts';
import { createEngine } from '../../engine/engine.ts';
import { silentLogger } from '../../engine/logger.ts';

export function temporaryDirectory(prefix: string): { path: string; remove(): void } {
  const directory = mkdtempSync(path.join(tmpdir(), `stockledger-${prefix}-`));
  return { path: directory, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

export type EngineSettings = Readonly<Record<string, string>>;

/** An engine on `dataDir` with small, test-friendly settings; fatal errors fail the test loudly. */
export async function openEngine(dataDir: string, settings: EngineSettings = {}): Promise<Engine> {
  const config = loadConfig({
    STOCKLEDGER_DATA_DIR: dataDir,
    STOCKLEDGER_SHARDS: '4',
    // Tiny, so that tests exercise spilled snapshots (engine/store/snapshots.ts) as well as inline ones.
    STOCKLEDGER_SNAPSHOT_INLINE_ENTRIES_MAX: '2',
    STOCKLEDGER_EXPIRY_TICK_MS: '20',
    ...settings,
  });
  return createEngine({
    config,
    logger: silentLogger(),
    onFatal: (error) => {
      throw error;
    },
  });
}

export const META = { correlationId: 'test', source: 'test' } as const;

export function ids(location: string, item: string): { location: LocationId; sku: Sku } {
  return { location: locationId(location), sku: sku(item) };
}

let counter = 0;
/** A command id unique within the test process. */
export function nextId(prefix = 'c'): CommandId {
  counter += 1;
  return commandId(`${prefix}-${counter}`);
}

/** Polls until `condition` holds or `timeoutMs` passes; the engine's timers run meanwhile. */
export async function eventually(
  condition: () => boolean,
  timeoutMs = 3_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
