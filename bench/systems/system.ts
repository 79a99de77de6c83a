// What every system under test offers the harness. Workloads speak in `Operation`s (one SKU-location,
// one business step); each system maps them to its own calls: the engine to commands and coordinator
// requests, a SQL peer to statements, a Redis peer to Lua scripts. The drivers (closed and open loop)
// only see `apply`, so one workload runs unchanged against every system and the figures compare.

export interface Target {
  readonly location: string;
  readonly sku: string;
}

export type Operation =
  | (Target & { readonly kind: 'receive'; readonly qty: number })
  | (Target & { readonly kind: 'sale'; readonly qty: number })
  | (Target & {
      readonly kind: 'reserve';
      readonly reservationId: string;
      readonly qty: number;
      readonly ttlSeconds: number;
    })
  | (Target & { readonly kind: 'commit'; readonly reservationId: string })
  | (Target & { readonly kind: 'release'; readonly reservationId: string })
  | (Target & { readonly kind: 'return'; readonly returnId: string; readonly qty: number })
  | (Target & {
      readonly kind: 'dispose';
      readonly returnId: string;
      readonly qty: number;
      readonly disposition: 'restock' | 'scrap' | 'vendor';
    })
  | (Target & { readonly kind: 'adjust'; readonly delta: number })
  | (Target & { readonly kind: 'count'; readonly counted: number });

export type OperationKind = Operation['kind'];

/** Accepted, or refused by the ledger's rules (a value, not an error: the system worked). */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly refusal: string };

export interface LedgerSystem {
  /** How results name it, e.g. `stockledger:coordinator`, `postgresql`. */
  readonly name: string;
  /** True when an answer means the change survives a power cut (fsync before acknowledgement). */
  readonly durable: boolean;
  /**
   * Applies one operation; `id` is unique per operation (the idempotency key where the system has one).
   * Resolves when the system has answered (durably, when `durable`); rejects on an operating error
   * such as overload.
   */
  apply(operation: Operation, id: string): Promise<Outcome>;
}

/** What a system's store says after a run, read from the store itself (not from what the harness saw). */
export interface Audit {
  /** Units held beyond on-hand, summed over the SKU-locations audited: max(0, reserved - onHand). */
  readonly oversoldUnits: number;
  /** Open reservation lines (held or committed) in the store. */
  readonly holds: number;
  /** Sums over the SKU-locations audited. */
  readonly onHandUnits: number;
  readonly reservedUnits: number;
  /** SKU-locations whose reserved differs from the sum of their open lines (the store disagrees with itself). */
  readonly inconsistent: number;
}

/** A fresh, empty instance of a system, opened for one workload. */
export interface PeerInstance extends LedgerSystem {
  /** Sets the scene: each target receives `units` (bulk, not timed, not through `apply`). */
  stock(targets: readonly Target[], units: number): Promise<void>;
  /** Reads the final state of `targets` (and every reservation) from the store. */
  audit(targets: readonly Target[]): Promise<Audit>;
  /** Memory figures in bytes, named with the unit last (e.g. `heap_used_bytes`). */
  memory(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export interface PeerOpenOptions {
  /** Operations the driver keeps in flight: pools and connections are sized from it. */
  readonly clients: number;
  /** STOCKLEDGER_* settings for the engine (W3 sets the resident-actor cap); others ignore them. */
  readonly engineSettings?: Readonly<Record<string, string>>;
}

/** A system the peers suite compares: opens fresh instances; `open` throws `PeerUnavailable` when it cannot. */
export interface Peer {
  readonly name: string;
  /** What it is and how it is configured, for the notes. */
  readonly description: string;
  open(options: PeerOpenOptions): Promise<PeerInstance>;
  /**
   * Opens an instance with W1's catalogue (100k SKU-locations) already stocked with `prestockUnits`,
   * from a cached data directory, where the peer can do that faster than `stock` (stockledger can).
   */
  openStocked?(options: PeerOpenOptions & StockedOptions): Promise<PeerInstance>;
}

export interface StockedOptions {
  readonly cacheDir: string;
  readonly progress: (line: string) => void;
}

/** The peer cannot be reached or started: the suite reports it as missing with this reason. */
export class PeerUnavailable extends Error {
  override readonly name = 'PeerUnavailable';
}
