// Operating errors: each has a stable `code` from API.md's table, so the HTTP layer maps codes to
// statuses in one place. A broken invariant is not one of these: it is an AssertionError and it crashes.

export type EngineErrorCode =
  | 'OVERLOADED'
  | 'SHARD_UNAVAILABLE'
  | 'IDEMPOTENCY_CONFLICT'
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'RESERVATION_NOT_FOUND'
  | 'TRANSFER_NOT_FOUND'
  | 'RETURN_NOT_FOUND'
  | 'INVALID_STATE'
  | 'RESERVATION_EXPIRED'
  | 'INSUFFICIENT_STOCK'
  | 'QUARANTINE_INSUFFICIENT'
  | 'ENGINE_CLOSED';

export class EngineError extends Error {
  override readonly name: string = 'EngineError';
  readonly code: EngineErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    code: EngineErrorCode,
    message: string,
    details: Readonly<Record<string, unknown>> = {},
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.details = details;
  }
}

export class OverloadedError extends EngineError {
  override readonly name = 'OverloadedError';
  readonly retryAfterSeconds: number;
  constructor(shard: number, depth: number, retryAfterSeconds = 1) {
    super('OVERLOADED', `shard ${shard} has ${depth} commands waiting; try again shortly`, { shard, depth });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The shard is not owned here (cluster mode): it is moving, or another node owns it. */
export class ShardUnavailableError extends EngineError {
  override readonly name = 'ShardUnavailableError';
  readonly retryAfterSeconds = 1;
  constructor(shard: number, message = `shard ${shard} is not available on this node; retry shortly`) {
    super('SHARD_UNAVAILABLE', message, { shard });
  }
}

export class IdempotencyConflictError extends EngineError {
  override readonly name = 'IdempotencyConflictError';
  constructor(key: string) {
    super('IDEMPOTENCY_CONFLICT', `${key} was already used with a different body`, { key });
  }
}

export class EngineClosedError extends EngineError {
  override readonly name = 'EngineClosedError';
  constructor() {
    super('ENGINE_CLOSED', 'the engine is shutting down and accepts no new work');
  }
}

/** A commit that failed or stalled: the process must stop, and recovery brings it back. */
export class FatalCommitError extends Error {
  override readonly name = 'FatalCommitError';
}
