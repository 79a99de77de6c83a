// Proves the adapters' settings in engine/config.ts: defaults when unset (every adapter off), each
// setting parsed, and each bad value refused with the setting's name (a non-NATS URL, a short secret,
// feed URLs without a secret, malformed thresholds, a webhook window longer than ids are remembered).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../../engine/config.ts';

test('defaults: every adapter is off', () => {
  const config = loadConfig({});
  assert.equal(config.pos.natsUrl, null);
  assert.equal(config.orderWebhooks.secret, null);
  assert.equal(config.orderWebhooks.toleranceSeconds, 300);
  assert.deepEqual(config.feeds.webhookUrls, []);
  assert.equal(config.feeds.natsUrl, null);
  assert.deepEqual(config.feeds.thresholds, {});
  assert.deepEqual(config.backlog, { inFlightMax: 256, inFlightWhileLive: 8 });
});

test('settings are parsed', () => {
  const config = loadConfig({
    STOCKLEDGER_POS_NATS_URL: 'nats://127.0.0.1:4333',
    STOCKLEDGER_FEED_NATS_URL: 'nats://127.0.0.1:4334',
    STOCKLEDGER_FEED_WEBHOOK_URLS: 'https://a.example/feed, http://127.0.0.1:9/b',
    STOCKLEDGER_FEED_WEBHOOK_SECRET: 'x'.repeat(16),
    STOCKLEDGER_FEED_THRESHOLDS: 'web=20,5,5; *=10',
    STOCKLEDGER_FEED_EVENTS: '0',
  });
  assert.equal(config.pos.natsUrl, 'nats://127.0.0.1:4333');
  assert.deepEqual(config.feeds.webhookUrls, ['https://a.example/feed', 'http://127.0.0.1:9/b']);
  assert.deepEqual(config.feeds.thresholds, { web: [5, 20], '*': [10] });
  assert.equal(config.feeds.publishEvents, false);
});

test('bad values are refused naming the setting', () => {
  const refused: [Record<string, string>, string][] = [
    [{ STOCKLEDGER_POS_NATS_URL: 'http://x' }, 'STOCKLEDGER_POS_NATS_URL'],
    [{ STOCKLEDGER_ORDER_WEBHOOK_SECRET: 'short' }, 'STOCKLEDGER_ORDER_WEBHOOK_SECRET'],
    [{ STOCKLEDGER_FEED_WEBHOOK_URLS: 'https://a.example' }, 'STOCKLEDGER_FEED_WEBHOOK_SECRET'],
    [
      { STOCKLEDGER_FEED_WEBHOOK_URLS: 'ftp://a', STOCKLEDGER_FEED_WEBHOOK_SECRET: 'x'.repeat(16) },
      'STOCKLEDGER_FEED_WEBHOOK_URLS',
    ],
    [{ STOCKLEDGER_FEED_THRESHOLDS: 'web=0' }, 'STOCKLEDGER_FEED_THRESHOLDS'],
    [{ STOCKLEDGER_FEED_THRESHOLDS: 'web' }, 'STOCKLEDGER_FEED_THRESHOLDS'],
    [
      { STOCKLEDGER_ORDER_WEBHOOK_TOLERANCE_SECONDS: '7200', STOCKLEDGER_IDEMPOTENCY_RETENTION_HOURS: '1' },
      'STOCKLEDGER_ORDER_WEBHOOK_TOLERANCE_SECONDS',
    ],
    [{ STOCKLEDGER_FEED_NAT_URL: 'nats://x' }, 'STOCKLEDGER_FEED_NAT_URL'],
  ];
  for (const [env, setting] of refused) {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => error instanceof ConfigError && error.setting === setting,
      JSON.stringify(env),
    );
  }
});
