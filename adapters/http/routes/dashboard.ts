// The live dashboard: `GET /` serves a static page (adapters/http/dashboard/, no build step) and
// `GET /v1/dashboard/stream` sends it a summary every second over Server-Sent Events. The page holds no
// data and needs no key; the stream follows the API's rules: scope `stock:read` or `admin`, with no
// `locations` limit (it spans every location, like the journal). The page reads the stream with fetch,
// so it can send the key in the Authorization header, which EventSource cannot.
//
// It stays cheap with 10,000 locations: the counts are kept incrementally by the engine's observability
// (engine/observability/), a tick reads them, and after the first tick a stream sends only the
// locations whose counts changed since its previous one.

import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Engine } from '../../../engine/engine.ts';
import type { CommitCursor } from '../../../engine/observability/commit-stats.ts';
import { expiringHolds, holdsWindowMs } from '../../../engine/observability/holds.ts';
import type { Observability } from '../../../engine/observability/observability.ts';
import { observabilityOf } from '../../../engine/observability/observability.ts';
import { STOCK_STATUSES } from '../../../engine/observability/stock-status.ts';
import type { AppServices } from '../app.ts';
import { forbidden, HttpError } from '../errors.ts';
import { routeSchema } from '../route-schema.ts';
import { openEventStream } from '../sse.ts';

const tickIntervalMs = 1_000;
/** Dead-letter counts are a pass over the letters: read every few ticks, not every one. */
const deadLetterTicks = 5;
const worstLagStores = 10;
const soonestHolds = 10;
/** Streams at once; each costs a tick's work, so they are bounded. */
const streamsMax = 64;

const files = {
  '/': { name: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/dashboard.js': { name: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/dashboard.css': { name: 'dashboard.css', type: 'text/css; charset=utf-8' },
} as const;

function deadLettersByReason(engine: Engine): { adapter: string; reason: string; count: number }[] {
  const rows: { adapter: string; reason: string; count: number }[] = [];
  for (const [key, count] of engine.deadLetters.countsByReason()) {
    const [adapter = '', reason = ''] = key.split('\u0000');
    rows.push({ adapter, reason, count });
  }
  return rows.sort((a, b) => b.count - a.count).slice(0, 20);
}

class DashboardStream {
  readonly #raw: ServerResponse;
  readonly #engine: Engine;
  readonly #observed: Observability;
  #sentLocations = 0;
  #sentChange = -1;
  #ticks = 0;
  readonly #cursor: CommitCursor;
  #deadLetters: ReturnType<typeof deadLettersByReason> = [];
  readonly #timer: NodeJS.Timeout;
  #ended = false;
  readonly #onEnd: () => void;

  constructor(raw: ServerResponse, engine: Engine, observed: Observability, onEnd: () => void) {
    this.#raw = raw;
    this.#engine = engine;
    this.#observed = observed;
    this.#onEnd = onEnd;
    this.#cursor = observed.commits.cursor();
    this.#timer = setInterval(() => this.tick(), tickIntervalMs);
    this.#timer.unref();
    raw.on('close', () => this.end());
  }

  tick(): void {
    if (this.#ended) return;
    // A client that does not read is not buffered for: its stream ends, and the page reconnects.
    if (this.#raw.writableNeedDrain) {
      this.end();
      return;
    }
    const engine = this.#engine;
    const { stockStatus, commits, syncLag } = this.#observed;
    if (this.#ticks % deadLetterTicks === 0) this.#deadLetters = deadLettersByReason(engine);
    this.#ticks++;
    const window = commits.windowSince(this.#cursor);
    const locations = stockStatus.locations();
    const newNames = locations.slice(this.#sentLocations).map((place) => place.location);
    const changed: number[][] = [];
    for (const place of locations) {
      if (place.changed > this.#sentChange) changed.push([place.index, ...place.counts]);
    }
    this.#sentLocations = locations.length;
    this.#sentChange = stockStatus.change;
    const nowMs = engine.now();
    const holds = expiringHolds(engine, holdsWindowMs, soonestHolds);
    const stats = engine.stats();
    const tick = {
      at: new Date(nowMs).toISOString(),
      throughput: Math.round(window.commandsPerSecond),
      commandsTotal: stats.commandsApplied,
      commitMsP50: window.commitMsP50,
      commitMsP99: window.commitMsP99,
      mailboxDepth: stats.mailboxDepth,
      statuses: STOCK_STATUSES,
      totals: [...stockStatus.totals()],
      statusReady: stockStatus.ready,
      newLocations: newNames,
      changedLocations: changed,
      worstLag: syncLag.worst(nowMs, worstLagStores),
      deadLetters: this.#deadLetters,
      holdsExpiring: holds.count,
      holdsSoonest: holds.soonest.map((hold) => ({
        ...hold,
        expiresAt: new Date(hold.expiresAtMs).toISOString(),
      })),
    };
    this.#raw.write(`event: tick\ndata: ${JSON.stringify(tick)}\n\n`);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    this.#raw.end();
    this.#onEnd();
  }
}

export function dashboardRoutes({ engine }: AppServices): FastifyPluginAsync {
  const directory = new URL('../dashboard/', import.meta.url);
  const streams = new Set<DashboardStream>();
  return async (app) => {
    app.addHook('onClose', async () => {
      for (const stream of streams) stream.end();
    });
    for (const [route, file] of Object.entries(files)) {
      // Read once at start: the files are part of the build, and a missing one should fail loudly.
      const body = readFileSync(new URL(file.name, directory));
      app.get(
        route,
        {
          schema: routeSchema({
            tag: 'operations',
            summary: route === '/' ? 'The live dashboard (HTML)' : `The dashboard's ${file.name}`,
            responses: { 200: Type.String({ description: file.type }) },
          }),
        },
        async (_request, reply) => reply.type(file.type).header('cache-control', 'no-cache').send(body),
      );
    }

    const scopes = ['stock:read', 'admin'] as const;
    app.get(
      '/v1/dashboard/stream',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'operations',
          summary: 'Server-Sent Events: a summary for the dashboard every second',
          description:
            'One `tick` event a second: throughput, commit latency p50/p99, SKU-locations by status per ' +
            'location (every location in the first tick, then those that changed), the stores with the worst ' +
            'sync lag, dead letters by reason and the holds expiring within 5 minutes. Keys with a ' +
            '`locations` limit are refused (it spans every location). 404 when STOCKLEDGER_METRICS=0.',
          scopes,
          responses: { 200: Type.String({ description: 'text/event-stream' }) },
          errors: [404, 503],
        }),
      },
      async (request, reply) => {
        if (request.access.locations !== null)
          throw forbidden('the dashboard spans every location: use a key without a locations limit', {});
        const observed = observabilityOf(engine);
        if (observed === null)
          throw new HttpError(
            'NOT_FOUND',
            'the dashboard needs metrics, which are turned off (STOCKLEDGER_METRICS=0)',
            {},
          );
        if (streams.size >= streamsMax) {
          reply.header('retry-after', '5');
          throw new HttpError('OVERLOADED', `at most ${streamsMax} dashboards at once`, {
            streams: streams.size,
          });
        }
        const raw = openEventStream(request, reply);
        const stream = new DashboardStream(raw, engine, observed, () => streams.delete(stream));
        streams.add(stream);
        stream.tick();
      },
    );
  };
}
