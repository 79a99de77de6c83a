// Binding a workload's operations to a system for the drivers: each issued operation is applied and
// its outcome (or failure) reported back to the workload, so later steps only target what exists.

import type { Issue, LoopResult } from './driver.ts';
import { closedLoop } from './driver.ts';
import type { LedgerSystem, Outcome } from './systems/system.ts';
import type { Issued } from './workloads/mixed.ts';

export function applyIssued(issued: Issued, system: LedgerSystem): Promise<Outcome> {
  return system.apply(issued.operation, issued.id).then(
    (outcome) => {
      issued.settle(outcome);
      return outcome;
    },
    (error: unknown) => {
      issued.settle(null);
      throw error;
    },
  );
}

export function issueFrom(next: () => Issued | null, system: LedgerSystem): Issue {
  return () => {
    const issued = next();
    return issued === null ? null : applyIssued(issued, system);
  };
}

export function fromGenerator(generator: Generator<Issued>): () => Issued | null {
  return () => {
    const step = generator.next();
    return step.done === true ? null : step.value;
  };
}

export function fromList(list: readonly Issued[]): () => Issued | null {
  let at = 0;
  return () => (at < list.length ? list[at++]! : null);
}

/**
 * Runs a finite generator of operations to the end with `outstandingMax` in flight; every one must be
 * accepted, since they set the scene (stock, primed reservations) that the measured part relies on.
 */
export async function setScene(
  system: LedgerSystem,
  generator: Generator<Issued>,
  what: string,
  outstandingMax: number,
): Promise<LoopResult> {
  const result = await closedLoop({
    issue: issueFrom(fromGenerator(generator), system),
    outstandingMax,
    warmupMs: 0,
    durationMs: Number.POSITIVE_INFINITY,
  });
  if (result.accepted !== result.completed) {
    const codes = [...result.codes.entries()].map(([code, count]) => `${code} ${count}`).join(', ');
    throw new Error(`${what}: not accepted: ${codes}`);
  }
  return result;
}
