// What the store keeps. Every table below is written in the same LMDB transaction as the log records
// that justify it, so after any crash the tables and the log agree.

import type { Ledger, LedgerEvent, Refusal, SkuLocationCommand } from '../../actors/index.ts';

/** Command metadata carried into the log and the audit history. */
export interface CommandMeta {
  readonly correlationId: string | null;
  /** Which adapter or API route the command came from (`http:sales`, `pos:nats`, `engine:expiry` ...). */
  readonly source: string;
  /**
   * When the source says it happened (a POS sale's `occurredAt`, kept for late and offline sales); the
   * engine's own time of application is each event's `atMs`.
   */
  readonly occurredAtMs?: number;
}

/** One applied actor command with the events it recorded. */
export interface CommandEntry {
  readonly kind: 'command';
  readonly command: SkuLocationCommand;
  readonly meta: CommandMeta;
  readonly events: readonly LedgerEvent[];
}

/** A new state of a reservation header (coordinator record); the last one per id is the header. */
export interface ReservationEntry {
  readonly kind: 'reservation';
  readonly header: ReservationHeader;
}

/** A new state of a transfer header. */
export interface TransferEntry {
  readonly kind: 'transfer';
  readonly header: TransferHeader;
}

/** A new state of a return header. */
export interface ReturnEntry {
  readonly kind: 'return';
  readonly header: ReturnHeader;
}

export type LogEntry = CommandEntry | ReservationEntry | TransferEntry | ReturnEntry;

/**
 * One record of a shard's log: everything one batch did in that shard. `previousHash` is the SHA-256
 * of the previous record's stored bytes (32 zero bytes for the first), so the chain proves the log
 * untampered and gap-free.
 */
export interface LogRecord {
  readonly shard: number;
  readonly sequence: number;
  readonly previousHash: Uint8Array;
  readonly atMs: number;
  readonly entries: readonly LogEntry[];
}

export interface SnapshotRecord {
  /** The ledger; with empty collections when `spilled` (engine/store/snapshots.ts). */
  readonly ledger: Ledger;
  /** The log record that last changed this actor. */
  readonly shard: number;
  readonly sequence: number;
  /** True when the ledger's collections are rows of the `snapshot-entries` table instead of inline. */
  readonly spilled: boolean;
}

/** Where one command's events sit in the log: the history index's value. */
export interface HistoryPointer {
  readonly shard: number;
  readonly sequence: number;
  readonly entry: number;
  readonly atMs: number;
}

/** The first outcome of an idempotency key, kept for the retention window. */
export interface IdempotencyRecord {
  readonly fingerprint: string;
  readonly result: unknown;
  readonly atMs: number;
}

/** `pending`: cluster mode only, while a reservation spanning shards waits for its other shards' answers. */
export type ReservationStatus =
  | 'pending'
  | 'held'
  | 'committed'
  | 'fulfilled'
  | 'released'
  | 'expired'
  | 'refused';
export type ReservationMode = 'all-or-nothing' | 'partial';
export type ReservationLineStatus = ReservationStatus;

export interface ReservationHeaderLine {
  readonly sku: string;
  readonly location: string;
  /** Units asked for. */
  readonly requested: number;
  /** Units held when the reservation was made (0 for a refused line). */
  readonly held: number;
  readonly fulfilled: number;
  readonly released: number;
  readonly expired: number;
  readonly status: ReservationLineStatus;
  /** Cluster mode: why another shard refused the line (the create's answer is built from it). */
  readonly refusal?: Refusal;
}

export interface ReservationHeader {
  readonly reservationId: string;
  readonly channel: string;
  readonly mode: ReservationMode;
  readonly createdAtMs: number;
  /** Null once committed, or for a reservation made without a time-to-live. */
  readonly expiresAtMs: number | null;
  readonly status: ReservationStatus;
  readonly lines: readonly ReservationHeaderLine[];
  /** Bumped on every change; the header's own version. */
  readonly revision: number;
  /** Cluster mode, a reservation whose lines span shards: its steps under way on the other shards. */
  readonly saga?: ReservationSaga;
}

/**
 * The coordinator's intent for a reservation whose lines live in other shards (cluster mode): the
 * outbox records of its steps not yet answered, and the idempotency key of the request that created it,
 * whose stored answer is replaced by the final one once every line has answered.
 */
export interface ReservationSaga {
  readonly open: readonly string[];
  readonly answerKey: string | null;
  /** Whose answer `answerKey` stores: the create's, or a later step's (commit, fulfil, release). */
  readonly answer?: 'create' | 'step';
}

export type TransferStatus = 'shipped' | 'arrived' | 'received';

export interface TransferHeaderLine {
  readonly sku: string;
  readonly shipped: number;
  readonly received: number | null;
  readonly variance: number | null;
}

export interface TransferHeader {
  readonly transferId: string;
  readonly from: string;
  readonly to: string;
  readonly status: TransferStatus;
  readonly shippedAtMs: number;
  readonly receivedAtMs: number | null;
  readonly lines: readonly TransferHeaderLine[];
  readonly revision: number;
}

/** Units of one SKU of a return, and what inspection has decided for them so far. */
export interface ReturnHeaderLine {
  readonly sku: string;
  readonly reason: string;
  readonly returned: number;
  /** Units disposed of so far, by disposition; `returned` less their sum is still in quarantine. */
  readonly disposed: { readonly restock: number; readonly scrap: number; readonly vendor: number };
}

/** A return (DESIGN.md §2 rule 4): units that entered quarantine at one location, awaiting disposition. */
export interface ReturnHeader {
  readonly returnId: string;
  readonly location: string;
  readonly originalOrderId: string | null;
  readonly createdAtMs: number;
  readonly lines: readonly ReturnHeaderLine[];
  readonly revision: number;
}

/** A follow-up command written with the event that causes it, delivered until acknowledged. */
export interface OutboxRecord {
  readonly id: string;
  readonly command: OutboxCommand;
  readonly createdAtMs: number;
  readonly attempts: number;
  /** The shard whose log wrote it, and whose owner delivers it (absent: the shard its delivery runs in). */
  readonly home?: number;
  /** Not delivered before this instant (a durable timer: a reservation's expiry across shards). */
  readonly notBeforeMs?: number;
}

export type OutboxCommand = TransferArriveCommand | ReservationStepCommand;

export interface TransferArriveCommand {
  readonly kind: 'transferArrive';
  readonly transferId: string;
  /** Cluster mode, between shards: the shipped header, for the destination's owner, which has no copy. */
  readonly shipped?: TransferHeader;
  /** The correlation id of the request that caused it, stored with the events its delivery records. */
  readonly correlationId?: string | null;
}

/** One line of a reservation step for another shard: the line's index in the header, and its units. */
export interface ReservationStepLine {
  readonly at: number;
  readonly sku: string;
  readonly location: string;
  readonly qty: number;
}

/**
 * Cluster mode: one step of a reservation for the lines it has in one other shard (`shard`), sent by the
 * header's shard; `watch` is the header's own timer for the expiry of those lines.
 */
export interface ReservationStepCommand {
  readonly kind: 'reservationStep';
  readonly reservationId: string;
  readonly step: 'hold' | 'check' | 'commit' | 'fulfil' | 'release' | 'watch';
  /** Names the step among the reservation's: `hold`, `commit`, `fulfil:<id>`, `release:<id>`, `compensate`. */
  readonly stepId: string;
  readonly shard: number;
  readonly lines: readonly ReservationStepLine[];
  readonly channel: string;
  readonly mode: ReservationMode;
  readonly expiresAtMs: number | null;
  readonly correlationId?: string | null;
}

export type DeadLetterStatus = 'open' | 'retried' | 'discarded';

export interface DeadLetterRecord {
  readonly id: string;
  readonly adapter: string;
  readonly reason: string;
  readonly payload: unknown;
  readonly atMs: number;
  readonly status: DeadLetterStatus;
  readonly history: readonly { readonly atMs: number; readonly action: string; readonly note: string }[];
}

// ---- master data (adapters/mapping) -------------------------------------------------------------------
// Written by the master-data adapter in transactions of its own (not with the log): master data says
// how outside codes map to SKUs and locations; it changes no bucket.

export type UnitOfMeasure = 'each' | 'case';

/** One component of a kit: a kit of this SKU takes `qty` units of the component. */
export interface ItemComponent {
  readonly sku: string;
  readonly qty: number;
}

/** An item of the catalogue (item master). Barcodes are stored as 14-digit GTINs. */
export interface ItemRecord {
  readonly sku: string;
  readonly description: string;
  /** GTINs that identify one unit (each). */
  readonly barcodes: readonly string[];
  /** GTINs that identify a case of `caseSize` units. */
  readonly caseBarcodes: readonly string[];
  /** Units in a case; null for an item that has no case. */
  readonly caseSize: number | null;
  /** A kit's components; empty for an item that is not a kit. */
  readonly components: readonly ItemComponent[];
  readonly revision: number;
  readonly updatedAtMs: number;
}

/** The barcode index: which SKU a GTIN names, and whether it is a unit or a case. */
export interface BarcodeRecord {
  readonly sku: string;
  readonly unit: UnitOfMeasure;
}

/** A source system's store code and the location it stands for. */
export interface LocationCodeRecord {
  readonly code: string;
  readonly location: string;
  readonly name: string;
  readonly revision: number;
  readonly updatedAtMs: number;
}
