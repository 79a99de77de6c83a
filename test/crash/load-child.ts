// The crash tests' load driver, run as a child process: it opens the engine on STOCKLEDGER_DATA_DIR (the
// whole configuration, fault injection included, comes from the environment through loadConfig) and
// submits the seeded workload of workload.ts until it is killed.
//
// Arguments: --seed <n> --cycle <n> [--window <commands in flight, default 512>] [--count <commands, default
// unbounded>]. It writes to stdout, one line each:
//   ready                       the engine is open and the stream starts
//   sent <n>                    commands 0..n-1 of the stream may be submitted from now on (written before)
//   ack <id> ok <version>       engine.submit resolved: the command was applied and is durable
//   ack <id> refused <code>     engine.submit resolved: the command was refused, and that answer is durable
//   done                        --count commands were answered
// Logs go to stderr. A fatal commit error exits with code 70; a closed stdin (the test is gone) exits too.

import { pino } from 'pino';
import { loadConfig } from '../../engine/config.ts';
import { createEngine } from '../../engine/engine.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import { FATAL_EXIT_CODE } from './child-process.ts';
import { workloadStream } from './workload.ts';

const sentChunk = 64;
const burstCommandsMax = 32;

function argument(name: string, fallback: number | null): number {
  const at = process.argv.indexOf(`--${name}`);
  const text = at === -1 ? undefined : process.argv[at + 1];
  if (text === undefined) {
    if (fallback === null) throw new Error(`load-child needs --${name} <integer>`);
    return fallback;
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be an integer, got ${text}`);
  return value;
}

const seed = argument('seed', null);
const cycle = argument('cycle', null);
const window = Math.max(1, argument('window', 512));
const count = argument('count', Number.MAX_SAFE_INTEGER);

// Acknowledgements are written in one piece per turn of the microtask queue; stdout is a pipe, and pipe
// writes are synchronous on Linux, so a line written is a line the test reads even after SIGKILL.
let pending = '';
function writeLine(line: string): void {
  if (pending === '') queueMicrotask(flush);
  pending += `${line}\n`;
}
function flush(): void {
  const text = pending;
  pending = '';
  if (text !== '') process.stdout.write(text);
}

const logger = pino({ level: 'warn', base: { child: 'load' } }, pino.destination({ dest: 2, sync: true }));
const engine = await createEngine({
  config: loadConfig(),
  logger,
  onFatal: (error) => {
    logger.fatal({ err: error }, 'load child: fatal engine error, exiting');
    // Exit on the next turn, not inside the engine's callback: answers the engine gave before the failure
    // are still in the microtask queue on their way to stdout. After a fatal error the engine answers
    // nothing new, so no acknowledgement written now can be one the disk does not hold.
    setImmediate(() => {
      flush();
      process.exit(FATAL_EXIT_CODE);
    });
  },
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const stream = workloadStream(seed, cycle);
const meta = { correlationId: null, source: 'test:crash-load' };
let inflight = 0;
let answered = 0;
let sentMark = 0;
let stopped = false;
let scheduled = false;

// Commands go in a few dozen per turn of the event loop, not all at once, so that new ones keep arriving
// while earlier batches commit: the engine then has several batches in flight, as under real traffic.
function schedule(): void {
  if (scheduled || stopped) return;
  scheduled = true;
  setImmediate(turn);
}

function turn(): void {
  scheduled = false;
  let room = Math.min(burstCommandsMax, window - inflight, count - stream.sent);
  while (!stopped && room > 0) {
    room--;
    if (stream.sent >= sentMark) {
      sentMark = Math.min(count, sentMark + sentChunk);
      writeLine(`sent ${sentMark}`);
      flush();
    }
    submit(stream.next());
  }
  if (inflight < window && stream.sent < count) schedule();
}

function submit(command: CommandInput): void {
  inflight++;
  engine.submit([command], meta).then(
    ([answer]) => {
      inflight--;
      answered++;
      const result = answer!.result;
      writeLine(
        result.ok
          ? `ack ${result.commandId} ok ${result.position.version}`
          : `ack ${result.commandId} refused ${result.refusal.code}`,
      );
      if (answered === count) writeLine('done');
      schedule();
    },
    (error: unknown) => {
      inflight--;
      // A rejected submit is not an acknowledgement; after a fatal error every new submit is rejected.
      stopped = true;
      logger.error({ err: error, commandId: command.commandId }, 'load child: submit rejected');
    },
  );
}

writeLine('ready');
flush();
schedule();
