// Load for the cluster tests: workers send receipts (always accepted, so every acknowledged one must
// show in on-hand) with unique ids at random locations, through whichever nodes are alive, retrying
// with the same body until acknowledged. At the end, each SKU-location's on-hand must be exactly the sum
// of its receipts: a lost acknowledged receipt shows as less, a receipt applied twice as more.

import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { shardOf } from '../../engine/shard-of.ts';
import type { TestNode } from './cluster-nodes.ts';
import { send } from './cluster-nodes.ts';

export interface Receipt {
  readonly id: string;
  readonly location: string;
  readonly sku: string;
  readonly qty: number;
}

export interface LoadResult {
  readonly sent: number;
  readonly acknowledged: Receipt[];
  /** Answers other than 201, by status (none expected). */
  readonly failures: Map<number, number>;
  readonly retried: number;
}

export class ReceiptLoad {
  readonly #live: () => readonly TestNode[];
  readonly #locations: readonly string[];
  readonly #prefix: string;
  #running = true;
  #next = 0;
  readonly acknowledged: Receipt[] = [];
  readonly failures = new Map<number, number>();
  retried = 0;
  readonly #workers: Promise<void>[] = [];
  /** Called with each acknowledgement: when its request was first sent, and when it was answered. */
  onAck: ((receipt: Receipt, sentAtMs: number, atMs: number) => void) | null = null;

  constructor(
    live: () => readonly TestNode[],
    locations: readonly string[],
    prefix: string,
    workers: number,
  ) {
    this.#live = live;
    this.#locations = locations;
    this.#prefix = prefix;
    for (let at = 0; at < workers; at++) this.#workers.push(this.#work(at));
  }

  async #work(worker: number): Promise<void> {
    while (this.#running) {
      const n = this.#next++;
      const receipt: Receipt = {
        id: `${this.#prefix}-${n}`,
        location: this.#locations[(n * 7 + worker) % this.#locations.length]!,
        sku: `sku-${n % 3}`,
        qty: 1 + (n % 5),
      };
      const offset = n;
      const sentAtMs = Date.now();
      const answer = await send(
        () => {
          const nodes = this.#live();
          return nodes.map((_, at) => nodes[(at + offset) % nodes.length]!.address);
        },
        '/v1/receipts',
        {
          receiptId: receipt.id,
          location: receipt.location,
          lines: [{ sku: receipt.sku, qty: receipt.qty }],
        },
        60_000,
      );
      if (answer.attempts > 1) this.retried++;
      if (answer.status === 201) {
        this.acknowledged.push(receipt);
        this.onAck?.(receipt, sentAtMs, Date.now());
      } else this.failures.set(answer.status, (this.failures.get(answer.status) ?? 0) + 1);
    }
  }

  async stop(): Promise<LoadResult> {
    this.#running = false;
    await Promise.all(this.#workers);
    return {
      sent: this.#next,
      acknowledged: this.acknowledged,
      failures: this.failures,
      retried: this.retried,
    };
  }
}

/** Expected on-hand by `location|sku` from the acknowledged receipts. */
export function expectedOnHand(receipts: readonly Receipt[]): Map<string, number> {
  const expected = new Map<string, number>();
  for (const { location, sku, qty } of receipts) {
    const key = `${location}|${sku}`;
    expected.set(key, (expected.get(key) ?? 0) + qty);
  }
  return expected;
}

/** Reads every expected SKU-location through the given node and lists the differences. */
export async function differences(node: TestNode, expected: ReadonlyMap<string, number>): Promise<string[]> {
  const wrong: string[] = [];
  for (const [key, onHand] of expected) {
    const [location, sku] = key.split('|') as [string, string];
    const answer = await send(() => [node.address], `/v1/stock/${location}/${sku}`, null);
    const read = (answer.body as { onHand?: number }).onHand;
    if (read !== onHand) wrong.push(`${key}: on-hand ${read}, acknowledged receipts add up to ${onHand}`);
  }
  return wrong;
}

/** The owner of each shard, read from the leases bucket itself (what the nodes agreed on). */
export async function leaseOwners(natsUrl: string): Promise<Map<number, { owner: string; epoch: number }>> {
  const nc = await connect({ servers: natsUrl.split(','), noAsyncTraces: true });
  try {
    const kv = await new Kvm(nc).open('stockledger-leases');
    const owners = new Map<number, { owner: string; epoch: number }>();
    for await (const key of await kv.keys('shard.>')) {
      const entry = await kv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      const value = JSON.parse(new TextDecoder().decode(entry.value)) as {
        owner: string;
        epoch: number;
        expiresAtMs: number;
      };
      owners.set(Number(key.slice('shard.'.length)), {
        owner: value.expiresAtMs > Date.now() ? value.owner : '',
        epoch: value.epoch,
      });
    }
    return owners;
  } finally {
    await nc.close();
  }
}

/** Locations, spread so that every shard has some. */
export function locationsOverShards(shards: number, perShard: number): string[] {
  const byShard = new Map<number, string[]>();
  for (
    let at = 0;
    byShard.size < shards || [...byShard.values()].some((list) => list.length < perShard);
    at++
  ) {
    const location = `store-${at}`;
    const shard = shardOf(location, shards);
    const list = byShard.get(shard) ?? [];
    if (list.length < perShard) list.push(location);
    byShard.set(shard, list);
  }
  return [...byShard.values()].flat();
}

/**
 * Waits until every shard is held by its preferred node among exactly these nodes (the sorted ids,
 * `shard mod n`, as engine/cluster/node.ts spreads them): a start or a join has finished rebalancing.
 */
export async function waitBalanced(
  natsUrl: string,
  nodes: readonly TestNode[],
  shards: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ids = nodes.map((node) => node.id).sort();
  for (;;) {
    const owners = await leaseOwners(natsUrl);
    let placed = 0;
    for (let shard = 0; shard < shards; shard++)
      if (owners.get(shard)?.owner === ids[shard % ids.length]) placed++;
    if (placed === shards) return;
    if (Date.now() > deadline)
      throw new Error(`leases not balanced in ${timeoutMs} ms: ${JSON.stringify([...owners])}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
