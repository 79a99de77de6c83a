// The supply side (ERP, WMS): receipts, transfers and their receipts, adjustments, cycle counts, and
// the policy of a SKU-location.

import type { Counted, Policy } from '../../../actors/index.ts';
import { canonicalJson, locationId, sku as skuOf } from '../../../actors/index.ts';
import { derivedCommandId, idempotencyKey } from '../../../engine/command-ids.ts';
import type { StockPosition } from '../../../engine/inputs.ts';
import { positionOf } from '../../../engine/inputs.ts';
import { arrivalRecordId } from '../../../engine/transfers.ts';
import { requireLocations } from '../auth.ts';
import { HttpError, refusalError } from '../errors.ts';
import type {
  Adjustment,
  CreateTransfer,
  CycleCount,
  PolicyInput,
  Receipt,
  TransferReceiptInput,
} from '../schemas.ts';
import {
  Adjustment as AdjustmentSchema,
  CreateTransfer as CreateTransferSchema,
  CycleCount as CycleCountSchema,
  PolicyInput as PolicySchema,
  Receipt as ReceiptSchema,
  TransferReceiptInput as TransferReceiptSchema,
} from '../schemas.ts';
import { positionView, transferView } from '../views.ts';
import { applyAll, requireDistinct } from './lines.ts';
import type { Mutation } from './mutation.ts';

function figures(position: StockPosition) {
  return {
    onHand: position.onHand,
    availableToSell: position.availableToSell,
    status: position.status,
    integrity: position.integrity,
  };
}

export const receiveMutation: Mutation<Receipt> = {
  type: 'receive',
  scope: 'supply:write',
  schema: ReceiptSchema,
  id: (input) => input.receiptId,
  key: (input) => idempotencyKey('http:receipt', input.receiptId),
  locations: (input) => [input.location],
  plan: ({ engine }, input, { meta }) => {
    requireDistinct(input.lines);
    return {
      shard: engine.shardOfLocation(input.location),
      run: (context) => {
        const outcomes = applyAll(
          context,
          input.lines.map((line, at) => ({
            type: 'receive' as const,
            commandId: derivedCommandId(input.receiptId, 'receive', at),
            sku: skuOf(line.sku),
            location: locationId(input.location),
            qty: line.qty,
          })),
          meta,
          `receipt ${input.receiptId}`,
        );
        return {
          status: 201,
          body: {
            receiptId: input.receiptId,
            location: input.location,
            lines: outcomes.map(({ position }, at) => ({
              sku: position.sku,
              qty: input.lines[at]!.qty,
              ...figures(position),
            })),
          },
        };
      },
    };
  },
};

export const adjustMutation: Mutation<Adjustment> = {
  type: 'adjust',
  scope: 'supply:write',
  schema: AdjustmentSchema,
  id: (input) => input.adjustmentId,
  key: (input) => idempotencyKey('http:adjustment', input.adjustmentId),
  locations: (input) => [input.location],
  plan: ({ engine }, input, { meta }) => {
    requireDistinct(input.lines);
    return {
      shard: engine.shardOfLocation(input.location),
      run: (context) => {
        const outcomes = applyAll(
          context,
          input.lines.map((line, at) => ({
            type: 'adjust' as const,
            commandId: derivedCommandId(input.adjustmentId, 'adjust', at),
            sku: skuOf(line.sku),
            location: locationId(input.location),
            delta: line.delta,
            reason: line.reason,
          })),
          meta,
          `adjustment ${input.adjustmentId}`,
        );
        return {
          status: 201,
          body: {
            adjustmentId: input.adjustmentId,
            location: input.location,
            lines: outcomes.map(({ position }, at) => ({
              sku: position.sku,
              delta: input.lines[at]!.delta,
              reason: input.lines[at]!.reason,
              ...figures(position),
            })),
          },
        };
      },
    };
  },
};

export const countMutation: Mutation<CycleCount> = {
  type: 'count',
  scope: 'supply:write',
  schema: CycleCountSchema,
  id: (input) => input.countId,
  key: (input) => idempotencyKey('http:count', input.countId),
  locations: (input) => [input.location],
  plan: ({ engine }, input, { meta }) => {
    requireDistinct(input.lines);
    return {
      shard: engine.shardOfLocation(input.location),
      run: (context) => {
        const outcomes = applyAll(
          context,
          input.lines.map((line, at) => ({
            type: 'count' as const,
            commandId: derivedCommandId(input.countId, 'count', at),
            sku: skuOf(line.sku),
            location: locationId(input.location),
            counted: line.counted,
          })),
          meta,
          `count ${input.countId}`,
        );
        return {
          status: 201,
          body: {
            countId: input.countId,
            location: input.location,
            lines: outcomes.map(({ position, events }) => {
              const counted = events.find((event): event is Counted => event.type === 'Counted');
              return {
                sku: position.sku,
                counted: counted?.counted ?? position.onHand,
                variance: counted?.variance ?? 0,
                ...figures(position),
              };
            }),
          },
        };
      },
    };
  },
};

export const transferMutation: Mutation<CreateTransfer> = {
  type: 'transfer',
  scope: 'supply:write',
  schema: CreateTransferSchema,
  id: (input) => input.transferId,
  key: (input) => idempotencyKey('http:transfer', input.transferId),
  locations: (input) => [input.from, input.to],
  plan: ({ engine }, input, { meta }) => {
    const spec = engine.transfers.createJob(input, meta);
    return {
      shard: spec.shard,
      run: (context) => {
        const result = spec.run(context);
        if (result.ok) {
          // Answered once the destination has recorded the arrival (its outbox delivery: in cluster mode
          // between shards, at the destination's owner), so the answer's reader sees the units in transit.
          return {
            status: 201,
            body: transferView(result.header),
            outbox: [arrivalRecordId(input.transferId)],
          };
        }
        // Nothing was shipped: answer the refusal without recording it, so a retry after a receipt works.
        const other = result.refused.find(({ refusal }) => refusal.code !== 'INSUFFICIENT_STOCK');
        if (other !== undefined) throw refusalError(other.refusal, '/lines', `transfer ${input.transferId}`);
        throw new HttpError(
          'INSUFFICIENT_STOCK',
          `transfer ${input.transferId}: ${input.from} has not enough available to ship; nothing was shipped`,
          {
            lines: result.refused.map(({ sku, requested, refusal }) => ({
              sku,
              location: input.from,
              requested,
              availableToSell: refusal.code === 'INSUFFICIENT_STOCK' ? refusal.availableToSell : 0,
            })),
          },
        );
      },
    };
  },
};

export const transferReceiptMutation: Mutation<TransferReceiptInput> = {
  type: 'transferReceipt',
  scope: 'supply:write',
  schema: TransferReceiptSchema,
  id: (input) => input.transferId,
  key: (input) => idempotencyKey('http:transfer-receipt', input.transferId),
  locations: () => [],
  plan: ({ engine }, input, { access, meta }) => {
    const spec = engine.transfers.receiveJob(input, meta);
    return {
      shard: spec.shard,
      run: (context) => {
        const header = context.transfer(input.transferId);
        if (header !== undefined) requireLocations(access, [header.to]);
        return { status: 200, body: transferView(spec.run(context)) };
      },
    };
  },
};

/** The policy a PUT states; omitted channels mean none. */
function policyOf(input: PolicyInput): Policy {
  return {
    safetyStock: input.safetyStock,
    lowStockThreshold: input.lowStockThreshold,
    channels: { ...(input.channels ?? {}) },
  };
}

/**
 * PUT /v1/policies/{location}/{sku} replaces the policy. It is idempotent by what it says, not by an id:
 * a PUT of the policy already in force records nothing.
 */
export const setPolicyMutation: Mutation<PolicyInput> = {
  type: 'setPolicy',
  scope: 'admin',
  schema: PolicySchema,
  id: () => null,
  key: () => null,
  locations: (input) => [input.location],
  plan: ({ engine }, input, { meta }) => ({
    shard: engine.shardOfLocation(input.location),
    run: (context) => {
      const policy = policyOf(input);
      const ledger = context.ledger(input.location, input.sku);
      let position = positionOf(ledger);
      if (canonicalJson(ledger.policy) !== canonicalJson(policy)) {
        const [outcome] = applyAll(
          context,
          [
            {
              type: 'setPolicy',
              commandId: derivedCommandId('policy', input.location, input.sku, ledger.version + 1),
              sku: skuOf(input.sku),
              location: locationId(input.location),
              policy,
            },
          ],
          meta,
          `policy of ${input.sku} at ${input.location}`,
        );
        position = outcome!.position;
      }
      return { status: 200, body: { policy, position: positionView(position) } };
    },
  }),
};
