// Payloads that do not arrive as a route's body (an NDJSON line, a dead letter being retried) pass the
// same checks a body does: JSON, no forbidden key, and the mutation's schema, with the route's Ajv (or,
// off the HTTP path, one set up the same way: adapters/dead-letters/validator.ts).

import type { TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { HttpError } from './errors.ts';
import { issuesOf, validationFailed } from './errors.ts';
import { forbiddenKeyIssue } from './forbidden-keys.ts';

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: HttpError };

/** A compiled schema: true when the value is valid, with Ajv's errors when it is not. */
export interface Validate {
  (value: unknown): boolean;
  errors?: Parameters<typeof issuesOf>[0] | null | undefined;
}

/** Compiles a schema into a validator (the route's `compileValidationSchema`, or a standalone Ajv). */
export type CompileSchema = (schema: TSchema) => Validate;

/** The compiler of a request's route: Fastify's Ajv with the app's options. */
export function compilerOf(request: FastifyRequest): CompileSchema {
  return (schema) =>
    request.compileValidationSchema(schema as unknown as Record<string, unknown>) as Validate;
}

/** Parses JSON text (or takes an already parsed value) and checks it against `schema`. */
export function checkPayload<T>(request: FastifyRequest, schema: TSchema, payload: unknown): Checked<T> {
  return checkPayloadWith<T>(compilerOf(request), schema, payload);
}

export function checkPayloadWith<T>(compile: CompileSchema, schema: TSchema, payload: unknown): Checked<T> {
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
  const validate = compile(schema);
  if (!validate(value))
    return { ok: false, error: validationFailed(issuesOf(validate.errors ?? [], 'body')) };
  return { ok: true, value: value as T };
}
