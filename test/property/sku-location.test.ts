// Proves DESIGN.md §2's rules on one SKU-location: fast-check (fc.commands + fc.modelRun) drives the real
// XState actor with random command sequences against an independent reference model, checks every rule and
// structural invariant after every command, then replays each sequence on a fresh actor.

import { test } from 'node:test';
import fc from 'fast-check';
import { locationId, sku } from '../../actors/ids.ts';
import { assertProperty, commandsReplayPath, replayingOneCounterexample } from '../helpers/fast-check.ts';
import type { Tally } from './ledger-checks.ts';
import { assertReached, checkDeterministicReplay } from './ledger-checks.ts';
import type { Real } from './ledger-commands.ts';
import { intents, Step } from './ledger-commands.ts';
import { World } from './ledger-harness.ts';
import { WorldModel } from './world-model.ts';

/** Sequences per `npm test`: with the several-actors property, above 10,000 in all. */
const numRuns = 12_000;
const commandsPerSequenceMax = 40;
const addresses = [{ sku: sku('SKU-1'), location: locationId('store-042') }];

/** What every full run must reach at least once, or the generators have gone blind to a rule. */
const reachable = [
  ...[
    'Received',
    'Sold',
    'Reserved',
    'Released',
    'Committed',
    'Fulfilled',
    'Expired',
    'Returned',
    'Disposed',
  ],
  ...['TransferShipped', 'TransferArrived', 'TransferReceived', 'Adjusted', 'Counted', 'PolicyChanged'],
  ...['AvailabilityChanged', 'ReservationsAtRisk'],
]
  .map((type) => `event:${type}`)
  .concat(
    [
      'INSUFFICIENT_STOCK',
      'INVALID_STATE',
      'RESERVATION_NOT_FOUND',
      'RESERVATION_EXPIRED',
      'RETURN_NOT_FOUND',
      'QUARANTINE_INSUFFICIENT',
      'TRANSFER_NOT_FOUND',
      'VALIDATION_FAILED',
      'IDEMPOTENCY_CONFLICT',
    ].map((code) => `refusal:${code}`),
  )
  .concat(['answer:replayed', 'answer:conflict', 'integrity:oversold', 'integrity:negative'])
  .concat(['availability:inStock', 'availability:lowStock', 'availability:outOfStock']);

test('one SKU-location keeps every ledger rule under random command sequences', () => {
  const tally: Tally = new Map();
  const steps = fc.commands([intents(1, []).map((intent) => new Step(intent))], {
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
  if (!replayingOneCounterexample) assertReached(tally, reachable);
});
