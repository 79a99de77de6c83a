// Builders for SKU-location commands with sensible defaults, so a test states only what it is about.
// Every builder takes the fields its test cares about, then `overrides` for anything else.

import type {
  Adjust,
  Commit,
  Count,
  Dispose,
  Expire,
  Fulfil,
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
} from '../../actors/commands.ts';
import {
  channelId,
  commandId,
  locationId,
  reservationId,
  returnId,
  sku,
  transferId,
} from '../../actors/ids.ts';
import type { ChannelPolicy, Ledger, Policy } from '../../actors/ledger.ts';
import { emptyLedger } from '../../actors/ledger.ts';

export const SKU = sku('SKU-1');
export const LOCATION = locationId('store-042');
export const OTHER_LOCATION = locationId('dc-01');
export const CHANNEL = channelId('web');
/** The engine time every builder stamps unless told otherwise. */
export const AT_MS = 1_700_000_000_000;
/** The hold a reservation gets unless told otherwise: 15 minutes, as a checkout would ask. */
export const TTL_MS = 15 * 60 * 1000;

type Overrides<C extends SkuLocationCommand> = Partial<Omit<C, 'type'>>;

/** The fields every command carries; the command id names the type unless a test needs it unique. */
function base(type: SkuLocationCommand['type']) {
  return { commandId: commandId(`cmd-${type}`), sku: SKU, location: LOCATION, atMs: AT_MS };
}

export function emptyTestLedger(): Ledger {
  return emptyLedger(SKU, LOCATION);
}

export function policyOf(
  safetyStock: number,
  lowStockThreshold: number,
  channels: Record<string, ChannelPolicy> = {},
): Policy {
  return { safetyStock, lowStockThreshold, channels };
}

export const receive = (qty: number, overrides: Overrides<Receive> = {}): Receive => ({
  ...base('receive'),
  type: 'receive',
  qty,
  ...overrides,
});

export const sale = (qty: number, overrides: Overrides<Sale> = {}): Sale => ({
  ...base('sale'),
  type: 'sale',
  qty,
  ...overrides,
});

/** A held line on the web channel, expiring TTL_MS after its atMs. */
export const reserve = (id: string, qty: number, overrides: Overrides<Reserve> = {}): Reserve => ({
  ...base('reserve'),
  type: 'reserve',
  reservationId: reservationId(id),
  channel: CHANNEL,
  qty,
  expiresAtMs: (overrides.atMs ?? AT_MS) + TTL_MS,
  ...overrides,
});

/** Releases `qty`, or everything the line holds when qty is null. */
export const release = (
  id: string,
  qty: number | null = null,
  overrides: Overrides<Release> = {},
): Release => ({
  ...base('release'),
  type: 'release',
  reservationId: reservationId(id),
  qty,
  ...overrides,
});

export const commit = (id: string, overrides: Overrides<Commit> = {}): Commit => ({
  ...base('commit'),
  type: 'commit',
  reservationId: reservationId(id),
  ...overrides,
});

/** Fulfils `qty`, or everything the line holds when qty is null. */
export const fulfil = (id: string, qty: number | null = null, overrides: Overrides<Fulfil> = {}): Fulfil => ({
  ...base('fulfil'),
  type: 'fulfil',
  reservationId: reservationId(id),
  qty,
  ...overrides,
});

export const expire = (id: string, overrides: Overrides<Expire> = {}): Expire => ({
  ...base('expire'),
  type: 'expire',
  reservationId: reservationId(id),
  ...overrides,
});

export const returnUnits = (id: string, qty: number, overrides: Overrides<Return> = {}): Return => ({
  ...base('return'),
  type: 'return',
  returnId: returnId(id),
  qty,
  reason: 'customer changed their mind',
  ...overrides,
});

export const dispose = (
  id: string,
  qty: number,
  disposition: Dispose['disposition'],
  overrides: Overrides<Dispose> = {},
): Dispose => ({
  ...base('dispose'),
  type: 'dispose',
  returnId: returnId(id),
  qty,
  disposition,
  ...overrides,
});

export const transferOut = (
  id: string,
  qty: number,
  overrides: Overrides<TransferOut> = {},
): TransferOut => ({
  ...base('transferOut'),
  type: 'transferOut',
  transferId: transferId(id),
  qty,
  destination: OTHER_LOCATION,
  ...overrides,
});

export const transferIn = (id: string, qty: number, overrides: Overrides<TransferIn> = {}): TransferIn => ({
  ...base('transferIn'),
  type: 'transferIn',
  transferId: transferId(id),
  qty,
  origin: OTHER_LOCATION,
  ...overrides,
});

export const transferReceive = (
  id: string,
  receivedQty: number,
  overrides: Overrides<TransferReceive> = {},
): TransferReceive => ({
  ...base('transferReceive'),
  type: 'transferReceive',
  transferId: transferId(id),
  receivedQty,
  ...overrides,
});

export const adjust = (delta: number, overrides: Overrides<Adjust> = {}): Adjust => ({
  ...base('adjust'),
  type: 'adjust',
  delta,
  reason: 'correction',
  ...overrides,
});

export const count = (counted: number, overrides: Overrides<Count> = {}): Count => ({
  ...base('count'),
  type: 'count',
  counted,
  ...overrides,
});

export const setPolicy = (policy: Policy, overrides: Overrides<SetPolicy> = {}): SetPolicy => ({
  ...base('setPolicy'),
  type: 'setPolicy',
  policy,
  ...overrides,
});
