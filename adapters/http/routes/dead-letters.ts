// Dead letters (DESIGN.md §7): input that could not become a command, kept with its reason until an
// operator retries it (optionally corrected) or discards it. A discarded letter is kept, marked, with
// the operator's reason: nothing is erased. Letters can hold any location's data, so these routes need
// `admin` with no location limit.

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { deadLettersPerPageMax } from '../../../engine/dead-letters.ts';
import type { AppServices } from '../app.ts';
import { forbidden, HttpError } from '../errors.ts';
import { callerOf, runMutation } from '../idempotency.ts';
import type { Mutation } from '../mutations/mutation.ts';
import { saleMutation } from '../mutations/sales.ts';
import { checkPayload } from '../payload.ts';
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
import { SALES_BATCH_ADAPTER } from './sales.ts';
import { boundedInteger } from './stock.ts';

const deadLettersPageDefault = 100;

/** What a letter of each adapter was meant to be, so a retry can run it again. */
const RETRYABLE: Readonly<Record<string, Mutation<never>>> = {
  [SALES_BATCH_ADAPTER]: saleMutation as Mutation<never>,
};

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
  const letterOf = (id: string) => {
    const letter = engine.deadLetters.get(id);
    if (letter === undefined) throw new HttpError('NOT_FOUND', `no dead letter ${id}`, { id });
    return letter;
  };
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
            'The payload runs as the request it was meant to be (a backlog line as POST /v1/sales). On success the ' +
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
        const letter = letterOf(request.params.id);
        if (letter.status !== 'open') {
          throw new HttpError('INVALID_STATE', `dead letter ${letter.id} is ${letter.status}`, {
            state: letter.status,
          });
        }
        const mutation = RETRYABLE[letter.adapter];
        if (mutation === undefined) {
          throw new HttpError('INVALID_STATE', `dead letters of ${letter.adapter} cannot be retried here`, {
            state: letter.status,
            adapter: letter.adapter,
          });
        }
        const corrected = request.body.payload;
        const checked = checkPayload<never>(request, mutation.schema, corrected ?? letter.payload);
        try {
          if (!checked.ok) throw checked.error;
          const outcome = await runMutation(
            services,
            mutation,
            checked.value,
            callerOf(request, 'http:dead-letters:retry'),
          );
          const note = [
            corrected === undefined ? 'as stored' : 'with a corrected payload',
            outcome.replayed ? 'already applied' : `answered ${outcome.status}`,
            request.body.note,
          ];
          const marked = await engine.deadLetters.mark(
            letter.id,
            'retried',
            'retry',
            note.filter((part) => part !== undefined).join('; '),
          );
          return { letter: deadLetterView(marked ?? letter), outcome };
        } catch (error) {
          const code = error instanceof HttpError ? error.code : 'INTERNAL_ERROR';
          await engine.deadLetters.mark(
            letter.id,
            'open',
            'retry-failed',
            `${code}: ${(error as Error).message}`,
          );
          throw error;
        }
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
        const letter = letterOf(request.params.id);
        if (letter.status === 'discarded') return { letter: deadLetterView(letter) };
        if (letter.status !== 'open') {
          throw new HttpError('INVALID_STATE', `dead letter ${letter.id} is ${letter.status}`, {
            state: letter.status,
          });
        }
        const marked = await engine.deadLetters.mark(letter.id, 'discarded', 'discard', request.body.reason);
        return { letter: deadLetterView(marked ?? letter) };
      },
    );
  };
}
