// A suite measures one system (or family of systems) and returns records. run.ts picks suites by name;
// each suite's phases can be narrowed with --only. Profiles set durations and sizes: `quick` (the
// default, a few minutes) and `full` (longer windows, more repetitions, the largest data sets).

import type { BenchRecord } from '../report.ts';

export interface Profile {
  readonly name: 'quick' | 'full';
  readonly repetitions: number;
  readonly warmupMs: number;
  readonly closedLoopMs: number;
  readonly openLoopMs: number;
  /** Operations kept in flight by closed loops. */
  readonly outstandingMax: number;
  readonly heapActors: number;
  readonly heapRepetitions: number;
  readonly restartRepetitions: number;
  readonly verifyRepetitions: number;
  /** Event-log sizes to build when missing; other sizes are measured only when already cached. */
  readonly generateEventLogs: readonly number[];
  readonly cachedEventLogs: readonly number[];
}

export const PROFILES: Readonly<Record<Profile['name'], Profile>> = {
  quick: {
    name: 'quick',
    repetitions: 3,
    warmupMs: 2_000,
    closedLoopMs: 8_000,
    openLoopMs: 10_000,
    outstandingMax: 10_000,
    heapActors: 50_000,
    heapRepetitions: 2,
    restartRepetitions: 3,
    verifyRepetitions: 1,
    generateEventLogs: [1_000_000],
    cachedEventLogs: [10_000_000],
  },
  full: {
    name: 'full',
    repetitions: 5,
    warmupMs: 3_000,
    closedLoopMs: 30_000,
    openLoopMs: 30_000,
    outstandingMax: 10_000,
    heapActors: 200_000,
    heapRepetitions: 3,
    restartRepetitions: 5,
    verifyRepetitions: 3,
    generateEventLogs: [1_000_000, 10_000_000],
    cachedEventLogs: [],
  },
};

export interface SuiteContext {
  readonly profile: Profile;
  /** Phases to run; null runs them all. */
  readonly only: ReadonlySet<string> | null;
  readonly cacheDir: string;
  /** Where server child processes write a CPU profile (`--cpu-prof`); null or absent: none. */
  readonly cpuProfileDir?: string | null;
  /** One line of progress on stderr. */
  progress(line: string): void;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  readonly phases: readonly string[];
  run(context: SuiteContext): Promise<BenchRecord[]>;
}
