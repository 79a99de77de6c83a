// POS live ingest over NATS JetStream (issue 6). Two durable pull consumers read the `POS` stream: one
// for live sales (`pos.*.sales`), one for offline backlogs (`pos.*.backlog`). Every message becomes the
// same job `POST /v1/sales` runs (the sale mutation, keyed by its transactionId), so a sale that
// arrives over NATS and over HTTP, or twice over NATS, is applied once.
//
// A message is acknowledged only when its outcome is durable: after its engine job resolved (the batch
// is on disk), or after its dead letter is written. Malformed input (not JSON, fails the sale schema,
// names another store than its subject, reuses a transactionId with another body) becomes a dead letter
// with the reason and is acknowledged, so it is never redelivered forever. An OVERLOADED engine, or one
// shutting down, is answered with a negative acknowledgement and a delay: JetStream redelivers it. Any
// other failure is retried with backoff and dead-lettered after `deliveriesBeforeDeadLetter` attempts.
//
// Live messages are handled as they arrive, up to the live consumer's `max_ack_pending`; backlog
// messages pass the priority gate (priority-gate.ts), which admits them only as fast as live traffic
// leaves room for.

import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ClusterNode } from '../../engine/cluster/node.ts';
import type { Engine } from '../../engine/engine.ts';
import { LOCAL_ACCESS } from '../http/auth.ts';
import { toHttpError } from '../http/errors.ts';
import type { Outcome } from '../http/idempotency.ts';
import { runMutation } from '../http/idempotency.ts';
import type { Services } from '../http/mutations/mutation.ts';
import { saleMutation } from '../http/mutations/sales.ts';
import { OpenReservations } from '../http/open-reservations.ts';
import type { Sale } from '../http/schemas.ts';
import { connectNats } from '../nats/connection.ts';
import { ensureConsumer, ensureStream } from '../nats/jetstream-setup.ts';
import { priorityGateOf } from './priority-gate.ts';
import { registerTrackerOf } from './registers.ts';
import type { ParsedSale } from './sale-payload.ts';
import { parseSale } from './sale-payload.ts';
import type { Lane } from './subjects.ts';
import {
  BACKLOG_CONSUMER,
  BACKLOG_FILTER,
  LIVE_CONSUMER,
  LIVE_FILTER,
  POS_ADAPTER,
  POS_STREAM,
  storeOfSubject,
} from './subjects.ts';

/** How long the stream keeps a sale: as long as the engine remembers its transactionId by default. */
export const posStreamMaxAgeMs = 7 * 24 * 3_600_000;
/** Live sales being applied at once, at most (the live consumer's `max_ack_pending`). */
export const liveInFlightMax = 4_096;
/** Messages one pull asks for. */
const livePullMessagesMax = 512;
/** A message not acknowledged in this long is redelivered (the engine answers in milliseconds). */
const ackWaitMs = 30_000;
/** Redelivery delay after OVERLOADED when the engine names none. */
const overloadedDelayMs = 1_000;
/** A message failing for an unexpected reason is dead-lettered at this delivery. */
export const deliveriesBeforeDeadLetter = 10;
const retryDelayMaxMs = 30_000;
/** Wait before re-creating a consumer's pull after it ended unexpectedly. */
const restartDelayMs = 1_000;

export interface PosIngestCounts {
  readonly applied: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly redelivered: number;
}

export interface PosIngest {
  counts(): PosIngestCounts;
  /** Stops pulling, waits for the messages being handled, and closes the connection. */
  stop(): Promise<void>;
}

export interface PosIngestOptions {
  readonly engine: Engine;
  readonly logger: Logger;
  readonly url: string;
  /** Cluster mode: sales for shards another node owns are routed to it, as the HTTP API's are. */
  readonly cluster?: ClusterNode | undefined;
}

type Handled = 'applied' | 'duplicate' | 'dead-lettered' | 'redelivered';

const ingests = new WeakMap<Engine, PosIngest>();

/** The engine's running NATS ingest, if one was started (for the metrics). */
export function posIngestOf(engine: Engine): PosIngest | undefined {
  return ingests.get(engine);
}

/** The correlation id a message carries (header `X-Correlation-Id`), or one made from its sequence. */
function correlationOf(message: JsMsg): string {
  const sent = message.headers?.get('X-Correlation-Id') ?? '';
  return /^[\x21-\x7e]{1,128}$/.test(sent) ? sent : `nats:${POS_STREAM}:${message.seq}`;
}

/** The message's text, as a backlog line is kept: a dead letter's payload that a retry can run again. */
function payloadOf(message: JsMsg): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(message.data);
  } catch {
    return `base64:${Buffer.from(message.data).toString('base64')}`;
  }
}

export async function startPosIngest(options: PosIngestOptions): Promise<PosIngest> {
  const { engine, logger } = options;
  const log = logger.child({ component: 'pos-ingest' });
  const connection = await connectNats(options.url, 'stockledger-pos', log);
  try {
    const ingest = await startOn(connection, engine, log, options.cluster);
    ingests.set(engine, ingest);
    return ingest;
  } catch (error) {
    await connection.close();
    throw error;
  }
}

async function startOn(
  connection: NatsConnection,
  engine: Engine,
  log: Logger,
  cluster: ClusterNode | undefined,
): Promise<PosIngest> {
  const gate = priorityGateOf(engine);
  const tracker = registerTrackerOf(engine);
  const unsubscribeGaps = tracker.onGap((register, gap) => {
    log.warn(
      { location: register.location, register: register.register, from: gap.from, to: gap.to },
      'POS register sequence gap: sales missing',
    );
  });
  const services: Services = {
    engine,
    config: engine.config,
    // Sales hold nothing: the open-reservation cap does not apply (0 = counts nothing).
    openReservations: new OpenReservations(engine, 0),
    cluster,
  };
  const manager = await jetstreamManager(connection);
  await ensureStream(manager, {
    name: POS_STREAM,
    subjects: [LIVE_FILTER, BACKLOG_FILTER],
    storage: StorageType.File,
    max_age: nanos(posStreamMaxAgeMs),
  });
  const consumerBase = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: -1,
  };
  const backlogPullMessagesMax = Math.min(1_024, gate.inFlightMax);
  await ensureConsumer(manager, POS_STREAM, {
    ...consumerBase,
    durable_name: LIVE_CONSUMER,
    filter_subject: LIVE_FILTER,
    max_ack_pending: liveInFlightMax,
  });
  await ensureConsumer(manager, POS_STREAM, {
    ...consumerBase,
    durable_name: BACKLOG_CONSUMER,
    filter_subject: BACKLOG_FILTER,
    max_ack_pending: gate.inFlightMax + backlogPullMessagesMax,
  });
  const js = jetstream(connection);

  const counts = { applied: 0, duplicates: 0, deadLettered: 0, redelivered: 0 };
  const handling = new Set<Promise<void>>();
  const pulls = new Set<ConsumerMessages>();
  let stopped = false;

  const deadLetter = async (message: JsMsg, code: string, why: string): Promise<'dead-lettered'> => {
    // The reason starts with the code (dead letters are counted by it), then where the message was.
    const reason = `${code}: ${message.subject} #${message.seq}: ${why}`;
    await engine.deadLetters.add({ adapter: POS_ADAPTER, reason, payload: payloadOf(message) });
    message.ack();
    return 'dead-lettered';
  };

  const apply = (sale: Sale, lane: Lane, message: JsMsg): Promise<Outcome> => {
    const caller = {
      access: LOCAL_ACCESS,
      meta: {
        correlationId: correlationOf(message),
        source: lane === 'live' ? POS_ADAPTER : `${POS_ADAPTER}:backlog`,
      },
    };
    const run = () => runMutation(services, saleMutation, sale, caller);
    // A backlog message was admitted by the gate before it was handled (see `pull`).
    return lane === 'live' ? gate.live(run) : run();
  };

  const handle = async (message: JsMsg, lane: Lane): Promise<Handled> => {
    const parsed: ParsedSale = parseSale(message.data);
    if (!parsed.ok) {
      const issues = parsed.issues.map((issue) => `${issue.path || '/'} ${issue.message}`).join('; ');
      return deadLetter(message, 'VALIDATION_FAILED', issues);
    }
    const sale = parsed.sale;
    const store = storeOfSubject(message.subject);
    if (store !== sale.location) {
      return deadLetter(
        message,
        'VALIDATION_FAILED',
        `/location ${sale.location} is not the subject's store`,
      );
    }
    let outcome: Outcome;
    try {
      outcome = await apply(sale, lane, message);
    } catch (raw) {
      const error = toHttpError(raw);
      if (error.status === 503) {
        message.nak(error.retryAfterSeconds === null ? overloadedDelayMs : error.retryAfterSeconds * 1_000);
        return 'redelivered';
      }
      if (error.status < 500) return deadLetter(message, error.code, error.message);
      const deliveries = message.info.deliveryCount;
      if (deliveries >= deliveriesBeforeDeadLetter) {
        return deadLetter(message, error.code, `failed ${deliveries} times: ${error.message}`);
      }
      log.warn({ err: raw, subject: message.subject, deliveries }, 'POS sale failed; redelivering');
      message.nak(Math.min(retryDelayMaxMs, 500 * 2 ** (deliveries - 1)));
      return 'redelivered';
    }
    if (outcome.status >= 300) {
      const body = outcome.body as { error?: { code?: string; message?: string } };
      return deadLetter(message, body.error?.code ?? String(outcome.status), body.error?.message ?? '');
    }
    tracker.observe(sale, outcome.replayed, engine.now());
    message.ack();
    return outcome.replayed ? 'duplicate' : 'applied';
  };

  const track = (message: JsMsg, lane: Lane, release: () => void): void => {
    const done = handle(message, lane)
      .then(
        (handled) => {
          if (handled === 'applied') counts.applied++;
          else if (handled === 'duplicate') counts.duplicates++;
          else if (handled === 'dead-lettered') counts.deadLettered++;
          else counts.redelivered++;
        },
        (error: unknown) => {
          // Writing the dead letter failed: leave the message unacknowledged for redelivery.
          counts.redelivered++;
          log.error({ err: error, subject: message.subject }, 'POS message could not be settled');
          message.nak(overloadedDelayMs);
        },
      )
      .finally(() => {
        release();
        handling.delete(done);
      });
    handling.add(done);
  };

  const pull = async (lane: Lane): Promise<void> => {
    const name = lane === 'live' ? LIVE_CONSUMER : BACKLOG_CONSUMER;
    while (!stopped) {
      let messages: ConsumerMessages | null = null;
      try {
        const consumer = await js.consumers.get(POS_STREAM, name);
        messages = await consumer.consume({
          max_messages: lane === 'live' ? livePullMessagesMax : backlogPullMessagesMax,
        });
        pulls.add(messages);
        if (stopped) break;
        const current = messages;
        void (async () => {
          for await (const status of current.status()) {
            if (status.type === 'heartbeats_missed' && status.count >= 2) current.stop();
          }
        })();
        for await (const message of messages) {
          if (lane === 'live') {
            track(message, lane, () => {});
          } else {
            // Waits here, holding the pull, until the gate has room: the backlog goes at the pace left.
            const admitted = await gate.admitBacklog();
            track(message, lane, admitted);
          }
        }
      } catch (error) {
        if (!stopped) log.error({ err: error, consumer: name }, 'POS consumer stopped; restarting');
      } finally {
        if (messages !== null) pulls.delete(messages);
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, restartDelayMs));
    }
  };

  const loops = [pull('live'), pull('backlog')];
  log.info(
    { stream: POS_STREAM, live: LIVE_FILTER, backlog: BACKLOG_FILTER },
    'POS ingest over NATS started',
  );

  return {
    counts: () => ({ ...counts }),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const messages of pulls) messages.stop();
      await Promise.all(loops);
      await Promise.all([...handling]);
      unsubscribeGaps();
      await connection.drain();
    },
  };
}
