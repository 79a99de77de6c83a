// Dead letters (DESIGN.md §7): input that could not become a command, kept with its reason until an
// operator retries it (optionally corrected) or discards it. A discarded letter is kept, marked, with
// the operator's reason: nothing is erased. Letters can hold any location's data, so these routes need
// `admin` with no location limit.

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { deadLettersPerPageMax } from '../../../engine/dead-letters.ts';
import { discardDeadLetter, retryDeadLetter } from '../../dead-letters/retry.ts';
import type { AppServices } from '../app.ts';
import { forbidden } from '../errors.ts';
import { callerOf } from '../idempotency.ts';
import { compilerOf } from '../payload.ts';
import { routeSchema } from '../route-schema.ts';
import {
  DeadLetterDiscard,
  DeadLetterDiscarded,
  DeadLetterParams,
  DeadLetterQuery,
  DeadLetterRetried,
  DeadLetterRetry,
  DeadLetters,
} from '../schemas.ts';
import { deadLetterView } from '../views.ts';
import { boundedInteger } from './stock.ts';

const deadLettersPageDefault = 100;

function requireUnrestricted(request: FastifyRequest): void {
  if (request.access.locations !== null) {
    throw forbidden(
      `dead letters may hold any location's data; the key "${request.access.name}" is limited to some`,
    );
  }
}

export function deadLetterRoutes(services: AppServices): FastifyPluginAsync {
  const { engine } = services;
  const scopes = ['admin'] as const;
  return async (app) => {
    app.get<{ Querystring: Static<typeof DeadLetterQuery> }>(
      '/v1/dead-letters',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'dead-letters',
          summary: 'Dead letters, oldest first, filtered by status, adapter and reason prefix',
          description: `\`limit\` defaults to ${deadLettersPageDefault} (at most ${deadLettersPerPageMax}); pass \`next\` as \`after\` for the next page.`,
          scopes,
          querystring: DeadLetterQuery,
          responses: { 200: DeadLetters },
        }),
      },
      async (request) => {
        requireUnrestricted(request);
        const { status, adapter, reason, after } = request.query;
        const page = engine.deadLetters.list({
          limit: boundedInteger(request.query.limit, 'limit', deadLettersPageDefault, deadLettersPerPageMax),
          ...(status === undefined ? {} : { status }),
          ...(adapter === undefined ? {} : { adapter }),
          ...(reason === undefined ? {} : { reason }),
          ...(after === undefined ? {} : { after }),
        });
        return { letters: page.letters.map(deadLetterView), next: page.next };
      },
    );

    app.post<{ Params: Static<typeof DeadLetterParams>; Body: Static<typeof DeadLetterRetry> }>(
      '/v1/dead-letters/:id/retry',
      {
        config: { scopes },
        // The body is optional: no body means "as stored", validated as the empty object.
        preValidation: async (request) => {
          if (request.body === undefined || request.body === null) request.body = {};
        },
        schema: routeSchema({
          tag: 'dead-letters',
          summary: 'Run a dead letter again, as stored or with a corrected payload',
          description:
            'The payload runs again through the adapter that wrote it (a backlog or POS line as POST /v1/sales, an ' +
            'import row as its import, a replayed log line as `stockledger replay`). On success the ' +
            'letter is marked retried; a payload that fails again answers its error, and the letter stays open ' +
            'with the failure in its history.',
          scopes,
          params: DeadLetterParams,
          body: DeadLetterRetry,
          responses: { 200: DeadLetterRetried },
          errors: [404, 409],
        }),
      },
      async (request) => {
        requireUnrestricted(request);
        const { letter, outcome } = await retryDeadLetter(
          {
            services,
            caller: callerOf(request, 'http:dead-letters:retry'),
            compile: compilerOf(request),
          },
          request.params.id,
          request.body,
        );
        return { letter: deadLetterView(letter), outcome };
      },
    );

    app.delete<{ Params: Static<typeof DeadLetterParams>; Body: Static<typeof DeadLetterDiscard> }>(
      '/v1/dead-letters/:id',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'dead-letters',
          summary: 'Discard a dead letter: kept, marked discarded with the reason, never erased',
          scopes,
          params: DeadLetterParams,
          body: DeadLetterDiscard,
          responses: { 200: DeadLetterDiscarded },
          errors: [404, 409],
        }),
      },
      async (request) => {
        requireUnrestricted(request);
        const letter = await discardDeadLetter(engine.deadLetters, request.params.id, request.body.reason);
        return { letter: deadLetterView(letter) };
      },
    );
  };
}
