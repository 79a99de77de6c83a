// The composition root of one embedded node: configuration in, a listening HTTP server out. It builds
// the logger, checks the exposure rule (no keys, loopback only), opens the engine (recovery), builds
// the app and listens; when configured, it also starts the POS ingest over NATS and the outbound
// availability feeds (adapters/pos, adapters/feeds). SIGTERM/SIGINT drain: readiness goes false, the
// server stops accepting and finishes its requests, the POS ingest settles what it took, the engine
// commits what it accepted, and the process exits 0. A commit that fails or stalls is fatal: the
// process exits 70 and recovers from disk on restart.

import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Feeds } from '../adapters/feeds/feeds.ts';
import { feedsConfigured, startFeeds } from '../adapters/feeds/feeds.ts';
import { buildApp } from '../adapters/http/app.ts';
import type { ApiKeys } from '../adapters/http/auth.ts';
import { isLoopback, loadApiKeys } from '../adapters/http/auth.ts';
import type { PosIngest } from '../adapters/pos/nats-ingest.ts';
import { startPosIngest } from '../adapters/pos/nats-ingest.ts';
import { FencedError } from './cluster/hooks.ts';
import { ClusterNode } from './cluster/node.ts';
import type { Config } from './config.ts';
import { ConfigError } from './config.ts';
import type { Engine } from './engine.ts';
import { createEngine } from './engine.ts';
import { createLogger } from './logger.ts';

/** Exit status after a fatal engine error (EX_SOFTWARE). */
export const EXIT_FATAL = 70;
/** Exit status after this node was fenced off a shard another node took (EX_TEMPFAIL: restart it). */
export const EXIT_FENCED = 75;
/** Exit status for a configuration that cannot be started (EX_CONFIG). */
export const EXIT_CONFIG = 78;

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly engine: Engine;
  readonly logger: Logger;
  /** The address the server listens on, e.g. http://127.0.0.1:3000. */
  readonly address: string;
  /** Drains: stop accepting, finish requests, commit what the engine accepted, close the store. */
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Install SIGTERM/SIGINT handlers that drain and exit (the CLI does; tests that embed do not). */
  readonly handleSignals?: boolean;
  readonly logger?: Logger;
}

/** Keys from the configured file, and the rule that a node without keys listens on loopback only. */
export function apiKeysFor(config: Config, logger: Logger): ApiKeys | null {
  if (config.apiKeysFile !== null) return loadApiKeys(config.apiKeysFile);
  if (!isLoopback(config.host)) {
    throw new ConfigError(
      'HOST',
      `is ${config.host}, which is not a loopback address, and no API keys are configured: ` +
        'set STOCKLEDGER_API_KEYS to a key file, or HOST to 127.0.0.1',
    );
  }
  logger.warn(
    { host: config.host },
    'no API keys configured (STOCKLEDGER_API_KEYS): listening on loopback only, and every caller may do everything',
  );
  return null;
}

export async function serve(initialConfig: Config, options: ServeOptions = {}): Promise<RunningServer> {
  let config = initialConfig;
  const logger = options.logger ?? createLogger(config.logLevel, config.nodeId);
  if (config.natsUrl !== null && config.feeds.natsUrl === null) {
    // Cluster mode publishes inv.evt.* and inv.avail.* on the cluster's own NATS unless told otherwise.
    config = { ...config, feeds: { ...config.feeds, natsUrl: config.natsUrl } };
  }
  const apiKeys = apiKeysFor(config, logger);
  let ready = false;
  const cluster =
    config.natsUrl === null
      ? undefined
      : await ClusterNode.connect(
          {
            natsUrl: config.natsUrl,
            nodeId: config.nodeId,
            shardCount: config.shardCount,
            leaseTtlMs: config.cluster.leaseTtlMs,
            replicas: config.cluster.replicas,
            routeRetryMs: config.cluster.routeRetryMs,
            appendDeadlineMs: Math.max(1_000, config.commitWatchdogMs - 1_000),
            appendDelayMs: config.faults.appendDelayMs,
          },
          logger.child({ component: 'cluster' }),
        );
  const engine = await createEngine({
    config,
    logger: logger.child({ component: 'engine' }),
    ...(cluster === undefined ? {} : { cluster: cluster.hooks }),
    onFatal: (error) => {
      if (error instanceof FencedError) {
        // Another node owns the shard: the refused batches were answered 503 SHARD_UNAVAILABLE; let
        // those answers leave, then stop. A restart recovers from disk and rejoins.
        logger.fatal(
          { err: error, refusedAppends: cluster?.stats().refusedAppends },
          'fenced: another node holds the shard; stepping down and exiting',
        );
        setTimeout(() => process.exit(EXIT_FENCED), 200);
        return;
      }
      logger.fatal({ err: error }, 'the engine stopped; exiting so that recovery starts from disk');
      process.exit(EXIT_FATAL);
    },
  });
  await cluster?.start(engine);
  const app = buildApp({
    engine,
    config,
    logger,
    apiKeys,
    isReady: () => ready && (cluster === undefined || cluster.settled),
    ...(cluster === undefined ? {} : { cluster }),
  });
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await engine.close();
    throw error;
  }
  // NATS-side adapters start only when configured; a configured server that cannot be reached stops
  // the start, so a node never runs believing it ingests POS sales or feeds channels when it does not.
  let pos: PosIngest | null = null;
  let feeds: Feeds | null = null;
  try {
    if (config.pos.natsUrl !== null)
      pos = await startPosIngest({ engine, logger, url: config.pos.natsUrl, cluster });
    if (feedsConfigured(config)) feeds = await startFeeds({ engine, config, logger });
  } catch (error) {
    await pos?.stop();
    await app.close();
    await engine.close();
    throw error;
  }
  ready = true;
  logger.info({ address, dataDir: config.dataDir, shards: config.shardCount }, 'stockledger is listening');

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      // Cluster: hand every shard over first; requests arriving meanwhile are routed to the new owners.
      await cluster?.leave();
      await app.close();
      // POS first: it stops pulling and settles what it took; feeds last, after the final commits.
      await pos?.stop();
      await engine.close();
      await feeds?.stop();
      await cluster?.close();
      logger.info('stopped: requests finished and every accepted command committed');
    })();
    return stopping;
  };

  if (options.handleSignals === true) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping !== null) {
        logger.warn({ signal }, 'second signal while draining: exiting now');
        process.exit(1);
      }
      logger.info({ signal }, 'draining');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'draining failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  return { app, engine, logger, address, stop };
}
