// The benchmark runner: `npm run bench` runs every suite (quick profile); `npm run bench -- engine`
// runs one; `--full` uses the long profile; `--only mixed,restart` narrows a suite to some phases.
// Progress goes to stderr; the table goes to stdout and, with the machine and the commit, to
// bench/results/latest.json, latest.md and latest.svg.

import path from 'node:path';
import { Command } from 'commander';
import { REPOSITORY_ROOT } from './children.ts';
import type { BenchRecord } from './report.ts';
import { gitInfo, machineInfo, terminalTable, writeResults } from './report.ts';
import { clusterSuite } from './suites/cluster.ts';
import { engineSuite } from './suites/engine.ts';
import { httpSuite } from './suites/http.ts';
import { observabilitySuite } from './suites/observability.ts';
import { peersSuite } from './suites/peers.ts';
import type { Suite } from './suites/suite.ts';
import { PROFILES } from './suites/suite.ts';

/** Every suite, in the order `npm run bench` runs them. */
const SUITES: readonly Suite[] = [engineSuite, httpSuite, peersSuite, observabilitySuite, clusterSuite];

interface Options {
  readonly full: boolean;
  readonly only?: string[];
  readonly results: string;
  readonly write: boolean;
  readonly cpuProf?: string;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

async function main(): Promise<void> {
  const program: Command = new Command()
    .name('npm run bench --')
    .description(
      'Benchmarks of stockledger. Suites: ' +
        SUITES.map((suite) => `${suite.name} (${suite.description})`).join('; '),
    )
    .argument(
      '[suites...]',
      `suites to run (${SUITES.map((suite) => suite.name).join(', ')}); all when none is named`,
    )
    .option('--full', 'the long profile: longer windows, more repetitions, the 10M-event data dir', false)
    .option('--only <phases>', 'comma-separated phases to run within the suites', list)
    .option(
      '--results <dir>',
      'where latest.json and latest.md go, from the repository root',
      path.join(REPOSITORY_ROOT, 'bench', 'results'),
    )
    .option('--no-write', 'print the table but do not write the results files')
    .option('--cpu-prof <dir>', 'server child processes (http suite) write a CPU profile into <dir>')
    .showHelpAfterError('(npm run bench -- --help for usage)');
  program.parse(process.argv);
  const options = program.opts<Options>();
  const names = program.processedArgs[0] as string[];
  const chosen =
    names.length === 0
      ? SUITES
      : names.map((name) => {
          const suite = SUITES.find((candidate) => candidate.name === name);
          if (suite === undefined)
            program.error(`no suite "${name}"; there are: ${SUITES.map((known) => known.name).join(', ')}`);
          return suite;
        });
  const only = options.only === undefined ? null : new Set(options.only);
  if (only !== null) {
    const known = new Set(chosen.flatMap((suite) => suite.phases));
    const unknown = [...only].filter((phase) => !known.has(phase));
    if (unknown.length > 0)
      program.error(`unknown phase ${unknown.join(', ')}; phases: ${[...known].join(', ')}`);
  }
  const profile = options.full ? PROFILES.full : PROFILES.quick;
  const startedMs = performance.now();
  const records: BenchRecord[] = [];
  for (const suite of chosen) {
    const progress = (line: string) => {
      const seconds = ((performance.now() - startedMs) / 1000).toFixed(0).padStart(4);
      process.stderr.write(`[${seconds} s] ${suite.name}: ${line}\n`);
    };
    progress(`starting (${profile.name} profile${only === null ? '' : `, only ${[...only].join(', ')}`})`);
    records.push(
      ...(await suite.run({
        profile,
        only,
        cacheDir: path.join(REPOSITORY_ROOT, 'bench', '.cache'),
        cpuProfileDir: options.cpuProf === undefined ? null : path.resolve(options.cpuProf),
        progress,
      })),
    );
  }
  const wallSeconds = Math.round((performance.now() - startedMs) / 1000);
  process.stdout.write(`\n${terminalTable(records)}\n\nwall time ${wallSeconds} s\n`);
  if (options.write) {
    const written = writeResults(path.resolve(REPOSITORY_ROOT, options.results), {
      generatedAt: new Date().toISOString(),
      profile: profile.name,
      suites: chosen.map((suite) => suite.name),
      only: only === null ? null : [...only],
      wallSeconds,
      machine: machineInfo(),
      ...((git) => ({ commit: git.commit, git }))(gitInfo(REPOSITORY_ROOT)),
      records,
    });
    process.stdout.write(
      `results: ${written.map((file) => path.relative(REPOSITORY_ROOT, file)).join(', ')}\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
