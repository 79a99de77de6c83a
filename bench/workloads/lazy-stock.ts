// W3's catalogue is too big to stock up front (1M SKU-locations), so each SKU-location is stocked the
// first time the workload addresses it: its receive is applied first and, once answered, the operation
// itself. The pair counts as one operation for the driver (every system does the same extra receives).
// Any other operation on that SKU-location waits for the same receive, so none can overtake it on
// another connection of a pooled client.

import type { Issue } from '../driver.ts';
import { applyIssued } from '../issue.ts';
import type { LedgerSystem, Outcome, Target } from '../systems/system.ts';
import type { MixedWorkload } from './mixed.ts';
import { prestockUnits } from './mixed.ts';

export class LazilyStocked {
  readonly #mixed: MixedWorkload;
  readonly #prefix: string;
  readonly #targets: Target[] = [];
  /** Each SKU-location stocked (or being stocked): its receive, answered or not. */
  readonly #stocked = new Map<string, Promise<Outcome>>();

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
      let stocked = this.#stocked.get(key);
      if (stocked === undefined) {
        this.#targets.push({ location, sku });
        const receive = { location, sku, kind: 'receive', qty: prestockUnits } as const;
        stocked = system.apply(receive, `${this.#prefix}.stock.${this.#targets.length.toString(36)}`);
        this.#stocked.set(key, stocked);
      }
      return stocked.then((answer) => (answer.ok ? applyIssued(issued, system) : answer));
    };
  }

  /** Every SKU-location stocked so far: what the audit reads. */
  targets(): Target[] {
    return [...this.#targets];
  }
}
