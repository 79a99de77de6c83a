// Reproducible fast-check runs: the seed comes from FC_SEED (a fresh one is picked and printed when it is
// unset), a failure prints the exact line that replays it, and FC_PATH / FC_REPLAY_PATH jump straight to a
// shrunk counterexample. This file and the other test helpers are the only places tests read the environment.

import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IAsyncProperty, IProperty, Parameters } from 'fast-check';
import fc from 'fast-check';

function integerSetting(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return value;
}

function textSetting(name: string): string | undefined {
  const text = process.env[name];
  return text === undefined || text === '' ? undefined : text;
}

/** The seed of this process: FC_SEED, or one picked now so that a failure can still be replayed. */
const seed = integerSetting('FC_SEED') ?? Math.floor(Math.random() * 0x7fff_ffff);
const path = textSetting('FC_PATH');

/** True when FC_PATH replays one counterexample instead of running the whole property. */
export const replayingOneCounterexample = path !== undefined;

/** `fc.commands`' own replay hint, printed by fast-check as `replayPath` next to a failing sequence. */
export const commandsReplayPath: { replayPath?: string } = (() => {
  const replayPath = textSetting('FC_REPLAY_PATH');
  return replayPath === undefined ? {} : { replayPath };
})();

export function propertyParameters<Ts>(numRuns: number): Parameters<Ts> {
  const verbose = process.env.FC_VERBOSE === '1' ? fc.VerbosityLevel.Verbose : fc.VerbosityLevel.None;
  return path === undefined ? { numRuns, seed, verbose } : { numRuns, seed, verbose, path };
}

/**
 * Runs a property and, when it fails, throws fast-check's report and the failure itself, headed by the command
 * line that replays the shrunk counterexample: `FC_SEED=... FC_PATH=... npx tsx --test <file>`.
 */
export function assertProperty<Ts>(property: IProperty<Ts>, numRuns: number, testFileUrl: string): void {
  const details = fc.check(property, propertyParameters<Ts>(numRuns));
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details) ?? 'property failed';
  const settings = [`FC_SEED=${details.seed}`];
  if (details.counterexamplePath !== null) settings.push(`FC_PATH=${details.counterexamplePath}`);
  const replayPath = /replayPath="([^"]*)"/.exec(report)?.[1];
  if (replayPath !== undefined) settings.push(`FC_REPLAY_PATH='${replayPath}'`);
  const file = relative(process.cwd(), fileURLToPath(testFileUrl));
  const failure =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `replay with: ${settings.join(' ')} npx tsx --test ${file}\n${report}\nFailure: ${failure}`,
    {
      cause: details.errorInstance,
    },
  );
}

/**
 * `assertProperty` for asynchronous properties (a request over a socket per run): runs them one after
 * another and, on failure, throws the same replay line.
 */
export async function assertAsyncProperty<Ts>(
  property: IAsyncProperty<Ts>,
  numRuns: number,
  testFileUrl: string,
): Promise<void> {
  const details = await fc.check(property, propertyParameters<Ts>(numRuns));
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details) ?? 'property failed';
  const settings = [`FC_SEED=${details.seed}`];
  if (details.counterexamplePath !== null) settings.push(`FC_PATH=${details.counterexamplePath}`);
  const file = relative(process.cwd(), fileURLToPath(testFileUrl));
  const failure =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `replay with: ${settings.join(' ')} npx tsx --test ${file}\n${report}\nFailure: ${failure}`,
    {
      cause: details.errorInstance,
    },
  );
}

/** This process's seed, for a test to print when it starts. */
export const fastCheckSeed: number = seed;
