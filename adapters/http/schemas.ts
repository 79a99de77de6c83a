// The wire contract of API.md as TypeBox schemas, defined once: Fastify's Ajv validates requests with
// them, fast-json-stringify serialises responses with them, `Static<>` types the handlers, and
// @fastify/swagger publishes them as the OpenAPI document. Every object is closed
// (`additionalProperties: false`): an unknown field is refused, never stripped. Nothing is coerced, so
// numeric query parameters are decimal-digit strings, parsed by the handler.

import type { Static, TObject, TProperties, TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import {
  ADJUSTMENT_REASONS,
  channelsPerPolicyMax,
  DISPOSITIONS,
  ID_PATTERN,
  quantityMax,
  reasonLengthMax,
  ttlSecondsMax,
} from '../../actors/index.ts';

/** Lines one request may carry (API.md conventions). */
export const linesPerRequestMax = 1_000;
/** Commands one `POST /v1/commands` may carry. */
export const commandsPerRequestMax = 1_000;
/** A reservation's time-to-live when the request names none. */
export const reservationTtlSecondsDefault = 900;

function closed<P extends TProperties>(properties: P, options: { description?: string } = {}): TObject<P> {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/** A string enum as a plain JSON Schema `enum` (clearer errors and OpenAPI than a union of literals). */
function stringEnum<const T extends readonly string[]>(values: T, description?: string) {
  return Type.Unsafe<T[number]>({
    type: 'string',
    enum: [...values],
    ...(description === undefined ? {} : { description }),
  });
}

function nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

export const Id = Type.String({
  pattern: ID_PATTERN.source,
  maxLength: 128,
  description: 'A letter or digit, then up to 127 of A-Z a-z 0-9 . _ : / -',
});
const Quantity = Type.Integer({ minimum: 1, maximum: quantityMax, description: 'A positive whole number' });
const Count = Type.Integer({ minimum: 0, maximum: quantityMax, description: 'A whole number from 0' });
const Delta = Type.Integer({
  minimum: -quantityMax,
  maximum: quantityMax,
  not: { const: 0 },
  description: 'A signed whole number, never 0',
});
const Instant = Type.String({ format: 'date-time', description: 'An ISO 8601 date-time' });
const Digits = Type.String({ pattern: '^[0-9]{1,15}$', description: 'Decimal digits' });
const Figure = Type.Integer();

function lines<T extends TSchema>(line: T) {
  return Type.Array(line, { minItems: 1, maxItems: linesPerRequestMax });
}

export const AvailabilityStatus = stringEnum(['inStock', 'lowStock', 'outOfStock'] as const);
export const Integrity = stringEnum(['consistent', 'oversold', 'negative'] as const);
export const ReservationMode = stringEnum(['all-or-nothing', 'partial'] as const);
export const Disposition = stringEnum(DISPOSITIONS);
export const AdjustmentReason = stringEnum(ADJUSTMENT_REASONS);

// ---- errors -----------------------------------------------------------------------------------------

export const ErrorBody = closed({
  code: Type.String(),
  message: Type.String(),
  details: Type.Object({}, { additionalProperties: true, description: 'The numbers that explain it' }),
});
export const ErrorReply = closed({ error: ErrorBody });
export type ErrorReply = Static<typeof ErrorReply>;

// ---- stock ------------------------------------------------------------------------------------------

export const StockParams = closed({ location: Id, sku: Id });
export const StockQuery = closed({ asOf: Type.Optional(Instant) });
export const Position = closed({
  sku: Type.String(),
  location: Type.String(),
  onHand: Figure,
  reserved: Figure,
  inTransit: Figure,
  quarantine: Figure,
  safetyStock: Figure,
  availableToSell: Figure,
  status: AvailabilityStatus,
  integrity: Integrity,
  version: Figure,
  updatedAt: nullable(Type.String({ description: 'Null for a SKU-location that never had an event' })),
});
export type Position = Static<typeof Position>;

export const HistoryQuery = closed({
  limit: Type.Optional(Digits),
  before: Type.Optional(Digits),
});
const Deltas = closed({
  onHand: Type.Optional(Figure),
  reserved: Type.Optional(Figure),
  inTransit: Type.Optional(Figure),
  quarantine: Type.Optional(Figure),
});
export const HistoryEntry = closed({
  version: Figure,
  at: Type.String(),
  type: Type.String(),
  deltas: Deltas,
  commandId: Type.String(),
  correlationId: nullable(Type.String()),
  source: Type.String(),
  occurredAt: nullable(
    Type.String({ description: 'When the source says it happened (POS sales), if it said' }),
  ),
  reason: nullable(Type.String()),
  details: Type.Object(
    {},
    { additionalProperties: true, description: "The event's own fields (quantities, ids, variance ...)" },
  ),
});
export type HistoryEntry = Static<typeof HistoryEntry>;
export const History = closed({ entries: Type.Array(HistoryEntry), next: nullable(Figure) });

export const AvailabilityParams = closed({ sku: Id });
export const AvailabilityQuery = closed({
  locations: Type.Optional(
    Type.String({
      pattern: `^${ID_PATTERN.source.slice(1, -1)}(,${ID_PATTERN.source.slice(1, -1)})*$`,
      maxLength: 64 * 1024,
      description: 'Comma-separated locations; all locations of the SKU when omitted',
    }),
  ),
  channel: Type.Optional(Id),
});
export const Availability = closed({
  sku: Type.String(),
  total: Figure,
  locations: Type.Array(
    closed({
      location: Type.String(),
      availableToSell: Figure,
      exposed: Figure,
      status: AvailabilityStatus,
    }),
  ),
});
export type Availability = Static<typeof Availability>;

// ---- reservations -----------------------------------------------------------------------------------

const ReservationLine = closed({ sku: Id, location: Id, qty: Quantity });
export const CreateReservation = closed({
  reservationId: Id,
  channel: Id,
  ttlSeconds: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: ttlSecondsMax,
      description: `Seconds the hold lasts unless committed; ${reservationTtlSecondsDefault} when omitted`,
    }),
  ),
  mode: Type.Optional(ReservationMode),
  lines: lines(ReservationLine),
});
export type CreateReservation = Static<typeof CreateReservation>;
export const ReservationParams = closed({ id: Id });
export const Fulfil = closed({ fulfilmentId: Id, lines: Type.Optional(lines(ReservationLine)) });
export const Release = closed({ releaseId: Id, lines: Type.Optional(lines(ReservationLine)) });
/** The inputs of reservation steps: the path's reservation id with the body. */
export const CommitInput = closed({ reservationId: Id });
export type CommitInput = Static<typeof CommitInput>;
export const FulfilInput = closed({ reservationId: Id, ...Fulfil.properties });
export type FulfilInput = Static<typeof FulfilInput>;
export const ReleaseInput = closed({ reservationId: Id, ...Release.properties });
export type ReleaseInput = Static<typeof ReleaseInput>;

/** `pending`: cluster mode, while a reservation across shards waits for its other shards' answers. */
const reservationStatuses = ['pending', 'held', 'committed', 'fulfilled', 'released', 'expired'] as const;
export const ReservationStatus = stringEnum(reservationStatuses);
export const Reservation = closed({
  reservationId: Type.String(),
  channel: Type.String(),
  mode: ReservationMode,
  status: ReservationStatus,
  createdAt: Type.String(),
  expiresAt: nullable(Type.String()),
  lines: Type.Array(
    closed({
      sku: Type.String(),
      location: Type.String(),
      qty: Type.Integer({ description: 'Units the line holds now (0 once refused or closed)' }),
      status: stringEnum([...reservationStatuses, 'refused'] as const),
      requested: Figure,
      fulfilled: Figure,
      released: Figure,
      expired: Figure,
      availableToSell: Type.Optional(
        Type.Integer({ description: "On a refused line: the location's figure" }),
      ),
      exposed: Type.Optional(
        Type.Integer({ description: "On a refused line limited by the channel's share: what it may see" }),
      ),
    }),
  ),
});
export type Reservation = Static<typeof Reservation>;

// ---- sales ------------------------------------------------------------------------------------------

export const Sale = closed({
  transactionId: Id,
  location: Id,
  register: Type.Optional(Id),
  sequence: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  occurredAt: Type.Optional(Instant),
  lines: lines(closed({ sku: Id, qty: Quantity })),
});
export type Sale = Static<typeof Sale>;
export const SaleResult = closed({
  transactionId: Type.String(),
  lines: Type.Array(
    closed({ sku: Type.String(), onHand: Figure, availableToSell: Figure, integrity: Integrity }),
  ),
});
export const SalesBatchBody = Type.String({
  description: 'NDJSON: one sale (the body of POST /v1/sales) a line',
});
export const SalesBatchResult = closed({
  accepted: Figure,
  duplicates: Figure,
  rejected: Type.Array(
    closed({
      line: Type.Integer({ description: '1-based line number' }),
      error: ErrorBody,
      deadLetterId: Type.String(),
    }),
  ),
});
export type SalesBatchResult = Static<typeof SalesBatchResult>;

// ---- returns ----------------------------------------------------------------------------------------

export const CreateReturn = closed({
  returnId: Id,
  location: Id,
  originalOrderId: Type.Optional(Id),
  lines: lines(
    closed({ sku: Id, qty: Quantity, reason: Type.String({ minLength: 1, maxLength: reasonLengthMax }) }),
  ),
});
export type CreateReturn = Static<typeof CreateReturn>;
export const ReturnCreated = closed({
  returnId: Type.String(),
  location: Type.String(),
  lines: Type.Array(
    closed({
      sku: Type.String(),
      qty: Figure,
      quarantine: Type.Integer({ description: "The SKU-location's quarantine after the return" }),
    }),
  ),
});
export const ReturnParams = closed({ returnId: Id });
export const Dispose = closed({
  dispositionId: Id,
  lines: lines(closed({ sku: Id, qty: Quantity, disposition: Disposition })),
});
export const DisposeInput = closed({ returnId: Id, ...Dispose.properties });
export type DisposeInput = Static<typeof DisposeInput>;
export const Disposed = closed({
  returnId: Type.String(),
  dispositionId: Type.String(),
  lines: Type.Array(
    closed({
      sku: Type.String(),
      qty: Figure,
      disposition: Disposition,
      quarantine: Figure,
      onHand: Figure,
      availableToSell: Figure,
    }),
  ),
});
export const Return = closed({
  returnId: Type.String(),
  location: Type.String(),
  originalOrderId: nullable(Type.String()),
  createdAt: Type.String(),
  lines: Type.Array(
    closed({
      sku: Type.String(),
      reason: Type.String(),
      returned: Figure,
      disposed: closed({ restock: Figure, scrap: Figure, vendor: Figure }),
      quarantine: Type.Integer({ description: 'Units of this return still in quarantine' }),
    }),
  ),
});
export type Return = Static<typeof Return>;

// ---- supply -----------------------------------------------------------------------------------------

const LineFigures = {
  onHand: Figure,
  availableToSell: Figure,
  status: AvailabilityStatus,
  integrity: Integrity,
};

export const Receipt = closed({
  receiptId: Id,
  location: Id,
  lines: lines(closed({ sku: Id, qty: Quantity })),
});
export type Receipt = Static<typeof Receipt>;
export const ReceiptResult = closed({
  receiptId: Type.String(),
  location: Type.String(),
  lines: Type.Array(closed({ sku: Type.String(), qty: Figure, ...LineFigures })),
});

export const CreateTransfer = closed({
  transferId: Id,
  from: Id,
  to: Id,
  lines: lines(closed({ sku: Id, qty: Quantity })),
});
export type CreateTransfer = Static<typeof CreateTransfer>;
export const TransferParams = closed({ id: Id });
export const TransferReceipt = closed({
  lines: lines(
    closed({
      sku: Id,
      qty: Type.Integer({
        minimum: 0,
        maximum: quantityMax,
        description: 'Units received; 0 when none arrived (a shipped SKU left out counts as 0)',
      }),
    }),
  ),
});
export const TransferReceiptInput = closed({ transferId: Id, ...TransferReceipt.properties });
export type TransferReceiptInput = Static<typeof TransferReceiptInput>;
export const Transfer = closed({
  transferId: Type.String(),
  from: Type.String(),
  to: Type.String(),
  status: stringEnum(['shipped', 'arrived', 'received'] as const),
  shippedAt: Type.String(),
  receivedAt: nullable(Type.String()),
  lines: Type.Array(
    closed({
      sku: Type.String(),
      shipped: Figure,
      received: nullable(Figure),
      variance: nullable(Type.Integer({ description: 'received - shipped' })),
    }),
  ),
});
export type Transfer = Static<typeof Transfer>;

export const Adjustment = closed({
  adjustmentId: Id,
  location: Id,
  lines: lines(closed({ sku: Id, delta: Delta, reason: AdjustmentReason })),
});
export type Adjustment = Static<typeof Adjustment>;
export const AdjustmentResult = closed({
  adjustmentId: Type.String(),
  location: Type.String(),
  lines: Type.Array(closed({ sku: Type.String(), delta: Figure, reason: AdjustmentReason, ...LineFigures })),
});

export const CycleCount = closed({
  countId: Id,
  location: Id,
  lines: lines(closed({ sku: Id, counted: Count })),
});
export type CycleCount = Static<typeof CycleCount>;
export const CycleCountResult = closed({
  countId: Type.String(),
  location: Type.String(),
  lines: Type.Array(
    closed({
      sku: Type.String(),
      counted: Figure,
      variance: Type.Integer({ description: 'counted - onHand before the count' }),
      ...LineFigures,
    }),
  ),
});

const Channels = Type.Record(
  Type.String({ pattern: ID_PATTERN.source }),
  closed({ share: Type.Number({ exclusiveMinimum: 0, maximum: 1 }) }),
  { additionalProperties: false, maxProperties: channelsPerPolicyMax },
);
export const Policy = closed({
  safetyStock: Count,
  lowStockThreshold: Count,
  channels: Type.Optional(Channels),
});
export const PolicyInput = closed({ location: Id, sku: Id, ...Policy.properties });
export type PolicyInput = Static<typeof PolicyInput>;
export const PolicyResult = closed({
  policy: closed({
    safetyStock: Figure,
    lowStockThreshold: Figure,
    channels: Type.Record(Type.String(), closed({ share: Type.Number() })),
  }),
  position: Position,
});

// ---- bulk commands ----------------------------------------------------------------------------------

/** Each command is the body of its endpoint (with the path's ids) plus `type`. */
export const COMMAND_INPUTS = {
  receive: Receipt,
  sale: Sale,
  reserve: CreateReservation,
  release: ReleaseInput,
  commit: CommitInput,
  fulfil: FulfilInput,
  return: CreateReturn,
  dispose: DisposeInput,
  transfer: CreateTransfer,
  transferReceipt: TransferReceiptInput,
  adjust: Adjustment,
  count: CycleCount,
  setPolicy: PolicyInput,
} as const;
export type CommandType = keyof typeof COMMAND_INPUTS;
export const COMMAND_TYPES = Object.keys(COMMAND_INPUTS) as CommandType[];

type CommandOf<T extends CommandType> = { readonly type: T } & Static<(typeof COMMAND_INPUTS)[T]>;
export type Command = { [T in CommandType]: CommandOf<T> }[CommandType];

const commandSchemas = COMMAND_TYPES.map((type) =>
  closed({ type: Type.Literal(type), ...COMMAND_INPUTS[type].properties }),
);
/** `oneOf` with a discriminator, so a malformed command reports the errors of its own type only. */
export const Command = Type.Unsafe<Command>({
  type: 'object',
  oneOf: commandSchemas,
  discriminator: { propertyName: 'type' },
});
export const Commands = closed({
  commands: Type.Array(Command, { minItems: 1, maxItems: commandsPerRequestMax }),
});
export type Commands = Static<typeof Commands>;
export const CommandResults = closed({
  results: Type.Array(
    closed({
      type: stringEnum(COMMAND_TYPES),
      id: nullable(Type.String({ description: "The command's own id (transactionId, reservationId ...)" })),
      status: Type.Integer({ description: 'The HTTP status its endpoint would answer' }),
      replayed: Type.Boolean(),
      body: Type.Unknown({ description: 'The body its endpoint would answer' }),
    }),
  ),
});
export type CommandResults = Static<typeof CommandResults>;

// ---- events, dead letters, operations ---------------------------------------------------------------

export const EventsQuery = closed({ after: Type.Optional(Digits) });

export const DeadLetterStatus = stringEnum(['open', 'retried', 'discarded'] as const);
export const DeadLetterQuery = closed({
  status: Type.Optional(DeadLetterStatus),
  adapter: Type.Optional(Type.String({ maxLength: 128 })),
  reason: Type.Optional(Type.String({ maxLength: 200, description: 'Prefix of the reason' })),
  after: Type.Optional(Type.String({ maxLength: 128, description: 'The last id of the previous page' })),
  limit: Type.Optional(Digits),
});
export const DeadLetterParams = closed({ id: Type.String({ minLength: 1, maxLength: 128 }) });
export const DeadLetter = closed({
  id: Type.String(),
  adapter: Type.String(),
  reason: Type.String(),
  payload: Type.Unknown({ description: 'What arrived, as it arrived' }),
  at: Type.String(),
  status: DeadLetterStatus,
  history: Type.Array(closed({ at: Type.String(), action: Type.String(), note: Type.String() })),
});
export type DeadLetter = Static<typeof DeadLetter>;
export const DeadLetters = closed({ letters: Type.Array(DeadLetter), next: nullable(Type.String()) });
export const DeadLetterRetry = closed({
  payload: Type.Optional(
    Type.Unknown({ description: 'A corrected payload to retry instead of the stored one' }),
  ),
  note: Type.Optional(Type.String({ maxLength: 200 })),
});
export const DeadLetterRetried = closed({
  letter: DeadLetter,
  outcome: closed({ status: Type.Integer(), replayed: Type.Boolean(), body: Type.Unknown() }),
});
export const DeadLetterDiscard = closed({ reason: Type.String({ minLength: 1, maxLength: 200 }) });
export const DeadLetterDiscarded = closed({ letter: DeadLetter });

export const Health = closed({ status: Type.Literal('ok') });
export const Ready = closed({ ready: Type.Boolean() });
