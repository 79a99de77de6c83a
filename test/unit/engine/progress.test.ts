// Proves the plain form of CLI progress (engine/progress.ts), used when stderr is a file or a pipe:
// a line at the first update, then at most one per interval however often it is updated, each with the
// count, the percentage, the rate and the ETA; and a last line on stop for work done since.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { progressFor } from '../../../engine/progress.ts';

const intervalMs = 50;

test('not a terminal: periodic plain lines with rate and ETA, and a last line on stop', async () => {
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  assert.notEqual((output as { isTTY?: boolean }).isTTY, true);
  const progress = progressFor('import', 'rows', output, intervalMs);
  const total = 1_000;
  let done = 0;
  const startedMs = Date.now();
  // Updated every few milliseconds for about five intervals: far more updates than lines.
  let updates = 0;
  while (Date.now() - startedMs < intervalMs * 5) {
    done += 3;
    progress.update(done, total);
    updates++;
    await sleep(2);
  }
  progress.update(done + 1, total);
  progress.stop();
  await sleep(1);
  const lines = text.trimEnd().split('\n');
  const pattern = /^import: (\d+)\/1000 rows \((\d+)%\), (\d+) rows\/s, ETA (\d+s|unknown)$/;
  for (const line of lines) assert.match(line, pattern);
  // One at the start, about one per interval, one at stop; never one per update.
  assert.ok(lines.length >= 4, `expected periodic lines, got ${lines.length}:\n${text}`);
  assert.ok(lines.length <= 8, `expected at most one line per interval, got ${lines.length}`);
  assert.ok(updates > lines.length * 3);
  const counts = lines.map((line) => Number(pattern.exec(line)![1]));
  assert.deepEqual(
    counts,
    counts.toSorted((a, b) => a - b),
  );
  assert.equal(counts[0], 3);
  assert.equal(counts.at(-1), done + 1);
  const [, , percent, rate, eta] = pattern.exec(lines.at(-1)!)!;
  assert.equal(Number(percent), Math.floor(((done + 1) * 100) / total));
  assert.ok(Number(rate) > 0);
  assert.notEqual(eta, 'unknown');
});

test('stop after nothing new since the last line prints nothing more', async () => {
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const progress = progressFor('export', 'records', output, 60_000);
  progress.update(10, 10);
  progress.stop();
  await sleep(1);
  assert.match(text, /^export: 10\/10 records \(100%\), \d+ records\/s, ETA 0s\n$/);
});
