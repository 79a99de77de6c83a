// What each adapter's dead letters were meant to be, so that a retry can run them again through the
// adapter's own code: a backlog line as POST /v1/sales, an import row as the import would apply it, a
// replayed log line as the replay would. An adapter whose letters cannot be retried is absent (its
// letters can still be listed and discarded). Add an entry here for a new adapter's letters.

import type { ErrorCode } from '../http/errors.ts';
import { HttpError } from '../http/errors.ts';
import { runMutation } from '../http/idempotency.ts';
import { itemView, locationCodeView } from '../http/master-data-schemas.ts';
import type { Mutation } from '../http/mutations/mutation.ts';
import { saleMutation } from '../http/mutations/sales.ts';
import { checkPayloadWith } from '../http/payload.ts';
import { SALES_BATCH_ADAPTER } from '../http/routes/sales.ts';
import { ITEMS_IMPORT_ADAPTER, LOCATIONS_IMPORT_ADAPTER, retryImportRow } from '../mapping/imports.ts';
import { POS_ADAPTER } from '../pos/subjects.ts';
import { REPLAY_ADAPTER } from '../replay/online-retail.ts';
import { retryReplayLine } from '../replay/retry-line.ts';
import type { RetryHandler } from './retry.ts';

const ERROR_CODES: readonly string[] = [
  'IDEMPOTENCY_CONFLICT',
  'INVALID_STATE',
  'QUARANTINE_INSUFFICIENT',
  'INSUFFICIENT_STOCK',
  'OVERLOADED',
  'SHARD_UNAVAILABLE',
];

/** A reason (`CODE: sentence`) as an error: its code when the API has it, else VALIDATION_FAILED. */
export function reasonError(reason: string): HttpError {
  const code = reason.split(':')[0] ?? '';
  if (ERROR_CODES.includes(code))
    return new HttpError(code as ErrorCode, reason.slice(code.length + 2), { reason });
  return new HttpError('VALIDATION_FAILED', reason, { issues: [{ path: '', message: reason }], reason });
}

/** A letter that was an API request: checked against the mutation's schema, then run as its endpoint would. */
function mutationHandler<Input>(mutation: Mutation<Input>): RetryHandler {
  return {
    async run({ services, caller, compile }, payload) {
      const checked = checkPayloadWith<Input>(compile, mutation.schema, payload);
      if (!checked.ok) throw checked.error;
      return runMutation(services, mutation, checked.value, caller);
    },
  };
}

function importRowHandler(adapter: string): RetryHandler {
  return {
    async run({ services }, payload) {
      const retried = await retryImportRow(services.engine, adapter, payload);
      if (!retried.ok) throw reasonError(retried.reason);
      const { outcome } = retried;
      const body =
        'sku' in outcome.record
          ? { item: itemView(outcome.record) }
          : { locationCode: locationCodeView(outcome.record) };
      return {
        status: outcome.status === 'created' ? 201 : 200,
        replayed: outcome.status === 'unchanged',
        body: { change: outcome.status, ...body },
      };
    },
  };
}

const replayLineHandler: RetryHandler = {
  async run({ services, caller }, payload) {
    const outcome = await retryReplayLine(services.engine, payload, caller.meta);
    if (!outcome.ok) throw reasonError(outcome.reason);
    return {
      status: 201,
      replayed: outcome.duplicate,
      body: { kind: outcome.kind, duplicate: outcome.duplicate, disposed: outcome.disposed },
    };
  },
};

export const RETRY_HANDLERS: Readonly<Record<string, RetryHandler>> = {
  [SALES_BATCH_ADAPTER]: mutationHandler(saleMutation),
  [POS_ADAPTER]: mutationHandler(saleMutation),
  [ITEMS_IMPORT_ADAPTER]: importRowHandler(ITEMS_IMPORT_ADAPTER),
  [LOCATIONS_IMPORT_ADAPTER]: importRowHandler(LOCATIONS_IMPORT_ADAPTER),
  [REPLAY_ADAPTER]: replayLineHandler,
};
