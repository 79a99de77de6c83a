// A suite measures one system (or family of systems) and returns records. run.ts picks suites by name;
// each suite's phases can be narrowed with --only. Profiles set durations and sizes: `quick` (the
// default, a few minutes) and `full` (longer windows, more repetitions, the largest data sets).

import type { BenchRecord } from '../report.ts';

/** The peers suite's sizes and windows (issue 5's workloads W1-W5 and the raw ceilings). */
export interface PeersProfile {
  readonly warmupMs: number;
  readonly closedLoopMs: number;
  readonly openLoopMs: number;
  /** Operations in flight for W1, W3 and the ceilings' closed loops, on every system alike. */
  readonly clients: number;
  readonly primeReservations: number;
  readonly primeReturns: number;
  /** W2: units on the hot SKU-location (10x that many attempts) and the client counts tried. */
  readonly hotUnits: number;
  readonly hotClients: readonly number[];
  /** W3: the engine's resident-actor cap, well below the 1M SKU-locations addressed. */
  readonly maxResidentActors: number;
  /** W4: sales in the backlog, and how many of them it keeps in flight. */
  readonly backlogSales: number;
  readonly backlogInFlight: number;
  /** W5: kill -9 cycles, SKU-locations stocked, load before each kill. */
  readonly killCycles: number;
  readonly killSkuLocations: number;
  readonly killLoadMs: number;
}

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
  /** Events in the data dir that verify reads (its speed in events/s is what is measured). */
  readonly verifyEvents: number;
  /** Event-log sizes to build when missing; other sizes are measured only when already cached. */
  readonly generateEventLogs: readonly number[];
  readonly cachedEventLogs: readonly number[];
  readonly peers: PeersProfile;
}

export const PROFILES: Readonly<Record<Profile['name'], Profile>> = {
  quick: {
    name: 'quick',
    // Short windows and one repetition, so that every suite together stays near three minutes; the
    // figures are noisier for it (--full repeats and lengthens).
    repetitions: 1,
    warmupMs: 1_000,
    closedLoopMs: 3_000,
    openLoopMs: 3_000,
    outstandingMax: 10_000,
    heapActors: 20_000,
    heapRepetitions: 1,
    restartRepetitions: 2,
    verifyRepetitions: 1,
    verifyEvents: 200_000,
    generateEventLogs: [1_000_000],
    cachedEventLogs: [10_000_000],
    peers: {
      warmupMs: 500,
      closedLoopMs: 1_500,
      openLoopMs: 1_500,
      clients: 1_024,
      primeReservations: 5_000,
      primeReturns: 1_000,
      hotUnits: 1_000,
      hotClients: [16, 256],
      maxResidentActors: 2_000,
      backlogSales: 5_000,
      backlogInFlight: 64,
      killCycles: 1,
      killSkuLocations: 10_000,
      killLoadMs: 1_000,
    },
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
    verifyEvents: 1_000_000,
    generateEventLogs: [1_000_000, 10_000_000],
    cachedEventLogs: [],
    peers: {
      warmupMs: 3_000,
      closedLoopMs: 15_000,
      openLoopMs: 15_000,
      clients: 1_024,
      primeReservations: 20_000,
      primeReturns: 5_000,
      hotUnits: 10_000,
      hotClients: [1, 4, 16, 64, 256],
      maxResidentActors: 100_000,
      backlogSales: 120_000,
      backlogInFlight: 64,
      killCycles: 5,
      killSkuLocations: 100_000,
      killLoadMs: 3_000,
    },
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
