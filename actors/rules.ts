// One predicate per ledger rule (DESIGN.md §2). `decide` and the machine's guards both call these,
// so there is exactly one definition of what the ledger accepts.

import type { SkuLocationCommand } from './commands.ts';
import { ADJUSTMENT_REASONS, DISPOSITIONS } from './commands.ts';
import { isId } from './ids.ts';
import type { Ledger, Policy, ReservationLine } from './ledger.ts';
import { availableToSell, exposedTo, shareBasisPoints } from './ledger.ts';
import {
  bucketAbsoluteMax,
  channelsPerPolicyMax,
  instantMsMax,
  quantityMax,
  reasonLengthMax,
  ttlSecondsMax,
} from './limits.ts';
import type { Refusal } from './refusals.ts';

/** Own properties only: an id such as `constructor` must never find Object.prototype's member. */
export function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function isQuantity(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= quantityMax;
}

export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= quantityMax;
}

export function isInstant(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= instantMsMax;
}

/** Rule 2: a reservation never takes more than available-to-sell, nor more than its channel's exposure. */
export function reservationFits(ledger: Ledger, command: { qty: number; channel: string }): boolean {
  return command.qty <= exposedTo(ledger, command.channel);
}

/** Transfers draw on the same available-to-sell as every channel: safety stock and holds stay put. */
export function shipmentFits(ledger: Ledger, qty: number): boolean {
  return qty <= availableToSell(ledger);
}

/**
 * Rule 6: a held line whose deadline has passed (on the engine time the command carries) can no longer be
 * committed or fulfilled, only expired or released; an expiry is due exactly then.
 */
export function isPastDeadline(line: ReservationLine, atMs: number): boolean {
  return line.state === 'held' && line.expiresAtMs !== null && atMs >= line.expiresAtMs;
}

/** Rule 4: only a restock disposition returns quarantined units to on-hand. */
export function dispositionRestocks(disposition: string): boolean {
  return disposition === 'restock';
}

function invalid(field: string, reason: string): Refusal {
  return { code: 'VALIDATION_FAILED', field, reason };
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function policyRefusal(policy: Policy): Refusal | null {
  if (!isRecord(policy)) return invalid('policy', 'must be an object');
  if (!isRecord(policy.channels)) return invalid('policy.channels', 'must be an object');
  if (!isCount(policy.safetyStock)) return invalid('policy.safetyStock', 'must be an integer from 0');
  if (!isCount(policy.lowStockThreshold))
    return invalid('policy.lowStockThreshold', 'must be an integer from 0');
  const names = Object.keys(policy.channels);
  if (names.length > channelsPerPolicyMax)
    return invalid('policy.channels', `at most ${channelsPerPolicyMax}`);
  for (const name of names) {
    const share = ownEntry(policy.channels, name)?.share;
    if (!isId(name)) return invalid('policy.channels', `bad channel id ${JSON.stringify(name)}`);
    if (typeof share !== 'number' || !(share > 0 && share <= 1) || shareBasisPoints(share) < 1) {
      return invalid(`policy.channels.${name}.share`, 'must be a number in (0, 1], at least 0.0001');
    }
  }
  return null;
}

/**
 * The shape checks a command must pass whatever the state. Adapters validate before this; the domain
 * checks again because it is total: no input can make it throw or corrupt a bucket.
 */
export function validationRefusal(command: SkuLocationCommand): Refusal | null {
  if (!isInstant(command.atMs)) return invalid('atMs', 'must be an engine instant');
  if (!isId(command.commandId)) return invalid('commandId', 'must match the id pattern');
  if (!isId(command.sku)) return invalid('sku', 'must match the id pattern');
  if (!isId(command.location)) return invalid('location', 'must match the id pattern');
  switch (command.type) {
    case 'receive':
    case 'sale':
      return isQuantity(command.qty) ? null : invalid('qty', 'must be a positive integer');
    case 'reserve': {
      if (!isId(command.reservationId)) return invalid('reservationId', 'must match the id pattern');
      if (!isId(command.channel)) return invalid('channel', 'must match the id pattern');
      if (!isQuantity(command.qty)) return invalid('qty', 'must be a positive integer');
      const expires = command.expiresAtMs;
      if (expires === null) return null;
      if (!isInstant(expires) || expires <= command.atMs) return invalid('expiresAtMs', 'must be after atMs');
      return expires - command.atMs <= ttlSecondsMax * 1000
        ? null
        : invalid('expiresAtMs', 'beyond the longest TTL');
    }
    case 'release':
    case 'fulfil':
      if (!isId(command.reservationId)) return invalid('reservationId', 'must match the id pattern');
      return command.qty === null || isQuantity(command.qty)
        ? null
        : invalid('qty', 'must be a positive integer');
    case 'commit':
    case 'expire':
      return isId(command.reservationId) ? null : invalid('reservationId', 'must match the id pattern');
    case 'return':
      if (!isId(command.returnId)) return invalid('returnId', 'must match the id pattern');
      if (typeof command.reason !== 'string' || command.reason.length > reasonLengthMax) {
        return invalid('reason', `must be text of at most ${reasonLengthMax} characters`);
      }
      return isQuantity(command.qty) ? null : invalid('qty', 'must be a positive integer');
    case 'dispose':
      if (!isId(command.returnId)) return invalid('returnId', 'must match the id pattern');
      if (!DISPOSITIONS.includes(command.disposition))
        return invalid('disposition', 'restock, scrap or vendor');
      return isQuantity(command.qty) ? null : invalid('qty', 'must be a positive integer');
    case 'transferOut':
      if (!isId(command.transferId)) return invalid('transferId', 'must match the id pattern');
      if (!isId(command.destination) || command.destination === command.location) {
        return invalid('destination', 'must be another location');
      }
      return isQuantity(command.qty) ? null : invalid('qty', 'must be a positive integer');
    case 'transferIn':
      if (!isId(command.transferId)) return invalid('transferId', 'must match the id pattern');
      if (!isId(command.origin) || command.origin === command.location)
        return invalid('origin', 'must be another location');
      return isQuantity(command.qty) ? null : invalid('qty', 'must be a positive integer');
    case 'transferReceive':
      if (!isId(command.transferId)) return invalid('transferId', 'must match the id pattern');
      return isCount(command.receivedQty) ? null : invalid('receivedQty', 'must be an integer from 0');
    case 'adjust':
      if (!ADJUSTMENT_REASONS.includes(command.reason))
        return invalid('reason', ADJUSTMENT_REASONS.join(', '));
      return isQuantity(Math.abs(command.delta)) ? null : invalid('delta', 'must be a non-zero integer');
    case 'count':
      return isCount(command.counted) ? null : invalid('counted', 'must be an integer from 0');
    case 'setPolicy':
      return policyRefusal(command.policy);
  }
}

/** No bucket may leave the range where every sum of buckets is exact. */
export function staysInRange(value: number): boolean {
  return Math.abs(value) <= bucketAbsoluteMax;
}
