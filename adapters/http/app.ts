// The HTTP application: `buildApp(deps)` builds it and never listens (engine/main.ts does). One plugin
// per route group; hooks that every request passes through are installed here, in this order:
// correlation id, API key and scope (onRequest), rate limit (the route's onRequest), the forbidden-key
// guard (preValidation), then Ajv against the route's schema, then the handler.

import { randomUUID } from 'node:crypto';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { ClusterNode } from '../../engine/cluster/node.ts';
import type { Config } from '../../engine/config.ts';
import type { Engine } from '../../engine/engine.ts';
import { orderWebhookRoutes } from '../ecommerce/routes.ts';
import { feedMetrics } from '../feeds/metrics.ts';
import { posRoutes } from '../pos/routes.ts';
import type { Access, ApiKeys, Scope } from './auth.ts';
import { authenticate, LOCAL_ACCESS, PUBLIC_ACCESS, requireScope } from './auth.ts';
import { installClusterRouting } from './cluster-routing.ts';
import { CORRELATION_HEADER, childLoggerFactory, correlationOfRequest } from './correlation.ts';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  HttpError,
  installErrorHandlers,
  issuesOf,
  validationFailed,
} from './errors.ts';
import { forbiddenKeyIssue } from './forbidden-keys.ts';
import type { Metrics } from './metrics.ts';
import { createMetrics } from './metrics.ts';
import type { Services } from './mutations/mutation.ts';
import { OpenReservations } from './open-reservations.ts';
import { commandRoutes } from './routes/commands.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { deadLetterRoutes } from './routes/dead-letters.ts';
import { dispositionsImportRoutes } from './routes/dispositions-import.ts';
import type { EventStreams } from './routes/events.ts';
import { eventRoutes } from './routes/events.ts';
import { journalRoutes } from './routes/journal.ts';
import { masterDataRoutes } from './routes/master-data.ts';
import { operationRoutes } from './routes/operations.ts';
import { quarantineRoutes } from './routes/quarantine.ts';
import { reservationRoutes } from './routes/reservations.ts';
import { returnRoutes } from './routes/returns.ts';
import { salesRoutes } from './routes/sales.ts';
import { stockRoutes } from './routes/stock.ts';
import { stockSnapshotRoutes } from './routes/stock-snapshots.ts';
import { supplyRoutes } from './routes/supply.ts';
import { supplyImportRoutes } from './routes/supply-imports.ts';

/** JSON bodies larger than this are refused with 413 (1,000 lines fit with room to spare). */
export const jsonBodyBytesMax = 1024 * 1024;
const rateLimitWindowMs = 60_000;
/** Path parameters are ids of up to 128 characters, percent-encoding included. */
const pathParameterLengthMax = 512;

export interface AppDependencies {
  readonly engine: Engine;
  readonly config: Config;
  readonly logger: Logger;
  /** Null: no keys are configured and every caller may do everything (main binds to loopback only). */
  readonly apiKeys: ApiKeys | null;
  /** Readiness for GET /ready; by default ready as soon as the app is built on an open engine. */
  readonly isReady?: () => boolean;
  /**
   * Validates every response against its schema before it is serialised, so a field the serializer
   * would silently drop fails loudly (500). For tests; costs a validation per response.
   */
  readonly checkResponses?: boolean;
  /** Cluster mode: the node this app serves (routing to other shards' owners); absent when embedded. */
  readonly cluster?: ClusterNode;
}

/** What the route plugins share. */
export interface AppServices extends Services {
  readonly apiKeys: ApiKeys | null;
  readonly metrics: Metrics;
  readonly isReady: () => boolean;
  readonly streams: EventStreams;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Scopes of which the caller needs one; absent for public routes. */
    scopes?: readonly Scope[];
  }
  interface FastifyRequest {
    access: Access;
    correlationId: string;
  }
}

function clientKey(request: FastifyRequest): string {
  return request.access === LOCAL_ACCESS || request.access === PUBLIC_ACCESS
    ? `address:${request.ip}`
    : `key:${request.access.name}`;
}

export function buildApp(deps: AppDependencies): FastifyInstance {
  const app = Fastify({
    // Typed as Fastify's base logger, so the app is a plain FastifyInstance to its plugins.
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    childLoggerFactory,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: jsonBodyBytesMax,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: true,
        discriminator: true,
      },
    },
    routerOptions: { maxParamLength: pathParameterLengthMax },
    // Errors raised before routing (a malformed URL) and by Node's HTTP parser leave in the documented
    // shape too, not in Fastify's own `{"error": "Bad Request", "statusCode": 400}`.
    frameworkErrors: (error, request, reply) => {
      // No hook runs for these, so the correlation id is echoed here.
      reply.header(CORRELATION_HEADER, correlationOfRequest(request as FastifyRequest).id);
      frameworkErrorHandler(error, request as FastifyRequest, reply as FastifyReply);
    },
    clientErrorHandler,
    exposeHeadRoutes: false,
    // While draining, requests already on a connection are answered normally (the engine is still open),
    // rather than with Fastify's own 503 body, which is not the documented error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    trustProxy: false,
  });

  const services: AppServices = {
    engine: deps.engine,
    config: deps.config,
    openReservations: new OpenReservations(deps.engine, deps.config.openReservationsPerChannelMax),
    cluster: deps.cluster,
    apiKeys: deps.apiKeys,
    metrics: createMetrics(deps.engine, deps.cluster),
    isReady: deps.isReady ?? (() => true),
    streams: new Set(),
  };

  installJsonParser(app);
  app.decorateRequest('access', null as unknown as Access);
  app.decorateRequest('correlationId', '');
  installErrorHandlers(app);

  app.addHook('onRequest', async (request, reply) => {
    const correlation = correlationOfRequest(request);
    request.correlationId = correlation.id;
    reply.header(CORRELATION_HEADER, correlation.id);
    if (correlation.refusal !== null) throw correlation.refusal;
    const scopes = request.routeOptions.config.scopes;
    if (scopes === undefined) {
      request.access = PUBLIC_ACCESS;
      return;
    }
    request.access = deps.apiKeys === null ? LOCAL_ACCESS : authenticate(deps.apiKeys, request);
    requireScope(request.access, scopes);
  });
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null || typeof request.body !== 'object') return;
    const issue = forbiddenKeyIssue(request.body);
    if (issue !== null) throw validationFailed([issue]);
  });
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.observe(request, reply);
  });
  if (deps.checkResponses === true) installResponseCheck(app);
  app.addHook('onClose', async () => {
    services.openReservations.close();
  });
  app.addHook('preClose', async () => {
    for (const stream of services.streams) stream.end();
  });

  const limitOf = (request: FastifyRequest) =>
    request.access?.requestsPerMinute ?? deps.config.rateLimitPerMinute;
  app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: rateLimitWindowMs,
    max: (request) => limitOf(request),
    allowList: (request) => limitOf(request) === 0,
    keyGenerator: clientKey,
    errorResponseBuilder: (_request, context) =>
      new HttpError(
        'RATE_LIMITED',
        `more than ${context.max} requests a minute; retry in ${context.after}`,
        { limitPerMinute: context.max },
        Math.max(1, Math.ceil(context.ttl / 1000)),
      ),
  });
  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'stockledger',
        version: '1',
        description: 'The HTTP API of the stockledger inventory ledger (API.md).',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  if (services.cluster !== undefined) installClusterRouting(app, services);
  app.register(stockRoutes(services));
  app.register(reservationRoutes(services));
  app.register(salesRoutes(services));
  app.register(returnRoutes(services));
  app.register(supplyRoutes(services));
  app.register(commandRoutes(services));
  app.register(eventRoutes(services));
  app.register(journalRoutes(services));
  app.register(stockSnapshotRoutes(services));
  app.register(quarantineRoutes(services));
  app.register(dispositionsImportRoutes(services));
  app.register(supplyImportRoutes(services));
  app.register(deadLetterRoutes(services));
  app.register(masterDataRoutes(services));
  app.register(operationRoutes(services));
  app.register(dashboardRoutes(services));
  app.register(posRoutes(services));
  app.register(orderWebhookRoutes(services));
  app.register(feedMetrics(services));
  return app;
}

/**
 * JSON only (no text/plain), parsed by Fastify's parser with prototype poisoning refused. An empty body
 * is no body (a commit may come with a JSON content type and nothing else); a body refused for a
 * `__proto__` or `constructor.prototype` key is answered with the key's path.
 */
function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parse(request, text, (error, value) => {
      if (error === null || error === undefined) {
        done(null, value);
        return;
      }
      let plain: unknown;
      try {
        plain = JSON.parse(text);
      } catch {
        done(validationFailed([{ path: '', message: 'is not valid JSON' }]), undefined);
        return;
      }
      const issue = forbiddenKeyIssue(plain);
      done(validationFailed([issue ?? { path: '', message: 'is not valid JSON' }]), undefined);
    });
  });
}

function installResponseCheck(app: FastifyInstance): void {
  app.addHook('preSerialization', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const responses = request.routeOptions.schema?.response as Record<number, unknown> | undefined;
    // Routes of plugins (the OpenAPI UI) and the not-found handler declare no responses.
    if (responses === undefined) return payload;
    const schema = responses[reply.statusCode];
    if (schema === undefined) {
      throw new Error(`${request.method} ${request.routeOptions.url} has no schema for ${reply.statusCode}`);
    }
    const validate = request.compileValidationSchema(schema as Record<string, unknown>);
    if (!validate(payload)) {
      const issues = issuesOf(validate.errors ?? [], 'response');
      throw new Error(
        `${request.method} ${request.routeOptions.url} ${reply.statusCode} does not match its schema: ${JSON.stringify(issues)}`,
      );
    }
    return payload;
  });
}
