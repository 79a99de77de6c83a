// Data directories with a given number of logged events, built through the real engine (`engine.submit`
// of receives and sales over 100k SKU-locations, closed loop of big batches) and cached under
// bench/.cache/, keyed by size, shard count and store format. A directory is complete only once its
// `bench-meta.json` is written after the engine closed; anything else found there is a leftover of an
// interrupted run and is rebuilt.

import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandId, locationId, sku } from '../../actors/index.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import { STORE_FORMAT_VERSION } from '../../engine/store/lmdb-store.ts';
import type { GitInfo } from '../report.ts';
import { gitInfo } from '../report.ts';
import { openEngine } from '../systems/engine.ts';
import type { Catalogue } from './catalogue.ts';
import { HUNDRED_THOUSAND, sizeOf, targetAt } from './catalogue.ts';
import { Random } from './random.ts';

/**
 * Bump when what the generator writes changes, or when an engine fix changes what a data dir holds (2: the
 * history index and snapshot sequences of pipelined batches), so old cached directories are not reused.
 */
const generatorVersion = 2;
const shardCount = 64;
const commandsPerSubmit = 1_000;
const submitsOutstandingMax = 16;
const progressEveryMs = 10_000;
const metaFile = 'bench-meta.json';
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface EventLogMeta {
  readonly events: number;
  readonly commands: number;
  readonly skuLocations: number;
  readonly generationMs: number;
  readonly createdAt: string;
  /** The commit the generating engine was built from (plus uncommitted changes when `dirty`). */
  readonly git: GitInfo;
}

export interface CachedEventLog {
  readonly dataDir: string;
  readonly meta: EventLogMeta;
  /** True when this run built it (generation time then belongs to this run's report). */
  readonly generatedNow: boolean;
  readonly sizeBytes: number;
}

export function eventLogDir(cacheDir: string, events: number): string {
  return path.join(
    cacheDir,
    `events-${events}-shards${shardCount}-store${STORE_FORMAT_VERSION}-gen${generatorVersion}`,
  );
}

function readMeta(dataDir: string): EventLogMeta | null {
  const file = path.join(dataDir, metaFile);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as EventLogMeta;
}

async function sizeOnDisk(directory: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).blocks * 512;
  }
  return total;
}

/** The cached directory for `events`; built now when missing and `generate` allows, else null. */
export async function cachedEventLog(options: {
  readonly cacheDir: string;
  readonly events: number;
  readonly generate: boolean;
  readonly progress: (line: string) => void;
}): Promise<CachedEventLog | null> {
  const dataDir = eventLogDir(options.cacheDir, options.events);
  const found = readMeta(dataDir);
  if (found !== null) {
    return { dataDir, meta: found, generatedNow: false, sizeBytes: await sizeOnDisk(dataDir) };
  }
  if (!options.generate) return null;
  const building = `${dataDir}.building`;
  rmSync(building, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  const meta = await generateEventLog({
    dataDir: building,
    events: options.events,
    progress: options.progress,
  });
  writeFileSync(path.join(building, metaFile), `${JSON.stringify(meta, null, 2)}\n`);
  renameSync(building, dataDir);
  return { dataDir, meta, generatedNow: true, sizeBytes: await sizeOnDisk(dataDir) };
}

/**
 * Logs at least `events` events: a first receive of 100 units on every SKU-location (Received plus
 * AvailabilityChanged), then receives and sales of one unit at random SKU-locations, one event each.
 * It stops issuing once the events answered plus those still in flight reach the target, so it
 * overshoots by less than one submit.
 */
export async function generateEventLog(options: {
  readonly dataDir: string;
  readonly events: number;
  readonly progress: (line: string) => void;
  readonly catalogue?: Catalogue;
}): Promise<EventLogMeta> {
  const catalogue = options.catalogue ?? HUNDRED_THOUSAND;
  const opened = await openEngine({
    dataDir: options.dataDir,
    settings: { STOCKLEDGER_SHARDS: String(shardCount) },
  });
  // The engine's code was loaded when this process started; the commit is read as close to that as we can.
  const git = gitInfo(repositoryRoot);
  const random = new Random(0x5eed);
  const startedMs = performance.now();
  let events = 0;
  let commands = 0;
  let inFlightCommands = 0;
  let issued = 0;
  let lastProgressMs = startedMs;
  const nextCommand = (): CommandInput => {
    const at = issued++;
    const first = at < sizeOf(catalogue);
    const target = targetAt(catalogue, first ? at : random.below(sizeOf(catalogue)));
    const base = {
      commandId: commandId(`gen.${at.toString(36)}`),
      sku: sku(target.sku),
      location: locationId(target.location),
    };
    if (first) return { ...base, type: 'receive', qty: 100 };
    return random.below(2) === 0 ? { ...base, type: 'receive', qty: 1 } : { ...base, type: 'sale', qty: 1 };
  };
  await new Promise<void>((resolve, reject) => {
    let outstanding = 0;
    let failed = false;
    const pump = () => {
      while (!failed && outstanding < submitsOutstandingMax && events + inFlightCommands < options.events) {
        const batch = Array.from({ length: commandsPerSubmit }, nextCommand);
        outstanding++;
        inFlightCommands += batch.length;
        opened.engine.submit(batch, { correlationId: null, source: 'bench:generate' }).then(
          (answers) => {
            outstanding--;
            inFlightCommands -= batch.length;
            commands += answers.length;
            for (const answer of answers) if (answer.result.ok) events += answer.result.events.length;
            const nowMs = performance.now();
            if (nowMs - lastProgressMs >= progressEveryMs) {
              lastProgressMs = nowMs;
              const rate = (events * 1000) / (nowMs - startedMs);
              options.progress(
                `generating ${options.events.toLocaleString('en-US')} events: ${events.toLocaleString('en-US')} so far, ${Math.round(rate).toLocaleString('en-US')} events/s`,
              );
            }
            pump();
            if (outstanding === 0) resolve();
          },
          (error: unknown) => {
            failed = true;
            reject(error);
          },
        );
      }
    };
    pump();
  });
  await opened.close();
  return {
    events,
    commands,
    skuLocations: sizeOf(catalogue),
    generationMs: Math.round(performance.now() - startedMs),
    createdAt: new Date().toISOString(),
    git,
  };
}
