// stockledger's embedded engine as a peer: a fresh engine on a temporary data directory per workload,
// operations through the `direct` view (reserve/commit/release straight to the SKU-location actor, the
// same operation-level semantics the SQL and Lua peers implement). Stocking goes through
// `engine.submit` in big batches, or, for W1's catalogue, `openStocked` starts from a copy of a cached
// stocked data dir with every actor made resident (workloads/stocked-engine.ts). The audit reads each
// SKU-location's committed ledger (what the last flushed batch left) and counts its open lines.

import { commandId, locationId, sku } from '../../actors/index.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import { openStockedEngine } from '../workloads/stocked-engine.ts';
import { auditLedgers } from './audit.ts';
import type { OpenedEngine, ReservationPath } from './engine.ts';
import { openEngine } from './engine.ts';
import type { Audit, Peer, PeerInstance, PeerOpenOptions, StockedOptions, Target } from './system.ts';

const stockCommandsPerSubmit = 2_000;
const stockSubmitsInFlight = 8;
const meta = { correlationId: null, source: 'bench:stock' };

export function stockledgerPeer(path: ReservationPath = 'direct'): Peer {
  return {
    name: `stockledger:${path}`,
    description:
      path === 'direct'
        ? 'the embedded engine (64 shards, group commit to LMDB, overlappingSync false); reserve/commit/release submitted straight to the actor'
        : 'the embedded engine; reservations through engine.reservations (header + line, the HTTP API path)',
    open: async (options) => instanceOf(path, await openEngine({ settings: options.engineSettings ?? {} })),
    openStocked: async (options: PeerOpenOptions & StockedOptions) =>
      instanceOf(
        path,
        await openStockedEngine({
          cacheDir: options.cacheDir,
          progress: options.progress,
          settings: options.engineSettings ?? {},
        }),
      ),
  };
}

function instanceOf(path: ReservationPath, opened: OpenedEngine): PeerInstance {
  const view = opened.view(path);
  let stockSequence = 0;
  return {
    name: view.name,
    durable: view.durable,
    apply: (operation, id) => view.apply(operation, id),
    async stock(targets: readonly Target[], units: number): Promise<void> {
      let next = 0;
      const worker = async () => {
        while (next < targets.length) {
          const chunk = targets.slice(next, next + stockCommandsPerSubmit);
          next += chunk.length;
          const commands: CommandInput[] = chunk.map((target) => ({
            type: 'receive',
            commandId: commandId(`peer.stock.${(stockSequence++).toString(36)}`),
            sku: sku(target.sku),
            location: locationId(target.location),
            qty: units,
          }));
          const answers = await opened.engine.submit(commands, meta);
          const refused = answers.find((answer) => !answer.result.ok);
          if (refused !== undefined)
            throw new Error(`stocking was refused: ${JSON.stringify(refused.result)}`);
        }
      };
      await Promise.all(Array.from({ length: stockSubmitsInFlight }, worker));
    },
    async audit(targets: readonly Target[]): Promise<Audit> {
      return auditLedgers(
        targets.map((target) => opened.engine.committedLedger(target.location, target.sku)),
      );
    },
    async memory(): Promise<Record<string, number>> {
      const usage = process.memoryUsage();
      return {
        heap_used_bytes: usage.heapUsed,
        rss_bytes: usage.rss,
        resident_actors: opened.engine.stats().residentActors,
      };
    },
    close: () => opened.close(),
  };
}
