// Returns and dispositions run the engine's return coordinator inside a job of their own (see
// engine/returns.ts): units enter quarantine, and leave it only by a disposition.

import { idempotencyKey } from '../../../engine/command-ids.ts';
import { requireLocations } from '../auth.ts';
import type { CreateReturn, DisposeInput } from '../schemas.ts';
import { CreateReturn as CreateReturnSchema, DisposeInput as DisposeSchema } from '../schemas.ts';
import type { Mutation } from './mutation.ts';

export const returnMutation: Mutation<CreateReturn> = {
  type: 'return',
  scope: 'returns:write',
  schema: CreateReturnSchema,
  id: (input) => input.returnId,
  key: (input) => idempotencyKey('http:return', input.returnId),
  locations: (input) => [input.location],
  plan: ({ engine }, input, { meta }) => {
    const spec = engine.returns.createJob(
      {
        returnId: input.returnId,
        location: input.location,
        originalOrderId: input.originalOrderId ?? null,
        lines: input.lines,
      },
      meta,
    );
    return {
      shard: spec.shard,
      run: (context) => {
        const { positions } = spec.run(context);
        return {
          status: 201,
          body: {
            returnId: input.returnId,
            location: input.location,
            lines: input.lines.map((line, at) => ({
              sku: line.sku,
              qty: line.qty,
              quarantine: positions[at]!.quarantine,
            })),
          },
        };
      },
    };
  },
};

export const disposeMutation: Mutation<DisposeInput> = {
  type: 'dispose',
  scope: 'returns:write',
  schema: DisposeSchema,
  id: (input) => input.dispositionId,
  key: (input) => idempotencyKey('http:disposition', input.returnId, input.dispositionId),
  locations: () => [],
  plan: ({ engine }, input, { access, meta }) => {
    const spec = engine.returns.disposeJob(
      { returnId: input.returnId, dispositionId: input.dispositionId, lines: input.lines },
      meta,
    );
    return {
      shard: spec.shard,
      run: (context) => {
        const header = context.returnHeader(input.returnId);
        if (header !== undefined) requireLocations(access, [header.location]);
        const { positions } = spec.run(context);
        return {
          status: 201,
          body: {
            returnId: input.returnId,
            dispositionId: input.dispositionId,
            lines: input.lines.map((line, at) => ({
              sku: line.sku,
              qty: line.qty,
              disposition: line.disposition,
              quarantine: positions[at]!.quarantine,
              onHand: positions[at]!.onHand,
              availableToSell: positions[at]!.availableToSell,
            })),
          },
        };
      },
    };
  },
};
