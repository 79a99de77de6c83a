import type { ChannelId, ReservationId, ReturnId, TransferId } from './ids.ts';

/**
 * The closed union of refusals an actor can give. Each carries the numbers that explain it,
 * and each code is one of API.md's error codes.
 */
export type Refusal =
  | {
      readonly code: 'INSUFFICIENT_STOCK';
      readonly requested: number;
      readonly availableToSell: number;
      /** Present when a channel policy limited what could be reserved. */
      readonly exposed?: number;
      readonly channel?: ChannelId;
    }
  | {
      readonly code: 'INVALID_STATE';
      readonly state: string;
      readonly reservationId?: ReservationId;
      readonly requested?: number;
      readonly remaining?: number;
    }
  | { readonly code: 'RESERVATION_NOT_FOUND'; readonly reservationId: ReservationId }
  | {
      readonly code: 'RESERVATION_EXPIRED';
      readonly reservationId: ReservationId;
      readonly expiresAtMs: number;
    }
  | { readonly code: 'RETURN_NOT_FOUND'; readonly returnId: ReturnId }
  | {
      readonly code: 'QUARANTINE_INSUFFICIENT';
      readonly returnId: ReturnId;
      readonly requested: number;
      readonly remaining: number;
    }
  | { readonly code: 'TRANSFER_NOT_FOUND'; readonly transferId: TransferId }
  | { readonly code: 'VALIDATION_FAILED'; readonly field: string; readonly reason: string };

export type RefusalCode = Refusal['code'];

export const REFUSAL_CODES = [
  'INSUFFICIENT_STOCK',
  'INVALID_STATE',
  'RESERVATION_NOT_FOUND',
  'RESERVATION_EXPIRED',
  'RETURN_NOT_FOUND',
  'QUARANTINE_INSUFFICIENT',
  'TRANSFER_NOT_FOUND',
  'VALIDATION_FAILED',
] as const satisfies readonly RefusalCode[];
