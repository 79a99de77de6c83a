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
