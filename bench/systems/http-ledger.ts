// The workloads' operations over the HTTP API, spread round-robin over one or more nodes' base URLs:
// the same requests a client of the API sends, for the cluster suite (an embedded node against a
// cluster, both over HTTP, from the same client).

import { Pool } from 'undici';
import type { LedgerSystem, Operation, Outcome } from './system.ts';

function requestOf(operation: Operation, id: string): { path: string; body: unknown } {
  const { location, sku } = operation;
  switch (operation.kind) {
    case 'receive':
      return {
        path: '/v1/receipts',
        body: { receiptId: id, location, lines: [{ sku, qty: operation.qty }] },
      };
    case 'sale':
      return {
        path: '/v1/sales',
        body: { transactionId: id, location, lines: [{ sku, qty: operation.qty }] },
      };
    case 'reserve':
      return {
        path: '/v1/reservations',
        body: {
          reservationId: operation.reservationId,
          channel: 'web',
          ttlSeconds: operation.ttlSeconds,
          lines: [{ sku, location, qty: operation.qty }],
        },
      };
    case 'commit':
      return { path: `/v1/reservations/${operation.reservationId}/commit`, body: {} };
    case 'release':
      return { path: `/v1/reservations/${operation.reservationId}/release`, body: { releaseId: id } };
    case 'return':
      return {
        path: '/v1/returns',
        body: {
          returnId: operation.returnId,
          location,
          lines: [{ sku, qty: operation.qty, reason: 'bench' }],
        },
      };
    case 'dispose':
      return {
        path: `/v1/returns/${operation.returnId}/dispositions`,
        body: { dispositionId: id, lines: [{ sku, qty: operation.qty, disposition: operation.disposition }] },
      };
    case 'adjust':
      return {
        path: '/v1/adjustments',
        body: { adjustmentId: id, location, lines: [{ sku, delta: operation.delta, reason: 'correction' }] },
      };
    case 'count':
      return {
        path: '/v1/counts',
        body: { countId: id, location, lines: [{ sku, counted: operation.counted }] },
      };
  }
}

export class HttpLedger implements LedgerSystem {
  readonly name: string;
  readonly durable = true;
  readonly #pools: Pool[];
  #next = 0;
  /** Answers that were neither accepted nor refused by the rules (5xx, unexpected), by status. */
  readonly unexpected = new Map<number, number>();
  /** 503 answers retried. */
  retried = 0;

  constructor(name: string, addresses: readonly string[], connectionsPerNode: number) {
    this.name = name;
    this.#pools = addresses.map((address) => new Pool(address, { connections: connectionsPerNode }));
  }

  async apply(operation: Operation, id: string): Promise<Outcome> {
    const { path, body } = requestOf(operation, id);
    return this.post(path, body);
  }

  /** POSTs one request to the next node, retrying 503s as a client does. */
  async post(path: string, body: unknown): Promise<Outcome> {
    const pool = this.#pools[this.#next++ % this.#pools.length]!;
    const payload = JSON.stringify(body);
    let response = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    });
    let text = await response.body.text();
    // As a client of the API does: a 503 (a shard moving, a full mailbox) is retried, same body, same id.
    for (let retry = 0; response.statusCode === 503 && retry < 40; retry++) {
      this.retried++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      response = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
      });
      text = await response.body.text();
    }
    if (response.statusCode < 300) return { ok: true };
    if (response.statusCode === 409 || response.statusCode === 422) {
      return {
        ok: false,
        refusal: (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? 'REFUSED',
      };
    }
    this.unexpected.set(response.statusCode, (this.unexpected.get(response.statusCode) ?? 0) + 1);
    const error = new Error(`${path} answered ${response.statusCode}: ${text.slice(0, 200)}`);
    process.stderr.write(`${error.message}\n`);
    throw error;
  }

  /** Sends receipts in `POST /v1/commands` requests of up to 1,000. */
  async stock(
    targets: readonly { location: string; sku: string }[],
    units: number,
    prefix: string,
  ): Promise<void> {
    const pool = this.#pools[0]!;
    for (let start = 0; start < targets.length; start += 1_000) {
      const commands = targets.slice(start, start + 1_000).map((target, at) => ({
        type: 'receive',
        receiptId: `${prefix}-${start + at}`,
        location: target.location,
        lines: [{ sku: target.sku, qty: units }],
      }));
      const response = await pool.request({
        path: '/v1/commands',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ commands }),
      });
      const answer = (await response.body.json()) as { results?: { status: number }[] };
      const failed = answer.results?.filter((result) => result.status !== 201).length ?? commands.length;
      if (response.statusCode !== 200 || failed > 0)
        throw new Error(`stocking: ${response.statusCode}, ${failed} receipts not accepted`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#pools.map((pool) => pool.close()));
  }
}
