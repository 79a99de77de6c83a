// The one place where errors become HTTP answers: every engine error code, actor refusal code and
// framework error maps here to a status and the documented body
// `{"error": {"code", "message", "details"}}` (API.md). Handlers throw; nothing else formats errors.

import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Refusal } from '../../actors/index.ts';
import type { EngineErrorCode } from '../../engine/errors.ts';
import { EngineError, OverloadedError } from '../../engine/errors.ts';
import type { ErrorReply } from './schemas.ts';

/** The codes of API.md's table, plus INTERNAL_ERROR for a fault of the server itself. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RESERVATION_NOT_FOUND'
  | 'RETURN_NOT_FOUND'
  | 'TRANSFER_NOT_FOUND'
  | 'INSUFFICIENT_STOCK'
  | 'INVALID_STATE'
  | 'IDEMPOTENCY_CONFLICT'
  | 'QUARANTINE_INSUFFICIENT'
  | 'RESERVATION_EXPIRED'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'OVERLOADED'
  | 'SHARD_UNAVAILABLE'
  | 'INTERNAL_ERROR';

export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  RESERVATION_NOT_FOUND: 404,
  RETURN_NOT_FOUND: 404,
  TRANSFER_NOT_FOUND: 404,
  INSUFFICIENT_STOCK: 409,
  INVALID_STATE: 409,
  IDEMPOTENCY_CONFLICT: 409,
  QUARANTINE_INSUFFICIENT: 409,
  RESERVATION_EXPIRED: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  SHARD_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

const ENGINE_CODES: Readonly<Record<EngineErrorCode, ErrorCode>> = {
  OVERLOADED: 'OVERLOADED',
  SHARD_UNAVAILABLE: 'SHARD_UNAVAILABLE',
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  NOT_FOUND: 'NOT_FOUND',
  RESERVATION_NOT_FOUND: 'RESERVATION_NOT_FOUND',
  TRANSFER_NOT_FOUND: 'TRANSFER_NOT_FOUND',
  RETURN_NOT_FOUND: 'RETURN_NOT_FOUND',
  INVALID_STATE: 'INVALID_STATE',
  RESERVATION_EXPIRED: 'RESERVATION_EXPIRED',
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  QUARANTINE_INSUFFICIENT: 'QUARANTINE_INSUFFICIENT',
  // Shutting down: this node takes no more work; the client should retry (elsewhere, or after restart).
  ENGINE_CLOSED: 'SHARD_UNAVAILABLE',
};

/** Seconds a client should wait before retrying a 503 that names no better figure. */
const retryAfterSecondsDefault = 1;

export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** An error with its HTTP answer decided. Thrown by handlers, hooks and jobs alike. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>>;
  readonly retryAfterSeconds: number | null;

  constructor(
    code: ErrorCode,
    message: string,
    details: Readonly<Record<string, unknown>> = {},
    retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.code = code;
    this.status = STATUS_OF[code];
    this.details = details;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function validationFailed(issues: readonly Issue[], message?: string): HttpError {
  const first = issues[0];
  const summary =
    message ??
    (first === undefined ? 'the request is not valid' : `${first.path || 'body'} ${first.message}`);
  return new HttpError('VALIDATION_FAILED', summary, { issues });
}

export function forbidden(message: string, details: Readonly<Record<string, unknown>> = {}): HttpError {
  return new HttpError('FORBIDDEN', message, details);
}

/** An actor's refusal of one line of a request as an error; `path` points at the line. */
export function refusalError(refusal: Refusal, path: string, what: string): HttpError {
  if (refusal.code === 'VALIDATION_FAILED') {
    return validationFailed([{ path: `${path}/${refusal.field}`, message: refusal.reason }]);
  }
  const details: Record<string, unknown> = { ...refusal };
  delete details.code;
  return new HttpError(refusal.code, `${what}: ${refusal.code.toLowerCase().replaceAll('_', ' ')}`, details);
}

interface AjvIssue {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** Ajv's errors as `details.issues`: a JSON pointer into the request part, and a sentence. */
export function issuesOf(errors: readonly AjvIssue[], part: string): Issue[] {
  const prefix = part === 'body' ? '' : `/${part}`;
  return errors.map((error) => {
    const base = `${prefix}${error.instancePath}`;
    if (error.keyword === 'additionalProperties') {
      return { path: `${base}/${String(error.params.additionalProperty)}`, message: 'is not a known field' };
    }
    if (error.keyword === 'required') {
      return { path: `${base}/${String(error.params.missingProperty)}`, message: 'is required' };
    }
    return { path: base, message: error.message ?? `fails ${error.keyword}` };
  });
}

/** Frameworks' and engine errors, and anything unexpected, as an HttpError. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof OverloadedError) {
    return new HttpError('OVERLOADED', error.message, error.details, error.retryAfterSeconds);
  }
  if (error instanceof EngineError) {
    const code = ENGINE_CODES[error.code];
    const details: Record<string, unknown> = { ...error.details };
    // API.md: an INVALID_STATE answer names the current state in `details.state`.
    const refusal = details.refusal as { state?: unknown } | undefined;
    if (code === 'INVALID_STATE' && details.state === undefined && refusal?.state !== undefined) {
      details.state = refusal.state;
    }
    return new HttpError(
      code,
      error.message,
      details,
      STATUS_OF[code] === 503 ? retryAfterSecondsDefault : null,
    );
  }
  const framework = error as Partial<FastifyError> & { validation?: AjvIssue[]; validationContext?: string };
  if (Array.isArray(framework.validation)) {
    return validationFailed(issuesOf(framework.validation, framework.validationContext ?? 'body'));
  }
  switch (framework.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('PAYLOAD_TOO_LARGE', 'the request body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return validationFailed([
        { path: '/headers/content-type', message: 'is not a media type this route accepts' },
      ]);
    default:
      break;
  }
  if (framework.statusCode === 413) return new HttpError('PAYLOAD_TOO_LARGE', framework.message ?? '');
  if (framework.statusCode !== undefined && framework.statusCode >= 400 && framework.statusCode < 500) {
    // Malformed JSON, an empty JSON body, a forbidden prototype key: the body is not valid.
    return validationFailed([{ path: '', message: framework.message ?? 'is not valid' }]);
  }
  return new HttpError('INTERNAL_ERROR', 'the server failed to answer; it has been logged');
}

export function errorReply(error: HttpError): ErrorReply {
  return { error: { code: error.code, message: error.message, details: { ...error.details } } };
}

/**
 * Errors the router raises before a request has a route, hooks or a correlation id (Fastify's
 * `frameworkErrors`): a malformed percent-encoding in the path (FST_ERR_BAD_URL) or a path parameter
 * longer than the router takes (FST_ERR_MAX_PARAM_LENGTH, which Fastify would answer 414). Both are a
 * request that is not valid, answered 400 in the documented shape rather than Fastify's own body.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'has a path parameter longer than any id'
      : 'is not a valid URL (a percent-encoding is malformed)';
  const http =
    error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? validationFailed([{ path: '/url', message }])
      : toHttpError(error);
  if (http.status >= 500) request.log.error({ err: error, code: http.code }, 'request failed');
  reply.status(http.status).send(errorReply(http));
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a malformed request line or header,
 * headers beyond the size limit, a request that did not arrive in time), answered in the documented
 * shape instead of Fastify's default body, then the connection is closed as Node does. Oversized
 * headers are 413 PAYLOAD_TOO_LARGE and the rest 400 VALIDATION_FAILED, keeping to API.md's table
 * (rather than 431 and 408).
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const http =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new HttpError('PAYLOAD_TOO_LARGE', "the request's headers are larger than the server accepts")
      : validationFailed(
          [{ path: '', message: 'is not a valid HTTP/1.1 request' }],
          error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? 'the request did not arrive in time'
            : 'the request is not valid HTTP/1.1',
        );
  if (socket.writable) {
    const body = JSON.stringify(errorReply(http));
    socket.write(
      `HTTP/1.1 ${http.status} ${http.status === 413 ? 'Payload Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Installs the error and not-found handlers: every error leaves in the documented shape. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const http = toHttpError(error);
    if (http.status >= 500) {
      request.log.error({ err: error, code: http.code }, 'request failed');
    }
    if (http.retryAfterSeconds !== null) reply.header('retry-after', String(http.retryAfterSeconds));
    if (http.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer');
    return reply.status(http.status).send(errorReply(http));
  });
  app.setNotFoundHandler((request, reply) => {
    const http = new HttpError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.status(404).send(errorReply(http));
  });
}
