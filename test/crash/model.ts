// An independent model of the ledger for the commands the crash workload sends: plain arithmetic written
// from DESIGN.md §2, sharing no code with actors/. Folding a list of commands through it, in the order the
// engine applied them, gives the buckets the engine must report and whether each command was accepted.

import type { CommandInput } from '../../engine/inputs.ts';

interface Line {
  qty: number;
  committed: boolean;
}

export interface ModelPosition {
  onHand: number;
  reserved: number;
  quarantine: number;
  readonly lines: Map<string, Line>;
  readonly lots: Map<string, number>;
}

export type ModelOutcome = 'ok' | 'refused';

export class LedgerModel {
  readonly positions = new Map<string, ModelPosition>();

  position(location: string, sku: string): ModelPosition {
    const key = `${location}|${sku}`;
    let position = this.positions.get(key);
    if (position === undefined) {
      position = { onHand: 0, reserved: 0, quarantine: 0, lines: new Map(), lots: new Map() };
      this.positions.set(key, position);
    }
    return position;
  }

  /** Applies one command: the buckets change only when it is accepted. */
  apply(command: CommandInput): ModelOutcome {
    const position = this.position(command.location, command.sku);
    const availableToSell = Math.max(0, position.onHand - position.reserved);
    switch (command.type) {
      case 'receive':
        position.onHand += command.qty;
        return 'ok';
      case 'sale':
        position.onHand -= command.qty;
        return 'ok';
      case 'adjust':
        position.onHand += command.delta;
        return 'ok';
      case 'reserve':
        if (position.lines.has(command.reservationId) || command.qty > availableToSell) return 'refused';
        position.lines.set(command.reservationId, { qty: command.qty, committed: false });
        position.reserved += command.qty;
        return 'ok';
      case 'commit': {
        const line = position.lines.get(command.reservationId);
        if (line === undefined || line.committed) return 'refused';
        line.committed = true;
        return 'ok';
      }
      case 'release':
      case 'fulfil': {
        const line = position.lines.get(command.reservationId);
        if (line === undefined) return 'refused';
        const qty = command.qty ?? line.qty;
        if (qty > line.qty) return 'refused';
        line.qty -= qty;
        if (line.qty === 0) position.lines.delete(command.reservationId);
        position.reserved -= qty;
        if (command.type === 'fulfil') position.onHand -= qty;
        return 'ok';
      }
      case 'return':
        position.lots.set(command.returnId, (position.lots.get(command.returnId) ?? 0) + command.qty);
        position.quarantine += command.qty;
        return 'ok';
      case 'dispose': {
        const held = position.lots.get(command.returnId);
        if (held === undefined || command.qty > held) return 'refused';
        if (held === command.qty) position.lots.delete(command.returnId);
        else position.lots.set(command.returnId, held - command.qty);
        position.quarantine -= command.qty;
        if (command.disposition === 'restock') position.onHand += command.qty;
        return 'ok';
      }
      default:
        throw new Error(`the crash model does not know ${command.type}`);
    }
  }
}
