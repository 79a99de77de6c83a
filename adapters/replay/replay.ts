// `stockledger replay <file>`: a sales log in the UCI Online Retail format (plain CSV or gzip) streamed
// line by line into the engine. Lines are parsed a chunk at a time, turned into actions
// (online-retail.ts) and submitted with at most `inFlightMax` lines under way (the engine's mailboxes
// stay bounded, and batches of one hot location still pipeline). Every line ends as exactly one of: a
// sale, a return, an adjustment (each possibly a duplicate of an earlier replay), or a dead letter; a
// blank line is counted as blank. A dead letter is written once per line: a second replay finds the
// letter of the first (by line number and text) and counts it as already recorded.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Engine } from '../../engine/engine.ts';
import { EngineError, OverloadedError } from '../../engine/errors.ts';
import type { CommandMeta } from '../../engine/store/records.ts';
import type { CsvLine, CsvRecord } from '../mapping/csv.ts';
import { columnsOf, csvChunkLinesMax, parseCsvLines, streamLines } from '../mapping/csv.ts';
import { masterDataOf } from '../mapping/master-data.ts';
import { Resolver } from '../mapping/resolver.ts';
import type { RetailAction, RetailColumn, RetailRecord, ReturnPolicy } from './online-retail.ts';
import { actionOf, nonProductOf, REPLAY_ADAPTER, RETAIL_COLUMNS } from './online-retail.ts';

export const inFlightDefault = 4_000;
export const inFlightMax = 50_000;
/** Dead letters written together. */
const lettersPerWrite = 256;
/** An overloaded engine is asked again after a pause, this many times at most. */
const overloadRetriesMax = 200;

/** The file cannot be replayed at all (missing, unreadable, not this format): nothing was applied. */
export class ReplayRefusedError extends Error {
  override readonly name = 'ReplayRefusedError';
}

/** What a replay's dead letter keeps: the line, as parsed or as text, and the policy it ran under. */
export interface ReplayLetterPayload {
  readonly file: string;
  readonly line: number;
  /** The line number and a digest of its text: the same line of the same file has the same key. */
  readonly key: string;
  readonly policy: ReturnPolicy;
  readonly record?: RetailRecord;
  readonly header?: readonly string[];
  readonly text?: string;
}

export interface ReplaySummary {
  readonly file: string;
  readonly policy: ReturnPolicy;
  /** Lines after the header. */
  readonly lines: number;
  readonly blank: number;
  readonly sales: number;
  readonly returns: number;
  readonly adjustments: number;
  /** Returns disposed of by the policy in this run. */
  readonly dispositions: number;
  /** Sales, returns and adjustments an earlier replay had already applied. */
  readonly duplicates: number;
  readonly deadLetters: {
    readonly total: number;
    readonly new: number;
    readonly alreadyRecorded: number;
    /** By reason code (the reason up to its first colon). */
    readonly byReason: Readonly<Record<string, number>>;
    /** NON_PRODUCT lines by stock code. */
    readonly nonProductByCode: Readonly<Record<string, number>>;
  };
  readonly elapsedSeconds: number;
  readonly linesPerSecond: number;
  readonly saleLinesPerSecond: number;
}

export interface ReplayOptions {
  readonly engine: Engine;
  readonly file: string;
  readonly policy: ReturnPolicy;
  readonly inFlightMax: number;
  readonly meta: CommandMeta;
  readonly onProgress?: (linesDone: number, linesEstimated: number) => void;
}

export type LineOutcome =
  | {
      readonly ok: true;
      readonly kind: 'sale' | 'return' | 'adjust';
      readonly duplicate: boolean;
      readonly disposed: boolean;
    }
  | { readonly ok: false; readonly reason: string };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs an engine call, pausing and asking again while the engine answers OVERLOADED. */
async function patiently<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof OverloadedError) || attempt >= overloadRetriesMax) throw error;
      await pause(Math.min(1_000, 10 * 2 ** Math.min(attempt, 7)));
    }
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof EngineError) return `${error.code}: ${error.message}`;
  throw error;
}

/** Applies one line's action. Engine refusals and conflicts are answered as reasons; faults are thrown. */
export async function applyAction(
  engine: Engine,
  action: RetailAction,
  meta: CommandMeta,
): Promise<LineOutcome> {
  if (action.kind === 'dead') return { ok: false, reason: action.reason };
  try {
    if (action.kind === 'return') {
      const created = await patiently(() => engine.run(engine.returns.createJob(action.request, meta)));
      let disposed = false;
      if (action.disposition !== null) {
        const disposition = action.disposition;
        const outcome = await patiently(() => engine.run(engine.returns.disposeJob(disposition, meta)));
        disposed = !outcome.replayed;
      }
      return { ok: true, kind: 'return', duplicate: created.replayed, disposed };
    }
    const results = await patiently(() => engine.submit(action.commands, meta));
    const refused = results.find(({ result }) => !result.ok);
    if (refused !== undefined && !refused.result.ok) {
      return { ok: false, reason: `${refused.result.refusal.code}: ${action.kind} ${action.id} was refused` };
    }
    return {
      ok: true,
      kind: action.kind,
      duplicate: results.every(({ replayed }) => replayed),
      disposed: false,
    };
  } catch (error) {
    return { ok: false, reason: reasonOf(error) };
  }
}

/** Bounds the work under way: `enter` waits while `limit` items are in flight. */
class Window {
  readonly #limit: number;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];
  #failure: unknown = null;

  constructor(limit: number) {
    this.#limit = limit;
  }

  async enter(): Promise<void> {
    while (this.#inFlight >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    if (this.#failure !== null) throw this.#failure;
    this.#inFlight++;
  }

  /** Runs `work` in the window; a fault (not a refusal: those are outcomes) stops the replay. */
  track(work: Promise<unknown>): void {
    work.then(
      () => this.#leave(),
      (error: unknown) => {
        this.#failure ??= error;
        this.#leave();
      },
    );
  }

  #leave(): void {
    this.#inFlight--;
    this.#waiting.shift()?.();
    if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  async drained(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    if (this.#failure !== null) throw this.#failure;
  }
}

function letterKeyOf(line: number, text: string): string {
  return `${line}:${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
}

/** The keys of the replay's dead letters already on file, whatever their status. */
function recordedLetterKeys(engine: Engine): Set<string> {
  const keys = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page = engine.deadLetters.list({
      adapter: REPLAY_ADAPTER,
      limit: 500,
      ...(after === undefined ? {} : { after }),
    });
    for (const letter of page.letters) {
      const key = (letter.payload as Partial<ReplayLetterPayload> | null)?.key;
      if (typeof key === 'string') keys.add(key);
    }
    if (page.next === null) return keys;
    after = page.next;
  }
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export async function replayFile(options: ReplayOptions): Promise<ReplaySummary> {
  const { engine, policy, meta } = options;
  const startedMs = performance.now();
  let fileBytes: number;
  let gzip: boolean;
  try {
    fileBytes = (await stat(options.file)).size;
    gzip = await isGzip(options.file);
  } catch (error) {
    throw new ReplayRefusedError(`cannot read ${options.file}: ${(error as Error).message}`);
  }
  const raw = createReadStream(options.file);
  const input: Readable = gzip ? raw.pipe(createGunzip()) : raw;
  const failed = new Promise<never>((_resolve, reject) => {
    const fail = (error: Error) =>
      reject(new ReplayRefusedError(`cannot read ${options.file}: ${error.message}`));
    raw.on('error', fail);
    input.on('error', fail);
  });
  failed.catch(() => {});
  const file = path.basename(options.file);
  const resolver = new Resolver(masterDataOf(engine), { codesAreSkus: true, codesAreNames: true });
  const recorded = recordedLetterKeys(engine);
  const window = new Window(options.inFlightMax);
  const counts = { lines: 0, blank: 0, sales: 0, returns: 0, adjustments: 0, dispositions: 0, duplicates: 0 };
  const letters = { total: 0, new: 0, alreadyRecorded: 0 };
  const byReason: Record<string, number> = {};
  const nonProductByCode: Record<string, number> = {};
  let pendingLetters: { reason: string; payload: ReplayLetterPayload }[] = [];
  // Letters are written a few hundred at a time, one write after another, apart from the window (a
  // line whose job failed writes its letter from inside the window).
  let lettersWritten: Promise<void> = Promise.resolve();
  const flushLetters = () => {
    if (pendingLetters.length === 0) return;
    const batch = pendingLetters.map(({ reason, payload }) => ({ adapter: REPLAY_ADAPTER, reason, payload }));
    pendingLetters = [];
    lettersWritten = lettersWritten.then(async () => {
      await engine.deadLetters.addMany(batch);
    });
  };
  const deadLetter = (reason: string, payload: ReplayLetterPayload, stockCode: string | null) => {
    letters.total++;
    increment(byReason, reason.split(':')[0] ?? reason);
    if (reason.startsWith('NON_PRODUCT') && stockCode !== null)
      increment(nonProductByCode, stockCode.trim().toUpperCase());
    if (recorded.has(payload.key)) {
      letters.alreadyRecorded++;
      return;
    }
    recorded.add(payload.key);
    letters.new++;
    pendingLetters.push({ reason, payload });
    if (pendingLetters.length >= lettersPerWrite) flushLetters();
  };

  let header: readonly string[] | null = null;
  let columns: Partial<Record<RetailColumn, number>> = {};
  const handleRecord = async (record: CsvRecord) => {
    counts.lines++;
    if (record.kind === 'blank') {
      counts.blank++;
      return;
    }
    const key = letterKeyOf(record.line, record.text);
    const base = { file, line: record.line, key, policy };
    if (record.kind === 'malformed') {
      deadLetter(record.reason, { ...base, header: header ?? [], text: record.text }, null);
      return;
    }
    if (record.fields.length !== (header?.length ?? 0)) {
      deadLetter(
        `MALFORMED: ${record.fields.length} fields, the header has ${header?.length ?? 0}`,
        { ...base, header: header ?? [], text: record.text },
        null,
      );
      return;
    }
    const retail = Object.fromEntries(
      RETAIL_COLUMNS.map((name) => [name, record.fields[columns[name]!] ?? '']),
    ) as RetailRecord;
    const action = actionOf(retail, record.line, resolver, policy);
    if (action.kind === 'dead') {
      deadLetter(
        action.reason,
        { ...base, record: retail },
        nonProductOf(retail.StockCode) === null ? null : retail.StockCode,
      );
      return;
    }
    await window.enter();
    window.track(
      applyAction(engine, action, meta).then((outcome) => {
        if (!outcome.ok) {
          deadLetter(outcome.reason, { ...base, record: retail }, null);
          return;
        }
        if (outcome.kind === 'sale') counts.sales++;
        else if (outcome.kind === 'return') counts.returns++;
        else counts.adjustments++;
        if (outcome.duplicate) counts.duplicates++;
        if (outcome.disposed) counts.dispositions++;
      }),
    );
  };

  const handleChunk = async (chunk: CsvLine[]) => {
    for (const record of parseCsvLines(chunk)) await handleRecord(record);
    flushLetters();
    await lettersWritten;
    options.onProgress?.(counts.lines, estimate());
  };
  const estimate = () =>
    raw.bytesRead === 0
      ? counts.lines
      : Math.max(counts.lines, Math.round((counts.lines * fileBytes) / raw.bytesRead));

  const reading = (async () => {
    let chunk: CsvLine[] = [];
    for await (const line of streamLines(input)) {
      if (header === null) {
        const [parsed] = parseCsvLines([line]);
        if (parsed?.kind !== 'fields')
          throw new ReplayRefusedError(`${file}: the first line is not a CSV header`);
        const found = columnsOf(parsed.fields, RETAIL_COLUMNS, RETAIL_COLUMNS);
        if (!found.ok) {
          throw new ReplayRefusedError(
            `${file} is not a UCI Online Retail log: the header has ${found.reason}`,
          );
        }
        header = parsed.fields.map((name) => name.trim());
        columns = found.columns;
        continue;
      }
      chunk.push(line);
      if (chunk.length === csvChunkLinesMax) {
        await handleChunk(chunk);
        chunk = [];
      }
    }
    if (header === null) throw new ReplayRefusedError(`${file} is empty: no header line`);
    await handleChunk(chunk);
  })();
  // Observed by the race below; this only keeps a rejection after the race from going unhandled.
  reading.catch(() => {});
  try {
    await Promise.race([reading, failed]);
  } catch (error) {
    if (!(error instanceof ReplayRefusedError) || counts.lines === 0) throw error;
    // A file that breaks off (a truncated gzip): what was read before is replayed all the same.
    throw new ReplayRefusedError(
      `${error.message}; the ${counts.lines} lines read before were replayed (replaying the whole file ` +
        'again applies only the rest)',
    );
  } finally {
    // Whatever stopped the reading, the lines already submitted finish (and their letters are written).
    await window.drained().catch(() => {});
    flushLetters();
    await lettersWritten.catch(() => {});
  }
  await window.drained();
  await lettersWritten;
  options.onProgress?.(counts.lines, counts.lines);
  const elapsedSeconds = (performance.now() - startedMs) / 1000;
  return {
    file: options.file,
    policy,
    ...counts,
    deadLetters: { ...letters, byReason, nonProductByCode },
    elapsedSeconds,
    linesPerSecond: counts.lines / elapsedSeconds,
    saleLinesPerSecond: counts.sales / elapsedSeconds,
  };
}
