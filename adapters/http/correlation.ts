// Correlation ids (API.md conventions): `X-Correlation-Id` is accepted when it is an id (the API's id
// grammar, at most 128 characters), generated when absent, echoed on every response, put on the
// request's logger, and stored with every event the request causes (the commands' meta).

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import { isId } from '../../actors/index.ts';
import type { HttpError } from './errors.ts';
import { validationFailed } from './errors.ts';

export const CORRELATION_HEADER = 'x-correlation-id';

interface Correlation {
  readonly id: string;
  /** The header as sent when it was not an id; the request is then refused (400). */
  readonly refused: string | null;
}

const correlations = new WeakMap<IncomingMessage, Correlation>();

function correlationOf(raw: IncomingMessage): Correlation {
  let found = correlations.get(raw);
  if (found === undefined) {
    const header = raw.headers[CORRELATION_HEADER];
    const sent = Array.isArray(header) ? header.join(',') : header;
    found =
      sent === undefined
        ? { id: randomUUID(), refused: null }
        : isId(sent)
          ? { id: sent, refused: null }
          : { id: randomUUID(), refused: sent };
    correlations.set(raw, found);
  }
  return found;
}

/** Every request's logger carries its correlation id next to Fastify's request id. */
export const childLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options,
  raw,
) => logger.child({ ...bindings, correlationId: correlationOf(raw as IncomingMessage).id }, options);

/** The request's correlation id, and the 400 to answer when the client sent one that is not an id. */
export function correlationOfRequest(request: FastifyRequest): { id: string; refusal: HttpError | null } {
  const { id, refused } = correlationOf(request.raw);
  if (refused === null) return { id, refusal: null };
  return {
    id,
    refusal: validationFailed([
      {
        path: `/headers/${CORRELATION_HEADER}`,
        message: 'must be an id: a letter or digit, then up to 127 of A-Z a-z 0-9 . _ : / -',
      },
    ]),
  };
}
