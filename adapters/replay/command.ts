// `stockledger replay <file>` as the CLI runs it: open the data directory's engine, replay the file with
// a progress bar on stderr, close the engine (every accepted command committed), print the summary on
// stdout. Exit status: 0 replayed (dead letters are an outcome, not a failure), 2 the file could not be
// replayed, 70 the engine stopped on a failed commit.

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import type { Config } from '../../engine/config.ts';
import { createEngine } from '../../engine/engine.ts';
import { EXIT_FATAL } from '../../engine/main.ts';
import { progressFor } from '../../engine/progress.ts';
import type { ReturnPolicy } from './online-retail.ts';
import { REPLAY_ADAPTER } from './online-retail.ts';
import type { ReplaySummary } from './replay.ts';
import { ReplayRefusedError, replayFile } from './replay.ts';

export const EXIT_NOT_REPLAYED = 2;

export interface ReplayCommandOptions {
  readonly file: string;
  readonly policy: ReturnPolicy;
  readonly inFlightMax: number;
  readonly json: boolean;
}

export async function replayCommand(config: Config, options: ReplayCommandOptions): Promise<number> {
  // A file that is not there is reported before the data directory is opened (or created).
  try {
    await access(options.file, constants.R_OK);
  } catch (error) {
    process.stderr.write(`stockledger replay: cannot read ${options.file}: ${(error as Error).message}\n`);
    return EXIT_NOT_REPLAYED;
  }
  // Logs go to stderr: stdout carries the summary alone.
  const logger = pino({ level: config.logLevel, base: { node: config.nodeId } }, pino.destination(2));
  const engine = await createEngine({
    config,
    logger: logger.child({ component: 'engine' }),
    onFatal: (error) => {
      process.stderr.write(`stockledger replay: the engine stopped: ${error.message}\n`);
      process.exit(EXIT_FATAL);
    },
  });
  const progress = progressFor('replay', 'lines');
  let summary: ReplaySummary;
  try {
    summary = await replayFile({
      engine,
      file: options.file,
      policy: options.policy,
      inFlightMax: options.inFlightMax,
      meta: { correlationId: `replay.${Date.now().toString(36)}`, source: REPLAY_ADAPTER },
      onProgress: (done, estimated) => progress.update(done, estimated),
    });
  } catch (error) {
    progress.stop();
    await engine.close();
    if (!(error instanceof ReplayRefusedError)) throw error;
    process.stderr.write(`stockledger replay: ${error.message}\n`);
    return EXIT_NOT_REPLAYED;
  }
  progress.stop();
  await engine.close();
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : summaryText(summary));
  return 0;
}

function row(label: string, value: number, note = ''): string {
  return `  ${label.padEnd(14)}${String(value).padStart(8)}${note === '' ? '' : `  (${note})`}\n`;
}

export function summaryText(summary: ReplaySummary): string {
  const { deadLetters } = summary;
  const rate = (value: number) => Math.round(value).toLocaleString('en-GB');
  let text =
    `replay: ${path.basename(summary.file)}: ${summary.lines} lines in ${summary.elapsedSeconds.toFixed(1)} s ` +
    `(${rate(summary.linesPerSecond)} lines/s; ${rate(summary.saleLinesPerSecond)} sale lines/s)\n`;
  text += row('sales', summary.sales);
  text += row(
    'returns',
    summary.returns,
    summary.policy === 'none'
      ? 'into quarantine'
      : `into quarantine; ${summary.dispositions} disposed of (${summary.policy}) by this run`,
  );
  text += row('adjustments', summary.adjustments);
  text += row('duplicates', summary.duplicates, 'applied by an earlier replay: changed nothing');
  text += row(
    'dead letters',
    deadLetters.total,
    `${deadLetters.new} new, ${deadLetters.alreadyRecorded} already recorded`,
  );
  for (const [reason, count] of Object.entries(deadLetters.byReason).sort(
    ([, left], [, right]) => right - left,
  )) {
    const codes =
      reason === 'NON_PRODUCT'
        ? Object.entries(deadLetters.nonProductByCode)
            .sort(([, left], [, right]) => right - left)
            .map(([code, n]) => `${code} ${n}`)
            .join(', ')
        : '';
    text += row(`  ${reason}`, count, codes);
  }
  if (summary.blank > 0) text += row('blank lines', summary.blank);
  return text;
}
