// Proves the benchmark's pure helpers behave as the peers suite relies on: the Zipf picker's
// rank-to-index scattering is a bijection and its ranks follow 1/(r+1)^s (checked against the exact
// probabilities on a small catalogue with many draws), the POS backlog's duplicates repeat earlier
// sales exactly and are counted, the final-state check calls any disagreement WRONG, the ledger audit
// sums and flags what hand-built ledgers hold, and the chart escapes what it prints.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { channelId, emptyLedger, locationId, reservationId, sku } from '../../../actors/index.ts';
import { escapeXml } from '../../../bench/chart.ts';
import { auditLedgers, checkOf } from '../../../bench/systems/audit.ts';
import { posBacklog } from '../../../bench/workloads/backlog.ts';
import { Random } from '../../../bench/workloads/random.ts';
import { Zipf } from '../../../bench/workloads/zipf.ts';

test('Zipf scattering maps ranks onto every index exactly once', () => {
  for (const size of [1, 7, 100, 1_000_000]) {
    const zipf = new Zipf(size, 0.99);
    const seen = new Set<number>();
    for (let rank = 0; rank < size; rank++) seen.add(zipf.indexOfRank(rank));
    assert.equal(seen.size, size);
    assert.ok([...seen].every((index) => index >= 0 && index < size));
  }
});

test('Zipf ranks are drawn in proportion to 1/(rank+1)^exponent', () => {
  const size = 50;
  const exponent = 1.1;
  const zipf = new Zipf(size, exponent);
  const random = new Random(12_345);
  const draws = 200_000;
  const counts = new Array<number>(size).fill(0);
  for (let at = 0; at < draws; at++) counts[zipf.rankOf(random.next())]! += 1;
  const weights = Array.from({ length: size }, (_, rank) => 1 / (rank + 1) ** exponent);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  for (const rank of [0, 1, 4, 49]) {
    const expected = (draws * weights[rank]!) / total;
    // Five standard deviations of a binomial count: fails only if the sampler is wrong.
    const tolerance = 5 * Math.sqrt(expected);
    assert.ok(
      Math.abs(counts[rank]! - expected) < tolerance,
      `rank ${rank}: ${counts[rank]} draws, expected ${expected.toFixed(0)} ± ${tolerance.toFixed(0)}`,
    );
  }
});

test('a POS backlog repeats earlier sales verbatim and counts them as duplicates', () => {
  const backlog = posBacklog({ sales: 10_000, duplicateShare: 0.05, seed: 7, prefix: 't' });
  assert.equal(backlog.operations.length, 10_000);
  const ids = backlog.operations.map((issued) => issued.id);
  assert.equal(new Set(ids).size, backlog.unique);
  assert.equal(backlog.unique + backlog.duplicates, 10_000);
  assert.ok(backlog.duplicates > 350 && backlog.duplicates < 650, `${backlog.duplicates} duplicates`);
  const first = new Map<string, unknown>();
  for (const issued of backlog.operations) {
    const earlier = first.get(issued.id);
    if (earlier === undefined) first.set(issued.id, issued.operation);
    else assert.deepEqual(issued.operation, earlier);
  }
});

test('the chart escapes markup in names', () => {
  assert.equal(escapeXml('a<b & "c">'), 'a&lt;b &amp; &quot;c&quot;&gt;');
});

test('a final state that disagrees with what was acknowledged is WRONG, whatever its speed', () => {
  const clean = { oversoldUnits: 0, holds: 10, onHandUnits: 100, reservedUnits: 10, inconsistent: 0 };
  assert.equal(checkOf(clean, 10).correct, true);
  const oversold = checkOf({ ...clean, oversoldUnits: 1 }, 10);
  assert.equal(oversold.correct, false);
  assert.match(oversold.text, /^WRONG: 1 units oversold/);
  assert.equal(checkOf(clean, 11).correct, false, 'an acknowledged hold missing from the store');
  assert.equal(checkOf({ ...clean, inconsistent: 1 }, 10).correct, false);
  assert.equal(checkOf(clean, 10, [[false, 'W2: 9 holds succeeded']]).text.includes('W2: 9 holds'), true);
});

test('the ledger audit sums what the ledgers hold and flags reserved that differs from the lines', () => {
  const base = { ...emptyLedger(sku('s'), locationId('l')), onHand: 5 };
  const line = {
    qty: 2,
    channel: channelId('web'),
    state: 'held' as const,
    expiresAtMs: null,
    heldAtVersion: 1,
  };
  const holding = { ...base, reserved: 2, reservations: [{ ...line, id: reservationId('r1') }] };
  const overheld = { ...base, onHand: 1, reserved: 2, reservations: [{ ...line, id: reservationId('r2') }] };
  const drifted = { ...base, reserved: 3, reservations: [{ ...line, id: reservationId('r3') }] };
  const audit = auditLedgers([holding, overheld, drifted]);
  assert.deepEqual(audit, { oversoldUnits: 1, holds: 3, onHandUnits: 11, reservedUnits: 7, inconsistent: 1 });
});
