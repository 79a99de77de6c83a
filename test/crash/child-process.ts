// Starts load-child.ts as a real Node process (tsx as an --import hook, so the pid is the engine's own
// process and SIGKILL hits it, not a wrapper) and parses what it wrote.

import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const childScript = path.join(REPOSITORY_ROOT, 'test', 'crash', 'load-child.ts');

export type Acknowledgement =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly code: string };

export interface ChildReport {
  /** Every command the child said was answered, by command id, in the order the answers came. */
  readonly acknowledged: Map<string, Acknowledgement>;
  /** The stream's commands 0..sent-1 may have been submitted; none after. */
  readonly sent: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly done: boolean;
  /** Lines on stdout that are not the child's protocol; a correct run has none. */
  readonly unexpected: readonly string[];
}

export interface LoadChildOptions {
  readonly dataDir: string;
  readonly seed: number;
  readonly cycle: number;
  readonly window?: number;
  readonly count?: number;
  /** STOCKLEDGER_* settings beyond the data dir, e.g. fault injection. */
  readonly settings?: Readonly<Record<string, string>>;
}

export const CRASH_SHARDS = '16';
/** Small, so that crashes land in spilled snapshots (engine/store/snapshots.ts) as well as inline ones. */
export const CRASH_INLINE_ENTRIES_MAX = '2';
/** What the load child exits with when the engine reports a fatal commit error. */
export const FATAL_EXIT_CODE = 70;

export class LoadChild {
  readonly #process: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #acknowledged = new Map<string, Acknowledgement>();
  #sent = 0;
  #done = false;
  #stderr = '';
  readonly #unexpected: string[] = [];
  #readyResolve: (() => void) | null = null;
  readonly ready: Promise<void>;
  readonly exited: Promise<ChildReport>;

  constructor(options: LoadChildOptions) {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !name.startsWith('STOCKLEDGER_')) env[name] = value;
    }
    Object.assign(env, {
      STOCKLEDGER_DATA_DIR: options.dataDir,
      STOCKLEDGER_SHARDS: CRASH_SHARDS,
      STOCKLEDGER_SNAPSHOT_INLINE_ENTRIES_MAX: CRASH_INLINE_ENTRIES_MAX,
      LOG_LEVEL: 'warn',
      ...options.settings,
    });
    const args = [
      '--import',
      'tsx',
      childScript,
      '--seed',
      String(options.seed),
      '--cycle',
      String(options.cycle),
    ];
    if (options.window !== undefined) args.push('--window', String(options.window));
    if (options.count !== undefined) args.push('--count', String(options.count));
    this.#process = spawn(process.execPath, args, {
      cwd: REPOSITORY_ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let readyReject: (error: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      readyReject = reject;
    });
    // A caller that never waits for `ready` must not turn an early exit into an unhandled rejection.
    this.ready.catch(() => {});
    let partial = '';
    this.#process.stdout.setEncoding('utf8');
    this.#process.stdout.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.#parse(line);
    });
    this.#process.stderr.setEncoding('utf8');
    this.#process.stderr.on('data', (text: string) => {
      // Keep the tail only: it is for failure messages.
      this.#stderr = (this.#stderr + text).slice(-20_000);
    });
    // Writing to a child that died makes EPIPE on stdin; that is expected here.
    this.#process.stdin.on('error', () => {});
    this.#process.on('error', (error) => {
      this.#stderr += `\nspawning the load child failed: ${error.message}`;
    });
    this.exited = new Promise<ChildReport>((resolve) => {
      this.#process.on('close', (exitCode, signal) => {
        // What is left in `partial` is a line the kill cut short: never a whole acknowledgement.
        readyReject(
          new Error(`load child exited (${exitCode ?? signal}) before it was ready:\n${this.#stderr}`),
        );
        resolve({
          acknowledged: this.#acknowledged,
          sent: this.#sent,
          exitCode,
          signal,
          stderr: this.#stderr,
          done: this.#done,
          unexpected: this.#unexpected,
        });
      });
    });
  }

  /** Kills the child if it still runs; safe to call more than once. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill(signal);
  }

  #parse(line: string): void {
    const words = line.split(' ');
    switch (words[0]) {
      case 'ready':
        this.#readyResolve?.();
        return;
      case 'sent':
        this.#sent = Number(words[1]);
        return;
      case 'done':
        this.#done = true;
        return;
      case 'ack': {
        const [, id, verdict, detail] = words;
        if (id === undefined || detail === undefined || this.#acknowledged.has(id)) {
          this.#unexpected.push(line);
          return;
        }
        this.#acknowledged.set(
          id,
          verdict === 'ok' ? { ok: true, version: Number(detail) } : { ok: false, code: detail },
        );
        return;
      }
      default:
        this.#unexpected.push(line);
    }
  }
}

/** Waits for the child's `ready`; a child not ready in time is killed and the wait fails. */
export async function readyWithin(child: LoadChild, timeoutMs: number): Promise<void> {
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    await child.ready;
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}
