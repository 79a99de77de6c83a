// Prometheus metrics at GET /metrics: the process's default metrics, HTTP requests by route and
// status, the engine's command and replay counts, open dead letters by adapter and reason, and the
// engine's observability (engine/observability/metrics.ts). Each app has its own registry. With
// STOCKLEDGER_METRICS=0 the registry is still there for the adapters to register on, but nothing is
// collected into it, the engine observes nothing, and GET /metrics answers 404.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { registerClusterMetrics } from '../../engine/cluster/metrics.ts';
import type { ClusterNode } from '../../engine/cluster/node.ts';
import type { Engine } from '../../engine/engine.ts';
import { registerEngineMetrics } from '../../engine/observability/metrics.ts';
import { observabilityOf } from '../../engine/observability/observability.ts';

export interface Metrics {
  readonly registry: Registry;
  /** False with STOCKLEDGER_METRICS=0. */
  readonly enabled: boolean;
  observe(request: FastifyRequest, reply: FastifyReply): void;
}

export function createMetrics(engine: Engine, cluster?: ClusterNode): Metrics {
  const registry = new Registry();
  const observed = observabilityOf(engine);
  if (observed === null) return { registry, enabled: false, observe() {} };
  collectDefaultMetrics({ register: registry });
  registerEngineMetrics(registry, engine, observed);
  if (cluster !== undefined) registerClusterMetrics(registry, cluster);
  const requests = new Counter({
    name: 'stockledger_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  let commandsSeen = 0;
  new Counter({
    name: 'stockledger_commands_applied_total',
    help: 'Actor commands applied by the engine since the process started',
    registers: [registry],
    collect() {
      const applied = engine.stats().commandsApplied;
      this.inc(applied - commandsSeen);
      commandsSeen = applied;
    },
  });
  let replaysSeen = 0;
  new Counter({
    name: 'stockledger_idempotent_replays_total',
    help: 'Requests and commands answered with their stored first outcome',
    registers: [registry],
    collect() {
      const replays = engine.stats().idempotentReplays;
      this.inc(replays - replaysSeen);
      replaysSeen = replays;
    },
  });
  new Gauge({
    name: 'stockledger_mailbox_depth',
    help: 'Jobs waiting in the shard mailboxes',
    registers: [registry],
    collect() {
      this.set(engine.stats().mailboxDepth);
    },
  });
  new Gauge({
    name: 'stockledger_dead_letters',
    help: 'Open dead letters, by adapter and by reason (the reason up to its first colon)',
    labelNames: ['adapter', 'reason'] as const,
    registers: [registry],
    collect() {
      // Counted at scrape time from the dead-letter table (one pass over it), so restarts lose nothing.
      this.reset();
      for (const [key, count] of engine.deadLetters.countsByReason()) {
        const [adapter = '', reason = ''] = key.split('\u0000');
        const labels = {
          adapter: /^[a-z0-9][a-z0-9:._-]{0,63}$/.test(adapter) ? adapter : 'other',
          reason: /^[A-Z][A-Z0-9_]{0,63}$/.test(reason) ? reason : 'OTHER',
        };
        // Letters whose labels fold into `other` add up rather than overwrite each other.
        this.inc(labels, count);
      }
    },
  });
  return {
    registry,
    enabled: true,
    observe(request, reply) {
      requests.inc({
        method: request.method,
        // The route's pattern, not the URL: ids in paths would make the label set unbounded.
        route: (request.routeOptions.url ?? 'unknown').replaceAll('::', ':'),
        status: String(reply.statusCode),
      });
    },
  };
}
