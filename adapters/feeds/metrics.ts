// The availability feeds' figures on `GET /metrics`, read from the engine's running feeds when any were
// started (engine/main.ts starts them only when configured). No URL label: push URLs can carry tokens,
// and the outcomes summed over URLs are what an alert needs; per-URL failures are in the logs.

import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { AppServices } from '../http/app.ts';
import { feedsOf } from './feeds.ts';
import type { PushStats } from './webhook-push.ts';

type PushOutcome = 'delivered' | 'retried' | 'failed' | 'coalesced' | 'dropped';

export function feedMetrics({ engine, metrics }: AppServices): FastifyPluginAsync {
  const registers = [metrics.registry];
  const seen = new Map<string, number>();
  /** Adds to `counter` what the running total `now` grew by since the last scrape. */
  const grow = (counter: Counter, name: string, now: number, labels?: { outcome: PushOutcome }) => {
    const before = seen.get(name) ?? 0;
    if (now > before) {
      if (labels === undefined) counter.inc(now - before);
      else counter.inc(labels, now - before);
    }
    seen.set(name, now);
  };
  new Counter({
    name: 'stockledger_feed_updates_total',
    help: 'Availability updates made (status changes, threshold crossings, policy changes)',
    registers,
    collect() {
      const stats = feedsOf(engine)?.stats();
      if (stats !== undefined) grow(this, 'updates', stats.updates);
    },
  });
  new Counter({
    name: 'stockledger_feed_push_updates_total',
    help: 'Availability updates by what became of them in the webhook pushes, summed over URLs',
    labelNames: ['outcome'] as const,
    registers,
    collect() {
      const pushes = feedsOf(engine)?.stats().pushes;
      if (pushes === undefined) return;
      const sum = (pick: (push: PushStats) => number) =>
        pushes.reduce((total, push) => total + pick(push), 0);
      grow(
        this,
        'delivered',
        sum((push) => push.delivered),
        { outcome: 'delivered' },
      );
      grow(
        this,
        'retried',
        sum((push) => push.retries),
        { outcome: 'retried' },
      );
      grow(
        this,
        'failed',
        sum((push) => push.failed),
        { outcome: 'failed' },
      );
      grow(
        this,
        'coalesced',
        sum((push) => push.coalesced),
        { outcome: 'coalesced' },
      );
      grow(
        this,
        'dropped',
        sum((push) => push.dropped),
        { outcome: 'dropped' },
      );
    },
  });
  new Gauge({
    name: 'stockledger_feed_queued_updates',
    help: 'Availability updates waiting in the webhook push queues and the NATS publisher',
    registers,
    collect() {
      const stats = feedsOf(engine)?.stats();
      if (stats === undefined) return;
      this.set(stats.pushes.reduce((total, push) => total + push.queued, 0) + (stats.nats?.queued ?? 0));
    },
  });
  new Counter({
    name: 'stockledger_feed_nats_messages_total',
    help: 'Messages published on NATS by the feeds, by kind (avail, avail-failed, avail-dropped, event, event-dropped)',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      const nats = feedsOf(engine)?.stats().nats;
      if (nats === undefined || nats === null) return;
      for (const [kind, now] of [
        ['avail', nats.published],
        ['avail-failed', nats.failed],
        ['avail-dropped', nats.dropped],
        ['event', nats.eventsPublished],
        ['event-dropped', nats.eventsDropped],
      ] as const) {
        const before = seen.get(`nats:${kind}`) ?? 0;
        if (now > before) this.inc({ kind }, now - before);
        seen.set(`nats:${kind}`, now);
      }
    },
  });
  return async () => {};
}
