// Outbound availability feeds (README "Availability feeds"): one commit listener on the engine turns
// each committed batch into availability updates (availability-updates.ts) and hands them to the
// configured outlets: signed webhook pushes (one queue per URL) and NATS (`inv.avail.*` into a
// last-per-subject stream, `inv.evt.*` for every event). The listener only computes and queues; no
// outlet can slow the engine down or make it wait.

import type { Logger } from 'pino';
import type { Config } from '../../engine/config.ts';
import type { Engine } from '../../engine/engine.ts';
import type { AvailabilityUpdate } from './availability-updates.ts';
import { AvailabilityUpdates } from './availability-updates.ts';
import type { NatsFeedStats } from './nats-feed.ts';
import { NatsFeed } from './nats-feed.ts';
import type { PushStats } from './webhook-push.ts';
import { WebhookPush } from './webhook-push.ts';

/** How long stopping waits for queued updates to leave before giving up on them. */
const stopWaitMs = 5_000;

export interface FeedStats {
  readonly updates: number;
  readonly pushes: readonly PushStats[];
  readonly nats: NatsFeedStats | null;
}

export interface Feeds {
  stats(): FeedStats;
  /** Resolves when every outlet's queue is empty (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface FeedOptions {
  readonly engine: Engine;
  readonly config: Config;
  readonly logger: Logger;
  /** Also called with every update (tests, and adapters that want them in-process). */
  readonly onUpdate?: (update: AvailabilityUpdate) => void;
}

const running = new WeakMap<Engine, Feeds>();

/** The engine's running feeds, if any were started (for the metrics). */
export function feedsOf(engine: Engine): Feeds | undefined {
  return running.get(engine);
}

/** True when the configuration asks for any outbound feed. */
export function feedsConfigured(config: Config): boolean {
  return config.feeds.webhookUrls.length > 0 || config.feeds.natsUrl !== null;
}

export async function startFeeds(options: FeedOptions): Promise<Feeds> {
  const { engine, config } = options;
  const logger = options.logger.child({ component: 'feeds' });
  const settings = config.feeds;
  const pushes = settings.webhookUrls.map(
    (url) =>
      new WebhookPush({
        url,
        secret: settings.webhookSecret ?? '',
        queueMax: settings.queueMax,
        attemptsMax: settings.attemptsMax,
        retryBaseMs: settings.retryBaseMs,
        logger,
      }),
  );
  const nats =
    settings.natsUrl === null
      ? null
      : await NatsFeed.start(settings.natsUrl, logger, settings.queueMax, settings.publishEvents);
  const updates = new AvailabilityUpdates(engine, settings.thresholds);
  let made = 0;
  const unsubscribe = engine.onCommit((batch) => {
    nats?.events(batch);
    for (const update of updates.of(batch)) {
      made++;
      for (const push of pushes) push.push(update);
      nats?.publish(update);
      options.onUpdate?.(update);
    }
  });
  logger.info(
    {
      webhooks: settings.webhookUrls.length,
      nats: settings.natsUrl !== null,
      thresholds: settings.thresholds,
    },
    'availability feeds started',
  );
  const idle = async () => {
    await Promise.all([...pushes.map((push) => push.idle()), nats?.idle()]);
  };
  const feeds: Feeds = {
    stats: () => ({ updates: made, pushes: pushes.map((push) => push.stats()), nats: nats?.stats() ?? null }),
    idle,
    async stop() {
      unsubscribe();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle(), new Promise((resolve) => (timer = setTimeout(resolve, stopWaitMs)))]);
      clearTimeout(timer);
      for (const push of pushes) push.stop();
      await nats?.stop();
      running.delete(engine);
    },
  };
  running.set(engine, feeds);
  return feeds;
}
