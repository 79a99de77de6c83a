// Proves the backlog gate's rules with work whose completion the test controls: backlog work is
// admitted in arrival order up to `inFlightMax`; while any live work is in flight only up to
// `inFlightWhileLive` (so backlog never starves, and never crowds live work); live work is never held;
// and every slot freed is handed to the next backlog work at once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PriorityGate } from '../../../adapters/pos/priority-gate.ts';

interface Controlled {
  readonly started: string[];
  finish(name: string): Promise<void>;
  work(name: string): () => Promise<string>;
}

function controlled(): Controlled {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  return {
    started,
    work: (name) => () => {
      started.push(name);
      return new Promise<string>((resolve) => finishers.set(name, () => resolve(name)));
    },
    async finish(name) {
      const finish = finishers.get(name);
      assert.ok(finish !== undefined, `${name} has not started`);
      finish();
      // Let the gate's releases and the admitted work's starts run.
      for (let turn = 0; turn < 5; turn++) await Promise.resolve();
    },
  };
}

async function turns(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await Promise.resolve();
}

test('backlog is admitted in arrival order up to inFlightMax, one freed slot at a time', async () => {
  const gate = new PriorityGate(3, 1);
  const work = controlled();
  const done = ['b1', 'b2', 'b3', 'b4', 'b5'].map((name) => gate.backlog(work.work(name)));
  await turns();
  assert.deepEqual(work.started, ['b1', 'b2', 'b3']);
  assert.equal(gate.stats().backlogWaiting, 2);
  await work.finish('b2');
  assert.deepEqual(work.started, ['b1', 'b2', 'b3', 'b4']);
  for (const name of ['b1', 'b3', 'b4', 'b5']) await work.finish(name);
  assert.deepEqual(await Promise.all(done), ['b1', 'b2', 'b3', 'b4', 'b5']);
  assert.deepEqual(gate.stats(), {
    liveInFlight: 0,
    backlogInFlight: 0,
    backlogWaiting: 0,
    backlogAdmitted: 5,
    liveAdmitted: 0,
  });
});

test('live work starts at once, and while it is in flight the backlog shrinks to inFlightWhileLive', async () => {
  const gate = new PriorityGate(3, 1);
  const work = controlled();
  const backlog = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'].map((name) => gate.backlog(work.work(name)));
  await turns();
  const live = gate.live(work.work('live'));
  assert.deepEqual(work.started, ['b1', 'b2', 'b3', 'live']);
  // Slots freed while live work waits are not refilled until fewer than one backlog job is in flight.
  await work.finish('b1');
  await work.finish('b2');
  assert.deepEqual(work.started, ['b1', 'b2', 'b3', 'live']);
  await work.finish('b3');
  assert.deepEqual(work.started, ['b1', 'b2', 'b3', 'live', 'b4']);
  // Live work done: back to the full window.
  await work.finish('live');
  assert.deepEqual(work.started, ['b1', 'b2', 'b3', 'live', 'b4', 'b5', 'b6']);
  for (const name of ['b4', 'b5', 'b6']) await work.finish(name);
  assert.equal(await live, 'live');
  assert.equal((await Promise.all(backlog)).length, 6);
});

test('a backlog under constant live load still drains, inFlightWhileLive at a time', async () => {
  const gate = new PriorityGate(4, 2);
  const work = controlled();
  const live = gate.live(work.work('live'));
  const backlog = ['b1', 'b2', 'b3'].map((name) => gate.backlog(work.work(name)));
  await turns();
  assert.deepEqual(work.started, ['live', 'b1', 'b2']);
  await work.finish('b1');
  assert.deepEqual(work.started, ['live', 'b1', 'b2', 'b3']);
  for (const name of ['b2', 'b3', 'live']) await work.finish(name);
  await Promise.all([live, ...backlog]);
});

test('a failing job frees its slot too', async () => {
  const gate = new PriorityGate(1, 1);
  await assert.rejects(
    gate.backlog(() => Promise.reject(new Error('refused'))),
    /refused/,
  );
  assert.equal(await gate.backlog(() => Promise.resolve('next')), 'next');
  assert.equal(gate.stats().backlogInFlight, 0);
});
