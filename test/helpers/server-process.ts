// Starts `stockledger serve` (what `npm start` runs) as a real Node process: `node --import tsx
// engine/cli.ts serve --port 0 --data-dir <dir>`, tsx as a loader hook so the pid is the server's own and
// SIGKILL hits it, not a wrapper. The address comes from its log line "stockledger is listening".
// The engine's own settings (STOCKLEDGER_* and NATS_URL, which makes a node a cluster member) come only
// from `settings`, never from the environment the test runs in.

import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const listeningMessage = 'stockledger is listening';
/** Output kept for failure messages. */
const outputCharactersMax = 20_000;
/** How long `stop` waits after SIGTERM (the node drains) before it sends SIGKILL. */
const stopTimeoutMsDefault = 30_000;

export interface ServerProcessOptions {
  readonly dataDir: string;
  /** STOCKLEDGER_* and other settings; the test's own STOCKLEDGER_* variables are not passed on. */
  readonly settings?: Readonly<Record<string, string>>;
  /** The HTTP port; 0 (the default) lets the system choose one. */
  readonly port?: number;
  /**
   * Start the node in its own process group, so a Ctrl-C in the terminal reaches only the parent
   * (which then stops the node itself) and not the node directly.
   */
  readonly detached?: boolean;
  /** Every line the node writes, stdout (its pino log) and stderr alike. */
  readonly onLine?: (line: string) => void;
}

export interface ServerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

export class ServerProcess {
  readonly #child: ChildProcessByStdio<null, Readable, Readable>;
  #output = '';
  /** The server's base URL (http://127.0.0.1:port) once it listens; rejects if it exits first. */
  readonly address: Promise<string>;
  readonly exited: Promise<ServerExit>;

  constructor(options: ServerProcessOptions) {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !name.startsWith('STOCKLEDGER_') && name !== 'NATS_URL') env[name] = value;
    }
    Object.assign(env, { LOG_LEVEL: 'info', ...options.settings });
    this.#child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'engine/cli.ts',
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(options.port ?? 0),
        '--data-dir',
        options.dataDir,
      ],
      { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached === true },
    );
    let resolveAddress: (address: string) => void = () => {};
    let rejectAddress: (error: Error) => void = () => {};
    this.address = new Promise<string>((resolve, reject) => {
      resolveAddress = resolve;
      rejectAddress = reject;
    });
    this.address.catch(() => {});
    const onLine = options.onLine;
    let partial = '';
    this.#child.stdout.setEncoding('utf8');
    this.#child.stdout.on('data', (text: string) => {
      this.#keep(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        onLine?.(line);
        if (!line.includes(listeningMessage)) continue;
        const record = JSON.parse(line) as { msg?: string; address?: string };
        if (record.msg === listeningMessage && typeof record.address === 'string')
          resolveAddress(record.address);
      }
    });
    let partialError = '';
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (text: string) => {
      this.#keep(text);
      if (onLine === undefined) return;
      const lines = (partialError + text).split('\n');
      partialError = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    this.exited = new Promise<ServerExit>((resolve) => {
      this.#child.on('close', (code, signal) => {
        rejectAddress(new Error(`the server exited (${code ?? signal}) before listening:\n${this.#output}`));
        resolve({ code, signal, output: this.#output });
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Sends `signal` if the process still runs; safe to call more than once. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** SIGTERM (the node drains and exits), SIGKILL if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = stopTimeoutMsDefault): Promise<ServerExit> {
    this.kill('SIGTERM');
    const killed = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(killed);
    }
  }

  /** The output kept so far (the last 20,000 characters), for failure messages. */
  output(): string {
    return this.#output;
  }

  #keep(text: string): void {
    this.#output = (this.#output + text).slice(-outputCharactersMax);
  }
}

/** Waits for the address; a server not listening in time is killed and the wait fails. */
export async function listeningWithin(server: ServerProcess, timeoutMs: number): Promise<string> {
  const timer = setTimeout(() => server.kill('SIGKILL'), timeoutMs);
  try {
    return await server.address;
  } finally {
    clearTimeout(timer);
  }
}
