// What callers hand the engine: an actor command without the engine's stamps. The engine stamps
// `atMs` (and turns a reservation's time-to-live into a deadline) when the command is applied.

import type {
  Adjust,
  Commit,
  Count,
  Dispose,
  Fulfil,
  Ledger,
  Receive,
  Release,
  Reserve,
  Return,
  Sale,
  SetPolicy,
  SkuLocationCommand,
  TransferIn,
  TransferOut,
  TransferReceive,
} from '../actors/index.ts';
import { availabilityOf, availableToSell, integrityOf } from '../actors/index.ts';

type Unstamped<C> = Omit<C, 'atMs'>;

export type ReserveInput = Omit<Reserve, 'atMs' | 'expiresAtMs'> & {
  /** Null for a hold that does not expire. */
  readonly ttlSeconds: number | null;
};

/** A hold that expires at a given instant: a reservation's line in another shard (cluster mode). */
export type ReserveUntilInput = Omit<Reserve, 'atMs'>;

/** Every command a caller may submit; `expire` is the engine's own and is not among them. */
export type CommandInput =
  | Unstamped<Receive>
  | Unstamped<Sale>
  | ReserveInput
  | ReserveUntilInput
  | Unstamped<Release>
  | Unstamped<Commit>
  | Unstamped<Fulfil>
  | Unstamped<Return>
  | Unstamped<Dispose>
  | Unstamped<TransferOut>
  | Unstamped<TransferIn>
  | Unstamped<TransferReceive>
  | Unstamped<Adjust>
  | Unstamped<Count>
  | Unstamped<SetPolicy>;

export function stamp(input: CommandInput | Unstamped<SkuLocationCommand>, atMs: number): SkuLocationCommand {
  if (input.type === 'reserve' && 'ttlSeconds' in input) {
    // A literal, not rest-destructuring: V8 copies `...rest` key by key, and this runs per reservation.
    return {
      type: 'reserve',
      commandId: input.commandId,
      sku: input.sku,
      location: input.location,
      reservationId: input.reservationId,
      channel: input.channel,
      qty: input.qty,
      atMs,
      expiresAtMs: input.ttlSeconds === null ? null : atMs + input.ttlSeconds * 1000,
    };
  }
  return { ...input, atMs } as SkuLocationCommand;
}

/** A SKU-location's figures as the API reports them. */
export interface StockPosition {
  readonly sku: string;
  readonly location: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly inTransit: number;
  readonly quarantine: number;
  readonly safetyStock: number;
  readonly availableToSell: number;
  readonly status: 'inStock' | 'lowStock' | 'outOfStock';
  readonly integrity: 'consistent' | 'oversold' | 'negative';
  readonly version: number;
  readonly updatedAtMs: number;
}

export function positionOf(ledger: Ledger): StockPosition {
  return {
    sku: ledger.sku,
    location: ledger.location,
    onHand: ledger.onHand,
    reserved: ledger.reserved,
    inTransit: ledger.inTransit,
    quarantine: ledger.quarantine,
    safetyStock: ledger.policy.safetyStock,
    availableToSell: availableToSell(ledger),
    status: availabilityOf(ledger),
    integrity: integrityOf(ledger),
    version: ledger.version,
    updatedAtMs: ledger.updatedAtMs,
  };
}
