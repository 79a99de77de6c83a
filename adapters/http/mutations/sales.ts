// A POS sale: each line is a `sale` command at the sale's location, all in one job, so a multi-line
// sale is committed together. A sale is never refused for stock (DESIGN.md rule 3): a unit that was
// reserved is sold all the same, and the position says `oversold`.

import { locationId, sku as skuOf } from '../../../actors/index.ts';
import { derivedCommandId, idempotencyKey } from '../../../engine/command-ids.ts';
import type { Sale } from '../schemas.ts';
import { Sale as SaleSchema } from '../schemas.ts';
import { applyAll, requireDistinct } from './lines.ts';
import type { Mutation } from './mutation.ts';

export const saleMutation: Mutation<Sale> = {
  type: 'sale',
  scope: 'sales:write',
  schema: SaleSchema,
  id: (input) => input.transactionId,
  key: (input) => idempotencyKey('http:sale', input.transactionId),
  locations: (input) => [input.location],
  plan: ({ engine }, input, { meta: caller }) => {
    requireDistinct(input.lines);
    // A late or offline sale keeps when it happened, next to when the ledger applied it.
    const meta =
      input.occurredAt === undefined ? caller : { ...caller, occurredAtMs: Date.parse(input.occurredAt) };
    return {
      shard: engine.shardOfLocation(input.location),
      run: (context) => {
        const outcomes = applyAll(
          context,
          input.lines.map((line, at) => ({
            type: 'sale' as const,
            commandId: derivedCommandId(input.transactionId, 'sale', at),
            sku: skuOf(line.sku),
            location: locationId(input.location),
            qty: line.qty,
          })),
          meta,
          `sale ${input.transactionId}`,
        );
        return {
          status: 201,
          body: {
            transactionId: input.transactionId,
            lines: outcomes.map(({ position }) => ({
              sku: position.sku,
              onHand: position.onHand,
              availableToSell: position.availableToSell,
              integrity: position.integrity,
            })),
          },
        };
      },
    };
  },
};
