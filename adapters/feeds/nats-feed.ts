// Availability and events out over NATS (DESIGN.md §5 "Events out"):
// - `inv.avail.<location>.<sku>`: each availability update, published to JetStream into the stream
//   `INV_AVAIL`, which keeps the last message per subject (`max_msgs_per_subject: 1`), so any consumer
//   reads current availability without asking the engine (a JetStream "last by subject" get). Updates
//   wait in a queue coalesced to the latest per SKU-location (the stream keeps only that anyway),
//   bounded by `queueMax`, and are published with at most `publishesInFlightMax` acknowledgements
//   outstanding; a failed publish is retried after `republishDelayMs` unless a newer update came.
// - `inv.evt.<location>.<sku>`: every recorded event, on core NATS (at most once, no stream: whoever
//   needs them durably adds a stream over `inv.evt.>` or reads `GET /v1/events`, which is resumable).
// Tokens are ids escaped by adapters/nats/subject-token.ts. Everything is published after its batch is
// committed, never before.

import type { JetStreamClient } from '@nats-io/jetstream';
import { DiscardPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { CommittedBatch } from '../../engine/engine.ts';
import { connectNats } from '../nats/connection.ts';
import { ensureStream } from '../nats/jetstream-setup.ts';
import { subjectToken } from '../nats/subject-token.ts';
import type { AvailabilityUpdate } from './availability-updates.ts';

export const AVAILABILITY_STREAM = 'INV_AVAIL';
export const AVAILABILITY_SUBJECTS = 'inv.avail.>';
const publishesInFlightMax = 256;
const republishDelayMs = 1_000;
/** Events waiting to be published on core NATS; past it they are dropped and counted. */
export const eventsPendingMax = 100_000;

export function availabilitySubject(location: string, sku: string): string {
  return `inv.avail.${subjectToken(location)}.${subjectToken(sku)}`;
}

export function eventSubject(location: string, sku: string): string {
  return `inv.evt.${subjectToken(location)}.${subjectToken(sku)}`;
}

export interface NatsFeedStats {
  readonly queued: number;
  readonly published: number;
  readonly failed: number;
  readonly dropped: number;
  readonly eventsPublished: number;
  readonly eventsDropped: number;
}

export class NatsFeed {
  readonly #connection: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #logger: Logger;
  readonly #queueMax: number;
  readonly #publishEvents: boolean;
  /** Waiting updates, latest per SKU-location, oldest first. */
  readonly #pending = new Map<string, AvailabilityUpdate>();
  #inFlight = 0;
  #eventBatches: CommittedBatch[] = [];
  #eventsPending = 0;
  #eventsScheduled = false;
  #stopped = false;
  #published = 0;
  #failed = 0;
  #dropped = 0;
  #eventsPublished = 0;
  #eventsDropped = 0;
  #idle: (() => void)[] = [];

  private constructor(connection: NatsConnection, logger: Logger, queueMax: number, publishEvents: boolean) {
    this.#connection = connection;
    this.#js = jetstream(connection);
    this.#logger = logger;
    this.#queueMax = queueMax;
    this.#publishEvents = publishEvents;
  }

  static async start(
    url: string,
    logger: Logger,
    queueMax: number,
    publishEvents: boolean,
  ): Promise<NatsFeed> {
    const connection = await connectNats(url, 'stockledger-feeds', logger);
    try {
      const manager = await jetstreamManager(connection);
      await ensureStream(manager, {
        name: AVAILABILITY_STREAM,
        subjects: [AVAILABILITY_SUBJECTS],
        max_msgs_per_subject: 1,
        discard: DiscardPolicy.Old,
        storage: StorageType.File,
      });
    } catch (error) {
      await connection.close();
      throw error;
    }
    return new NatsFeed(connection, logger, queueMax, publishEvents);
  }

  publish(update: AvailabilityUpdate): void {
    if (this.#stopped) return;
    const key = `${update.location}|${update.sku}`;
    this.#pending.delete(key);
    if (this.#pending.size >= this.#queueMax) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      this.#dropped++;
    }
    this.#pending.set(key, update);
    this.#pump();
  }

  /** Queues a committed batch's events for `inv.evt.*`; encoded and sent on a later turn. */
  events(batch: CommittedBatch): void {
    if (this.#stopped || !this.#publishEvents) return;
    let count = 0;
    for (const { record } of batch.records) {
      for (const entry of record.entries) if (entry.kind === 'command') count += entry.events.length;
    }
    if (this.#eventsPending + count > eventsPendingMax) {
      this.#eventsDropped += count;
      return;
    }
    this.#eventsPending += count;
    this.#eventBatches.push(batch);
    if (this.#eventsScheduled) return;
    this.#eventsScheduled = true;
    setImmediate(() => this.#sendEvents());
  }

  #sendEvents(): void {
    this.#eventsScheduled = false;
    const batches = this.#eventBatches;
    this.#eventBatches = [];
    for (const batch of batches) {
      for (const { position, record } of batch.records) {
        for (const entry of record.entries) {
          if (entry.kind !== 'command') continue;
          const { location, sku } = entry.command;
          const subject = eventSubject(location, sku);
          for (const event of entry.events) {
            this.#eventsPending--;
            if (this.#stopped) continue;
            this.#connection.publish(
              subject,
              JSON.stringify({ ...event, sku, location, position, source: entry.meta.source }),
            );
            this.#eventsPublished++;
          }
        }
      }
    }
  }

  #pump(): void {
    while (!this.#stopped && this.#inFlight < publishesInFlightMax && this.#pending.size > 0) {
      const [key, update] = this.#pending.entries().next().value as [string, AvailabilityUpdate];
      this.#pending.delete(key);
      this.#inFlight++;
      this.#js.publish(availabilitySubject(update.location, update.sku), JSON.stringify(update)).then(
        () => {
          this.#published++;
          this.#settled();
        },
        (error: unknown) => {
          this.#failed++;
          this.#logger.warn({ err: error, key }, 'availability publish failed; retrying');
          setTimeout(() => {
            // A newer update of the same SKU-location, queued meanwhile, supersedes this one.
            if (!this.#stopped && !this.#pending.has(key)) this.#pending.set(key, update);
            this.#settled();
          }, republishDelayMs).unref();
        },
      );
    }
    if (this.#inFlight === 0 && this.#pending.size === 0)
      for (const resolve of this.#idle.splice(0)) resolve();
  }

  #settled(): void {
    this.#inFlight--;
    this.#pump();
  }

  /** Resolves when nothing waits to be published (for tests and draining). */
  idle(): Promise<void> {
    if (this.#inFlight === 0 && this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  stats(): NatsFeedStats {
    return {
      queued: this.#pending.size,
      published: this.#published,
      failed: this.#failed,
      dropped: this.#dropped,
      eventsPublished: this.#eventsPublished,
      eventsDropped: this.#eventsDropped,
    };
  }

  /** Sends the events still queued, then drains the connection; the caller waits for `idle` first if it wants. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#sendEvents();
    this.#stopped = true;
    await this.#connection.drain();
  }
}
