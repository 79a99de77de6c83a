// Proves the ledger rules hold across several SKU-locations at once: fast-check (fc.commands + fc.modelRun)
// drives four real actors (two SKUs at two locations) behind one idempotency table, with transfers between
// locations run as the outbox will run them, against one reference model per actor; a command changes only
// its own actor, a transfer keeps the SKU's units on hand plus in transit, and every sequence replays exactly.

import { test } from 'node:test';
import fc from 'fast-check';
import { locationId, sku } from '../../actors/ids.ts';
import { assertProperty, commandsReplayPath, replayingOneCounterexample } from '../helpers/fast-check.ts';
import type { Tally } from './ledger-checks.ts';
import { assertReached, checkDeterministicReplay } from './ledger-checks.ts';
import type { Real } from './ledger-commands.ts';
import { intents, Step } from './ledger-commands.ts';
import type { Address } from './ledger-harness.ts';
import { World } from './ledger-harness.ts';
import { WorldModel } from './world-model.ts';

/** Sequences per `npm test`: with the one-actor property, above 10,000 in all. */
const numRuns = 3_000;
const commandsPerSequenceMax = 40;
const addresses: readonly Address[] = [
  { sku: sku('SKU-1'), location: locationId('store-042') },
  { sku: sku('SKU-1'), location: locationId('dc-1') },
  { sku: sku('SKU-2'), location: locationId('store-042') },
  { sku: sku('SKU-2'), location: locationId('dc-1') },
];
/** Source and destination targets of the transfers: same SKU, other location. */
const routes: readonly [number, number][] = [
  [0, 1],
  [1, 0],
  [2, 3],
  [3, 2],
];

test('several SKU-locations keep every ledger rule, apart and across transfers', () => {
  const tally: Tally = new Map();
  const steps = fc.commands([intents(addresses.length, routes).map((intent) => new Step(intent))], {
    maxCommands: commandsPerSequenceMax,
    size: 'max',
    ...commandsReplayPath,
  });
  const property = fc.property(steps, (sequence) => {
    const world = new World(addresses);
    const real: Real = { world, tally };
    fc.modelRun(() => ({ model: new WorldModel(addresses), real }), sequence);
    checkDeterministicReplay(world, new World(addresses));
  });
  assertProperty(property, numRuns, import.meta.url);
  if (!replayingOneCounterexample) {
    assertReached(tally, [
      'event:TransferShipped',
      'event:TransferArrived',
      'answer:conflict',
      'answer:replayed',
    ]);
  }
});
