// The `stockledger` command line. Each command is one `program.command(...)` block below; add a
// command by adding a block. Configuration comes from the environment (engine/config.ts), and a flag
// overrides the setting it names. A configuration that cannot start exits 78 with a message naming
// the setting.

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
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

await program.parseAsync(process.argv);
