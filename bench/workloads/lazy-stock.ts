// W3's catalogue is too big to stock up front (1M SKU-locations), so each SKU-location is stocked the
// first time the workload addresses it: its receive is applied first and, once answered, the operation
// itself. The pair counts as one operation for the driver (every system does the same extra receives),
// and no operation can overtake its receive on another connection of a pooled client.

import type { Issue } from '../driver.ts';
import type { LedgerSystem, Outcome, Target } from '../systems/system.ts';
import type { MixedWorkload } from './mixed.ts';
import { prestockUnits } from './mixed.ts';

export class LazilyStocked {
  readonly #mixed: MixedWorkload;
  readonly #prefix: string;
  readonly #stocked = new Map<string, Target>();

  constructor(mixed: MixedWorkload, prefix: string) {
    this.#mixed = mixed;
    this.#prefix = prefix;
  }

  /** Issues the workload's next operation on `system`, preceded by a receive on a first touch. */
  issue(system: LedgerSystem): Issue {
    return () => {
      const issued = this.#mixed.next();
      const { location, sku } = issued.operation;
      const key = `${location}/${sku}`;
      const apply = (): Promise<Outcome> =>
        system.apply(issued.operation, issued.id).then(
          (outcome) => {
            issued.settle(outcome);
            return outcome;
          },
          (error: unknown) => {
            issued.settle(null);
            throw error;
          },
        );
      if (this.#stocked.has(key)) return apply();
      this.#stocked.set(key, { location, sku });
      const receive = { location, sku, kind: 'receive', qty: prestockUnits } as const;
      return system
        .apply(receive, `${this.#prefix}.stock.${this.#stocked.size.toString(36)}`)
        .then((stocked) => (stocked.ok ? apply() : stocked));
    };
  }

  /** Every SKU-location stocked so far: what the audit reads. */
  targets(): Target[] {
    return [...this.#stocked.values()];
  }
}
