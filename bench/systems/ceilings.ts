// The raw ceilings: what the parts stockledger is built from do on this machine with nothing on top.
//   xstate-send   `actor.send` of the W1 mix to the real skuLocationMachine (actors/), one actor per
//                 SKU-location, synchronously, in memory: the most an engine of these actors could do
//   lmdb-put      `db.put` of snapshot-sized values with lmdb-js batching them into group commits,
//                 overlappingSync false (durable): the most a single LMDB writer takes here
//   nats-request  request/reply through a nats-server of the bench's own (loopback, free port) to a
//                 responder that answers the payload: the floor of a brokered hop (cluster mode's)
// The Fastify echo is in the http suite (http-echo).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { open } from 'lmdb';
import { pack } from 'msgpackr';
import type { Actor } from 'xstate';
import { createActor } from 'xstate';
import { emptyLedger, locationId, skuLocationMachine, sku as skuOf } from '../../actors/index.ts';
import { stamp } from '../../engine/inputs.ts';
import { startNatsServer } from '../../test/helpers/nats-server.ts';
import type { LoopResult } from '../driver.ts';
import { closedLoop } from '../driver.ts';
import { LatencyRecorder } from '../stats.ts';
import type { Catalogue } from '../workloads/catalogue.ts';
import { sizeOf, targetAt } from '../workloads/catalogue.ts';
import type { Issued } from '../workloads/mixed.ts';
import { MixedWorkload, prestockUnits } from '../workloads/mixed.ts';
import { commandFor } from './engine.ts';
import type { Outcome } from './system.ts';

/** Sends between two looks at the clock: the loop is synchronous, so it checks its deadline in strides. */
const sendsPerClockCheck = 256;

export interface SendCeiling {
  readonly sends: number;
  readonly measuredMs: number;
  readonly throughputPerSecond: number;
  readonly accepted: number;
  readonly refused: number;
  readonly latency: LatencyRecorder;
  readonly actors: number;
}

/**
 * The W1 mix sent straight to one started actor per SKU-location, in one synchronous loop, each
 * outcome read back from the actor's context as the engine does. Actors are created and stocked first
 * (not timed); the held-reservation and return pools are primed as in W1.
 */
export function xstateSendCeiling(options: {
  readonly catalogue: Catalogue;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly primeReservations: number;
  readonly primeReturns: number;
}): SendCeiling {
  const actors = new Map<string, Actor<typeof skuLocationMachine>>();
  const actorFor = (location: string, sku: string) => {
    const key = `${location}\u0000${sku}`;
    let actor = actors.get(key);
    if (actor === undefined) {
      actor = createActor(skuLocationMachine, {
        input: { ledger: emptyLedger(skuOf(sku), locationId(location)) },
      });
      actor.start();
      actors.set(key, actor);
    }
    return actor;
  };
  const workload = new MixedWorkload(options.catalogue, 0x5e4d, 'x');
  let atMs = Date.now();
  const send = (issued: Issued) => {
    const actor = actorFor(issued.operation.location, issued.operation.sku);
    actor.send(stamp(commandFor(issued.operation, issued.id), atMs));
    const decided = actor.getSnapshot().context.outcome;
    const outcome: Outcome =
      decided === null || decided.ok ? { ok: true } : { ok: false, refusal: decided.refusal.code };
    issued.settle(outcome);
    return outcome;
  };
  // Each actor starts from a stocked ledger (as a receive of `prestockUnits` leaves it): stocking is
  // not what is measured, and 100k receives would cost the quick profile seconds.
  for (let index = 0; index < sizeOf(options.catalogue); index++) {
    const target = targetAt(options.catalogue, index);
    const ledger = {
      ...emptyLedger(skuOf(target.sku), locationId(target.location)),
      onHand: prestockUnits,
      version: 1,
    };
    const actor = createActor(skuLocationMachine, { input: { ledger } });
    actor.start();
    actors.set(`${target.location}\u0000${target.sku}`, actor);
  }
  for (const issued of workload.prime(options.primeReservations, options.primeReturns)) send(issued);
  const latency = new LatencyRecorder();
  let sends = 0;
  let accepted = 0;
  let refused = 0;
  const startMs = performance.now();
  const measureFromMs = startMs + options.warmupMs;
  const measureUntilMs = measureFromMs + options.durationMs;
  let measuring = false;
  let measuredFromMs = measureFromMs;
  for (;;) {
    const nowMs = performance.now();
    if (nowMs >= measureUntilMs) break;
    if (!measuring && nowMs >= measureFromMs) {
      measuring = true;
      measuredFromMs = nowMs;
    }
    atMs = Date.now();
    for (let at = 0; at < sendsPerClockCheck; at++) {
      const sentMs = performance.now();
      const outcome = send(workload.next());
      if (!measuring) continue;
      latency.recordMs(performance.now() - sentMs);
      sends++;
      if (outcome.ok) accepted++;
      else refused++;
    }
  }
  const measuredMs = performance.now() - measuredFromMs;
  const count = actors.size;
  for (const actor of actors.values()) actor.stop();
  return {
    sends,
    measuredMs,
    throughputPerSecond: (sends * 1000) / measuredMs,
    accepted,
    refused,
    latency,
    actors: count,
  };
}

/** Snapshot-sized puts (a stocked ledger) over `keys` keys, lmdb-js batching them into durable commits. */
export async function lmdbPutCeiling(options: {
  readonly keys: number;
  readonly outstandingMax: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}): Promise<LoopResult & { readonly valueBytes: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stockledger-bench-lmdb-put-'));
  const root = open({
    path: path.join(dir, 'puts'),
    overlappingSync: false,
    noSync: false,
    compression: false,
    encoding: 'msgpack',
    mapSize: 2 ** 32,
  });
  try {
    const value = {
      ...emptyLedger(skuOf('sku-000001'), locationId('store-00001')),
      onHand: prestockUnits,
      version: 1,
    };
    const valueBytes = pack(value).length;
    let next = 0;
    const result = await closedLoop({
      issue: () => {
        next = (next + 7_919) % options.keys;
        return root.put(`k${next}`, value).then((): Outcome => ({ ok: true }));
      },
      outstandingMax: options.outstandingMax,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
    });
    return { ...result, valueBytes };
  } finally {
    await root.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Request/reply of `payload` through a nats-server started here; the responder answers the payload. */
export async function natsRequestCeiling(options: {
  readonly payload: string;
  readonly outstandingMax: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}): Promise<LoopResult & { readonly serverVersion: string }> {
  const server = await startNatsServer();
  const responder = await connect({ servers: server.url, noAsyncTraces: true });
  const requester = await connect({ servers: server.url, noAsyncTraces: true });
  try {
    const subject = 'bench.echo';
    responder.subscribe(subject, {
      callback: (error, message) => {
        if (error === null) message.respond(message.data);
      },
    });
    await responder.flush();
    const body = new TextEncoder().encode(options.payload);
    const result = await closedLoop({
      issue: () => requester.request(subject, body, { timeout: 10_000 }).then((): Outcome => ({ ok: true })),
      outstandingMax: options.outstandingMax,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
    });
    return { ...result, serverVersion: requester.info?.version ?? '?' };
  } finally {
    await requester.close();
    await responder.close();
    await server.stop();
  }
}
