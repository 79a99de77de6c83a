// Route schemas: every route lists a response schema for each status it can answer, errors included,
// so the serializer never meets a status it has no schema for and the OpenAPI document lists them all.

import type { TSchema } from '@sinclair/typebox';
import type { FastifySchema } from 'fastify';
import type { Scope } from './auth.ts';
import { ErrorReply } from './schemas.ts';

export type Tag =
  | 'stock'
  | 'reservations'
  | 'sales'
  | 'returns'
  | 'supply'
  | 'commands'
  | 'events'
  | 'dead-letters'
  | 'master-data'
  | 'operations';

export interface RouteDescription {
  readonly tag: Tag;
  readonly summary: string;
  readonly description?: string;
  /** Scopes of which the caller needs one; none for a public route. */
  readonly scopes?: readonly Scope[];
  readonly params?: TSchema;
  readonly querystring?: TSchema;
  /** The JSON body, or bodies by media type. */
  readonly body?: TSchema | { readonly content: Readonly<Record<string, { readonly schema: TSchema }>> };
  /** Success statuses and their bodies. */
  readonly responses: Readonly<Record<number, TSchema>>;
  /** Error statuses this route answers beyond those every route may. */
  readonly errors?: readonly number[];
}

export function routeSchema(route: RouteDescription): FastifySchema {
  const errors = new Set<number>([400, 429, 500, ...(route.errors ?? [])]);
  if (route.scopes !== undefined) {
    errors.add(401);
    errors.add(403);
    errors.add(503);
  }
  if (route.body !== undefined) errors.add(413);
  const response: Record<number, TSchema> = { ...route.responses };
  for (const status of errors) response[status] ??= ErrorReply;
  return {
    tags: [route.tag],
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    ...(route.scopes === undefined ? {} : { security: [{ apiKey: [] }] }),
    ...(route.params === undefined ? {} : { params: route.params }),
    ...(route.querystring === undefined ? {} : { querystring: route.querystring }),
    ...(route.body === undefined ? {} : { body: route.body }),
    response,
  };
}
