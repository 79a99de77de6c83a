// What the POS adapters know, over HTTP and as metrics: `GET /v1/pos/registers` (per store and register,
// the last sequence seen and the gaps still open), `GET /v1/pos/stores` (per store, the sync lag: now
// minus the newest `occurredAt` applied), and Prometheus gauges and counters for both, the NATS ingest's
// message outcomes and the backlog gate. The sync-lag gauge is labelled by store only for the first
// `STOCKLEDGER_POS_LAG_METRIC_STORES_MAX` stores seen (a stable, bounded label set); the others share
// the label `_other`, which reports the largest lag among them.

import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { AppServices } from '../http/app.ts';
import { allowsLocation } from '../http/auth.ts';
import { routeSchema } from '../http/route-schema.ts';
import { boundedInteger } from '../http/routes/stock.ts';
import { Id } from '../http/schemas.ts';
import { posIngestOf } from './nats-ingest.ts';
import { priorityGateOf } from './priority-gate.ts';
import { registerTrackerOf } from './registers.ts';

const registersPageDefault = 100;
const registersPageMax = 10_000;
/** The `store` label shared by the stores past the metric's cap. */
export const OTHER_STORES_LABEL = '_other';

const Figure = Type.Integer();
const RegistersQuery = Type.Object(
  {
    location: Type.Optional(Id),
    gaps: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$' })),
  },
  { additionalProperties: false },
);
const RegistersReply = Type.Object(
  {
    registers: Type.Array(
      Type.Object(
        {
          location: Type.String(),
          register: Type.String(),
          lastSequence: Figure,
          sales: Figure,
          duplicates: Figure,
          missing: Type.Integer({ description: 'Sales missing below lastSequence (the sum of the gaps)' }),
          gaps: Type.Array(Type.Object({ from: Figure, to: Figure }, { additionalProperties: false }), {
            description: 'Missing sequences, inclusive ranges, oldest first',
          }),
          lastOccurredAt: Type.Union([Type.String(), Type.Null()]),
          updatedAt: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    missing: Type.Integer({ description: 'Sales missing across every register tracked' }),
  },
  { additionalProperties: false },
);
const StoresReply = Type.Object(
  {
    stores: Type.Array(
      Type.Object(
        {
          location: Type.String(),
          lastOccurredAt: Type.String(),
          syncLagSeconds: Type.Number({ description: 'Now minus lastOccurredAt; 0 when a clock runs ahead' }),
          sales: Figure,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export function posRoutes(services: AppServices): FastifyPluginAsync {
  const { engine, metrics } = services;
  const tracker = registerTrackerOf(engine);
  const gate = priorityGateOf(engine);
  const storesLabelledMax = engine.config.pos.lagMetricStoresMax;
  const registry = metrics.registry;

  new Gauge({
    name: 'stockledger_pos_sync_lag_seconds',
    help: `Now minus the newest occurredAt applied, per store (first ${storesLabelledMax} stores seen; the rest as ${OTHER_STORES_LABEL}, their largest lag)`,
    labelNames: ['store'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const nowMs = engine.now();
      let other = -1;
      for (const store of tracker.stores()) {
        const lagSeconds = Math.max(0, (nowMs - store.lastOccurredAtMs) / 1_000);
        if (tracker.storeRank(store.location) < storesLabelledMax)
          this.set({ store: store.location }, lagSeconds);
        else other = Math.max(other, lagSeconds);
      }
      if (other >= 0) this.set({ store: OTHER_STORES_LABEL }, other);
    },
  });
  new Gauge({
    name: 'stockledger_pos_sync_lag_max_seconds',
    help: 'The largest sync lag of any store',
    registers: [registry],
    collect() {
      const nowMs = engine.now();
      let largest = 0;
      for (const store of tracker.stores())
        largest = Math.max(largest, (nowMs - store.lastOccurredAtMs) / 1_000);
      this.set(largest);
    },
  });
  new Gauge({
    name: 'stockledger_pos_missing_sales',
    help: 'Sales missing now across every POS register (open sequence gaps)',
    registers: [registry],
    collect() {
      this.set(tracker.missing());
    },
  });
  const seen = { gapSales: 0, duplicates: 0, late: 0 };
  new Counter({
    name: 'stockledger_pos_sequence_gap_sales_total',
    help: 'Sales found missing when a register sequence gap opened',
    registers: [registry],
    collect() {
      const { gapSales } = tracker.totals();
      this.inc(gapSales - seen.gapSales);
      seen.gapSales = gapSales;
    },
  });
  new Counter({
    name: 'stockledger_pos_late_sales_total',
    help: 'Late sales that filled a register sequence gap',
    registers: [registry],
    collect() {
      const { late } = tracker.totals();
      this.inc(late - seen.late);
      seen.late = late;
    },
  });
  new Counter({
    name: 'stockledger_pos_duplicate_sales_total',
    help: 'POS sales seen again (absorbed by idempotency)',
    registers: [registry],
    collect() {
      const { duplicates } = tracker.totals();
      this.inc(duplicates - seen.duplicates);
      seen.duplicates = duplicates;
    },
  });
  const outcomesSeen = { applied: 0, duplicates: 0, deadLettered: 0, redelivered: 0 };
  new Counter({
    name: 'stockledger_pos_nats_messages_total',
    help: 'POS messages settled by the NATS ingest, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      const counts = posIngestOf(engine)?.counts();
      if (counts === undefined) return;
      this.inc({ outcome: 'applied' }, counts.applied - outcomesSeen.applied);
      this.inc({ outcome: 'duplicate' }, counts.duplicates - outcomesSeen.duplicates);
      this.inc({ outcome: 'dead-lettered' }, counts.deadLettered - outcomesSeen.deadLettered);
      this.inc({ outcome: 'redelivered' }, counts.redelivered - outcomesSeen.redelivered);
      Object.assign(outcomesSeen, counts);
    },
  });
  new Gauge({
    name: 'stockledger_backlog_sales_waiting',
    help: 'Backlog sales (NATS pos.*.backlog, POST /v1/sales:batch) waiting for room behind live sales',
    registers: [registry],
    collect() {
      this.set(gate.stats().backlogWaiting);
    },
  });

  const scopes = ['stock:read', 'sales:write'] as const;
  return async (app) => {
    app.get<{ Querystring: Static<typeof RegistersQuery> }>(
      '/v1/pos/registers',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'sales',
          summary: 'POS registers: the last sequence seen and the gaps still open',
          description:
            `Per store and register, from the sales applied since this node started. \`gaps=true\` lists only ` +
            `registers with sales missing; \`limit\` defaults to ${registersPageDefault} (at most ${registersPageMax}). ` +
            'A key limited to some locations sees only those.',
          scopes,
          querystring: RegistersQuery,
          responses: { 200: RegistersReply },
        }),
      },
      async (request) => {
        const { location, gaps } = request.query;
        const limit = boundedInteger(request.query.limit, 'limit', registersPageDefault, registersPageMax);
        const registers = tracker
          .registers({
            ...(location === undefined ? {} : { location }),
            withGaps: gaps === 'true',
            limit: registersMax(limit, request.access.locations === null),
          })
          .filter((register) => allowsLocation(request.access, register.location))
          .slice(0, limit);
        return {
          registers: registers.map((register) => ({
            location: register.location,
            register: register.register,
            lastSequence: register.lastSequence,
            sales: register.sales,
            duplicates: register.duplicates,
            missing: register.missing,
            gaps: [...register.gaps],
            lastOccurredAt:
              register.lastOccurredAtMs === null ? null : new Date(register.lastOccurredAtMs).toISOString(),
            updatedAt: new Date(register.updatedAtMs).toISOString(),
          })),
          missing: tracker.missing(),
        };
      },
    );

    app.get(
      '/v1/pos/stores',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'sales',
          summary: 'POS stores: sync lag (now minus the newest occurredAt applied)',
          description: 'A key limited to some locations sees only those.',
          scopes,
          responses: { 200: StoresReply },
        }),
      },
      async (request) => {
        const nowMs = engine.now();
        return {
          stores: tracker
            .stores()
            .filter((store) => allowsLocation(request.access, store.location))
            .map((store) => ({
              location: store.location,
              lastOccurredAt: new Date(store.lastOccurredAtMs).toISOString(),
              syncLagSeconds: Math.max(0, (nowMs - store.lastOccurredAtMs) / 1_000),
              sales: store.sales,
            })),
        };
      },
    );
  };
}

/** A key limited to some locations filters after the tracker's page, so it reads every register. */
function registersMax(limit: number, unrestricted: boolean): number {
  return unrestricted ? limit : Number.MAX_SAFE_INTEGER;
}
