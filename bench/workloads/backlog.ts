// W4: an offline POS backlog: `sales` sales of one unit each across the POS catalogue, of which a share
// are duplicates (a register resending a sale it already sent: same id, same body). Every duplicate
// must be answered with the first outcome and applied once, so on-hand falls by the unique sales only.

import type { Target } from '../systems/system.ts';
import type { Catalogue } from './catalogue.ts';
import { sizeOf } from './catalogue.ts';
import type { Issued } from './mixed.ts';
import { Random } from './random.ts';

/** 20 stores × 500 SKUs, apart from the W1 catalogue (its own location names). */
export const POS_CATALOGUE: Catalogue = { locations: 20, skusPerLocation: 500 };

export function posTargetAt(index: number): Target {
  const location = Math.floor(index / POS_CATALOGUE.skusPerLocation);
  return {
    location: `pos-${String(location).padStart(3, '0')}`,
    sku: `sku-${String(index % POS_CATALOGUE.skusPerLocation).padStart(6, '0')}`,
  };
}

export function posTargets(): Target[] {
  return Array.from({ length: sizeOf(POS_CATALOGUE) }, (_, index) => posTargetAt(index));
}

export interface Backlog {
  readonly operations: readonly Issued[];
  readonly unique: number;
  readonly duplicates: number;
}

/** The backlog in the order it is replayed; a duplicate comes after its original, at a random distance. */
export function posBacklog(options: {
  readonly sales: number;
  readonly duplicateShare: number;
  readonly seed: number;
  readonly prefix: string;
}): Backlog {
  const random = new Random(options.seed);
  const operations: Issued[] = [];
  let unique = 0;
  for (let at = 0; at < options.sales; at++) {
    if (unique > 0 && random.next() < options.duplicateShare) {
      operations.push(operations[random.below(operations.length)]!);
      continue;
    }
    const id = `${options.prefix}.pos.${(unique++).toString(36)}`;
    operations.push({
      operation: { ...posTargetAt(random.below(sizeOf(POS_CATALOGUE))), kind: 'sale', qty: 1 },
      id,
      settle: () => {},
    });
  }
  return { operations, unique, duplicates: options.sales - unique };
}
