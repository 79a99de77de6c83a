// Final-state checks. `auditLedgers` audits systems whose store holds whole ledgers (stockledger's
// snapshots, the Map + LMDB baseline): sums over the ledgers read back, each ledger checked against its
// own open lines. `checkOf` turns any system's audit into the verdict a record carries: correct only
// when nothing is oversold, the holds in the store are the holds acknowledged, the store agrees with
// itself, and every workload-specific condition holds; otherwise the text starts with WRONG.

import type { Ledger } from '../../actors/index.ts';
import type { Audit } from './system.ts';

export function auditLedgers(ledgers: Iterable<Ledger>): Audit {
  let oversoldUnits = 0;
  let holds = 0;
  let onHandUnits = 0;
  let reservedUnits = 0;
  let inconsistent = 0;
  for (const ledger of ledgers) {
    oversoldUnits += Math.max(0, ledger.reserved - ledger.onHand);
    holds += ledger.reservations.length;
    onHandUnits += ledger.onHand;
    reservedUnits += ledger.reserved;
    let lines = 0;
    for (const line of ledger.reservations) lines += line.qty;
    if (lines !== ledger.reserved) inconsistent++;
  }
  return { oversoldUnits, holds, onHandUnits, reservedUnits, inconsistent };
}

export interface Check {
  readonly correct: boolean;
  readonly text: string;
}

const count = (value: number) => Math.round(value).toLocaleString('en-US');

export function checkOf(
  audit: Audit,
  expectedHolds: number,
  extra: readonly [boolean, string][] = [],
): Check {
  const failures: string[] = [];
  if (audit.oversoldUnits !== 0) failures.push(`${count(audit.oversoldUnits)} units oversold`);
  if (audit.holds !== expectedHolds)
    failures.push(`${count(audit.holds)} holds in the store but ${count(expectedHolds)} acknowledged`);
  if (audit.inconsistent !== 0)
    failures.push(`${count(audit.inconsistent)} SKU-locations whose reserved differs from their lines`);
  for (const [ok, failure] of extra) if (!ok) failures.push(failure);
  const figures =
    `store audit: ${count(audit.holds)} holds (acknowledged ${count(expectedHolds)}), oversold ${count(audit.oversoldUnits)}, ` +
    `reserved ${count(audit.reservedUnits)} of on-hand ${count(audit.onHandUnits)}`;
  return failures.length === 0
    ? { correct: true, text: `Check passed (${figures}).` }
    : { correct: false, text: `WRONG: ${failures.join('; ')} (${figures}).` };
}
