// Prometheus metrics at GET /metrics: the process's default metrics, HTTP requests by route and
// status, and the engine's command and replay counts. Each app has its own registry.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Engine } from '../../engine/engine.ts';

export interface Metrics {
  readonly registry: Registry;
  observe(request: FastifyRequest, reply: FastifyReply): void;
}

export function createMetrics(engine: Engine): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
  return {
    registry,
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
