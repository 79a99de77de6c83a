// `stockledger reconcile <file>` as the CLI runs it: read an ERP stock snapshot, compare it with the
// ledger of the data directory, print the variance report on stdout (text, or JSON with --json), and
// with --post record each variance as a count. Exit status: 0 reconciled (variances and dead letters are
// outcomes, not failures), 2 the file could not be read or its header refused (nothing changed).

import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import type { Config } from '../../engine/config.ts';
import { createEngine } from '../../engine/engine.ts';
import { EXIT_FATAL } from '../../engine/main.ts';
import { progressFor } from '../../engine/progress.ts';
import { ImportRefusedError } from '../mapping/imports.ts';
import type { ReconcileReport } from './stock-snapshot.ts';
import { isSnapshotId, parseSnapshot, reconcileSnapshot, snapshotIdLengthMax } from './stock-snapshot.ts';

export const RECONCILE_ADAPTER = 'cli:reconcile';
export const EXIT_NOT_RECONCILED = 2;

export interface ReconcileCommandOptions {
  readonly file: string;
  readonly post: boolean;
  readonly snapshotId: string | undefined;
  readonly json: boolean;
}

function refuse(message: string): number {
  process.stderr.write(`stockledger reconcile: ${message}\n`);
  return EXIT_NOT_RECONCILED;
}

export async function reconcileCommand(config: Config, options: ReconcileCommandOptions): Promise<number> {
  if (options.snapshotId !== undefined && !isSnapshotId(options.snapshotId)) {
    return refuse(`--snapshot-id must be an id of at most ${snapshotIdLengthMax} characters`);
  }
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (error) {
    return refuse(`cannot read ${options.file}: ${(error as Error).message}`);
  }
  let snapshot: ReturnType<typeof parseSnapshot>;
  try {
    snapshot = parseSnapshot(text);
  } catch (error) {
    if (!(error instanceof ImportRefusedError)) throw error;
    return refuse(`${options.file}: ${error.message}; nothing changed`);
  }
  const logger = pino({ level: config.logLevel, base: { node: config.nodeId } }, pino.destination(2));
  const engine = await createEngine({
    config,
    logger: logger.child({ component: 'engine' }),
    onFatal: (error) => {
      process.stderr.write(`stockledger reconcile: the engine stopped: ${error.message}\n`);
      process.exit(EXIT_FATAL);
    },
  });
  let report: ReconcileReport;
  const snapshotId = options.snapshotId ?? snapshot.contentId;
  const progress = progressFor('reconcile', 'rows');
  try {
    report = await reconcileSnapshot(engine, snapshot, {
      snapshotId,
      post: options.post,
      adapter: RECONCILE_ADAPTER,
      meta: { correlationId: snapshotId, source: RECONCILE_ADAPTER },
      onProgress: (done, total) => progress.update(done, total),
    });
  } finally {
    progress.stop();
    await engine.close();
  }
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : reportText(report));
  return 0;
}

export function reportText(report: ReconcileReport): string {
  let text =
    `reconcile: snapshot ${report.snapshotId}: ${report.rows} rows, ${report.matching} matching, ` +
    `${report.variances.length} variances, ${report.rejected.length} dead letters` +
    `${report.posted ? '; variances posted as counts' : ''}\n`;
  for (const line of report.variances) {
    text +=
      `  line ${line.line}: ${line.location} ${line.sku}: ledger ${line.ledgerOnHand}, ERP ${line.erpOnHand}, ` +
      `variance ${line.variance > 0 ? '+' : ''}${line.variance}${line.posted === undefined ? '' : ` (${line.posted})`}\n`;
  }
  for (const rejection of report.rejected) {
    text += `  line ${rejection.line}: dead letter ${rejection.deadLetterId}: ${rejection.reason}\n`;
  }
  return text;
}
