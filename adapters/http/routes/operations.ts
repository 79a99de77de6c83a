// Operations: liveness, readiness and Prometheus metrics. They need no key, so load balancers and
// scrapers can reach them; they reveal no stock. (`GET /` is the live dashboard, which a later issue adds.)

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppServices } from '../app.ts';
import { HttpError } from '../errors.ts';
import { routeSchema } from '../route-schema.ts';
import { Health, Ready } from '../schemas.ts';

export function operationRoutes({ isReady, metrics }: AppServices): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/health',
      {
        schema: routeSchema({
          tag: 'operations',
          summary: 'The process is up',
          responses: { 200: Health },
        }),
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/ready',
      {
        schema: routeSchema({
          tag: 'operations',
          summary: 'The shards are loaded and the node takes requests',
          description: '503 SHARD_UNAVAILABLE while the engine opens or after shutdown began.',
          responses: { 200: Ready },
          errors: [503],
        }),
      },
      async (_request, reply) => {
        if (!isReady()) {
          reply.header('retry-after', '1');
          throw new HttpError('SHARD_UNAVAILABLE', 'this node is not ready to take requests', {
            ready: false,
          });
        }
        return { ready: true };
      },
    );

    app.get(
      '/metrics',
      {
        schema: routeSchema({
          tag: 'operations',
          summary: 'Prometheus metrics (text exposition format)',
          description: '404 NOT_FOUND when metrics are turned off (STOCKLEDGER_METRICS=0).',
          responses: { 200: Type.String({ description: 'text/plain; version=0.0.4' }) },
          errors: [404],
        }),
      },
      async (_request, reply) => {
        if (!metrics.enabled)
          throw new HttpError('NOT_FOUND', 'metrics are turned off (STOCKLEDGER_METRICS=0)', {});
        const text = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(text);
      },
    );
  };
}
