// The SKU-locations a workload addresses: `locations` stores of `skusPerLocation` SKUs each. Ids are
// fixed-width so they sort and hash the same on every run.

import type { Target } from '../systems/system.ts';

export interface Catalogue {
  readonly locations: number;
  readonly skusPerLocation: number;
}

/** 1,000 locations × 100 SKUs: the 100k SKU-locations of issue 3. */
export const HUNDRED_THOUSAND: Catalogue = { locations: 1_000, skusPerLocation: 100 };

export function sizeOf(catalogue: Catalogue): number {
  return catalogue.locations * catalogue.skusPerLocation;
}

/** The `index`-th SKU-location, location-major: consecutive indexes share a location. */
export function targetAt(catalogue: Catalogue, index: number): Target {
  const location = Math.floor(index / catalogue.skusPerLocation);
  const item = index % catalogue.skusPerLocation;
  return {
    location: `store-${String(location).padStart(5, '0')}`,
    sku: `sku-${String(item).padStart(6, '0')}`,
  };
}
