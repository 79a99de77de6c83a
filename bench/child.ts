// Measurements that need a process of their own: heap per resident actor (a clean heap, `--expose-gc`),
// restart-to-ready (a cold engine in a fresh process) and verify (its own memory). Started by
// children.ts as `node [--expose-gc] --import tsx bench/child.ts <task> <json arguments>`; prints one
// JSON line with the result on stdout.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createActor } from 'xstate';
import { commandId, emptyLedger, locationId, sku, skuLocationMachine } from '../actors/index.ts';
import type { CommandInput } from '../engine/inputs.ts';
import { openEngine } from './systems/engine.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Commands per submit while filling the engine for the heap measurement. */
const heapFillChunk = 5_000;

type Gc = () => void;

function collector(): Gc {
  const gc: unknown = Reflect.get(globalThis, 'gc');
  if (typeof gc !== 'function') throw new Error('start this child with --expose-gc');
  return gc as Gc;
}

/** Several full collections and a turn of the event loop, so finalizers and weak maps settle. */
async function settledHeapBytes(gc: Gc): Promise<number> {
  for (let round = 0; round < 4; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

function receiveAt(index: number, prefix: string): CommandInput {
  return {
    type: 'receive',
    commandId: commandId(`${prefix}.${index}`),
    sku: sku(`sku-${String(index % 100).padStart(6, '0')}`),
    location: locationId(`${prefix}-${String(Math.floor(index / 100)).padStart(6, '0')}`),
    qty: 1,
  };
}

/** Resident actors made by the engine: one receive on each of `actors` distinct SKU-locations. */
async function heapEngine(actors: number): Promise<Record<string, number>> {
  const gc = collector();
  const opened = await openEngine({
    settings: { STOCKLEDGER_MAX_RESIDENT_ACTORS: String(actors * 4) },
  });
  const meta = { correlationId: null, source: 'bench:heap' };
  try {
    const warm = 2_000;
    // Warm-up: code paths compiled, tables opened, first batches committed; these actors stay resident.
    for (let start = 0; start < warm; start += 500) {
      await opened.engine.submit(
        Array.from({ length: 500 }, (_, at) => receiveAt(start + at, 'warm')),
        meta,
      );
    }
    const before = await settledHeapBytes(gc);
    const residentBefore = opened.engine.stats().residentActors;
    const startedMs = performance.now();
    for (let start = 0; start < actors; start += heapFillChunk) {
      const length = Math.min(heapFillChunk, actors - start);
      await opened.engine.submit(
        Array.from({ length }, (_, at) => receiveAt(start + at, 'loc')),
        meta,
      );
    }
    const fillMs = performance.now() - startedMs;
    const after = await settledHeapBytes(gc);
    const added = opened.engine.stats().residentActors - residentBefore;
    return {
      actors: added,
      heapBytesPerActor: Math.round((after - before) / added),
      heapUsedBytes: after,
      fillMs: Math.round(fillMs),
    };
  } finally {
    await opened.close();
  }
}

/** The bare XState actor: createActor + start on an empty ledger, kept in an array. */
async function heapActor(actors: number): Promise<Record<string, number>> {
  const gc = collector();
  const kept: unknown[] = [];
  // Warm-up so the machine's definition and the compiled code are not counted.
  for (let at = 0; at < 1_000; at++) {
    createActor(skuLocationMachine, { input: { ledger: emptyLedger(sku(`w${at}`), locationId('warm')) } })
      .start()
      .stop();
  }
  const before = await settledHeapBytes(gc);
  const startedMs = performance.now();
  for (let at = 0; at < actors; at++) {
    const ledger = emptyLedger(sku(`sku-${at}`), locationId(`loc-${at % 1000}`));
    const actor = createActor(skuLocationMachine, { input: { ledger } });
    actor.start();
    kept.push(actor);
  }
  const createMs = performance.now() - startedMs;
  const after = await settledHeapBytes(gc);
  return {
    actors: kept.length,
    heapBytesPerActor: Math.round((after - before) / kept.length),
    createMicrosecondsPerActor: Number(((createMs * 1000) / kept.length).toFixed(1)),
  };
}

/** Time from nothing to a ready engine on `dataDir` (createEngine resolved), then to closed. */
async function restart(dataDir: string): Promise<Record<string, number>> {
  const startedMs = performance.now();
  const opened = await openEngine({ dataDir });
  const readyMs = performance.now() - startedMs;
  const residentActors = opened.engine.stats().residentActors;
  const closeStartedMs = performance.now();
  await opened.close();
  return {
    readyMs: Number(readyMs.toFixed(1)),
    closeMs: Number((performance.now() - closeStartedMs).toFixed(1)),
    residentActors,
  };
}

interface VerifyResult {
  readonly ok: boolean;
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly elapsedMs: number;
}

function isVerifyResult(value: unknown): value is VerifyResult {
  if (typeof value !== 'object' || value === null) return false;
  return (
    ['events', 'eventsPerSecond', 'elapsedMs'].every(
      (name) => typeof Reflect.get(value, name) === 'number',
    ) && typeof Reflect.get(value, 'ok') === 'boolean'
  );
}

/**
 * Runs engine/verify.ts on `dataDir`. The module is loaded by path at run time, so the harness works
 * (and reports "not available") in a checkout that does not have it yet.
 */
async function verify(dataDir: string): Promise<Record<string, number | boolean | string>> {
  const modulePath = path.join(repositoryRoot, 'engine', 'verify.ts');
  const loaded: unknown = await import(pathToFileURL(modulePath).href).catch(() => null);
  const verifyDataDir: unknown = loaded === null ? undefined : Reflect.get(loaded as object, 'verifyDataDir');
  if (typeof verifyDataDir !== 'function') return { available: false };
  const report: unknown = await (verifyDataDir as (options: { dataDir: string }) => Promise<unknown>)({
    dataDir,
  });
  if (!isVerifyResult(report)) throw new Error('verifyDataDir answered an unexpected shape');
  const problems: unknown = Reflect.get(report, 'problems');
  return {
    available: true,
    ok: report.ok,
    events: report.events,
    eventsPerSecond: report.eventsPerSecond,
    elapsedMs: Math.round(report.elapsedMs),
    problems: Array.isArray(problems) ? problems.length : 0,
    firstProblem: Array.isArray(problems) ? String(problems[0] ?? '') : '',
    lastProblem: Array.isArray(problems) ? String(problems.at(-1) ?? '') : '',
  };
}

async function main(): Promise<void> {
  const [task, argumentText] = process.argv.slice(2);
  const argumentsOf: unknown = JSON.parse(argumentText ?? '{}');
  const number = (name: string) => {
    const value: unknown = Reflect.get(argumentsOf as object, name);
    if (typeof value !== 'number') throw new Error(`${task}: ${name} must be a number`);
    return value;
  };
  const text = (name: string) => {
    const value: unknown = Reflect.get(argumentsOf as object, name);
    if (typeof value !== 'string') throw new Error(`${task}: ${name} must be a string`);
    return value;
  };
  let result: Record<string, number | boolean | string>;
  switch (task) {
    case 'heap-engine':
      result = await heapEngine(number('actors'));
      break;
    case 'heap-actor':
      result = await heapActor(number('actors'));
      break;
    case 'restart':
      result = await restart(text('dataDir'));
      break;
    case 'restart-empty': {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'stockledger-bench-empty-'));
      try {
        // The first open creates the layout; the measured open is a restart of an empty data dir.
        await (await openEngine({ dataDir })).close();
        result = await restart(dataDir);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
      break;
    }
    case 'verify':
      result = await verify(text('dataDir'));
      break;
    default:
      throw new Error(`unknown task ${task}`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
