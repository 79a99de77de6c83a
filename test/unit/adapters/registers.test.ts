// Proves the POS register tracker on hand-made sightings: consecutive sequences extend a register, a
// jump opens a gap (reported to listeners and counted as missing), a late sale closes its part of a
// gap whatever the order, a sequence seen before is a duplicate, and a store's sync lag follows the
// newest occurredAt only (a late sale never moves it back). Bounds: gaps per register are capped.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Gap } from '../../../adapters/pos/registers.ts';
import { gapsPerRegisterMax, RegisterTracker } from '../../../adapters/pos/registers.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 10, 22, 14, minute)).toISOString();
const nowMs = Date.UTC(2026, 10, 22, 15, 0);

test('gaps open on jumps, close on late sales, and duplicates are counted', () => {
  const tracker = new RegisterTracker();
  const opened: Gap[] = [];
  tracker.onGap((_register, gap) => opened.push(gap));
  const sight = (sequence: number, replayed = false, minute = sequence) =>
    tracker.observe(
      { location: 'store-1', register: '07', sequence, occurredAt: at(minute) },
      replayed,
      nowMs,
    );
  assert.equal(sight(10), 'first');
  assert.equal(sight(11), 'next');
  assert.equal(sight(15), 'gap');
  assert.equal(sight(13), 'late');
  assert.equal(sight(13), 'duplicate');
  assert.equal(sight(11, true), 'duplicate');
  assert.equal(sight(20), 'gap');
  assert.deepEqual(opened, [
    { from: 12, to: 14 },
    { from: 16, to: 19 },
  ]);
  const [view] = tracker.registers({ limit: 10 });
  assert.deepEqual(view?.gaps, [
    { from: 12, to: 12 },
    { from: 14, to: 14 },
    { from: 16, to: 19 },
  ]);
  assert.equal(view?.missing, 6);
  assert.equal(tracker.missing(), 6);
  assert.equal(view?.lastSequence, 20);
  assert.equal(view?.duplicates, 2);
  assert.deepEqual(tracker.totals(), { gapSales: 7, gaps: 2, duplicates: 2, late: 1 });
  assert.equal(tracker.registers({ withGaps: true, limit: 10 }).length, 1);
});

test('sync lag follows the newest occurredAt; a late sale does not move it back', () => {
  const tracker = new RegisterTracker();
  tracker.observe({ location: 'store-2', occurredAt: at(30) }, false, nowMs);
  tracker.observe({ location: 'store-2', occurredAt: at(5) }, false, nowMs);
  const [store] = tracker.stores();
  assert.equal(store?.lastOccurredAtMs, Date.parse(at(30)));
  assert.equal(store?.sales, 2);
});

test('gaps per register are bounded; the oldest stop counting as missing', () => {
  const tracker = new RegisterTracker();
  for (let gap = 0; gap <= gapsPerRegisterMax + 5; gap++) {
    tracker.observe({ location: 'store-3', register: 'R', sequence: gap * 2 }, false, nowMs);
  }
  const [view] = tracker.registers({ limit: 1 });
  assert.equal(view?.gaps.length, gapsPerRegisterMax);
  assert.equal(tracker.missing(), gapsPerRegisterMax);
});
