// `stockledger export` as the CLI runs it: open the data directory's engine, write the movement journal
// after a cursor to stdout (NDJSON or CSV) page by page with a progress bar on stderr, then print the
// cursor to resume from on stderr. Exit status: 0 exported, 2 the cursor is not one.

import { once } from 'node:events';
import { pino } from 'pino';
import type { Config } from '../../engine/config.ts';
import { createEngine } from '../../engine/engine.ts';
import { EXIT_FATAL } from '../../engine/main.ts';
import { progressFor } from '../../engine/progress.ts';
import type { JournalFormat } from './journal.ts';
import { csvHeader, formatCursor, formatLines, JOURNAL_START, parseCursor, readJournal } from './journal.ts';

export const EXIT_BAD_CURSOR = 2;
/** Lines per page written to stdout. */
const exportPageLines = 5_000;

export interface ExportCommandOptions {
  /** The cursor to resume after; undefined exports from the start. */
  readonly since: string | undefined;
  readonly format: JournalFormat;
  /** Lines to export at most (whole entries: never split one); undefined for everything. */
  readonly limitLines: number | undefined;
}

async function write(text: string): Promise<void> {
  if (text !== '' && !process.stdout.write(text)) await once(process.stdout, 'drain');
}

export async function exportCommand(config: Config, options: ExportCommandOptions): Promise<number> {
  const since = options.since === undefined ? JOURNAL_START : parseCursor(options.since);
  if (since === null) {
    process.stderr.write(
      `stockledger export: --since ${options.since} is not a cursor (<feed position>.<entry>, as printed by an export)\n`,
    );
    return EXIT_BAD_CURSOR;
  }
  // Logs go to stderr: stdout carries the journal alone.
  const logger = pino({ level: config.logLevel, base: { node: config.nodeId } }, pino.destination(2));
  const engine = await createEngine({
    config,
    logger: logger.child({ component: 'engine' }),
    onFatal: (error) => {
      process.stderr.write(`stockledger export: the engine stopped: ${error.message}\n`);
      process.exit(EXIT_FATAL);
    },
  });
  const progress = progressFor('export', 'records');
  const total = Math.max(0, engine.feedPosition() - since.position);
  let cursor = since;
  let exported = 0;
  try {
    if (options.format === 'csv') await write(csvHeader());
    for (;;) {
      const wanted =
        options.limitLines === undefined
          ? exportPageLines
          : Math.min(exportPageLines, options.limitLines - exported);
      if (wanted <= 0) break;
      const page = readJournal(engine, cursor, wanted, (position) =>
        progress.update(Math.max(0, position - since.position), total),
      );
      await write(formatLines(page.lines, options.format));
      exported += page.lines.length;
      cursor = page.next;
      if (page.end) break;
    }
  } finally {
    progress.stop();
    await engine.close();
  }
  process.stderr.write(`export: ${exported} lines; next cursor: ${formatCursor(cursor)}\n`);
  return 0;
}
