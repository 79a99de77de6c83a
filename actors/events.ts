import type { AdjustmentReason, Disposition } from './commands.ts';
import type { ChannelId, CommandId, LocationId, ReservationId, ReturnId, TransferId } from './ids.ts';
import type {
  AvailabilityStatus,
  Deltas,
  IntegrityCondition,
  Policy,
  ReservationLineState,
} from './ledger.ts';

/**
 * Events are facts in the past tense. Each names the command that caused it, the engine time, the
 * actor version it produced, and the bucket deltas it caused: folding them with `evolve` from an
 * empty ledger rebuilds the state exactly.
 */
interface EventBase {
  readonly commandId: CommandId;
  readonly atMs: number;
  readonly version: number;
  readonly deltas: Deltas;
}

export interface Received extends EventBase {
  readonly type: 'Received';
  readonly qty: number;
}
export interface Sold extends EventBase {
  readonly type: 'Sold';
  readonly qty: number;
}
export interface Reserved extends EventBase {
  readonly type: 'Reserved';
  readonly reservationId: ReservationId;
  readonly channel: ChannelId;
  readonly qty: number;
  readonly expiresAtMs: number | null;
}
export interface Released extends EventBase {
  readonly type: 'Released';
  readonly reservationId: ReservationId;
  readonly qty: number;
}
export interface Committed extends EventBase {
  readonly type: 'Committed';
  readonly reservationId: ReservationId;
}
export interface Fulfilled extends EventBase {
  readonly type: 'Fulfilled';
  readonly reservationId: ReservationId;
  readonly qty: number;
}
export interface Expired extends EventBase {
  readonly type: 'Expired';
  readonly reservationId: ReservationId;
  readonly qty: number;
}
export interface Returned extends EventBase {
  readonly type: 'Returned';
  readonly returnId: ReturnId;
  readonly qty: number;
  readonly reason: string;
}
export interface Disposed extends EventBase {
  readonly type: 'Disposed';
  readonly returnId: ReturnId;
  readonly qty: number;
  readonly disposition: Disposition;
}
export interface TransferShipped extends EventBase {
  readonly type: 'TransferShipped';
  readonly transferId: TransferId;
  readonly qty: number;
  readonly destination: LocationId;
}
export interface TransferArrived extends EventBase {
  readonly type: 'TransferArrived';
  readonly transferId: TransferId;
  readonly qty: number;
  readonly origin: LocationId;
}
export interface TransferReceived extends EventBase {
  readonly type: 'TransferReceived';
  readonly transferId: TransferId;
  readonly shippedQty: number;
  readonly receivedQty: number;
  /** received - shipped: negative when the delivery was short. */
  readonly variance: number;
}
export interface Adjusted extends EventBase {
  readonly type: 'Adjusted';
  readonly delta: number;
  readonly reason: AdjustmentReason;
}
export interface Counted extends EventBase {
  readonly type: 'Counted';
  readonly counted: number;
  /** counted - on-hand before the count. */
  readonly variance: number;
}
export interface PolicyChanged extends EventBase {
  readonly type: 'PolicyChanged';
  readonly policy: Policy;
}
export interface AvailabilityChanged extends EventBase {
  readonly type: 'AvailabilityChanged';
  readonly from: AvailabilityStatus;
  readonly to: AvailabilityStatus;
  readonly availableToSell: number;
}
export interface AtRiskLine {
  readonly reservationId: ReservationId;
  readonly qty: number;
  readonly channel: ChannelId;
  readonly state: ReservationLineState;
}
export interface ReservationsAtRisk extends EventBase {
  readonly type: 'ReservationsAtRisk';
  readonly integrity: IntegrityCondition;
  /** Units promised that on-hand cannot cover. */
  readonly shortfall: number;
  /** Newest lines first, enough of them to cover the shortfall. */
  readonly reservations: readonly AtRiskLine[];
}

export type LedgerEvent =
  | Received
  | Sold
  | Reserved
  | Released
  | Committed
  | Fulfilled
  | Expired
  | Returned
  | Disposed
  | TransferShipped
  | TransferArrived
  | TransferReceived
  | Adjusted
  | Counted
  | PolicyChanged
  | AvailabilityChanged
  | ReservationsAtRisk;

export type LedgerEventType = LedgerEvent['type'];
