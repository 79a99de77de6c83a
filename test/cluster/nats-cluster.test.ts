// Proves test/helpers/nats-cluster.ts starts a usable JetStream cluster and can take a member away and
// bring it back: three real nats-server processes, an R3 stream, a publish acknowledged by a quorum;
// the stream's leader is SIGKILLed and a publish is still acknowledged by the two left; the killed
// server restarts on its ports with its store and catches up to both messages; `stop` removes the stores.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import type { NatsCluster } from '../helpers/nats-cluster.ts';
import { startNatsCluster } from '../helpers/nats-cluster.ts';

const stream = 'CLUSTER_TEST';
const subject = 'cluster.test';
/** Long enough for the two servers left to elect a new stream leader (a few seconds on nats-server 2.9). */
const failoverTimeoutMs = 10_000;
const catchUpTimeoutMs = 10_000;
const requestTimeoutMs = 2_000;

let cluster: NatsCluster | undefined;
let connection: NatsConnection | undefined;
after(async () => {
  try {
    await connection?.close();
  } finally {
    await cluster?.stop();
  }
});

/**
 * Retries `attempt` until it succeeds or `timeoutMs` passes: while a killed server's groups elect new
 * leaders (the stream's, and the JetStream meta group's if it led that too), requests time out or are
 * refused as temporarily unavailable.
 */
async function within<T>(timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadlineMs = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() >= deadlineMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Publishes until a quorum acknowledges; the message id makes a retried publish that did land a duplicate. */
async function publishWithin(js: JetStreamClient, body: string, timeoutMs: number): Promise<number> {
  const ack = await within(timeoutMs, () =>
    js.publish(subject, body, { msgID: body, timeout: requestTimeoutMs }),
  );
  return ack.seq;
}

async function streamLeader(manager: JetStreamManager): Promise<string> {
  const info = await within(failoverTimeoutMs, () => manager.streams.info(stream));
  const leader = info.cluster?.leader;
  assert.ok(leader !== undefined && leader !== '', 'the stream has a leader');
  return leader;
}

test('a 3-server JetStream cluster keeps an R3 stream writable with one server SIGKILLed', async () => {
  cluster = await startNatsCluster({ size: 3 });
  assert.equal(cluster.servers.length, 3);
  assert.equal(cluster.natsUrl, cluster.urls.join(','));
  for (const server of cluster.servers) assert.notEqual(server.port, 4222);

  connection = await connect({
    servers: [...cluster.urls],
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  // A short request timeout, so a request lost in an election is retried well within the deadlines.
  const manager = await jetstreamManager(connection, { timeout: requestTimeoutMs });
  const js = jetstream(connection);
  await manager.streams.add({
    name: stream,
    subjects: [subject],
    num_replicas: 3,
    storage: StorageType.File,
  });
  assert.equal(await publishWithin(js, 'first', failoverTimeoutMs), 1);

  const leaderName = await streamLeader(manager);
  const leader = cluster.servers.find((server) => server.name === leaderName);
  assert.ok(leader !== undefined, `the stream leader ${leaderName} is one of ours`);
  await leader.kill9();
  assert.equal(leader.running, false);

  assert.equal(await publishWithin(js, 'second', failoverTimeoutMs), 2);
  assert.notEqual(await streamLeader(manager), leaderName, 'a new leader was elected');

  await leader.restart();
  assert.equal(leader.running, true);
  const deadlineMs = Date.now() + catchUpTimeoutMs;
  for (;;) {
    const info = await within(catchUpTimeoutMs, () => manager.streams.info(stream));
    const replicas = info.cluster?.replicas ?? [];
    const caughtUp =
      replicas.length === 2 && replicas.every((replica) => replica.current && !replica.offline);
    if (caughtUp && info.state.messages === 2) break;
    assert.ok(Date.now() < deadlineMs, `the restarted server catches up: ${JSON.stringify(info.cluster)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  await connection.close();
  connection = undefined;
  const dataDir = cluster.dataDir;
  await cluster.stop();
  cluster = undefined;
  assert.equal(existsSync(dataDir), false, 'stop removes the temporary stores');
});
