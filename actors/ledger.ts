import type { ChannelId, LocationId, ReservationId, ReturnId, Sku, TransferId } from './ids.ts';

/** The quantities the ledger keeps; `availableToSell` is derived and never stored. */
export const BUCKETS = ['onHand', 'reserved', 'inTransit', 'quarantine'] as const;
export type Bucket = (typeof BUCKETS)[number];
export type Deltas = Partial<Record<Bucket, number>>;

export type ReservationLineState = 'held' | 'committed';

/** One open reservation line held against this SKU-location's on-hand. */
export interface ReservationLine {
  readonly id: ReservationId;
  readonly qty: number;
  readonly channel: ChannelId;
  readonly state: ReservationLineState;
  /** Null once committed: an order's hold no longer expires. */
  readonly expiresAtMs: number | null;
  /** The actor version at which the line was first held; orders lines for "at risk" reports. */
  readonly heldAtVersion: number;
}

/** Units of one return still in quarantine here. */
export interface ReturnLot {
  readonly id: ReturnId;
  readonly qty: number;
}

/** Units shipped to this location by one transfer and not yet received. */
export interface InboundTransfer {
  readonly id: TransferId;
  readonly qty: number;
}

export interface ChannelPolicy {
  /** The fraction of available-to-sell a channel may see and reserve, in (0, 1]. */
  readonly share: number;
}

export interface Policy {
  readonly safetyStock: number;
  readonly lowStockThreshold: number;
  readonly channels: Readonly<Record<string, ChannelPolicy>>;
}

/** The state of one SKU at one location. Plain data: it is what snapshots store. */
export interface Ledger {
  readonly sku: Sku;
  readonly location: LocationId;
  readonly onHand: number;
  readonly reserved: number;
  readonly inTransit: number;
  readonly quarantine: number;
  readonly policy: Policy;
  /** Open lines, sorted by id (see keyed.ts). */
  readonly reservations: readonly ReservationLine[];
  /** Open return lots, sorted by id. */
  readonly returnLots: readonly ReturnLot[];
  /** Inbound transfers not yet received, sorted by id. */
  readonly inboundTransfers: readonly InboundTransfer[];
  /** Count of events folded into this state; the version of the last one. */
  readonly version: number;
  /** Engine time of the last event, 0 for a ledger that never had one. */
  readonly updatedAtMs: number;
}

export type AvailabilityStatus = 'inStock' | 'lowStock' | 'outOfStock';
export type IntegrityCondition = 'consistent' | 'oversold' | 'negative';

export const DEFAULT_POLICY: Policy = { safetyStock: 0, lowStockThreshold: 0, channels: {} };

export function emptyLedger(sku: Sku, location: LocationId): Ledger {
  return {
    sku,
    location,
    onHand: 0,
    reserved: 0,
    inTransit: 0,
    quarantine: 0,
    policy: DEFAULT_POLICY,
    reservations: [],
    returnLots: [],
    inboundTransfers: [],
    version: 0,
    updatedAtMs: 0,
  };
}

export function availableToSell(ledger: Ledger): number {
  return Math.max(0, ledger.onHand - ledger.reserved - ledger.policy.safetyStock);
}

/** What a channel may see and reserve: its share of available-to-sell, rounded down; all of it without a policy. */
export function exposedTo(ledger: Ledger, channel: ChannelId | string | null): number {
  const available = availableToSell(ledger);
  if (channel === null) return available;
  const policy = Object.hasOwn(ledger.policy.channels, channel) ? ledger.policy.channels[channel] : undefined;
  if (policy === undefined) return available;
  // Split so that no product leaves the exact integer range, whatever the bucket size:
  // available = whole * 10,000 + rest, and floor(available * bp / 10,000) = whole * bp + floor(rest * bp / 10,000).
  const basisPoints = shareBasisPoints(policy.share);
  const whole = Math.floor(available / 10_000);
  const rest = available - whole * 10_000;
  return whole * basisPoints + Math.floor((rest * basisPoints) / 10_000);
}

/**
 * A share in whole basis points. Decimal shares are not exact in binary floating point (0.29 * 100 is
 * 28.999...), so exposure is computed in integers: floor(available * basisPoints / 10,000) is exact.
 */
export function shareBasisPoints(share: number): number {
  return Math.round(share * 10_000);
}

export function availabilityOf(ledger: Ledger): AvailabilityStatus {
  const available = availableToSell(ledger);
  if (available === 0) return 'outOfStock';
  return available <= ledger.policy.lowStockThreshold ? 'lowStock' : 'inStock';
}

export function integrityOf(ledger: Ledger): IntegrityCondition {
  if (ledger.onHand < 0) return 'negative';
  return ledger.onHand < ledger.reserved ? 'oversold' : 'consistent';
}

/** Units promised to reservations that on-hand cannot cover. */
export function shortfallOf(ledger: Ledger): number {
  return Math.max(0, ledger.reserved - Math.max(0, ledger.onHand));
}
