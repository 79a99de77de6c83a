// Proves, on a real engine with LMDB, that a live sale overtakes a backlog: 2,000 backlog sales go
// through the engine's priority gate (as `POST /v1/sales:batch` and the NATS backlog consumer send them)
// and a live sale is submitted while they drain. Ordering, not timing: the commit feed shows the live
// sale after at most the backlog sales the gate had admitted when it arrived, every later backlog sale
// after it, and the whole backlog applied once.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { priorityGateOf } from '../../../adapters/pos/priority-gate.ts';
import { derivedCommandId } from '../../../engine/command-ids.ts';
import type { Engine } from '../../../engine/engine.ts';
import { eventually, ids, openEngine, temporaryDirectory } from '../../helpers/engine.ts';

const directory = temporaryDirectory('priority');
let engine: Engine;
before(async () => {
  engine = await openEngine(directory.path, {
    STOCKLEDGER_BACKLOG_IN_FLIGHT_MAX: '16',
    STOCKLEDGER_BACKLOG_IN_FLIGHT_WHILE_LIVE: '2',
  });
});
after(async () => {
  await engine.close();
  directory.remove();
});

function saleJob(transactionId: string, source: string) {
  const { location, sku } = ids('store-p', 'SKU-P');
  const command = {
    type: 'sale' as const,
    commandId: derivedCommandId(transactionId, 'sale', 0),
    sku,
    location,
    qty: 1,
  };
  return () =>
    engine.run({
      shard: engine.shardOfLocation(location),
      key: `test:sale:${transactionId}`,
      body: command,
      run: (context) => context.apply(command, { correlationId: null, source }),
    });
}

test('a live sale commits behind only the backlog admitted before it', async () => {
  const gate = priorityGateOf(engine);
  const backlogSize = 2_000;
  const order: string[] = [];
  engine.onCommit((batch) => {
    for (const { record } of batch.records) {
      for (const entry of record.entries) if (entry.kind === 'command') order.push(entry.meta.source);
    }
  });
  const backlog = Array.from({ length: backlogSize }, (_, at) => gate.backlog(saleJob(`b-${at}`, 'backlog')));
  await eventually(() => order.length >= 100, 10_000, 'the backlog to drain a little');
  const admittedAtArrival = gate.stats().backlogAdmitted;
  assert.ok(admittedAtArrival < backlogSize, 'the backlog was still waiting');
  await gate.live(saleJob('live-1', 'live'));
  const backlogBeforeLive = order.indexOf('live');
  assert.ok(
    backlogBeforeLive <= admittedAtArrival,
    `${backlogBeforeLive} backlog sales committed before the live one; ${admittedAtArrival} were admitted when it arrived`,
  );
  assert.ok(backlogBeforeLive < backlogSize);
  await Promise.all(backlog);
  assert.equal(order.filter((source) => source === 'backlog').length, backlogSize);
  assert.equal(engine.position('store-p', 'SKU-P').onHand, -(backlogSize + 1));
  assert.equal(gate.stats().backlogInFlight, 0);
});
