// Engine time. The shard stamps each command with it before the actor sees the command, so actors
// never read a clock. It never goes backwards, even across restarts (it starts at or after the last
// stamped instant found in the log) or when the wall clock is stepped back.

export interface Clock {
  now(): number;
}

export class EngineClock implements Clock {
  #lastMs: number;
  readonly #wallMs: () => number;

  constructor(floorMs: number, wallMs: () => number = Date.now) {
    this.#lastMs = floorMs;
    this.#wallMs = wallMs;
  }

  now(): number {
    const wall = this.#wallMs();
    if (wall > this.#lastMs) this.#lastMs = wall;
    return this.#lastMs;
  }

  /** Moves the floor up, e.g. to the newest instant found in a shard's log at recovery. */
  raiseFloor(floorMs: number): void {
    if (floorMs > this.#lastMs) this.#lastMs = floorMs;
  }
}
