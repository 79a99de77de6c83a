// Generators of command sequences for fc.commands: all fifteen command types, malformed commands, resends of
// earlier commands and reuses of their ids with another payload. Ids come from small pools so that they
// collide, quantities are mostly small, and the engine clock only moves forward. A generated step is an
// intent; it becomes a concrete command when it runs, against the model's clock and open lines, so that
// shrinking keeps every sequence meaningful.

import fc from 'fast-check';
import type { AdjustmentReason, Disposition, SkuLocationCommand } from '../../actors/commands.ts';
import { ADJUSTMENT_REASONS, DISPOSITIONS } from '../../actors/commands.ts';
import type { CommandId, LocationId, Sku } from '../../actors/ids.ts';
import { channelId, commandId, locationId, reservationId, returnId, transferId } from '../../actors/ids.ts';
import type { ChannelPolicy, Policy } from '../../actors/ledger.ts';
import { quantityMax, ttlSecondsMax } from '../../actors/limits.ts';
import type { Tally } from './ledger-checks.ts';
import { CHANNELS, checkActor, checkStep } from './ledger-checks.ts';
import type { Answer, World } from './ledger-harness.ts';
import type { WorldModel } from './world-model.ts';

const RESERVATIONS = ['r-1', 'r-2', 'r-3'] as const;
const RETURNS = ['ret-1', 'ret-2', 'ret-3'] as const;
const TRANSFERS = ['t-1', 't-2', 't-3'] as const;
/** Every location a transfer may name; actors live at some of them. */
const LOCATIONS = ['store-042', 'dc-1', 'store-007'] as const;

/**
 * A command on an open entry (line, lot, inbound transfer) names one of the entries open at that moment when
 * this is a number (its position in id order, modulo their count), else the pool id it was drawn with: most
 * such commands then find their entry, and the rest still probe the not-found refusals.
 */
type OpenPick = number | null;
const openPick: fc.Arbitrary<OpenPick> = fc.oneof(
  { weight: 2, arbitrary: fc.nat() },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** When a command on a reservation line arrives: after a random step, or on either side of its deadline. */
type Timing = 'step' | 'atDeadline' | 'justBefore';

type Draft =
  | { readonly type: 'receive' | 'sale'; readonly qty: number }
  | {
      readonly type: 'reserve';
      readonly reservationId: string;
      readonly channel: string;
      readonly qty: number;
      readonly ttlMs: number | null;
    }
  | {
      readonly type: 'release' | 'fulfil';
      readonly reservationId: string;
      readonly openPick: OpenPick;
      readonly qty: number | null;
      readonly timing: Timing;
    }
  | {
      readonly type: 'commit' | 'expire';
      readonly reservationId: string;
      readonly openPick: OpenPick;
      readonly timing: Timing;
    }
  | { readonly type: 'return'; readonly returnId: string; readonly qty: number; readonly reason: string }
  | {
      readonly type: 'dispose';
      readonly returnId: string;
      readonly openPick: OpenPick;
      readonly qty: number;
      readonly disposition: Disposition;
    }
  | { readonly type: 'transferOut'; readonly transferId: string; readonly qty: number; readonly peer: number }
  | { readonly type: 'transferIn'; readonly transferId: string; readonly qty: number; readonly peer: number }
  | {
      readonly type: 'transferReceive';
      readonly transferId: string;
      readonly openPick: OpenPick;
      readonly receivedQty: number;
    }
  | { readonly type: 'adjust'; readonly delta: number; readonly reason: AdjustmentReason }
  | { readonly type: 'count'; readonly counted: number }
  | { readonly type: 'setPolicy'; readonly policy: Policy };

/** The malformed commands, each wrong in exactly one field (named second). */
const MALFORMED = [
  ['receive qty 0', 'qty'],
  ['sale qty 2.5', 'qty'],
  ['reserve expiring at its own instant', 'expiresAtMs'],
  ['reserve beyond the longest TTL', 'expiresAtMs'],
  ['reserve with a bad id', 'reservationId'],
  ['release qty 0', 'qty'],
  ['transfer out to itself', 'destination'],
  ['adjust by 0', 'delta'],
  ['count -1', 'counted'],
  ['receive a transfer of -1', 'receivedQty'],
  ['policy share 1.5', 'policy.channels.web.share'],
  ['policy share below one basis point', 'policy.channels.web.share'],
  ['policy safety stock -1', 'policy.safetyStock'],
  ['return with a 201-character reason', 'reason'],
  ['dispose by burning', 'disposition'],
] as const;

export type Intent =
  | { readonly kind: 'command'; readonly target: number; readonly stepMs: number; readonly draft: Draft }
  | { readonly kind: 'malformed'; readonly target: number; readonly stepMs: number; readonly variant: number }
  /** The same command again (a client retry): it must answer as the first time. */
  | { readonly kind: 'resend'; readonly pick: number; readonly stepMs: number }
  /** An earlier command's id on another command: a conflict unless the payload happens to be the same. */
  | {
      readonly kind: 'reuse';
      readonly pick: number;
      readonly target: number;
      readonly stepMs: number;
      readonly draft: Draft;
    }
  /** A transfer between two actors of one SKU: shipped at the source, then arrived at the destination. */
  | {
      readonly kind: 'transfer';
      readonly source: number;
      readonly destination: number;
      readonly stepMs: number;
      readonly transferId: string;
      readonly qty: number;
    };

const smallQty = fc.integer({ min: 1, max: 5 });
const hugeQty = fc.constantFrom(1_000, 123_456, quantityMax);
/** Mostly a handful, sometimes dozens, now and then huge (up to the largest quantity a command may carry). */
const qty = fc.oneof(
  { weight: 12, arbitrary: smallQty },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 60 }) },
  { weight: 1, arbitrary: hugeQty },
);
/** Receipts run larger than sales so that sequences spend time in stock, not only below zero. */
const receivedQty = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 60 }) },
  { weight: 1, arbitrary: hugeQty },
);
const soldQty = fc.oneof(
  { weight: 60, arbitrary: fc.integer({ min: 1, max: 3 }) },
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 20 }) },
  { weight: 1, arbitrary: hugeQty },
);
const stepMs = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 600_000 }) },
);
const ttlMs = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 6_000 }) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant(ttlSecondsMax * 1_000) },
);
const timing = fc.constantFrom<Timing>('step', 'step', 'atDeadline', 'justBefore');
/** Decimal shares (some, like 0.29, that a double cannot hold exactly), whole basis points, and raw doubles. */
const share = fc.oneof(
  fc.constantFrom(0.07, 0.1, 0.25, 0.29, 1 / 3, 0.5, 0.57, 0.75, 1),
  fc.integer({ min: 1, max: 10_000 }).map((basisPoints) => basisPoints / 10_000),
  fc.double({ min: 0.0001, max: 1, noNaN: true }),
);
const policy: fc.Arbitrary<Policy> = fc.record({
  safetyStock: fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 100 }) },
  ),
  lowStockThreshold: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 })),
  channels: fc
    .uniqueArray(fc.tuple(fc.constantFrom(...CHANNELS), share), { selector: ([name]) => name, maxLength: 3 })
    .map((entries) =>
      Object.fromEntries(entries.map(([name, value]) => [name, { share: value }])),
    ) as fc.Arbitrary<Readonly<Record<string, ChannelPolicy>>>,
});

const draft: fc.Arbitrary<Draft> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('receive' as const), qty: receivedQty }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('sale' as const), qty: soldQty }) },
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('reserve' as const),
      reservationId: fc.constantFrom(...RESERVATIONS),
      channel: fc.constantFrom(...CHANNELS),
      qty: fc.oneof({ weight: 4, arbitrary: smallQty }, { weight: 1, arbitrary: qty }),
      ttlMs,
    }),
  },
  ...(['release', 'fulfil'] as const).map((type) => ({
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant(type),
      reservationId: fc.constantFrom(...RESERVATIONS),
      openPick,
      qty: fc.oneof(fc.constant(null), smallQty),
      timing,
    }),
  })),
  ...(['commit', 'expire'] as const).map((type) => ({
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant(type),
      reservationId: fc.constantFrom(...RESERVATIONS),
      openPick,
      timing,
    }),
  })),
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('return' as const),
      returnId: fc.constantFrom(...RETURNS),
      qty: smallQty,
      reason: fc.constantFrom('damaged', 'wrong size', ''),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('dispose' as const),
      returnId: fc.constantFrom(...RETURNS),
      openPick,
      qty: smallQty,
      disposition: fc.constantFrom(...DISPOSITIONS),
    }),
  },
  ...(['transferOut', 'transferIn'] as const).map((type) => ({
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant(type),
      transferId: fc.constantFrom(...TRANSFERS),
      qty: smallQty,
      peer: fc.nat({ max: LOCATIONS.length - 2 }),
    }),
  })),
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('transferReceive' as const),
      transferId: fc.constantFrom(...TRANSFERS),
      openPick,
      receivedQty: fc.oneof(fc.integer({ min: 0, max: 6 }), qty),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('adjust' as const),
      delta: fc.oneof(
        { weight: 4, arbitrary: smallQty },
        { weight: 4, arbitrary: smallQty.map((value) => -value) },
        { weight: 1, arbitrary: fc.constantFrom(-quantityMax, quantityMax) },
      ),
      reason: fc.constantFrom(...ADJUSTMENT_REASONS),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('count' as const),
      counted: fc.oneof(fc.nat({ max: 12 }), qty),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('setPolicy' as const), policy }) },
);

/** The intents of a sequence over `targets` actors; `transfers` adds transfers between them. */
export function intents(targets: number, transfers: readonly [number, number][]): fc.Arbitrary<Intent> {
  const target = fc.nat({ max: targets - 1 });
  const pick = fc.nat();
  const choices: fc.WeightedArbitrary<Intent>[] = [
    { weight: 30, arbitrary: fc.record({ kind: fc.constant('command' as const), target, stepMs, draft }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('malformed' as const),
        target,
        stepMs,
        variant: fc.nat({ max: MALFORMED.length - 1 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('resend' as const), pick, stepMs }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('reuse' as const), pick, target, stepMs, draft }) },
  ];
  if (transfers.length > 0) {
    choices.push({
      weight: 4,
      arbitrary: fc
        .record({
          kind: fc.constant('transfer' as const),
          route: fc.constantFrom(...transfers),
          stepMs,
          transferId: fc.constantFrom(...TRANSFERS),
          qty: smallQty,
        })
        .map(({ route: [source, destination], ...rest }) => ({ ...rest, source, destination })),
    });
  }
  return fc.oneof(...choices);
}

/** The actors and the model they are checked against; `tally` counts what the sequence reached. */
export interface Real {
  readonly world: World;
  readonly tally: Tally;
}

/** One generated step: it turns its intent into commands, sends them to both sides and checks every rule. */
export class Step implements fc.Command<WorldModel, Real> {
  constructor(readonly intent: Intent) {}

  check(model: Readonly<WorldModel>): boolean {
    return (this.intent.kind !== 'resend' && this.intent.kind !== 'reuse') || model.history.length > 0;
  }

  run(model: WorldModel, real: Real): void {
    const intent = this.intent;
    switch (intent.kind) {
      case 'command': {
        const draft = resolve(intent.draft, model, intent.target);
        const base = baseOf(model, intent.target, model.nextCommandId(), intent.stepMs, draft);
        submitAndCheck(model, real, intent.target, materialize(draft, base), null);
        return;
      }
      case 'malformed': {
        const base = baseOf(model, intent.target, model.nextCommandId(), intent.stepMs, null);
        const [command, field] = malformed(intent.variant, base);
        submitAndCheck(model, real, intent.target, command, field);
        return;
      }
      case 'resend': {
        const earlier = model.history[intent.pick % model.history.length]!;
        const command = { ...earlier, atMs: model.stamp(model.clockMs + intent.stepMs) };
        submitAndCheck(model, real, targetOf(model, command), command, null);
        return;
      }
      case 'reuse': {
        const earlier = model.history[intent.pick % model.history.length]!;
        const draft = resolve(intent.draft, model, intent.target);
        const base = baseOf(model, intent.target, earlier.commandId, intent.stepMs, draft);
        submitAndCheck(model, real, intent.target, materialize(draft, base), null);
        return;
      }
      case 'transfer':
        transfer(model, real, intent);
        return;
    }
  }

  toString(): string {
    return JSON.stringify(this.intent);
  }
}

interface Base {
  readonly commandId: CommandId;
  readonly sku: Sku;
  readonly location: LocationId;
  readonly atMs: number;
}

function openId(entries: ReadonlyMap<string, unknown>, pick: OpenPick, poolId: string): string {
  if (pick === null || entries.size === 0) return poolId;
  return [...entries.keys()].sort()[pick % entries.size]!;
}

/** The draft with its entry id chosen among the entries open now, when it asks for one. */
function resolve(draft: Draft, model: WorldModel, target: number): Draft {
  const ledger = model.ledgers[target]!;
  switch (draft.type) {
    case 'release':
    case 'fulfil':
    case 'commit':
    case 'expire':
      return { ...draft, reservationId: openId(ledger.lines, draft.openPick, draft.reservationId) };
    case 'dispose':
      return { ...draft, returnId: openId(ledger.lots, draft.openPick, draft.returnId) };
    case 'transferReceive':
      return { ...draft, transferId: openId(ledger.inbound, draft.openPick, draft.transferId) };
    default:
      return draft;
  }
}

/** The command's envelope, stamped by the engine clock; a line's command may wait for its deadline. */
function baseOf(model: WorldModel, target: number, id: string, stepMs: number, draft: Draft | null): Base {
  const address = model.addresses[target]!;
  let atMs = model.clockMs + stepMs;
  if (draft !== null && 'timing' in draft && draft.timing !== 'step') {
    const deadline = model.ledgers[target]!.lines.get(draft.reservationId)?.expiresAtMs ?? null;
    if (deadline !== null) atMs = draft.timing === 'atDeadline' ? deadline : deadline - 1;
  }
  return { commandId: commandId(id), sku: address.sku, location: address.location, atMs: model.stamp(atMs) };
}

function peerOf(base: Base, peer: number): LocationId {
  const others = LOCATIONS.filter((location) => location !== base.location);
  return locationId(others[peer % others.length]!);
}

function materialize(draft: Draft, base: Base): SkuLocationCommand {
  switch (draft.type) {
    case 'receive':
    case 'sale':
      return { ...base, type: draft.type, qty: draft.qty };
    case 'reserve':
      return {
        ...base,
        type: 'reserve',
        reservationId: reservationId(draft.reservationId),
        channel: channelId(draft.channel),
        qty: draft.qty,
        expiresAtMs: draft.ttlMs === null ? null : base.atMs + draft.ttlMs,
      };
    case 'release':
    case 'fulfil':
      return { ...base, type: draft.type, reservationId: reservationId(draft.reservationId), qty: draft.qty };
    case 'commit':
    case 'expire':
      return { ...base, type: draft.type, reservationId: reservationId(draft.reservationId) };
    case 'return':
      return {
        ...base,
        type: 'return',
        returnId: returnId(draft.returnId),
        qty: draft.qty,
        reason: draft.reason,
      };
    case 'dispose':
      return {
        ...base,
        type: 'dispose',
        returnId: returnId(draft.returnId),
        qty: draft.qty,
        disposition: draft.disposition,
      };
    case 'transferOut':
      return {
        ...base,
        type: 'transferOut',
        transferId: transferId(draft.transferId),
        qty: draft.qty,
        destination: peerOf(base, draft.peer),
      };
    case 'transferIn':
      return {
        ...base,
        type: 'transferIn',
        transferId: transferId(draft.transferId),
        qty: draft.qty,
        origin: peerOf(base, draft.peer),
      };
    case 'transferReceive':
      return {
        ...base,
        type: 'transferReceive',
        transferId: transferId(draft.transferId),
        receivedQty: draft.receivedQty,
      };
    case 'adjust':
      return { ...base, type: 'adjust', delta: draft.delta, reason: draft.reason };
    case 'count':
      return { ...base, type: 'count', counted: draft.counted };
    case 'setPolicy':
      return { ...base, type: 'setPolicy', policy: draft.policy };
  }
}

function malformed(variant: number, base: Base): [SkuLocationCommand, string] {
  const [name, field] = MALFORMED[variant]!;
  const line = reservationId('r-1');
  const web = channelId('web');
  const policy = (policy: Policy): SkuLocationCommand => ({ ...base, type: 'setPolicy', policy });
  const command = ((): SkuLocationCommand => {
    switch (name) {
      case 'receive qty 0':
        return { ...base, type: 'receive', qty: 0 };
      case 'sale qty 2.5':
        return { ...base, type: 'sale', qty: 2.5 };
      case 'reserve expiring at its own instant':
        return {
          ...base,
          type: 'reserve',
          reservationId: line,
          channel: web,
          qty: 1,
          expiresAtMs: base.atMs,
        };
      case 'reserve beyond the longest TTL': {
        const expiresAtMs = base.atMs + ttlSecondsMax * 1_000 + 1;
        return { ...base, type: 'reserve', reservationId: line, channel: web, qty: 1, expiresAtMs };
      }
      case 'reserve with a bad id': {
        const badId = reservationId('bad id');
        return { ...base, type: 'reserve', reservationId: badId, channel: web, qty: 1, expiresAtMs: null };
      }
      case 'release qty 0':
        return { ...base, type: 'release', reservationId: line, qty: 0 };
      case 'transfer out to itself':
        return {
          ...base,
          type: 'transferOut',
          transferId: transferId('t-1'),
          qty: 1,
          destination: base.location,
        };
      case 'adjust by 0':
        return { ...base, type: 'adjust', delta: 0, reason: 'correction' };
      case 'count -1':
        return { ...base, type: 'count', counted: -1 };
      case 'receive a transfer of -1':
        return { ...base, type: 'transferReceive', transferId: transferId('t-1'), receivedQty: -1 };
      case 'policy share 1.5':
        return policy({ safetyStock: 0, lowStockThreshold: 0, channels: { web: { share: 1.5 } } });
      case 'policy share below one basis point':
        return policy({ safetyStock: 0, lowStockThreshold: 0, channels: { web: { share: 0.00004 } } });
      case 'policy safety stock -1':
        return policy({ safetyStock: -1, lowStockThreshold: 0, channels: {} });
      case 'return with a 201-character reason':
        return { ...base, type: 'return', returnId: returnId('ret-1'), qty: 1, reason: 'x'.repeat(201) };
      case 'dispose by burning': {
        const disposition = 'burn' as string as Disposition;
        return { ...base, type: 'dispose', returnId: returnId('ret-1'), qty: 1, disposition };
      }
    }
  })();
  return [command, field];
}

function targetOf(model: WorldModel, command: SkuLocationCommand): number {
  const target = model.addresses.findIndex(
    (address) => address.sku === command.sku && address.location === command.location,
  );
  if (target < 0) throw new Error(`no actor for ${command.location}/${command.sku}`);
  return target;
}

/** A transfer's two legs as the engine's outbox runs them: the arrival follows only an accepted shipment. */
function transfer(model: WorldModel, real: Real, intent: Extract<Intent, { kind: 'transfer' }>): void {
  const source = model.addresses[intent.source]!;
  const destination = model.addresses[intent.destination]!;
  const unitsOf = (): number =>
    real.world
      .ledgers()
      .filter((ledger) => ledger.sku === source.sku)
      .reduce((sum, ledger) => sum + ledger.onHand + ledger.inTransit, 0);
  const unitsBefore = unitsOf();
  const shipment: SkuLocationCommand = {
    ...baseOf(model, intent.source, model.nextCommandId(), intent.stepMs, null),
    type: 'transferOut',
    transferId: transferId(intent.transferId),
    qty: intent.qty,
    destination: destination.location,
  };
  const answer = submitAndCheck(model, real, intent.source, shipment, null);
  if (answer.kind !== 'applied' || !answer.decision.ok) return;
  const arrival: SkuLocationCommand = {
    ...baseOf(model, intent.destination, model.nextCommandId(), 0, null),
    type: 'transferIn',
    transferId: transferId(intent.transferId),
    qty: intent.qty,
    origin: source.location,
  };
  const arrived = submitAndCheck(model, real, intent.destination, arrival, null);
  if (arrived.kind === 'applied' && arrived.decision.ok) {
    assertUnits(unitsOf(), unitsBefore);
  }
}

function assertUnits(after: number, before: number): void {
  if (after !== before) {
    throw new Error(
      `a transfer between locations changed the SKU's units on hand and in transit: ${before} -> ${after}`,
    );
  }
}

/** Submits one command to the model and to the actors, then runs every check. */
function submitAndCheck(
  model: WorldModel,
  real: Real,
  target: number,
  command: SkuLocationCommand,
  invalidField: string | null,
): Answer {
  const before = real.world.ledgers();
  const lines = model.ledgers[target]!;
  const reserveFits =
    command.type === 'reserve' &&
    invalidField === null &&
    !model.history.some((c) => c.commandId === command.commandId)
      ? !lines.lines.has(command.reservationId) &&
        command.qty <= lines.availableToSell() &&
        command.qty <= lines.exposure(command.channel)
      : null;
  const expected = model.submit(command, target, invalidField);
  let actual: Answer | null = null;
  try {
    actual = real.world.submit(command);
    const after = real.world.ledgers();
    checkStep({ command, invalidField, expected, actual, before, after, target, reserveFits }, real.tally);
    for (const [index, ledger] of model.ledgers.entries()) checkActor(real.world, index, ledger, real.tally);
    return actual;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `after command #${model.history.length} ${JSON.stringify(command)}\n` +
        `answered ${actual === null ? '(nothing: the harness failed first)' : JSON.stringify(actual)}\n${message}`,
      { cause: error },
    );
  }
}
