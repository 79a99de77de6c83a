// `GET /v1/events`: Server-Sent Events of what the log recorded, one event per committed log record,
// its id the record's position in this node's commit feed. A stream starts after `?after=<position>`
// or, on a reconnect, after the `Last-Event-ID` the browser sends; with neither, it starts at the live
// end. The backlog is read from the feed, then the stream follows commits live. A client too slow to
// keep up is disconnected (it resumes with Last-Event-ID) rather than buffered without bound.

import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { CommittedRecord, Engine } from '../../../engine/engine.ts';
import { lastFeedPosition } from '../../../engine/store/lmdb-store.ts';
import type { AppServices } from '../app.ts';
import type { Access } from '../auth.ts';
import { allowsLocation } from '../auth.ts';
import { validationFailed } from '../errors.ts';
import { routeSchema } from '../route-schema.ts';
import { EventsQuery } from '../schemas.ts';
import { openEventStream } from '../sse.ts';
import { entryView, iso, locationsOfEntry } from '../views.ts';

/** Records read from the feed per page of a backlog. */
const backlogPageRecords = 256;
/** Live records waiting for a slow client before it is disconnected. */
const liveQueueRecordsMax = 10_000;
const keepAliveIntervalMs = 15_000;

export type EventStreams = Set<EventStream>;

function parsePosition(text: string | undefined, path: string): number | null {
  if (text === undefined) return null;
  if (!/^[0-9]{1,15}$/.test(text))
    throw validationFailed([{ path, message: 'must be a feed position (digits)' }]);
  return Number(text);
}

/** A record as its SSE message; null when the key may see none of it. */
function messageOf(record: CommittedRecord, access: Access): string | null {
  const entries = record.record.entries.filter(
    (entry) =>
      access.locations === null ||
      (entry.kind === 'transfer'
        ? locationsOfEntry(entry).some((location) => allowsLocation(access, location))
        : locationsOfEntry(entry).every((location) => allowsLocation(access, location))),
  );
  if (entries.length === 0) return null;
  const data = JSON.stringify({
    position: record.position,
    shard: record.record.shard,
    sequence: record.record.sequence,
    at: iso(record.record.atMs),
    entries: entries.map(entryView),
  });
  return `id: ${record.position}\nevent: record\ndata: ${data}\n\n`;
}

export class EventStream {
  readonly #raw: ServerResponse;
  readonly #engine: Engine;
  readonly #access: Access;
  #last: number;
  readonly #live: CommittedRecord[] = [];
  #pumping = false;
  #ended = false;
  #unsubscribe: () => void = () => {};
  #keepAlive: NodeJS.Timeout | null = null;
  readonly #onEnd: () => void;

  constructor(raw: ServerResponse, engine: Engine, access: Access, after: number, onEnd: () => void) {
    this.#raw = raw;
    this.#engine = engine;
    this.#access = access;
    this.#last = after;
    this.#onEnd = onEnd;
  }

  start(): void {
    // Listen before reading the backlog: every record is then either in the feed or in the queue.
    this.#unsubscribe = this.#engine.onCommit((batch) => {
      for (const record of batch.records) this.#live.push(record);
      if (this.#live.length > liveQueueRecordsMax) {
        this.end();
        return;
      }
      void this.#pump();
    });
    this.#keepAlive = setInterval(() => {
      if (!this.#pumping) this.#raw.write(': keep-alive\n\n');
    }, keepAliveIntervalMs);
    this.#keepAlive.unref();
    this.#raw.on('close', () => this.end());
    void this.#pump(true);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#unsubscribe();
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#raw.end();
    this.#onEnd();
  }

  async #pump(withBacklog = false): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      if (withBacklog) {
        for (;;) {
          const page = [...this.#engine.readFeed(this.#last, backlogPageRecords)];
          for (const record of page) await this.#send(record);
          if (page.length < backlogPageRecords || this.#ended) break;
        }
      }
      while (this.#live.length > 0 && !this.#ended) {
        const record = this.#live.shift()!;
        if (record.position > this.#last) await this.#send(record);
      }
    } catch (error) {
      this.#raw.destroy(error as Error);
      this.end();
    } finally {
      this.#pumping = false;
    }
  }

  async #send(record: CommittedRecord): Promise<void> {
    if (this.#ended) return;
    this.#last = record.position;
    const message = messageOf(record, this.#access);
    if (message === null) return;
    if (!this.#raw.write(message)) {
      await Promise.race([once(this.#raw, 'drain'), once(this.#raw, 'close')]);
    }
  }
}

export function eventRoutes({ engine, streams }: AppServices): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: Static<typeof EventsQuery> }>(
      '/v1/events',
      {
        config: { scopes: ['stock:read'] },
        schema: routeSchema({
          tag: 'events',
          summary: 'Server-Sent Events of recorded log records, resumable',
          description:
            'One `record` event per committed log record: `{position, shard, sequence, at, entries}`, each ' +
            'entry a command with the events it recorded (and its correlationId), or a reservation, transfer ' +
            'or return header. The event id is the feed position: resume with `?after=` or `Last-Event-ID`. ' +
            'Without either the stream starts live. A location-limited key sees only its locations.',
          scopes: ['stock:read'],
          querystring: EventsQuery,
          responses: {
            200: Type.String({ description: 'text/event-stream' }),
          },
        }),
      },
      async (request, reply) => {
        const header = request.headers['last-event-id'];
        const resumed = parsePosition(Array.isArray(header) ? header[0] : header, '/headers/last-event-id');
        // Without a position, start at the newest committed record (a batch still committing comes live).
        const after =
          resumed ??
          parsePosition(request.query.after, '/querystring/after') ??
          lastFeedPosition(engine.store);
        const raw = openEventStream(request, reply);
        raw.write(': stockledger events\n\n');
        const stream = new EventStream(raw, engine, request.access, after, () => streams.delete(stream));
        streams.add(stream);
        stream.start();
      },
    );
  };
}
