// Routing between nodes: a request for a shard this node does not own travels to the owner as part of
// a micro-batch, one NATS request per batch to `inv.cmd.<shard>` (msgpackr), and the owner answers one
// result per item, in order. Measured here: un-batched NATS request/reply tops out near 12k/s, so
// items queued in the same turn of the event loop go together. A shard that is moving (no one serves
// its subject, or the node that answers no longer owns it) is retried with backoff, idempotently (each
// item carries its idempotency key), for up to `retryMs`; then the caller gets SHARD_UNAVAILABLE.

import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import { EngineError } from '../errors.ts';
import type { OutboxRecord } from '../store/records.ts';

const packr = new Packr({ useRecords: false, moreTypes: true });
const itemsPerRequestMax = 256;
const requestTimeoutMs = 5_000;
/** Header locations remembered (kind, id -> shard). */
const foundMax = 100_000;

/** What travels: opaque to the router; the HTTP layer defines items and their results. */
export type RoutedItem = unknown;

export type RoutedResult =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: string;
        readonly message: string;
        readonly details: Readonly<Record<string, unknown>>;
        readonly retryAfterSeconds: number | null;
      };
    };

/** Runs items at the owner, in order; each result in the same position. */
export type RoutedHandler = (shard: number, items: readonly RoutedItem[]) => Promise<RoutedResult[]>;

/** An outbox delivery between nodes (engine/engine.ts `#deliver`): run by the engine, not the HTTP layer. */
export interface OutboxItem {
  readonly t: 'o';
  readonly record: OutboxRecord;
}

function isOutboxItem(item: RoutedItem): item is OutboxItem {
  return typeof item === 'object' && item !== null && (item as { t?: unknown }).t === 'o';
}

function failed(error: unknown, shard: number): RoutedResult {
  if (error instanceof EngineError) {
    return {
      ok: false,
      error: {
        code: error.code,
        message: error.message,
        details: { shard },
        retryAfterSeconds: error.code === 'SHARD_UNAVAILABLE' ? 1 : null,
      },
    };
  }
  return {
    ok: false,
    error: { code: 'INTERNAL_ERROR', message: String(error), details: { shard }, retryAfterSeconds: null },
  };
}

interface Pending {
  readonly item: RoutedItem;
  readonly startedMs: number;
  attempt: number;
  resolve(result: RoutedResult): void;
}

export interface RouterStats {
  readonly requests: number;
  readonly items: number;
  readonly retries: number;
  readonly failures: Readonly<Record<RouteFailure, number>>;
}

export function cmdSubject(shard: number): string {
  return `inv.cmd.${shard}`;
}

export function unavailable(shard: number, message: string): RoutedResult {
  return {
    ok: false,
    error: { code: 'SHARD_UNAVAILABLE', message, details: { shard }, retryAfterSeconds: 1 },
  };
}

export type RouteFailure = 'no_responders' | 'timeout' | 'connection' | 'not_owner';

function failureOf(error: unknown): RouteFailure {
  const name = (error as Error | undefined)?.name ?? '';
  if (name === 'TimeoutError') return 'timeout';
  if (name === 'RequestError' || /no responders/i.test(String((error as Error | undefined)?.message)))
    return 'no_responders';
  return 'connection';
}

export class Router {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #retryMs: number;
  readonly #queues = new Map<number, Pending[]>();
  readonly #served = new Map<number, Subscription>();
  #flushScheduled = false;
  readonly #found = new Map<string, number>();
  /** Retries by why: a whole request that got no answer, or an item the answering node no longer owns. */
  readonly #failures: Record<RouteFailure, number> = {
    no_responders: 0,
    timeout: 0,
    connection: 0,
    not_owner: 0,
  };
  #handler: RoutedHandler | null = null;
  #outboxRunner: ((record: OutboxRecord) => Promise<unknown>) | null = null;
  #requests = 0;
  #items = 0;
  #retries = 0;
  /** Seconds per routed request (sent to answered), for the metrics. */
  readonly onLatency = new Set<(seconds: number) => void>();

  constructor(nc: NatsConnection, logger: Logger, retryMs: number) {
    this.#nc = nc;
    this.#logger = logger;
    this.#retryMs = retryMs;
  }

  setHandler(handler: RoutedHandler): void {
    this.#handler = handler;
  }

  /** Runs the outbox deliveries other nodes send this node (the engine's target jobs). */
  setOutboxRunner(runner: (record: OutboxRecord) => Promise<unknown>): void {
    this.#outboxRunner = runner;
  }

  /** The results of a routed request: outbox items by the engine, the rest by the handler, in order. */
  async #answer(
    shard: number,
    items: readonly RoutedItem[],
    handler: RoutedHandler,
  ): Promise<RoutedResult[]> {
    if (!items.some(isOutboxItem)) return handler(shard, items);
    const runner = this.#outboxRunner;
    const others = items.filter((item) => !isOutboxItem(item));
    const [otherResults, outboxResults] = await Promise.all([
      others.length === 0 ? Promise.resolve([]) : handler(shard, others),
      Promise.all(
        items.filter(isOutboxItem).map(async (item): Promise<RoutedResult> => {
          if (runner === null) return unavailable(shard, 'this node is starting');
          try {
            return { ok: true, value: await runner(item.record) };
          } catch (error) {
            return failed(error, shard);
          }
        }),
      ),
    ]);
    let other = 0;
    let outbox = 0;
    return items.map((item) =>
      isOutboxItem(item)
        ? outboxResults[outbox++]!
        : (otherResults[other++] ?? unavailable(shard, 'no result')),
    );
  }

  stats(): RouterStats {
    return {
      requests: this.#requests,
      items: this.#items,
      retries: this.#retries,
      failures: { ...this.#failures },
    };
  }

  /** Sends one item to the owner of `shard`; resolves with its result (never rejects). */
  forward(shard: number, item: RoutedItem): Promise<RoutedResult> {
    return new Promise((resolve) => {
      this.#enqueue(shard, { item, startedMs: Date.now(), attempt: 0, resolve });
    });
  }

  #enqueue(shard: number, pending: Pending): void {
    let queue = this.#queues.get(shard);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(shard, queue);
    }
    queue.push(pending);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  #flush(): void {
    for (const [shard, queue] of this.#queues) {
      this.#queues.delete(shard);
      // Outbox deliveries travel apart: a request is answered when its slowest item is, and a routed
      // reservation across shards may wait seconds for deliveries of its own.
      const outbox = queue.filter((pending) => isOutboxItem(pending.item));
      const others = outbox.length === 0 ? queue : queue.filter((pending) => !isOutboxItem(pending.item));
      for (const list of [outbox, others]) {
        for (let at = 0; at < list.length; at += itemsPerRequestMax) {
          void this.#send(shard, list.slice(at, at + itemsPerRequestMax));
        }
      }
    }
  }

  async #send(shard: number, batch: Pending[]): Promise<void> {
    this.#requests++;
    this.#items += batch.length;
    const sentMs = performance.now();
    let results: RoutedResult[];
    let answered = true;
    try {
      const reply = await this.#nc.request(cmdSubject(shard), packr.pack(batch.map((p) => p.item)), {
        timeout: requestTimeoutMs,
      });
      results = packr.unpack(reply.data) as RoutedResult[];
      for (const listener of this.onLatency) listener((performance.now() - sentMs) / 1_000);
    } catch (error) {
      // No responder (the shard is between owners), a timeout, a reconnect: every item again.
      this.#failures[failureOf(error)]++;
      this.#logger.debug({ err: error, shard }, 'routed request failed; retrying');
      answered = false;
      results = batch.map(() => unavailable(shard, `shard ${shard} has no owner answering right now`));
    }
    for (const [at, pending] of batch.entries()) {
      const result = results[at] ?? unavailable(shard, 'no result for the item');
      if (result.ok || result.error.code !== 'SHARD_UNAVAILABLE') {
        pending.resolve(result);
        continue;
      }
      if (Date.now() - pending.startedMs >= this.#retryMs) {
        pending.resolve(result);
        continue;
      }
      this.#retries++;
      if (answered) this.#failures.not_owner++;
      pending.attempt++;
      const delayMs = Math.min(500, 25 * 2 ** Math.min(pending.attempt, 5));
      setTimeout(() => this.#enqueue(shard, pending), delayMs);
    }
  }

  /** Starts answering `inv.cmd.<shard>` (this node owns the shard now). */
  serve(shard: number): void {
    if (this.#served.has(shard)) return;
    const subscription = this.#nc.subscribe(cmdSubject(shard), {
      callback: (error, message) => {
        if (error !== null) return;
        const handler = this.#handler;
        let items: RoutedItem[];
        try {
          items = packr.unpack(message.data) as RoutedItem[];
        } catch (decodeError) {
          this.#logger.error({ err: decodeError, shard }, 'a routed request did not decode');
          return;
        }
        const answer =
          handler === null
            ? Promise.resolve(items.map(() => unavailable(shard, 'this node is starting')))
            : this.#answer(shard, items, handler);
        answer.then(
          (results) => message.respond(packr.pack(results)),
          (handlerError: unknown) => {
            this.#logger.error({ err: handlerError, shard }, 'a routed request failed at the owner');
            message.respond(packr.pack(items.map(() => unavailable(shard, 'the owner failed the request'))));
          },
        );
      },
    });
    this.#served.set(shard, subscription);
  }

  /** Stops answering `inv.cmd.<shard>`. */
  unserve(shard: number): void {
    this.#served.get(shard)?.unsubscribe();
    this.#served.delete(shard);
  }

  /**
   * The shard of a header (reservation, return, transfer), asking every live node: each answers the
   * shard if its store has the header (its location never changes, so any copy tells) or null. A
   * number when one knows it, 'absent' when all `nodes` answered that none does, 'unknown' when not all
   * answered in time (the caller answers 503 and the client retries).
   */
  async find(kind: string, id: string, nodes: number): Promise<number | 'absent' | 'unknown'> {
    const key = `${kind}\u0000${id}`;
    const cached = this.#found.get(key);
    if (cached !== undefined) return cached;
    let answers = 0;
    try {
      const replies = await this.#nc.requestMany(`inv.find.${kind}`, packr.pack(id), {
        strategy: 'count',
        maxMessages: nodes,
        maxWait: 2_000,
      });
      for await (const reply of replies) {
        answers++;
        const shard = packr.unpack(reply.data) as unknown;
        if (typeof shard === 'number') {
          this.remember(kind, id, shard);
          return shard;
        }
      }
    } catch (error) {
      this.#logger.debug({ err: error, kind, id }, 'finding a header failed');
    }
    return answers >= nodes ? 'absent' : 'unknown';
  }

  /** Where a header lives, once known (it never moves); bounded, oldest forgotten first. */
  remember(kind: string, id: string, shard: number): void {
    const key = `${kind}\u0000${id}`;
    this.#found.set(key, shard);
    if (this.#found.size > foundMax) {
      for (const oldest of this.#found.keys()) {
        this.#found.delete(oldest);
        break;
      }
    }
  }

  /** Answers `inv.find.<kind>`: the header's shard when this node's store has it, else null. */
  answerFind(kind: string, locate: (id: string) => number | null): Subscription {
    return this.#nc.subscribe(`inv.find.${kind}`, {
      callback: (error, message) => {
        if (error !== null) return;
        message.respond(packr.pack(locate(packr.unpack(message.data) as string)));
      },
    });
  }
}
