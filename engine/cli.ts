// The `stockledger` command line. Each command is one `program.command(...)` block below; add a
// command by adding a block. Configuration comes from the environment (engine/config.ts), and a flag
// overrides the setting it names. A configuration that cannot start exits 78 with a message naming
// the setting.

import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  discardCommand,
  EXIT_USAGE,
  listCommand,
  retryCommand,
  UsageError,
} from '../adapters/dead-letters/command.ts';
import { exportCommand } from '../adapters/erp/export-command.ts';
import type { JournalFormat } from '../adapters/erp/journal.ts';
import { JOURNAL_FORMATS } from '../adapters/erp/journal.ts';
import { reconcileCommand } from '../adapters/erp/reconcile-command.ts';
import { replayCommand } from '../adapters/replay/command.ts';
import type { ReturnPolicy } from '../adapters/replay/online-retail.ts';
import { inFlightDefault, inFlightMax } from '../adapters/replay/replay.ts';
import { ConfigError, loadConfigWithFlags } from './config.ts';
import { EXIT_CONFIG, serve } from './main.ts';
import { progressFor } from './progress.ts';
import { LayoutMismatchError } from './store/lmdb-store.ts';
import { verifyDataDir } from './verify.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Reports a failure to start and exits: 78 for configuration, 1 for anything else. */
function fail(error: unknown): never {
  if (error instanceof ConfigError || error instanceof LayoutMismatchError) {
    process.stderr.write(`stockledger: invalid configuration: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  process.stderr.write(
    `stockledger: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}

const program = new Command('stockledger')
  .description('An actor-model inventory ledger engine')
  .version(version)
  .showHelpAfterError();

program
  .command('serve')
  .description('Run one embedded node: every shard local, HTTP API on HOST:PORT')
  .option('--port <port>', 'TCP port (overrides PORT)')
  .option('--host <host>', 'address to listen on (overrides HOST)')
  .option('--data-dir <path>', 'data directory (overrides STOCKLEDGER_DATA_DIR)')
  .action(async (flags: { port?: string; host?: string; dataDir?: string }) => {
    try {
      await serve(loadConfigWithFlags(flags), { handleSignals: true });
    } catch (error) {
      fail(error);
    }
  });

program
  .command('verify')
  .description('Check a data directory offline: hash chain, replay equals snapshots, indexes and headers')
  .option('--data-dir <path>', 'data directory (overrides STOCKLEDGER_DATA_DIR)')
  .action(async (flags: { dataDir?: string }) => {
    let config: ReturnType<typeof loadConfigWithFlags>;
    try {
      config = loadConfigWithFlags(flags);
    } catch (error) {
      fail(error);
    }
    const progress = progressFor('verify', 'records');
    let report: Awaited<ReturnType<typeof verifyDataDir>>;
    try {
      report = await verifyDataDir({
        dataDir: config.dataDir,
        onProgress: (done, total) => progress.update(done, total),
      });
    } catch (error) {
      progress.stop();
      process.stderr.write(`stockledger verify: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    }
    progress.stop();
    const summary =
      `${report.shards} shards, ${report.records} records, ${report.events} events, ${report.actors} actors ` +
      `in ${(report.elapsedMs / 1000).toFixed(1)} s (${Math.round(report.eventsPerSecond)} events/s)`;
    if (report.ok) {
      process.stdout.write(`verify: OK: ${summary}\n`);
      return;
    }
    for (const problem of report.problems) process.stdout.write(`verify: ${problem}\n`);
    process.stdout.write(`verify: FAILED: ${report.problems.length} problems; ${summary}\n`);
    process.exitCode = 1;
  });

program
  .command('replay')
  .description(
    'Import a sales log in the UCI Online Retail format (CSV or gzip): sales, returns into quarantine, ' +
      'adjustments; non-products and bad lines to the dead letters. Replaying a file again applies nothing twice.',
  )
  .argument('<file>', 'the log, plain CSV or gzip-compressed')
  .option('--data-dir <path>', 'data directory (overrides STOCKLEDGER_DATA_DIR)')
  .addOption(
    new Option('--disposition <policy>', 'dispose of returned units at once (none: they stay in quarantine)')
      .choices(['restock', 'scrap', 'vendor', 'none'])
      .default('none'),
  )
  .option(
    '--in-flight <lines>',
    `lines submitted and not yet committed, at most (1 to ${inFlightMax})`,
    (text: string) => {
      const value = Number(text);
      if (!/^[0-9]+$/.test(text) || value < 1 || value > inFlightMax) {
        throw new InvalidArgumentError(`a whole number from 1 to ${inFlightMax}`);
      }
      return value;
    },
    inFlightDefault,
  )
  .option('--json', 'print the summary as one JSON object')
  .action(
    async (
      file: string,
      flags: { dataDir?: string; disposition: ReturnPolicy; inFlight: number; json?: boolean },
    ) => {
      let config: ReturnType<typeof loadConfigWithFlags>;
      try {
        config = loadConfigWithFlags({ ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }) });
      } catch (error) {
        fail(error);
      }
      try {
        process.exitCode = await replayCommand(config, {
          file,
          policy: flags.disposition,
          inFlightMax: flags.inFlight,
          json: flags.json === true,
        });
      } catch (error) {
        fail(error);
      }
    },
  );

program
  .command('export')
  .description(
    'Write the movement journal (every recorded event as a line) after a cursor to stdout; the cursor ' +
      'to resume from is printed on stderr. On the data directory, not while it is served.',
  )
  .option('--since <cursor>', 'resume after this cursor (<feed position>.<entry>, printed by an export)')
  .addOption(new Option('--format <format>', 'output format').choices([...JOURNAL_FORMATS]).default('ndjson'))
  .option(
    '--limit <lines>',
    'lines to export at most (an entry is never split, so the cursor stays exact)',
    (text: string) => {
      if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('a whole number from 1');
      return Number(text);
    },
  )
  .option('--data-dir <path>', 'data directory (overrides STOCKLEDGER_DATA_DIR)')
  .action(async (flags: { since?: string; format: JournalFormat; limit?: number; dataDir?: string }) => {
    let config: ReturnType<typeof loadConfigWithFlags>;
    try {
      config = loadConfigWithFlags({ ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }) });
    } catch (error) {
      fail(error);
    }
    try {
      process.exitCode = await exportCommand(config, {
        since: flags.since,
        format: flags.format,
        limitLines: flags.limit,
      });
    } catch (error) {
      fail(error);
    }
  });

program
  .command('reconcile')
  .description(
    'Compare an ERP stock snapshot (CSV of location,sku,onHand) with the ledger and print the variances; ' +
      'bad rows go to the dead letters. Changes nothing unless --post. On the data directory, not while it is served.',
  )
  .argument('<file>', 'the snapshot, CSV with the header location,sku,onHand')
  .option('--post', 'record each variance as a count (idempotent by snapshot id and line)')
  .option('--snapshot-id <id>', 'the snapshot id (default: derived from the file content)')
  .option('--json', 'print the report as one JSON object')
  .option('--data-dir <path>', 'data directory (overrides STOCKLEDGER_DATA_DIR)')
  .action(
    async (
      file: string,
      flags: { post?: boolean; snapshotId?: string; json?: boolean; dataDir?: string },
    ) => {
      let config: ReturnType<typeof loadConfigWithFlags>;
      try {
        config = loadConfigWithFlags({ ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }) });
      } catch (error) {
        fail(error);
      }
      try {
        process.exitCode = await reconcileCommand(config, {
          file,
          post: flags.post === true,
          snapshotId: flags.snapshotId,
          json: flags.json === true,
        });
      } catch (error) {
        fail(error);
      }
    },
  );

{
  // The data directory is used directly: it is assumed that no server is running on it meanwhile.
  const deadLetters = program
    .command('dead-letters')
    .description('List, retry or discard dead letters, on the data directory (not while it is served)');
  const configOf = (flags: { dataDir?: string }) => {
    try {
      return loadConfigWithFlags({ ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }) });
    } catch (error) {
      fail(error);
    }
  };
  const run = async (work: () => Promise<number>) => {
    try {
      process.exitCode = await work();
    } catch (error) {
      if (!(error instanceof UsageError)) fail(error);
      process.stderr.write(`stockledger dead-letters: ${error.message}
`);
      process.exitCode = EXIT_USAGE;
    }
  };
  const positive = (text: string) => {
    if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('a whole number from 1');
    return Number(text);
  };
  deadLetters
    .command('list')
    .description('Dead letters, oldest first')
    .option('--data-dir <path>', 'data directory (overrides STOCKLEDGER_DATA_DIR)')
    .addOption(
      new Option('--status <status>', 'only letters in this state').choices(['open', 'retried', 'discarded']),
    )
    .option('--adapter <name>', 'only letters of this adapter (cli:replay, http:sales:batch, ...)')
    .option('--reason <prefix>', 'only letters whose reason starts so (NON_PRODUCT, MALFORMED, ...)')
    .option('--after <id>', 'the page after this letter')
    .option('--limit <n>', 'letters to show, at most 500', positive, 100)
    .option('--json', 'print the page as JSON')
    .action(
      (flags: {
        dataDir?: string;
        status?: 'open' | 'retried' | 'discarded';
        adapter?: string;
        reason?: string;
        after?: string;
        limit: number;
        json?: boolean;
      }) =>
        run(() =>
          listCommand(configOf(flags), {
            status: flags.status,
            adapter: flags.adapter,
            reason: flags.reason,
            after: flags.after,
            limit: flags.limit,
            json: flags.json === true,
          }),
        ),
    );
  deadLetters
    .command('retry')
    .description('Run a letter again through its adapter, as stored or with a corrected payload (--body)')
    .argument('<id>', 'the letter')
    .option('--data-dir <path>', 'data directory (overrides STOCKLEDGER_DATA_DIR)')
    .option('--body <file>', 'a JSON file holding the corrected payload')
    .option('--note <text>', 'a note kept in the letter history')
    .option('--json', 'print the letter and the outcome as JSON')
    .action((id: string, flags: { dataDir?: string; body?: string; note?: string; json?: boolean }) =>
      run(() =>
        retryCommand(configOf(flags), id, { body: flags.body, note: flags.note, json: flags.json === true }),
      ),
    );
  deadLetters
    .command('discard')
    .description('Mark a letter discarded, with the reason; it is kept, never erased')
    .argument('<id>', 'the letter')
    .requiredOption('--reason <text>', 'why it is discarded (kept in its history)')
    .option('--data-dir <path>', 'data directory (overrides STOCKLEDGER_DATA_DIR)')
    .action((id: string, flags: { dataDir?: string; reason: string }) =>
      run(() => discardCommand(configOf(flags), id, flags.reason)),
    );
}

await program.parseAsync(process.argv);
