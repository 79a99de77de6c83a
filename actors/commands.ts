import type { ChannelId, CommandId, LocationId, ReservationId, ReturnId, Sku, TransferId } from './ids.ts';
import type { Policy } from './ledger.ts';

/**
 * Commands are imperative and addressed to one SKU-location. The shard stamps `atMs` (engine time)
 * before a command reaches the actor; the actor never reads a clock.
 */
interface CommandBase {
  readonly commandId: CommandId;
  readonly sku: Sku;
  readonly location: LocationId;
  readonly atMs: number;
}

export const ADJUSTMENT_REASONS = ['damaged', 'shrink', 'found', 'correction', 'other'] as const;
export type AdjustmentReason = (typeof ADJUSTMENT_REASONS)[number];
export const DISPOSITIONS = ['restock', 'scrap', 'vendor'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

export interface Receive extends CommandBase {
  readonly type: 'receive';
  readonly qty: number;
}
export interface Sale extends CommandBase {
  readonly type: 'sale';
  readonly qty: number;
}
export interface Reserve extends CommandBase {
  readonly type: 'reserve';
  readonly reservationId: ReservationId;
  readonly channel: ChannelId;
  readonly qty: number;
  /** Null for a hold that does not expire (reserve-and-commit). */
  readonly expiresAtMs: number | null;
}
export interface Release extends CommandBase {
  readonly type: 'release';
  readonly reservationId: ReservationId;
  /** Null releases everything the line still holds. */
  readonly qty: number | null;
}
export interface Commit extends CommandBase {
  readonly type: 'commit';
  readonly reservationId: ReservationId;
}
export interface Fulfil extends CommandBase {
  readonly type: 'fulfil';
  readonly reservationId: ReservationId;
  /** Null fulfils everything the line still holds. */
  readonly qty: number | null;
}
export interface Expire extends CommandBase {
  readonly type: 'expire';
  readonly reservationId: ReservationId;
}
export interface Return extends CommandBase {
  readonly type: 'return';
  readonly returnId: ReturnId;
  readonly qty: number;
  readonly reason: string;
}
export interface Dispose extends CommandBase {
  readonly type: 'dispose';
  readonly returnId: ReturnId;
  readonly qty: number;
  readonly disposition: Disposition;
}
export interface TransferOut extends CommandBase {
  readonly type: 'transferOut';
  readonly transferId: TransferId;
  readonly qty: number;
  readonly destination: LocationId;
}
export interface TransferIn extends CommandBase {
  readonly type: 'transferIn';
  readonly transferId: TransferId;
  readonly qty: number;
  readonly origin: LocationId;
}
export interface TransferReceive extends CommandBase {
  readonly type: 'transferReceive';
  readonly transferId: TransferId;
  /** What was physically received; may differ from what was shipped. */
  readonly receivedQty: number;
}
export interface Adjust extends CommandBase {
  readonly type: 'adjust';
  /** Signed, never zero. */
  readonly delta: number;
  readonly reason: AdjustmentReason;
}
export interface Count extends CommandBase {
  readonly type: 'count';
  /** The units counted on the shelf, zero or more. */
  readonly counted: number;
}
export interface SetPolicy extends CommandBase {
  readonly type: 'setPolicy';
  readonly policy: Policy;
}

export type SkuLocationCommand =
  | Receive
  | Sale
  | Reserve
  | Release
  | Commit
  | Fulfil
  | Expire
  | Return
  | Dispose
  | TransferOut
  | TransferIn
  | TransferReceive
  | Adjust
  | Count
  | SetPolicy;

export type CommandType = SkuLocationCommand['type'];

export const COMMAND_TYPES = [
  'receive',
  'sale',
  'reserve',
  'release',
  'commit',
  'fulfil',
  'expire',
  'return',
  'dispose',
  'transferOut',
  'transferIn',
  'transferReceive',
  'adjust',
  'count',
  'setPolicy',
] as const satisfies readonly CommandType[];
