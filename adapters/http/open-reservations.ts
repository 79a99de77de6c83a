// A cap on the reservations one channel may hold open at once (STOCKLEDGER_OPEN_RESERVATIONS_PER_CHANNEL_MAX),
// so one runaway checkout integration cannot lock up a catalogue with holds. The count is kept in
// memory: rebuilt from the reservation headers when the app is built, then followed from every
// committed header change. A create job counts its own hold at once (jobs run one at a time), so
// concurrent requests cannot slip past the cap together.

import type { Engine } from '../../engine/engine.ts';
import type { ReservationHeader } from '../../engine/store/records.ts';
import { HttpError } from './errors.ts';

function isOpen(header: ReservationHeader): boolean {
  // `pending`: a create across shards under way (cluster mode) counts, so concurrent ones cannot slip past.
  return header.status === 'held' || header.status === 'committed' || header.status === 'pending';
}

export class OpenReservations {
  readonly #channelOf = new Map<string, string>();
  readonly #counts = new Map<string, number>();
  readonly #capPerChannel: number;
  readonly #unsubscribe: () => void;

  /** `capPerChannel` 0 counts nothing and caps nothing. */
  constructor(engine: Engine, capPerChannel: number) {
    this.#capPerChannel = capPerChannel;
    if (capPerChannel === 0) {
      this.#unsubscribe = () => {};
      return;
    }
    for (const { value } of engine.store.reservations.getRange({})) this.observe(value);
    this.#unsubscribe = engine.onCommit((batch) => {
      for (const { record } of batch.records) {
        for (const entry of record.entries) if (entry.kind === 'reservation') this.observe(entry.header);
      }
    });
  }

  count(channel: string): number {
    return this.#counts.get(channel) ?? 0;
  }

  /** 429 RATE_LIMITED when the channel already holds as many open reservations as it may. */
  requireRoom(channel: string): void {
    if (this.#capPerChannel === 0 || this.count(channel) < this.#capPerChannel) return;
    throw new HttpError(
      'RATE_LIMITED',
      `channel ${channel} holds ${this.count(channel)} open reservations, its cap; commit, fulfil or release some first`,
      { channel, open: this.count(channel), cap: this.#capPerChannel },
    );
  }

  /** Follows one header state (idempotent: the same state observed twice counts once). */
  observe(header: ReservationHeader): void {
    if (this.#capPerChannel === 0) return;
    const known = this.#channelOf.has(header.reservationId);
    if (isOpen(header) && !known) {
      this.#channelOf.set(header.reservationId, header.channel);
      this.#counts.set(header.channel, this.count(header.channel) + 1);
    } else if (!isOpen(header) && known) {
      this.#channelOf.delete(header.reservationId);
      const left = this.count(header.channel) - 1;
      if (left === 0) this.#counts.delete(header.channel);
      else this.#counts.set(header.channel, left);
    }
  }

  close(): void {
    this.#unsubscribe();
  }
}
