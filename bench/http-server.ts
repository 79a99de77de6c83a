// An HTTP server under test, in a process of its own so that it does not share an event loop (or a core)
// with the load generator. Started by suites/http.ts as
// `node [--cpu-prof ...] --import tsx bench/http-server.ts <kind> <json arguments>`:
//   stockledger  `stockledger serve` as main.ts runs it (the same app, engine and settings), with the
//                data dir and STOCKLEDGER_* settings given; no keys, loopback, rate limit off
//   echo         a bare Fastify app with one POST route that answers its JSON body: the ceiling of an
//                HTTP request on this machine, for the ratio
// It prints `listening <address>` on stdout, logs warnings to stderr, and exits 0 on SIGTERM (after
// draining, so a CPU profile is written).

import Fastify from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../engine/config.ts';
import { serve } from '../engine/main.ts';
import { makeResident } from './workloads/stocked-engine.ts';

interface Arguments {
  readonly dataDir?: string;
  readonly settings?: Readonly<Record<string, string>>;
  /** The data dir is a copy of the stocked 100k cache: make those actors resident before listening is reported. */
  readonly makeResident?: boolean;
}

async function stockledger(options: Arguments): Promise<() => Promise<void>> {
  if (options.dataDir === undefined) throw new Error('stockledger needs a dataDir');
  const config = loadConfig({
    ...options.settings,
    STOCKLEDGER_DATA_DIR: options.dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const logger = pino({ level: 'warn', base: { server: 'bench' } }, pino.destination(2));
  const running = await serve(config, { logger });
  if (options.makeResident === true) await makeResident(running.engine);
  process.stdout.write(`listening ${running.address}\n`);
  return () => running.stop();
}

async function echo(): Promise<() => Promise<void>> {
  const app = Fastify({ logger: false });
  app.post('/echo', async (request) => request.body);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${address}\n`);
  return () => app.close();
}

const [kind, argumentText] = process.argv.slice(2);
const options = JSON.parse(argumentText ?? '{}') as Arguments;
const stop = kind === 'echo' ? await echo() : kind === 'stockledger' ? await stockledger(options) : null;
if (stop === null) throw new Error(`unknown server kind ${kind}`);
process.on('SIGTERM', () => {
  stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`stopping failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
