// Results: one record per (workload, system), written as bench/results/latest.json (with the machine
// and the git commit they were measured on), latest.md (the same as a table) and latest.svg (a chart of
// throughput and p99), and printed. Every record in the files carries `oversold` and `correct`: null
// where the suite that made it checks no final state, else what the check found.

import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chartSvg } from './chart.ts';

export interface BenchRecord {
  readonly workload: string;
  readonly system: string;
  /** Operations (or, where the notes say so, events) per second; null where it does not apply. */
  readonly throughput_per_s: number | null;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly p999_ms: number | null;
  /** Operations that were not accepted in the measured window: refusals plus operating errors. */
  readonly errors: number;
  /** True when every acknowledgement came after an fsync. */
  readonly durable: boolean;
  /** Units held beyond on-hand in the final state, from the store; absent where not checked. */
  readonly oversold?: number | null;
  /**
   * The final-state check: true when it passed, false when the store disagrees with what was
   * acknowledged (a faster but wrong result); absent where not checked.
   */
  readonly correct?: boolean | null;
  /** True for a peer that could not be reached or started: the notes say why. */
  readonly missing?: boolean;
  readonly notes: string;
  /** Figures that are neither throughput nor latency, each named with its unit last. */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface MachineInfo {
  readonly os: string;
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
  readonly node: string;
}

export interface GitInfo {
  readonly commit: string | null;
  /** True when the work tree had uncommitted changes: the figures are for the commit plus those. */
  readonly dirty: boolean | null;
}

export interface BenchResults {
  readonly generatedAt: string;
  readonly profile: 'quick' | 'full';
  readonly suites: readonly string[];
  readonly only: readonly string[] | null;
  readonly wallSeconds: number;
  readonly machine: MachineInfo;
  /** The commit measured (also in `git`, with whether the tree was dirty). */
  readonly commit: string | null;
  readonly git: GitInfo;
  readonly records: readonly BenchRecord[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
  };
}

export function gitInfo(repositoryRoot: string): GitInfo {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repositoryRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    return { commit: git('rev-parse', 'HEAD').trim(), dirty: git('status', '--porcelain').trim() !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}

function formatNumber(value: number | null, digits = 0): string {
  if (value === null || Number.isNaN(value)) return '-';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function formatLatency(value: number | null): string {
  if (value === null) return '-';
  return value < 10 ? formatNumber(value, 2) : formatNumber(value, value < 100 ? 1 : 0);
}

function formatMetrics(metrics: Readonly<Record<string, number>>): string {
  return Object.entries(metrics)
    .map(([name, value]) => `${name}=${formatNumber(value, Number.isInteger(value) ? 0 : 1)}`)
    .join(' ');
}

const headings = [
  'workload',
  'system',
  'throughput/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'errors',
  'oversold',
  'check',
  'durable',
  'figures',
];

function checkOf(record: BenchRecord): string {
  if (record.missing === true) return 'MISSING';
  if (record.correct === true) return 'ok';
  if (record.correct === false) return 'WRONG';
  return '-';
}

function rowOf(record: BenchRecord): string[] {
  return [
    record.workload,
    record.system,
    formatNumber(record.throughput_per_s),
    formatLatency(record.p50_ms),
    formatLatency(record.p99_ms),
    formatLatency(record.p999_ms),
    formatNumber(record.errors),
    record.oversold === undefined || record.oversold === null ? '-' : formatNumber(record.oversold),
    checkOf(record),
    record.durable ? 'yes' : 'no',
    formatMetrics(record.metrics),
  ];
}

/** A fixed-width table for the terminal, without the notes. */
export function terminalTable(records: readonly BenchRecord[]): string {
  const rows = [headings, ...records.map(rowOf)];
  const widths = headings.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [
    line(rows[0] ?? []),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.slice(1).map(line),
  ].join('\n');
}

function markdownOf(results: BenchResults): string {
  const escapeCell = (text: string) => text.replaceAll('|', '\\|');
  const { machine, git } = results;
  const lines = [
    '# Benchmark results',
    '',
    `Generated ${results.generatedAt} by \`npm run bench -- ${results.suites.join(' ')}${results.profile === 'full' ? ' --full' : ''}${results.only === null ? '' : ` --only ${results.only.join(',')}`}\` ` +
      `(${results.profile} profile, ${formatNumber(results.wallSeconds)} s).`,
    `Commit ${git.commit ?? 'unknown'}${git.dirty === true ? ' with uncommitted changes' : ''}.`,
    `Machine: ${machine.cpuCount} × ${machine.cpuModel}, ${formatNumber(machine.totalMemoryBytes / 2 ** 30, 1)} GiB, ${machine.os}, Node ${machine.node}.`,
    'Absolute figures depend on the machine and on what else it runs; compare ratios, not numbers.',
    'A chart of throughput and p99 per system and workload is in latest.svg beside this file.',
    '',
    `| ${[...headings, 'notes'].join(' | ')} |`,
    `| ${[...headings, 'notes'].map(() => '---').join(' | ')} |`,
    ...results.records.map((record) => `| ${[...rowOf(record), record.notes].map(escapeCell).join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** Every record with the same fields: `oversold`, `correct` and `missing` present, null where unchecked. */
function normalised(record: BenchRecord): BenchRecord {
  return {
    ...record,
    oversold: record.oversold ?? null,
    correct: record.correct ?? null,
    missing: record.missing ?? false,
  };
}

/** Writes latest.json, latest.md and latest.svg into `directory`; returns their paths. */
export function writeResults(directory: string, results: BenchResults): string[] {
  mkdirSync(directory, { recursive: true });
  const complete: BenchResults = { ...results, records: results.records.map(normalised) };
  const json = path.join(directory, 'latest.json');
  const markdown = path.join(directory, 'latest.md');
  const svg = path.join(directory, 'latest.svg');
  writeAtomically(json, `${JSON.stringify(complete, null, 2)}\n`);
  writeAtomically(markdown, markdownOf(complete));
  writeAtomically(
    svg,
    chartSvg(
      complete.records.map((record) => ({
        workload: record.workload,
        system: record.system,
        throughput_per_s: record.throughput_per_s,
        p99_ms: record.p99_ms,
        durable: record.durable,
        correct: record.correct ?? null,
        missing: record.missing === true,
      })),
      `stockledger benchmarks, ${complete.profile} profile, ${complete.generatedAt.slice(0, 16)} UTC, commit ${complete.git.commit?.slice(0, 7) ?? 'unknown'}`,
    ),
  );
  return [json, markdown, svg];
}
