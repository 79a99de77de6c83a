// Payloads that do not arrive as a route's body (an NDJSON line, a dead letter being retried) pass the
// same checks a body does: JSON, no forbidden key, and the mutation's schema, with the route's Ajv.

import type { TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { HttpError } from './errors.ts';
import { issuesOf, validationFailed } from './errors.ts';
import { forbiddenKeyIssue } from './forbidden-keys.ts';

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: HttpError };

/** Parses JSON text (or takes an already parsed value) and checks it against `schema`. */
export function checkPayload<T>(request: FastifyRequest, schema: TSchema, payload: unknown): Checked<T> {
  let value = payload;
  if (typeof payload === 'string') {
    try {
      value = JSON.parse(payload);
    } catch (error) {
      return {
        ok: false,
        error: validationFailed([{ path: '', message: `is not JSON: ${(error as Error).message}` }]),
      };
    }
  }
  const forbidden = forbiddenKeyIssue(value);
  if (forbidden !== null) return { ok: false, error: validationFailed([forbidden]) };
  const validate = request.compileValidationSchema(schema as unknown as Record<string, unknown>);
  if (!validate(value))
    return { ok: false, error: validationFailed(issuesOf(validate.errors ?? [], 'body')) };
  return { ok: true, value: value as T };
}
