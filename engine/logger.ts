// One pino root per process; modules take `logger.child({ ... })` from it. Object first, then message.

import type { Logger } from 'pino';
import { pino } from 'pino';
import type { LogLevel } from './config.ts';

export function createLogger(level: LogLevel, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that writes nothing, for tests and benchmarks that measure other things. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
