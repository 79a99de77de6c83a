// Retrying and discarding dead letters, one code path for `POST /v1/dead-letters/{id}/retry`,
// `DELETE /v1/dead-letters/{id}` and `stockledger dead-letters retry|discard`. A retry runs the letter's
// payload (or a corrected one) again through the adapter that wrote it (handlers.ts); on success the
// letter is marked retried, on failure it stays open with the failure in its history and the error is
// thrown to the caller. A discarded letter is kept, marked, with the operator's reason: never erased.

import type { DeadLetters } from '../../engine/dead-letters.ts';
import type { DeadLetterRecord } from '../../engine/store/records.ts';
import { HttpError, toHttpError } from '../http/errors.ts';
import type { Caller, Services } from '../http/mutations/mutation.ts';
import type { CompileSchema } from '../http/payload.ts';
import { RETRY_HANDLERS } from './handlers.ts';

/** What a retry runs with: the engine's services, who asks, and how payloads are checked. */
export interface RetryEnvironment {
  readonly services: Services;
  readonly caller: Caller;
  readonly compile: CompileSchema;
}

/** The answer the payload got, as its endpoint would give it. */
export interface RetryOutcome {
  readonly status: number;
  readonly replayed: boolean;
  readonly body: unknown;
}

/** Runs one adapter's payload again. Throws (an HttpError for input that is still bad) on failure. */
export interface RetryHandler {
  run(environment: RetryEnvironment, payload: unknown): Promise<RetryOutcome>;
}

export interface RetryRequest {
  /** A corrected payload to run instead of the stored one. */
  readonly payload?: unknown;
  readonly note?: string | undefined;
}

function letterOf(deadLetters: DeadLetters, id: string): DeadLetterRecord {
  const letter = deadLetters.get(id);
  if (letter === undefined) throw new HttpError('NOT_FOUND', `no dead letter ${id}`, { id });
  return letter;
}

function requireOpen(letter: DeadLetterRecord): void {
  if (letter.status !== 'open') {
    throw new HttpError('INVALID_STATE', `dead letter ${letter.id} is ${letter.status}`, {
      state: letter.status,
    });
  }
}

export async function retryDeadLetter(
  environment: RetryEnvironment,
  id: string,
  request: RetryRequest,
): Promise<{ letter: DeadLetterRecord; outcome: RetryOutcome }> {
  const { engine } = environment.services;
  const letter = letterOf(engine.deadLetters, id);
  requireOpen(letter);
  const handler = RETRY_HANDLERS[letter.adapter];
  if (handler === undefined) {
    throw new HttpError('INVALID_STATE', `dead letters of ${letter.adapter} cannot be retried here`, {
      state: letter.status,
      adapter: letter.adapter,
    });
  }
  const corrected = request.payload;
  try {
    const outcome = await handler.run(environment, corrected ?? letter.payload);
    const note = [
      corrected === undefined ? 'as stored' : 'with a corrected payload',
      outcome.replayed ? 'already applied' : `answered ${outcome.status}`,
      request.note,
    ];
    const marked = await engine.deadLetters.mark(
      letter.id,
      'retried',
      'retry',
      note.filter((part) => part !== undefined).join('; '),
    );
    return { letter: marked ?? letter, outcome };
  } catch (error) {
    const code = toHttpError(error).code;
    await engine.deadLetters.mark(letter.id, 'open', 'retry-failed', `${code}: ${(error as Error).message}`);
    throw error;
  }
}

/** Marks a letter discarded with a reason; discarding a discarded letter changes nothing. */
export async function discardDeadLetter(
  deadLetters: DeadLetters,
  id: string,
  reason: string,
): Promise<DeadLetterRecord> {
  const letter = letterOf(deadLetters, id);
  if (letter.status === 'discarded') return letter;
  requireOpen(letter);
  const marked = await deadLetters.mark(letter.id, 'discarded', 'discard', reason);
  return marked ?? letter;
}
