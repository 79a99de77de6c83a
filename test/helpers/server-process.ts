// Starts `stockledger serve` (what `npm start` runs) as a real Node process: `node --import tsx
// engine/cli.ts serve --port 0 --data-dir <dir>`, tsx as a loader hook so the pid is the server's own and
// SIGKILL hits it, not a wrapper. The address comes from its log line "stockledger is listening".

import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const listeningMessage = 'stockledger is listening';
/** Output kept for failure messages. */
const outputCharactersMax = 20_000;

export interface ServerProcessOptions {
  readonly dataDir: string;
  /** STOCKLEDGER_* and other settings; the test's own STOCKLEDGER_* variables are not passed on. */
  readonly settings?: Readonly<Record<string, string>>;
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
      if (value !== undefined && !name.startsWith('STOCKLEDGER_')) env[name] = value;
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
        '0',
        '--data-dir',
        options.dataDir,
      ],
      { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let resolveAddress: (address: string) => void = () => {};
    let rejectAddress: (error: Error) => void = () => {};
    this.address = new Promise<string>((resolve, reject) => {
      resolveAddress = resolve;
      rejectAddress = reject;
    });
    this.address.catch(() => {});
    let partial = '';
    this.#child.stdout.setEncoding('utf8');
    this.#child.stdout.on('data', (text: string) => {
      this.#keep(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes(listeningMessage)) continue;
        const record = JSON.parse(line) as { msg?: string; address?: string };
        if (record.msg === listeningMessage && typeof record.address === 'string')
          resolveAddress(record.address);
      }
    });
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (text: string) => this.#keep(text));
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
