// Proves that reservation holds expire at their deadline on the real clock, through the log: with
// `ttlSeconds: 1` and a 20 ms expiry tick on an in-process engine over real LMDB files, an expired line's
// units return to available-to-sell and an engine-made `Expired` event is in the audit history; a hold
// whose deadline passes while the engine is closed expires as soon as the engine starts again (the tick is
// a minute then, so only start-up can do it); and a committed hold, or one without a time-to-live, never
// expires.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { channelId, commandId, locationId, reservationId, sku as skuOf } from '../../actors/index.ts';
import { loadConfig } from '../../engine/config.ts';
import type { CommandOutcome, Engine } from '../../engine/engine.ts';
import { createEngine } from '../../engine/engine.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import { silentLogger } from '../../engine/logger.ts';

const LOCATION = 'store-7';
const SKU = 'SKU-EXP';
const META = { correlationId: null, source: 'test:expiry' };
const tickMs = 20;
/** How late after its deadline an expiry may land: a few ticks plus a commit, on a loaded machine. */
const latenessMaxMs = 1_000;
/** Each test takes a second or two of real time; this only turns a hang into a failure. */
const testTimeoutMs = 30_000;
const directories: string[] = [];
const engines = new Set<Engine>();

after(async () => {
  for (const engine of engines) await engine.close();
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

function temporaryDataDir(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'stockledger-expiry-'));
  directories.push(directory);
  return directory;
}

async function open(dataDir: string, expiryTickMs: number): Promise<Engine> {
  const config = loadConfig({
    STOCKLEDGER_DATA_DIR: dataDir,
    STOCKLEDGER_SHARDS: '4',
    STOCKLEDGER_EXPIRY_TICK_MS: String(expiryTickMs),
  });
  const engine = await createEngine({ config, logger: silentLogger() });
  engines.add(engine);
  return engine;
}

async function close(engine: Engine): Promise<void> {
  engines.delete(engine);
  await engine.close();
}

let sequence = 0;
const base = () => ({
  commandId: commandId(`exp-${++sequence}`),
  sku: skuOf(SKU),
  location: locationId(LOCATION),
});

async function submit(engine: Engine, command: CommandInput): Promise<CommandOutcome> {
  const [answer] = await engine.submit([command], META);
  assert.ok(answer !== undefined);
  return answer.result;
}

/** Holds `qty` for `ttlSeconds` and returns the deadline the engine stamped on the hold. */
async function hold(
  engine: Engine,
  id: string,
  qty: number,
  ttlSeconds: number | null,
): Promise<number | null> {
  const result = await submit(engine, {
    ...base(),
    type: 'reserve',
    reservationId: reservationId(id),
    channel: channelId('web'),
    qty,
    ttlSeconds,
  });
  assert.ok(result.ok, `reserve ${id} was refused: ${JSON.stringify(result)}`);
  const reserved = result.events.find((event) => event.type === 'Reserved');
  assert.ok(reserved !== undefined && reserved.type === 'Reserved');
  return reserved.expiresAtMs;
}

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, durationMs)));
}

/** Polls until `condition` holds; false if it still does not after `withinMs`. */
async function eventually(condition: () => boolean, withinMs: number): Promise<boolean> {
  const untilMs = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > untilMs) return false;
    await sleep(5);
  }
  return true;
}

function expiredEvents(engine: Engine) {
  return engine
    .history(LOCATION, SKU, 1_000, null)
    .entries.filter((entry) => entry.event.type === 'Expired')
    .map(({ event, command, meta }) => ({ event, command, meta }));
}

test('a hold expires at its deadline: its units return to available-to-sell and Expired is in the history', {
  timeout: testTimeoutMs,
}, async () => {
  const engine = await open(temporaryDataDir(), tickMs);
  assert.ok((await submit(engine, { ...base(), type: 'receive', qty: 10 })).ok);
  const deadlineMs = await hold(engine, 'R-expiring', 4, 1);
  assert.ok(deadlineMs !== null);
  assert.deepEqual(
    {
      reserved: engine.position(LOCATION, SKU).reserved,
      available: engine.position(LOCATION, SKU).availableToSell,
    },
    { reserved: 4, available: 6 },
  );

  // Not early: shortly before the deadline the hold still stands.
  await sleep(deadlineMs - 200 - Date.now());
  if (Date.now() < deadlineMs - 50) assert.equal(engine.position(LOCATION, SKU).reserved, 4, 'expired early');

  assert.ok(
    await eventually(
      () => engine.position(LOCATION, SKU).reserved === 0,
      deadlineMs - Date.now() + latenessMaxMs,
    ),
    `the hold was not expired ${latenessMaxMs} ms after its deadline`,
  );
  const position = engine.position(LOCATION, SKU);
  assert.deepEqual(
    { onHand: position.onHand, reserved: position.reserved, availableToSell: position.availableToSell },
    { onHand: 10, reserved: 0, availableToSell: 10 },
  );

  const expired = expiredEvents(engine);
  assert.equal(expired.length, 1, 'exactly one Expired event');
  const [{ event, command, meta }] = expired as [(typeof expired)[number]];
  assert.ok(event.type === 'Expired');
  assert.equal(event.reservationId, 'R-expiring');
  assert.equal(event.qty, 4);
  assert.deepEqual(event.deltas, { reserved: -4 });
  assert.ok(event.atMs >= deadlineMs, `expired at ${event.atMs}, before its deadline ${deadlineMs}`);
  assert.ok(event.atMs < deadlineMs + latenessMaxMs, `expired ${event.atMs - deadlineMs} ms late`);
  assert.equal(command.type, 'expire');
  assert.equal(meta.source, 'engine:expiry');

  // The line is gone: it cannot be committed any more, and all ten units can be held again.
  const late = await submit(engine, {
    ...base(),
    type: 'commit',
    reservationId: reservationId('R-expiring'),
  });
  assert.ok(!late.ok && late.refusal.code === 'RESERVATION_NOT_FOUND', JSON.stringify(late));
  assert.ok((await hold(engine, 'R-after', 10, null)) === null);
  await close(engine);
});

test('a deadline that passes while the engine is closed expires when the engine starts', {
  timeout: testTimeoutMs,
}, async () => {
  const dataDir = temporaryDataDir();
  const first = await open(dataDir, tickMs);
  assert.ok((await submit(first, { ...base(), type: 'receive', qty: 5 })).ok);
  const deadlineMs = await hold(first, 'R-offline', 3, 1);
  assert.ok(deadlineMs !== null);
  await close(first);
  assert.ok(Date.now() < deadlineMs, 'the engine closed before the deadline');

  await sleep(deadlineMs + 100 - Date.now());
  // A one-minute tick (the longest allowed): only the start-up pass over the stored deadlines can expire it.
  const startedMs = Date.now();
  const second = await open(dataDir, 60_000);
  assert.equal(second.position(LOCATION, SKU).onHand, 5);
  assert.ok(
    await eventually(() => second.position(LOCATION, SKU).reserved === 0, latenessMaxMs),
    `reserved is still ${second.position(LOCATION, SKU).reserved} ${latenessMaxMs} ms after createEngine`,
  );
  assert.ok(Date.now() - startedMs < latenessMaxMs);
  assert.equal(second.position(LOCATION, SKU).availableToSell, 5);
  const expired = expiredEvents(second);
  assert.equal(expired.length, 1, 'exactly one Expired event');
  const [{ event }] = expired as [(typeof expired)[number]];
  assert.ok(event.type === 'Expired' && event.reservationId === 'R-offline' && event.qty === 3);
  assert.ok(event.atMs >= deadlineMs, `expired at ${event.atMs}, before its deadline ${deadlineMs}`);
  await close(second);

  // And it stays expired: a third start finds nothing more to do.
  const third = await open(dataDir, tickMs);
  await sleep(5 * tickMs);
  assert.equal(expiredEvents(third).length, 1);
  assert.equal(third.position(LOCATION, SKU).reserved, 0);
  await close(third);
});

test('a committed hold never expires, nor does a hold without a time-to-live', {
  timeout: testTimeoutMs,
}, async () => {
  const dataDir = temporaryDataDir();
  const first = await open(dataDir, tickMs);
  assert.ok((await submit(first, { ...base(), type: 'receive', qty: 10 })).ok);
  const deadlineMs = await hold(first, 'R-committed', 2, 1);
  assert.ok(deadlineMs !== null);
  const committed = await submit(first, {
    ...base(),
    type: 'commit',
    reservationId: reservationId('R-committed'),
  });
  assert.ok(committed.ok, JSON.stringify(committed));
  assert.equal(await hold(first, 'R-open-ended', 1, null), null);

  await sleep(deadlineMs + 10 * tickMs - Date.now());
  assert.equal(first.position(LOCATION, SKU).reserved, 3);
  assert.equal(expiredEvents(first).length, 0);
  await close(first);

  // Nor across a restart after the deadline.
  const second = await open(dataDir, tickMs);
  await sleep(10 * tickMs);
  assert.equal(second.position(LOCATION, SKU).reserved, 3);
  assert.equal(expiredEvents(second).length, 0);
  const fulfilled = await submit(second, {
    ...base(),
    type: 'fulfil',
    reservationId: reservationId('R-committed'),
    qty: null,
  });
  assert.ok(
    fulfilled.ok,
    `a committed hold past its first deadline can be fulfilled: ${JSON.stringify(fulfilled)}`,
  );
  assert.deepEqual(
    { onHand: second.position(LOCATION, SKU).onHand, reserved: second.position(LOCATION, SKU).reserved },
    { onHand: 8, reserved: 1 },
  );
  await close(second);
});
