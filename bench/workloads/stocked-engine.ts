// An engine whose 100k SKU-locations (W1's catalogue) are already stocked with `prestockUnits`, all
// resident, without paying for 100k receives on every run. The stocked data directory is built once
// through the real engine (engine.submit of receives) and cached under bench/.cache/, keyed by the
// store format and this generator's version; each run copies it to a temporary directory, opens the
// engine there and makes every actor resident with one `engine.run` job that reads each ledger (so the
// state is what live stocking leaves: the same LMDB contents, every actor in memory). The copy is
// deleted on close.

import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandId, locationId, sku } from '../../actors/index.ts';
import type { Engine } from '../../engine/engine.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import { STORE_FORMAT_VERSION } from '../../engine/store/lmdb-store.ts';
import { gitInfo } from '../report.ts';
import type { EngineSettings, OpenedEngine } from '../systems/engine.ts';
import { openEngine } from '../systems/engine.ts';
import { HUNDRED_THOUSAND, sizeOf, targetAt } from './catalogue.ts';
import { prestockUnits } from './mixed.ts';

/** Bump when what the stocked directory holds changes. */
const generatorVersion = 1;
const commandsPerSubmit = 2_000;
const submitsInFlight = 8;
const metaFile = 'bench-meta.json';
const meta = { correlationId: null, source: 'bench:stock' };
const repositoryRoot = path.resolve(import.meta.dirname, '..', '..');

function stockedDir(cacheDir: string): string {
  return path.join(cacheDir, `stocked-100k-store${STORE_FORMAT_VERSION}-gen${generatorVersion}`);
}

async function build(dir: string, progress: (line: string) => void): Promise<void> {
  const building = `${dir}.building`;
  rmSync(building, { recursive: true, force: true });
  const startedMs = performance.now();
  progress(`building the stocked 100k data dir once (cached in ${path.relative(repositoryRoot, dir)})`);
  const opened = await openEngine({ dataDir: building });
  const total = sizeOf(HUNDRED_THOUSAND);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const start = next;
      next = Math.min(total, next + commandsPerSubmit);
      const commands: CommandInput[] = [];
      for (let index = start; index < next; index++) {
        const target = targetAt(HUNDRED_THOUSAND, index);
        commands.push({
          type: 'receive',
          commandId: commandId(`stock.${index}`),
          sku: sku(target.sku),
          location: locationId(target.location),
          qty: prestockUnits,
        });
      }
      const answers = await opened.engine.submit(commands, meta);
      if (answers.some((answer) => !answer.result.ok)) throw new Error('stocking was refused');
    }
  };
  try {
    await Promise.all(Array.from({ length: submitsInFlight }, worker));
  } finally {
    await opened.close();
  }
  writeFileSync(
    path.join(building, metaFile),
    `${JSON.stringify({ skuLocations: total, units: prestockUnits, generationMs: Math.round(performance.now() - startedMs), git: gitInfo(repositoryRoot) }, null, 2)}\n`,
  );
  renameSync(building, dir);
}

/** The cached stocked data dir (built now if missing); copy it, never open it in place. */
export async function stockedDataDir(cacheDir: string, progress: (line: string) => void): Promise<string> {
  const dir = stockedDir(cacheDir);
  if (!existsSync(path.join(dir, metaFile))) await build(dir, progress);
  return dir;
}

/** Makes every SKU-location of the catalogue resident: one job reads each ledger (restored from its snapshot). */
export async function makeResident(engine: Engine): Promise<void> {
  await engine.run({
    shard: 0,
    key: null,
    body: null,
    run: (context) => {
      for (let index = 0; index < sizeOf(HUNDRED_THOUSAND); index++) {
        const target = targetAt(HUNDRED_THOUSAND, index);
        context.ledger(target.location, target.sku);
      }
      return null;
    },
  });
}

export interface StockedEngine extends OpenedEngine {
  /** How long copying the cached directory, opening and making the actors resident took. */
  readonly openMs: number;
}

/** A fresh engine on a copy of the stocked 100k data dir, every SKU-location resident. */
export async function openStockedEngine(options: {
  readonly cacheDir: string;
  readonly progress: (line: string) => void;
  readonly settings?: EngineSettings;
}): Promise<StockedEngine> {
  const dir = await stockedDataDir(options.cacheDir, options.progress);
  const startedMs = performance.now();
  const copy = mkdtempSync(path.join(os.tmpdir(), 'stockledger-bench-stocked-'));
  try {
    cpSync(dir, copy, { recursive: true });
    const opened = await openEngine({
      dataDir: copy,
      ...(options.settings === undefined ? {} : { settings: options.settings }),
    });
    await makeResident(opened.engine);
    return {
      ...opened,
      openMs: performance.now() - startedMs,
      close: async () => {
        await opened.close();
        rmSync(copy, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(copy, { recursive: true, force: true });
    throw error;
  }
}
