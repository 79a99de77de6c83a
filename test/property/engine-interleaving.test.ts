// Proves that any interleaving of caller commands over many SKU-locations and shards, with the engine closed
// and reopened at random points and time moved so that holds expire, keeps the engine's rules: a position
// after a reopen equals the one before; each actor applies its commands one at a time in arrival order;
// an accepted reservation never takes reserved above onHand - safetyStock (rule 2); a resubmitted command
// id answers its first outcome with `replayed: true` and changes nothing, and the same id with another body
// is refused (rule 5); and the log replays to the snapshots and every index (verifyDataDir). How: fast-check
// generates scenarios (waves of concurrent commands, reopen, advance time, resubmit), each run on a real
// engine over LMDB files in a fresh temporary directory, 4 shards, and a batch limit drawn per run so that
// bursts split into several batches in flight. The seed comes from FC_SEED and is printed on failure.

import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { IAsyncProperty } from 'fast-check';
import fc from 'fast-check';
import type { CommandId } from '../../actors/index.ts';
import {
  ADJUSTMENT_REASONS,
  channelId,
  commandId,
  DISPOSITIONS,
  locationId,
  reservationId,
  returnId,
  sku as skuOf,
  transferId,
} from '../../actors/index.ts';
import type { CommandOutcome } from '../../engine/engine.ts';
import { EngineError } from '../../engine/errors.ts';
import type { CommandInput, StockPosition } from '../../engine/inputs.ts';
import { verifyDataDir } from '../../engine/verify.ts';
import type { ActorAddress, ClockedEngine } from '../helpers/clocked-engine.ts';
import {
  actorKeyOfAddress,
  openClockedEngine,
  positionsOf,
  settle,
  TestClock,
} from '../helpers/clocked-engine.ts';
import { temporaryDirectory } from '../helpers/engine.ts';
import { propertyParameters } from '../helpers/fast-check.ts';

const SHARDS = 4;
/** Six locations that fall in three of the four shards, three SKUs each: 18 actors. */
const LOCATIONS = ['north', 'south', 'east', 'west', 'dock', 'mall'] as const;
const SKUS = ['a', 'b', 'c'] as const;
const ACTORS: ActorAddress[] = LOCATIONS.flatMap((location) => SKUS.map((sku) => ({ location, sku })));
const RUNS = 50;
/** A run that takes longer than this fails (shrinking included), so a slow failure still ends. */
const PROPERTY_TIME_LIMIT_MS = 180_000;
const META = { correlationId: null, source: 'test:interleaving' };

type CommandBody = CommandInput extends infer C
  ? C extends CommandInput
    ? Omit<C, 'commandId'>
    : never
  : never;

/** A command's own fields, without the address `command` draws for it. */
type CommandFields = CommandBody extends infer C
  ? C extends CommandBody
    ? Omit<C, 'sku' | 'location'>
    : never
  : never;

type Step =
  | { readonly kind: 'wave'; readonly commands: readonly CommandBody[] }
  | { readonly kind: 'reopen' }
  | { readonly kind: 'advance'; readonly byMs: number }
  | { readonly kind: 'resubmit'; readonly picks: readonly number[]; readonly conflicting: boolean };

interface Scenario {
  readonly batchCommandsMax: number;
  /** Received by every actor before the steps, so that holds and sales meet stock. */
  readonly openingStock: number;
  readonly steps: readonly Step[];
}

// ---- what fast-check draws ---------------------------------------------------------------------------

const addressArbitrary = fc
  .record({ location: fc.constantFrom(...LOCATIONS), sku: fc.constantFrom(...SKUS) })
  .map(({ location, sku }) => ({ location: locationId(location), sku: skuOf(sku) }));
const quantity = fc.integer({ min: 1, max: 12 });
const someQuantity = fc.option(fc.integer({ min: 1, max: 4 }), { nil: null });
/** Small pools, so that commands meet the lines, lots and transfers earlier commands made. */
const heldId = fc.constantFrom('r1', 'r2', 'r3', 'r4').map(reservationId);
const lotId = fc.constantFrom('t1', 't2').map(returnId);
const shipmentId = fc.constantFrom('x1', 'x2').map(transferId);
const otherLocation = fc.constantFrom(...LOCATIONS).map(locationId);

function command<F>(fields: fc.Arbitrary<F>, build: (fields: F) => CommandFields) {
  return fc
    .tuple(addressArbitrary, fields)
    .map(([address, drawn]) => ({ ...build(drawn), ...address }) as CommandBody);
}

const commandArbitrary: fc.Arbitrary<CommandBody> = fc.oneof(
  { weight: 5, arbitrary: command(quantity, (qty) => ({ type: 'receive', qty })) },
  { weight: 3, arbitrary: command(quantity, (qty) => ({ type: 'sale', qty })) },
  {
    weight: 6,
    arbitrary: command(
      fc.record({
        id: heldId,
        channel: fc.constantFrom('web', 'app'),
        qty: quantity,
        ttlSeconds: fc.option(fc.integer({ min: 1, max: 90 }), { nil: null }),
      }),
      ({ id, channel, qty, ttlSeconds }) => ({
        type: 'reserve',
        reservationId: id,
        channel: channelId(channel),
        qty,
        ttlSeconds,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: command(fc.tuple(heldId, someQuantity), ([id, qty]) => ({
      type: 'release',
      reservationId: id,
      qty,
    })),
  },
  { weight: 2, arbitrary: command(heldId, (id) => ({ type: 'commit', reservationId: id })) },
  {
    weight: 2,
    arbitrary: command(fc.tuple(heldId, someQuantity), ([id, qty]) => ({
      type: 'fulfil',
      reservationId: id,
      qty,
    })),
  },
  {
    weight: 2,
    arbitrary: command(fc.tuple(lotId, quantity), ([id, qty]) => ({
      type: 'return',
      returnId: id,
      qty,
      reason: 'customer return',
    })),
  },
  {
    weight: 2,
    arbitrary: command(
      fc.tuple(lotId, fc.integer({ min: 1, max: 6 }), fc.constantFrom(...DISPOSITIONS)),
      ([id, qty, disposition]) => ({
        type: 'dispose',
        returnId: id,
        qty,
        disposition,
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: command(fc.tuple(shipmentId, quantity, otherLocation), ([id, qty, destination]) => ({
      type: 'transferOut',
      transferId: id,
      qty,
      destination,
    })),
  },
  {
    weight: 1,
    arbitrary: command(fc.tuple(shipmentId, quantity, otherLocation), ([id, qty, origin]) => ({
      type: 'transferIn',
      transferId: id,
      qty,
      origin,
    })),
  },
  {
    weight: 1,
    arbitrary: command(fc.tuple(shipmentId, fc.integer({ min: 0, max: 12 })), ([id, receivedQty]) => ({
      type: 'transferReceive',
      transferId: id,
      receivedQty,
    })),
  },
  {
    weight: 2,
    arbitrary: command(
      fc.tuple(
        fc.integer({ min: -6, max: 6 }).filter((delta) => delta !== 0),
        fc.constantFrom(...ADJUSTMENT_REASONS),
      ),
      ([delta, reason]) => ({ type: 'adjust', delta, reason }),
    ),
  },
  {
    weight: 1,
    arbitrary: command(fc.integer({ min: 0, max: 30 }), (counted) => ({ type: 'count', counted })),
  },
  {
    weight: 1,
    arbitrary: command(
      fc.record({
        safetyStock: fc.integer({ min: 0, max: 5 }),
        lowStockThreshold: fc.integer({ min: 0, max: 5 }),
        webShare: fc.option(fc.constantFrom(0.3, 0.5, 1), { nil: null }),
      }),
      ({ safetyStock, lowStockThreshold, webShare }) => ({
        type: 'setPolicy',
        policy: {
          safetyStock,
          lowStockThreshold,
          channels: webShare === null ? {} : { web: { share: webShare } },
        },
      }),
    ),
  },
);

/**
 * A checkout that is settled at once: a hold with a deadline, then its release, commit or fulfilment on the
 * same actor, so that both often land in one batch.
 */
const heldThenSettledArbitrary: fc.Arbitrary<CommandBody[]> = fc
  .record({
    address: addressArbitrary,
    id: heldId,
    qty: quantity,
    ttlSeconds: fc.integer({ min: 1, max: 90 }),
    settledBy: fc.constantFrom('release', 'commit', 'fulfil'),
  })
  .map(({ address, id, qty, ttlSeconds, settledBy }) => [
    { type: 'reserve', reservationId: id, channel: channelId('web'), qty, ttlSeconds, ...address },
    settledBy === 'commit'
      ? { type: 'commit', reservationId: id, ...address }
      : { type: settledBy, reservationId: id, qty: null, ...address },
  ]);

/** A return and its inspection, so that dispositions meet the lots they dispose of. */
const returnedThenDisposedArbitrary: fc.Arbitrary<CommandBody[]> = fc
  .record({
    address: addressArbitrary,
    id: lotId,
    qty: quantity,
    disposedQty: fc.integer({ min: 1, max: 12 }),
    disposition: fc.constantFrom(...DISPOSITIONS),
  })
  .map(({ address, id, qty, disposedQty, disposition }) => [
    { type: 'return', returnId: id, qty, reason: 'customer return', ...address },
    { type: 'dispose', returnId: id, qty: disposedQty, disposition, ...address },
  ]);

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(
        fc.oneof(
          { weight: 6, arbitrary: commandArbitrary.map((body) => [body]) },
          { weight: 1, arbitrary: heldThenSettledArbitrary },
          { weight: 1, arbitrary: returnedThenDisposedArbitrary },
        ),
        { minLength: 1, maxLength: 30, size: 'medium' },
      )
      .map((groups) => ({ kind: 'wave' as const, commands: groups.flat() })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 500, max: 100_000 }).map((byMs) => ({ kind: 'advance' as const, byMs })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ picks: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), conflicting: fc.boolean() })
      .map(({ picks, conflicting }) => ({ kind: 'resubmit' as const, picks, conflicting })),
  },
);

const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  batchCommandsMax: fc.constantFrom(2, 16, 2048),
  openingStock: fc.integer({ min: 0, max: 40 }),
  steps: fc.array(stepArbitrary, { minLength: 2, maxLength: 10, size: 'medium' }),
});

// ---- one run -----------------------------------------------------------------------------------------

interface Sent {
  readonly input: CommandInput;
  readonly first: CommandOutcome;
}

function samePositions(
  actual: Map<string, StockPosition>,
  expected: Map<string, StockPosition>,
  when: string,
) {
  for (const [key, position] of expected) assert.deepStrictEqual(actual.get(key), position, `${key} ${when}`);
}

/**
 * Rules 2 and the actor model within one wave: per actor, outcomes come in submission order, each accepted
 * one continuing the version where the previous one stopped, each refused one leaving it unchanged.
 * (The clock does not move during a wave, so no expiry can interleave.)
 */
function checkWave(
  inputs: readonly CommandInput[],
  outcomes: readonly CommandOutcome[],
  before: Map<string, StockPosition>,
) {
  const versions = new Map([...before].map(([key, position]) => [key, position.version]));
  for (const [at, input] of inputs.entries()) {
    const outcome = outcomes[at]!;
    const key = actorKeyOfAddress(input);
    const version = versions.get(key)!;
    assert.equal(outcome.commandId, input.commandId);
    if (outcome.ok) {
      assert.equal(
        outcome.events[0]?.version,
        version + 1,
        `${input.commandId} on ${key} continues at ${version + 1}`,
      );
      assert.equal(outcome.position.version, version + outcome.events.length);
      versions.set(key, outcome.position.version);
      if (input.type === 'reserve') {
        const { reserved, onHand, safetyStock } = outcome.position;
        assert.ok(
          reserved <= onHand - safetyStock,
          `${input.commandId} reserved ${reserved} of ${onHand} - ${safetyStock}`,
        );
      }
    } else {
      assert.equal(outcome.position.version, version, `refused ${input.commandId} changed ${key}`);
    }
  }
}

async function runScenario(scenario: Scenario): Promise<void> {
  const directory = temporaryDirectory('interleaving');
  const clock = new TestClock();
  const settings = { shards: SHARDS, batchCommandsMax: scenario.batchCommandsMax };
  let subject: ClockedEngine | null = await openClockedEngine(directory.path, clock, settings);
  const sent: Sent[] = [];
  let nextCommand = 0;
  const freshId = (): CommandId => commandId(`cmd-${++nextCommand}`);
  try {
    if (scenario.openingStock > 0) {
      const opening = ACTORS.map(({ location, sku }) => ({
        type: 'receive' as const,
        commandId: freshId(),
        location: locationId(location),
        sku: skuOf(sku),
        qty: scenario.openingStock,
      }));
      const answers = await subject.engine.submit(opening, META);
      for (const [at, input] of opening.entries()) sent.push({ input, first: answers[at]!.result });
    }
    for (const step of scenario.steps) {
      const engine: ClockedEngine = subject;
      switch (step.kind) {
        case 'wave': {
          const before = positionsOf(engine.engine, ACTORS);
          const inputs = step.commands.map((body) => ({ ...body, commandId: freshId() }) as CommandInput);
          const answers = await engine.engine.submit(inputs, META);
          assert.ok(
            answers.every((answer) => !answer.replayed),
            'a fresh command id was answered as a replay',
          );
          const outcomes = answers.map((answer) => answer.result);
          checkWave(inputs, outcomes, before);
          for (const [at, input] of inputs.entries()) sent.push({ input, first: outcomes[at]! });
          break;
        }
        case 'advance':
          clock.advance(step.byMs);
          await settle(engine);
          break;
        case 'reopen': {
          await settle(engine);
          const before = positionsOf(engine.engine, ACTORS);
          await engine.engine.close();
          assert.deepEqual(engine.fatalErrors, []);
          subject = null;
          subject = await openClockedEngine(directory.path, clock, settings);
          samePositions(positionsOf(subject.engine, ACTORS), before, 'after reopening');
          break;
        }
        case 'resubmit': {
          if (sent.length === 0) break;
          await settle(engine);
          const before = positionsOf(engine.engine, ACTORS);
          const records = engine.engine.store.log.getCount();
          const again = step.picks.map((pick) => sent[pick % sent.length]!);
          const answers = await engine.engine.submit(
            again.map(({ input }) => input),
            META,
          );
          for (const [at, { input, first }] of again.entries()) {
            assert.equal(answers[at]!.replayed, true, `resubmitted ${input.commandId} was applied again`);
            assert.deepStrictEqual(
              answers[at]!.result,
              first,
              `resubmitted ${input.commandId} answered differently`,
            );
          }
          if (step.conflicting) {
            const { input } = again[0]!;
            const altered = { ...input, sku: skuOf(input.sku === SKUS[0] ? SKUS[1] : SKUS[0]) };
            await assert.rejects(
              engine.engine.submit([altered], META),
              (error: unknown) => error instanceof EngineError && error.code === 'IDEMPOTENCY_CONFLICT',
            );
          }
          samePositions(positionsOf(engine.engine, ACTORS), before, 'after resubmits');
          assert.equal(engine.engine.store.log.getCount(), records, 'resubmits logged something');
          break;
        }
      }
    }
    await settle(subject);
    await subject.engine.close();
    assert.deepEqual(subject.fatalErrors, []);
    subject = null;
    const report = await verifyDataDir({ dataDir: directory.path });
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
  } finally {
    if (subject !== null) await subject.engine.close();
    directory.remove();
  }
}

/** `assertProperty` from the helper, for a property that awaits: the same seed and replay line on failure. */
async function assertAsyncProperty<Ts>(property: IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  const details = await fc.check(property, {
    ...propertyParameters<Ts>(numRuns),
    interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
    markInterruptAsFailure: true,
  });
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details) ?? 'property failed';
  const settings = [`FC_SEED=${details.seed}`];
  if (details.counterexamplePath !== null) settings.push(`FC_PATH=${details.counterexamplePath}`);
  const file = relative(process.cwd(), fileURLToPath(import.meta.url));
  const failure =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `replay with: ${settings.join(' ')} npx tsx --test ${file}\n${report}\nFailure: ${failure}`,
    {
      cause: details.errorInstance,
    },
  );
}

describe('engine interleavings', () => {
  it('keep every rule through concurrent waves, reopening, expiry and resubmits', async () => {
    await assertAsyncProperty(fc.asyncProperty(scenarioArbitrary, runScenario), RUNS);
  });
});
