// Signed webhook pushes of availability updates to one URL. Updates wait in a bounded queue and leave in
// order, up to `updatesPerPushMax` per request, one request at a time (so a SKU-location's updates never
// overtake each other). A request is signed like the inbound webhooks (adapters/ecommerce/signature.ts):
// headers `x-stockledger-delivery` (id), `x-stockledger-timestamp` (Unix seconds) and
// `x-stockledger-signature: sha256=<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. A failed request
// (network error, timeout, any non-2xx) is retried with exponential backoff (base × 2^attempt, at most
// 30 s) up to `attemptsMax` attempts, then given up (logged and counted); later updates of the same
// SKU-locations supersede what was lost. When the queue is full it is coalesced to the latest update
// per SKU-location; if it is still full, the oldest update is dropped and counted. Nothing here ever
// waits on the engine, and the engine never waits on it.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { signatureOf } from '../ecommerce/signature.ts';
import type { AvailabilityUpdate } from './availability-updates.ts';

export const updatesPerPushMax = 100;
const requestTimeoutMs = 10_000;
const retryDelayMaxMs = 30_000;
export const DELIVERY_HEADER = 'x-stockledger-delivery';
export const TIMESTAMP_HEADER = 'x-stockledger-timestamp';
export const SIGNATURE_HEADER = 'x-stockledger-signature';

export interface PushStats {
  readonly url: string;
  readonly queued: number;
  /** Updates delivered (acknowledged with a 2xx). */
  readonly delivered: number;
  /** Requests that failed and were retried. */
  readonly retries: number;
  /** Updates given up after `attemptsMax` attempts. */
  readonly failed: number;
  /** Updates replaced by a later one of the same SKU-location when the queue was full. */
  readonly coalesced: number;
  /** Updates dropped because the queue was still full after coalescing. */
  readonly dropped: number;
  readonly lastError: string | null;
}

export interface WebhookPushOptions {
  readonly url: string;
  readonly secret: string;
  readonly queueMax: number;
  readonly attemptsMax: number;
  readonly retryBaseMs: number;
  readonly logger: Logger;
}

function keyOf(update: AvailabilityUpdate): string {
  return `${update.location}|${update.sku}`;
}

export class WebhookPush {
  readonly #options: WebhookPushOptions;
  #queue: AvailabilityUpdate[] = [];
  #sending = false;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #idle: (() => void)[] = [];
  readonly #abort = new AbortController();
  #delivered = 0;
  #retries = 0;
  #failed = 0;
  #coalesced = 0;
  #dropped = 0;
  #lastError: string | null = null;

  constructor(options: WebhookPushOptions) {
    this.#options = options;
  }

  push(update: AvailabilityUpdate): void {
    if (this.#stopped) return;
    if (this.#queue.length >= this.#options.queueMax) this.#makeRoom(keyOf(update));
    this.#queue.push(update);
    this.#pump();
  }

  stats(): PushStats {
    return {
      url: this.#options.url,
      queued: this.#queue.length,
      delivered: this.#delivered,
      retries: this.#retries,
      failed: this.#failed,
      coalesced: this.#coalesced,
      dropped: this.#dropped,
      lastError: this.#lastError,
    };
  }

  /** Resolves when the queue is empty and nothing is being sent (for tests and draining). */
  idle(): Promise<void> {
    if (!this.#sending && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#abort.abort();
    this.#queue = [];
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Coalesces to the latest per SKU-location (the incoming update supersedes its own), then drops the oldest. */
  #makeRoom(incoming: string): void {
    const latest = new Map<string, AvailabilityUpdate>();
    for (const update of this.#queue) {
      const key = keyOf(update);
      latest.delete(key);
      latest.set(key, update);
    }
    latest.delete(incoming);
    this.#coalesced += this.#queue.length - latest.size;
    this.#queue = [...latest.values()];
    while (this.#queue.length >= this.#options.queueMax) {
      this.#queue.shift();
      this.#dropped++;
    }
  }

  #pump(): void {
    if (this.#sending || this.#stopped) return;
    if (this.#queue.length === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    const updates = this.#queue.splice(0, updatesPerPushMax);
    this.#sending = true;
    void this.#send(updates, randomUUID(), 1);
  }

  async #send(updates: AvailabilityUpdate[], deliveryId: string, attempt: number): Promise<void> {
    const error = await this.#post(updates, deliveryId);
    if (this.#stopped) return;
    if (error === null) {
      this.#delivered += updates.length;
      this.#sending = false;
      this.#pump();
      return;
    }
    this.#lastError = error;
    if (attempt >= this.#options.attemptsMax) {
      this.#failed += updates.length;
      this.#options.logger.error(
        { url: this.#options.url, deliveryId, attempts: attempt, updates: updates.length, error },
        'availability push given up',
      );
      this.#sending = false;
      this.#pump();
      return;
    }
    this.#retries++;
    const delayMs = Math.min(retryDelayMaxMs, this.#options.retryBaseMs * 2 ** (attempt - 1));
    this.#options.logger.warn(
      { url: this.#options.url, deliveryId, attempt, delayMs, error },
      'availability push failed; retrying',
    );
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#send(updates, deliveryId, attempt + 1);
    }, delayMs);
    this.#timer.unref();
  }

  /** Null on a 2xx; otherwise what went wrong. */
  async #post(updates: readonly AvailabilityUpdate[], deliveryId: string): Promise<string | null> {
    const timestamp = String(Math.floor(Date.now() / 1_000));
    const body = JSON.stringify({ deliveryId, updates });
    try {
      const response = await fetch(this.#options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [DELIVERY_HEADER]: deliveryId,
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signatureOf(this.#options.secret, deliveryId, timestamp, body),
        },
        body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      await response.arrayBuffer();
      return response.ok ? null : `answered ${response.status}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
}
