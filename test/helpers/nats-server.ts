// Starts a real nats-server with JetStream for one test file: on 127.0.0.1, on a free port (never the
// shared 4222), with its own store in a temporary directory. `start` resolves once the server accepts
// connections and answers a JetStream request; `stop` kills it and removes the directory. Where the
// binary is missing, it is installed from Debian's packages when running as root (CI runs as root), and
// otherwise the start fails saying how to install it.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The shared development server's port: tests never use it. */
const sharedPort = 4222;
const startTimeoutMs = 15_000;
const stopTimeoutMs = 5_000;
const candidates = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  stop(): Promise<void>;
}

function onPath(): string | null {
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  try {
    const found = execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim();
    return found === '' ? null : found;
  } catch {
    return null;
  }
}

/** The nats-server binary, installed with apt-get when missing and running as root. */
export function natsServerBinary(): string {
  const found = onPath();
  if (found !== null) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'nats-server is not installed and this process is not root, so it cannot install it: run ' +
        '`sudo apt-get update && sudo apt-get install -y nats-server` (Debian/Ubuntu), or put a ' +
        'nats-server 2.9+ binary on the PATH',
    );
  }
  execFileSync('apt-get', ['update'], { stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', 'nats-server'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = onPath();
  if (installed === null) throw new Error('apt-get install nats-server succeeded but no binary was found');
  return installed;
}

/** A free TCP port on 127.0.0.1 (the test helpers' servers bind to it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Connects and reads the server's INFO line: the server is up and speaking the protocol. */
function answersInfo(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let text = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (text.includes('\r\n')) done(text.startsWith('INFO ') && text.includes('"jetstream":true'));
    });
    socket.connect(port, '127.0.0.1');
  });
}

export async function startNatsServer(): Promise<NatsServer> {
  const binary = natsServerBinary();
  for (let attempt = 1; ; attempt++) {
    let port = await freePort();
    while (port === sharedPort) port = await freePort();
    const storeDir = mkdtempSync(path.join(tmpdir(), 'stockledger-nats-'));
    const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (log.length < 64 * 1024) log += chunk.toString('utf8');
    });
    let exited = false;
    const exit = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        resolve();
      });
    });
    const deadline = Date.now() + startTimeoutMs;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      if (await answersInfo(port)) {
        ready = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stop = async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const killed = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
        await exit;
        clearTimeout(killed);
      }
      rmSync(storeDir, { recursive: true, force: true });
    };
    if (ready) return { url: `nats://127.0.0.1:${port}`, port, storeDir, stop };
    await stop();
    // Another process may have taken the port between our probe and the server's bind: try another.
    if (attempt >= 3) throw new Error(`nats-server did not start on port ${port}: ${log.slice(-2_000)}`);
  }
}
