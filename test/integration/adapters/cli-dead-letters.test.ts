// Proves `stockledger dead-letters list|retry|discard` as a user runs them (the bin, on a data directory
// no server holds): letters written by a replay and by an NDJSON backlog are listed with filters; a
// retry as stored that fails again exits 1 with the error and leaves the letter open with the failure
// in its history; a retry with a corrected payload (--body) runs it through the adapter that wrote it
// (the same code as POST /v1/dead-letters/{id}/retry: the replay's mapping, POST /v1/sales's schema and
// mutation) and marks the letter retried; a discard keeps the letter, marked, with its reason.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replayFile } from '../../../adapters/replay/replay.ts';
import type { DeadLetterRecord } from '../../../engine/store/records.ts';
import { openEngine, temporaryDirectory } from '../../helpers/engine.ts';
import { HEADER, LINES } from '../../helpers/online-retail-lines.ts';

const bin = fileURLToPath(new URL('../../../engine/stockledger.js', import.meta.url));
const directory = temporaryDirectory('cli-dead-letters');
const dataDir = path.join(directory.path, 'data');
/** The CLI runs with the default shard count, so the directory is made with it. */
const DEFAULT_SHARDS = { STOCKLEDGER_SHARDS: '64' };
after(() => directory.remove());

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [bin, 'dead-letters', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface LetterView {
  id: string;
  adapter: string;
  reason: string;
  status: string;
  payload: { line?: number; record?: Record<string, string> } | string;
  history: { action: string; note: string }[];
}

function list(...filters: string[]): LetterView[] {
  const run = cli('list', '--data-dir', dataDir, '--json', '--limit', '500', ...filters);
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { letters: LetterView[] }).letters;
}

function letterOfLine(letters: readonly LetterView[], line: number): LetterView {
  const found = letters.find((letter) => typeof letter.payload === 'object' && letter.payload.line === line);
  assert.ok(found !== undefined, `no letter for line ${line}`);
  return found;
}

async function position(location: string, sku: string): Promise<number> {
  const engine = await openEngine(dataDir, DEFAULT_SHARDS);
  try {
    return engine.position(location, sku).onHand;
  } finally {
    await engine.close();
  }
}

let backlogLetter: DeadLetterRecord;
before(async () => {
  const log = path.join(directory.path, 'log.csv');
  writeFileSync(log, `${HEADER}\n${LINES.map(([line]) => line).join('\n')}\n`);
  const engine = await openEngine(dataDir, DEFAULT_SHARDS);
  await replayFile({
    engine,
    file: log,
    policy: 'none',
    inFlightMax: 100,
    meta: { correlationId: 'test', source: 'cli:replay' },
  });
  // As POST /v1/sales:batch records a line it could not apply.
  backlogLetter = await engine.deadLetters.add({
    adapter: 'http:sales:batch',
    reason: 'VALIDATION_FAILED: line 1: /lines/0/qty must be >= 1',
    payload: JSON.stringify({
      transactionId: 'pos-9-1',
      location: 'store-9',
      lines: [{ sku: 'SKU-9', qty: 0 }],
    }),
  });
  await engine.close();
});

describe('stockledger dead-letters', () => {
  test('list shows every letter, filtered by status, adapter and reason, as JSON or as lines', () => {
    assert.equal(list().length, 10);
    assert.equal(list('--adapter', 'cli:replay', '--reason', 'MALFORMED', '--status', 'open').length, 7);
    const text = cli('list', '--data-dir', dataDir, '--reason', 'NON_PRODUCT');
    assert.equal(text.status, 0, text.stderr);
    assert.match(
      text.stdout,
      /^dl-\S+ +open +cli:replay +NON_PRODUCT: POST \(postage\) is not stock\n1 letters\n$/,
    );
    const paged = cli('list', '--data-dir', dataDir, '--limit', '4');
    assert.match(paged.stdout, /4 letters; more after dl-\S+ \(--after dl-\S+\)\n$/);
    const none = cli('list', '--data-dir', path.join(directory.path, 'nothing'));
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^stockledger dead-letters: no stockledger data in /);
  });

  test('retry: as stored it fails again and stays open; corrected (--body) it is applied and marked retried', async () => {
    const letter = letterOfLine(list('--adapter', 'cli:replay'), 9);
    const failed = cli('retry', letter.id, '--data-dir', dataDir);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /VALIDATION_FAILED: MALFORMED: Quantity "one" is not a whole number/);
    const open = letterOfLine(list('--adapter', 'cli:replay'), 9);
    assert.equal(open.status, 'open');
    assert.deepEqual(
      open.history.map((step) => step.action),
      ['retry-failed'],
    );

    const payload = letter.payload as { record: Record<string, string> };
    const corrected = path.join(directory.path, 'corrected.json');
    writeFileSync(corrected, JSON.stringify({ ...payload, record: { ...payload.record, Quantity: '1' } }));
    const retried = cli(
      'retry',
      letter.id,
      '--data-dir',
      dataDir,
      '--body',
      corrected,
      '--note',
      'keyed as one',
      '--json',
    );
    assert.equal(retried.status, 0, retried.stderr);
    const answer = JSON.parse(retried.stdout) as {
      letter: LetterView;
      outcome: { status: number; replayed: boolean };
    };
    assert.equal(answer.letter.status, 'retried');
    assert.deepEqual(answer.outcome, {
      status: 201,
      replayed: false,
      body: { kind: 'sale', duplicate: false, disposed: false },
    });
    assert.match(
      answer.letter.history.at(-1)?.note ?? '',
      /^with a corrected payload; answered 201; keyed as one$/,
    );
    assert.equal(await position('france', '85123A'), -1);
    const twice = cli('retry', letter.id, '--data-dir', dataDir);
    assert.equal(twice.status, 1);
    assert.match(twice.stderr, /INVALID_STATE: dead letter \S+ is retried/);
  });

  test("retry runs a backlog line through POST /v1/sales's schema and mutation", async () => {
    const failed = cli('retry', backlogLetter.id, '--data-dir', dataDir);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /VALIDATION_FAILED: \/lines\/0\/qty must be >= 1/);
    const corrected = path.join(directory.path, 'sale.json');
    writeFileSync(
      corrected,
      JSON.stringify({ transactionId: 'pos-9-1', location: 'store-9', lines: [{ sku: 'SKU-9', qty: 2 }] }),
    );
    const retried = cli('retry', backlogLetter.id, '--data-dir', dataDir, '--body', corrected);
    assert.equal(retried.status, 0, retried.stderr);
    assert.match(retried.stdout, /^dl-\S+ retried: answered 201\n/);
    assert.equal(await position('store-9', 'SKU-9'), -2);
  });

  test('discard keeps the letter, marked, with the reason; a discarded letter cannot be retried', () => {
    const letter = letterOfLine(list('--adapter', 'cli:replay', '--reason', 'NON_PRODUCT'), 6);
    const discarded = cli('discard', letter.id, '--data-dir', dataDir, '--reason', 'postage is not stock');
    assert.equal(discarded.status, 0, discarded.stderr);
    assert.equal(discarded.stdout, `${letter.id} discarded: postage is not stock\n`);
    const kept = list('--status', 'discarded');
    assert.deepEqual(
      kept.map((found) => [found.id, found.history.map((step) => [step.action, step.note])]),
      [[letter.id, [['discard', 'postage is not stock']]]],
    );
    assert.match(
      cli('retry', letter.id, '--data-dir', dataDir).stderr,
      /INVALID_STATE: dead letter \S+ is discarded/,
    );
    const noReason = cli('discard', letter.id, '--data-dir', dataDir);
    assert.notEqual(noReason.status, 0);
    assert.match(noReason.stderr, /--reason/);
    const unknown = cli('discard', 'dl-none', '--data-dir', dataDir, '--reason', 'x');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /NOT_FOUND: no dead letter dl-none/);
  });
});
