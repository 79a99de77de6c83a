// The audit of systems whose store holds whole ledgers (stockledger's snapshots, the Map + LMDB
// baseline): sums over the ledgers read back, and each ledger checked against its own open lines.

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
