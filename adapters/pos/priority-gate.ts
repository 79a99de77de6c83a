// Live sales before backlog. An offline backlog (a store replaying hours of sales) must not delay the
// sales happening now, yet it should drain as fast as what live traffic leaves. The engine's mailboxes
// are FIFO, so what decides a live sale's wait is how many backlog jobs are queued in front of it. The
// gate bounds that: backlog jobs are admitted into the engine only while fewer than `inFlightMax` are
// queued there, and only `inFlightWhileLive` while any live sale is waiting. A live sale is never
// gated: it is queued at once, behind at most the backlog jobs already admitted, and every backlog
// job admitted after it is queued behind it. A waiting backlog job is admitted in arrival order as
// soon as a slot frees, so whatever capacity live traffic leaves goes to the backlog, and under live
// load the backlog still drains `inFlightWhileLive` at a time rather than starving.
//
// One gate per engine, shared by every adapter that feeds it (NATS live and backlog consumers,
// `POST /v1/sales` and `POST /v1/sales:batch`).

import type { Engine } from '../../engine/engine.ts';

export interface GateStats {
  readonly liveInFlight: number;
  readonly backlogInFlight: number;
  readonly backlogWaiting: number;
  /** Backlog jobs admitted into the engine since the gate was made. */
  readonly backlogAdmitted: number;
  readonly liveAdmitted: number;
}

export class PriorityGate {
  readonly inFlightMax: number;
  readonly inFlightWhileLive: number;
  #liveInFlight = 0;
  #backlogInFlight = 0;
  #liveAdmitted = 0;
  #backlogAdmitted = 0;
  /** Backlog jobs waiting for a slot, in arrival order; `#head` is the next to admit. */
  #waiting: (() => void)[] = [];
  #head = 0;

  constructor(inFlightMax: number, inFlightWhileLive: number) {
    if (!(inFlightMax >= 1 && inFlightWhileLive >= 1)) throw new RangeError('gate limits must be at least 1');
    this.inFlightMax = inFlightMax;
    this.inFlightWhileLive = Math.min(inFlightWhileLive, inFlightMax);
  }

  /** Runs live work at once. `work` must queue its engine job synchronously, before it first awaits. */
  async live<T>(work: () => Promise<T>): Promise<T> {
    const release = this.admitLive();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Runs backlog work once a slot is free; slots go in arrival order. */
  async backlog<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.admitBacklog();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Counts a live job as waiting until the returned release is called. */
  admitLive(): () => void {
    this.#liveInFlight++;
    this.#liveAdmitted++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#liveInFlight--;
      this.#admit();
    };
  }

  /** Resolves when a backlog job may be queued; call the release once its engine job has settled. */
  async admitBacklog(): Promise<() => void> {
    await this.#slot();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#backlogInFlight--;
      this.#admit();
    };
  }

  stats(): GateStats {
    return {
      liveInFlight: this.#liveInFlight,
      backlogInFlight: this.#backlogInFlight,
      backlogWaiting: this.#waiting.length - this.#head,
      backlogAdmitted: this.#backlogAdmitted,
      liveAdmitted: this.#liveAdmitted,
    };
  }

  #limit(): number {
    return this.#liveInFlight > 0 ? this.inFlightWhileLive : this.inFlightMax;
  }

  #slot(): Promise<void> {
    if (this.#head === this.#waiting.length && this.#backlogInFlight < this.#limit()) {
      this.#backlogInFlight++;
      this.#backlogAdmitted++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #admit(): void {
    while (this.#head < this.#waiting.length && this.#backlogInFlight < this.#limit()) {
      const resolve = this.#waiting[this.#head]!;
      this.#waiting[this.#head] = undefined as unknown as () => void;
      this.#head++;
      this.#backlogInFlight++;
      this.#backlogAdmitted++;
      resolve();
    }
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (this.#head > 4_096) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
  }
}

const gates = new WeakMap<Engine, PriorityGate>();

/** The engine's one gate, made on first use with the engine's configured limits. */
export function priorityGateOf(engine: Engine): PriorityGate {
  let gate = gates.get(engine);
  if (gate === undefined) {
    gate = new PriorityGate(engine.config.backlog.inFlightMax, engine.config.backlog.inFlightWhileLive);
    gates.set(engine, gate);
  }
  return gate;
}
