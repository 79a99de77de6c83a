// Replay throughput of the December 2010 UCI Online Retail log, two ways, each on a fresh data directory:
//   1. `stockledger replay <file>` (the CLI: every line its own idempotent job, 4,000 lines in flight);
//   2. a running server (`stockledger serve`) fed the file's sales as NDJSON backlogs on
//      `POST /v1/sales:batch`: once as one sale per invoice (the API's shape: a transaction with lines,
//      lines of one SKU summed), once as one sale per line (the CLI's granularity).
// Prints sale lines per second for each. Run: `npx tsx bench/replay-throughput.ts [file] [--runs N]`.
// Figures depend on the machine and on what else runs on it: the median of N runs is printed.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { linesOf, parseCsvLines } from '../adapters/mapping/csv.ts';
import { locationIdOfName } from '../adapters/mapping/locations.ts';
import { nonProductOf } from '../adapters/replay/online-retail.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'engine/stockledger.js');
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt === -1 ? 3 : Number(args[runsAt + 1]);
const file = path.resolve(
  args.find((arg, at) => !arg.startsWith('--') && args[at - 1] !== '--runs') ??
    path.join(root, '../shared/data/online-retail-2010-12.csv.gz'),
);
/** Sales one NDJSON request carries (the route takes at most 10,000; 60,000 requests a minute by default). */
const salesPerRequest = 5_000;

interface Sale {
  readonly transactionId: string;
  readonly location: string;
  readonly lines: { sku: string; qty: number }[];
}

/** The file's sale lines (positive quantity, not a cancellation, a product), as the replay reads them. */
function saleLines(): { invoice: string; line: number; sku: string; location: string; qty: number }[] {
  const text = gunzipSync(readFileSync(file)).toString('utf8');
  const [, ...rest] = linesOf(text);
  return parseCsvLines(rest).flatMap((record) => {
    if (record.kind !== 'fields' || record.fields.length !== 8) return [];
    const [invoice = '', stockCode = '', , quantity = '', , , , country = ''] = record.fields;
    const qty = Number(quantity);
    const location = locationIdOfName(country);
    if (invoice.startsWith('C') || !(qty > 0) || nonProductOf(stockCode) !== null || location === null)
      return [];
    return [{ invoice, line: record.line + 1, sku: stockCode, location, qty }];
  });
}

function byInvoice(lines: ReturnType<typeof saleLines>): Sale[] {
  const sales = new Map<string, Sale>();
  for (const line of lines) {
    let sale = sales.get(line.invoice);
    if (sale === undefined) {
      sale = { transactionId: `uci-${line.invoice}`, location: line.location, lines: [] };
      sales.set(line.invoice, sale);
    }
    const same = sale.lines.find((candidate) => candidate.sku === line.sku);
    if (same === undefined) sale.lines.push({ sku: line.sku, qty: line.qty });
    else same.qty += line.qty;
  }
  return [...sales.values()];
}

function byLine(lines: ReturnType<typeof saleLines>): Sale[] {
  return lines.map((line) => ({
    transactionId: `uci.${line.invoice}.${line.line}`,
    location: line.location,
    lines: [{ sku: line.sku, qty: line.qty }],
  }));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function cliRun(): number {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stockledger-replay-bench-'));
  try {
    const run = spawnSync(process.execPath, [bin, 'replay', file, '--data-dir', dataDir, '--json'], {
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`replay failed: ${run.stderr}`);
    const summary = JSON.parse(run.stdout) as { sales: number; saleLinesPerSecond: number };
    return summary.saleLinesPerSecond;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startServer(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before it was ready`);
    const ready = await fetch(`${url}/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return { url, child };
    if (Date.now() > deadline) throw new Error('the server was not ready within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function ndjsonRun(sales: readonly Sale[], saleLineCount: number): Promise<number> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stockledger-ndjson-bench-'));
  const { url, child } = await startServer(dataDir);
  try {
    const startedMs = performance.now();
    let accepted = 0;
    for (let start = 0; start < sales.length; start += salesPerRequest) {
      const body = sales
        .slice(start, start + salesPerRequest)
        .map((sale) => JSON.stringify(sale))
        .join('\n');
      const response = await fetch(`${url}/v1/sales:batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      });
      const answer = (await response.json()) as { accepted: number; rejected: unknown[] };
      if (response.status !== 200 || answer.rejected.length > 0) {
        throw new Error(`sales:batch answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
      }
      accepted += answer.accepted;
    }
    const seconds = (performance.now() - startedMs) / 1000;
    if (accepted !== sales.length) throw new Error(`accepted ${accepted} of ${sales.length}`);
    return saleLineCount / seconds;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const lines = saleLines();
const invoices = byInvoice(lines);
const perLine = byLine(lines);
const cli: number[] = [];
const ndjsonInvoices: number[] = [];
const ndjsonLines: number[] = [];
for (let run = 0; run < runs; run++) {
  cli.push(cliRun());
  ndjsonInvoices.push(await ndjsonRun(invoices, lines.length));
  ndjsonLines.push(await ndjsonRun(perLine, lines.length));
  process.stderr.write(
    `run ${run + 1}/${runs}: cli ${Math.round(cli.at(-1)!)}, ndjson by invoice ${Math.round(ndjsonInvoices.at(-1)!)}, ` +
      `ndjson by line ${Math.round(ndjsonLines.at(-1)!)} sale lines/s\n`,
  );
}
const format = (values: readonly number[]) =>
  `${Math.round(median(values)).toLocaleString('en-GB')} sale lines/s (runs: ${values.map((value) => Math.round(value)).join(', ')})`;
process.stdout.write(
  `${path.basename(file)}: ${lines.length} sale lines, ${invoices.length} invoices; median of ${runs}\n` +
    `  stockledger replay (CLI)                        ${format(cli)}\n` +
    `  POST /v1/sales:batch, one sale per invoice      ${format(ndjsonInvoices)}\n` +
    `  POST /v1/sales:batch, one sale per line         ${format(ndjsonLines)}\n`,
);
