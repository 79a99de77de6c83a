// The crash tests' workload: a seeded, deterministic stream of commands, regenerated the same way by the
// child that submits it and by the test that checks what survived. The stream never looks at outcomes, so
// (seed, cycle) and a length say exactly which commands a child could have sent.
//
// Two kinds of SKU share the locations. "Totals" SKUs only ever see receive, sale and adjust, which are
// never refused, so their on-hand is a plain sum of what was applied. "Mixed" SKUs see every command the
// crash tests exercise (reserve with no time-to-live, release, commit, fulfil, return, dispose too), and
// are checked against the independent model in model.ts.

import {
  channelId,
  commandId,
  locationId,
  reservationId,
  returnId,
  sku as skuOf,
} from '../../actors/index.ts';
import type { CommandInput } from '../../engine/inputs.ts';

export const LOCATIONS = ['crash-L0', 'crash-L1', 'crash-L2', 'crash-L3', 'crash-L4', 'crash-L5'] as const;
export const TOTALS_SKUS = ['T0', 'T1', 'T2'] as const;
export const MIXED_SKUS = ['M0', 'M1', 'M2', 'M3', 'M4'] as const;

/** The command id of the `index`-th command (0-based) of a cycle's stream. */
export function commandIdOf(cycle: number, index: number): string {
  return `c${cycle}-${index}`;
}

/** Every id a cycle's stream uses starts with this, and no other cycle's does. */
export function commandIdPrefixOf(cycle: number): string {
  return `c${cycle}-`;
}

/** mulberry32: small, fast and good enough to drive a workload; the same seed gives the same stream. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Stream {
  /** The next command of the stream; its id is `commandIdOf(cycle, index)`. */
  next(): CommandInput;
  readonly sent: number;
}

/** What the generator remembers about one mixed SKU-location, to name reservations and returns it made. */
interface Memory {
  readonly reservations: string[];
  readonly committable: string[];
  readonly returns: string[];
}

/** The stream of one cycle. Different cycles of one seed differ; ids never repeat across cycles. */
export function workloadStream(seed: number, cycle: number): Stream {
  const random = randomSource((seed ^ Math.imul(cycle + 1, 0x9e3779b1)) >>> 0);
  const integer = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const memory = new Map<string, Memory>();
  let index = 0;

  const mixed = (location: string, sku: string, id: string): CommandInput => {
    const key = `${location}|${sku}`;
    let known = memory.get(key);
    if (known === undefined) {
      known = { reservations: [], committable: [], returns: [] };
      memory.set(key, known);
    }
    const base = { commandId: commandId(id), sku: skuOf(sku), location: locationId(location) };
    const roll = random();
    if (roll < 0.22) return { ...base, type: 'receive', qty: integer(1, 10) };
    if (roll < 0.4) return { ...base, type: 'sale', qty: integer(1, 6) };
    if (roll < 0.42) {
      const magnitude = integer(1, 5);
      return {
        ...base,
        type: 'adjust',
        delta: random() < 0.5 ? -magnitude : magnitude,
        reason: pick(['damaged', 'found', 'correction'] as const),
      };
    }
    if (roll < 0.66 || known.reservations.length === 0) {
      const id = `r${cycle}-${index}`;
      known.reservations.push(id);
      known.committable.push(id);
      return {
        ...base,
        type: 'reserve',
        reservationId: reservationId(id),
        channel: channelId(pick(['web', 'store', 'marketplace'])),
        qty: integer(1, 6),
        ttlSeconds: null,
      };
    }
    if (roll < 0.76 && known.committable.length > 0) {
      const at = integer(0, known.committable.length - 1);
      const [id] = known.committable.splice(at, 1);
      return { ...base, type: 'commit', reservationId: reservationId(id!) };
    }
    if (roll < 0.83) {
      const at = integer(0, known.reservations.length - 1);
      const id = known.reservations[at]!;
      const partial = random() < 0.3;
      if (!partial) known.reservations.splice(at, 1);
      return { ...base, type: 'release', reservationId: reservationId(id), qty: partial ? 1 : null };
    }
    if (roll < 0.9) {
      const at = integer(0, known.reservations.length - 1);
      const id = known.reservations[at]!;
      const partial = random() < 0.3;
      if (!partial) known.reservations.splice(at, 1);
      return {
        ...base,
        type: 'fulfil',
        reservationId: reservationId(id),
        qty: partial ? integer(1, 3) : null,
      };
    }
    if (roll < 0.96 || known.returns.length === 0) {
      const id = random() < 0.2 && known.returns.length > 0 ? pick(known.returns) : `t${cycle}-${index}`;
      if (!known.returns.includes(id)) known.returns.push(id);
      return {
        ...base,
        type: 'return',
        returnId: returnId(id),
        qty: integer(1, 4),
        reason: 'customer return',
      };
    }
    return {
      ...base,
      type: 'dispose',
      returnId: returnId(pick(known.returns)),
      qty: integer(1, 3),
      disposition: pick(['restock', 'restock', 'scrap', 'vendor'] as const),
    };
  };

  const totals = (location: string, sku: string, id: string): CommandInput => {
    const base = { commandId: commandId(id), sku: skuOf(sku), location: locationId(location) };
    const roll = random();
    if (roll < 0.6) return { ...base, type: 'receive', qty: integer(1, 50) };
    if (roll < 0.9) return { ...base, type: 'sale', qty: integer(1, 30) };
    const magnitude = integer(1, 9);
    return { ...base, type: 'adjust', delta: random() < 0.5 ? -magnitude : magnitude, reason: 'shrink' };
  };

  return {
    next() {
      const id = commandIdOf(cycle, index);
      const location = pick(LOCATIONS);
      const useTotals = random() < TOTALS_SKUS.length / (TOTALS_SKUS.length + MIXED_SKUS.length);
      const command = useTotals
        ? totals(location, pick(TOTALS_SKUS), id)
        : mixed(location, pick(MIXED_SKUS), id);
      index++;
      return command;
    },
    get sent() {
      return index;
    },
  };
}

/** The first `count` commands of a cycle's stream. */
export function workloadCommands(seed: number, cycle: number, count: number): CommandInput[] {
  const stream = workloadStream(seed, cycle);
  const commands: CommandInput[] = [];
  for (let index = 0; index < count; index++) commands.push(stream.next());
  return commands;
}

/** How much a command changes on-hand when it is applied, for the SKUs whose commands are never refused. */
export function onHandDeltaOf(command: CommandInput): number {
  switch (command.type) {
    case 'receive':
      return command.qty;
    case 'sale':
      return -command.qty;
    case 'adjust':
      return command.delta;
    default:
      throw new Error(`a totals SKU never sees ${command.type}`);
  }
}

export function isTotalsSku(sku: string): boolean {
  return (TOTALS_SKUS as readonly string[]).includes(sku);
}
