// Proves that SIGKILL at any moment loses no acknowledged command and applies none twice: 50 times, a real
// child process runs the seeded workload against one LMDB data dir and is killed 50-400 ms in; after each
// kill a fresh engine on the same dir must hold every acknowledged answer, replay it with `replayed: true`,
// log each applied command exactly once in an unbroken hash chain, and report positions equal to an
// independent model folded over exactly the commands found durable. At the end every command ever sent is
// resubmitted with its id, and the totals must equal the plain sum of the whole stream; verifyDataDir
// (engine/verify.ts) and the history index must agree with the log on every tenth crashed dir and at the end.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Engine } from '../../engine/engine.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import type { ChildReport } from './child-process.ts';
import { LoadChild, readyWithin, sleep } from './child-process.ts';
import {
  acknowledgementOf,
  durableAfterLoss,
  durableOutcomes,
  LogAudit,
  openEngine,
  streamIndexOf,
  submitInOrder,
  verificationProblems,
} from './data-dir.ts';
import { LedgerModel } from './model.ts';
import { isTotalsSku, onHandDeltaOf, randomSource, workloadCommands } from './workload.ts';

const cycles = 50;
const killAfterMinMs = 50;
const killAfterMaxMs = 400;
const verifyEveryCycles = 10;
const findingsShownMax = 10;
/** A child normally starts in well under a second; one that has not started after this is killed. */
const readyTimeoutMs = 20_000;
/** The test runs in about a minute; this only turns a hang into a failure. */
const testTimeoutMs = 240_000;
const seedText = process.env.FC_SEED;
const seed =
  seedText === undefined || seedText === '' ? Math.floor(Math.random() * 0x7fff_ffff) : Number(seedText);
assert.ok(Number.isSafeInteger(seed), `FC_SEED must be an integer, got ${seedText}`);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stockledger-sigkill-'));
const children = new Set<LoadChild>();

after(() => {
  for (const child of children) child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function assertPositions(engine: Engine, model: LedgerModel, context: string): void {
  for (const [key, expected] of model.positions) {
    const [location, sku] = key.split('|') as [string, string];
    const actual = engine.position(location, sku);
    assert.deepEqual(
      { onHand: actual.onHand, reserved: actual.reserved, quarantine: actual.quarantine },
      { onHand: expected.onHand, reserved: expected.reserved, quarantine: expected.quarantine },
      `${context}: ${key} differs from the model`,
    );
  }
}

test(`SIGKILL during load loses nothing acknowledged and applies nothing twice (seed ${seed})`, {
  timeout: testTimeoutMs,
}, async (t) => {
  t.diagnostic(`seed ${seed}; replay with FC_SEED=${seed}`);
  const random = randomSource(seed);
  const model = new LedgerModel();
  const audit = new LogAudit();
  const streams: CommandInput[][] = [];
  const durableByCycle: Set<string>[] = [];
  let acknowledgedTotal = 0;
  let durableUnacknowledged = 0;
  const verifyFindings: string[] = [];

  for (let cycle = 0; cycle < cycles; cycle++) {
    const child = new LoadChild({ dataDir, seed, cycle });
    children.add(child);
    let report: ChildReport;
    try {
      await readyWithin(child, readyTimeoutMs);
      await sleep(killAfterMinMs + Math.floor(random() * (killAfterMaxMs - killAfterMinMs + 1)));
      child.kill('SIGKILL');
      report = await child.exited;
    } finally {
      child.kill('SIGKILL');
      children.delete(child);
    }
    assert.equal(report.signal, 'SIGKILL', `cycle ${cycle}: the child ended on its own:\n${report.stderr}`);
    assert.deepEqual(report.unexpected, [], `cycle ${cycle}: the child wrote lines outside its protocol`);
    acknowledgedTotal += report.acknowledged.size;

    const engine = await openEngine(dataDir);
    try {
      const context = `cycle ${cycle} (seed ${seed})`;
      const durable = durableOutcomes(engine, cycle);
      const commands = workloadCommands(seed, cycle, report.sent);
      streams.push(commands);
      durableByCycle.push(new Set(durable.keys()));

      for (const id of durable.keys()) {
        assert.ok(streamIndexOf(id) < report.sent, `${context}: ${id} is on disk but was never sent`);
      }
      for (const [id, acknowledgement] of report.acknowledged) {
        const record = durable.get(id);
        assert.ok(
          record !== undefined,
          `${context}: ${id} was acknowledged but is not on disk after restart`,
        );
        assert.deepEqual(acknowledgementOf(record), acknowledgement, `${context}: ${id} answers differently`);
      }
      durableUnacknowledged += durable.size - report.acknowledged.size;

      // Each applied command is logged exactly once; refused ones are not logged at all.
      const logged = audit.scan(engine);
      assert.deepEqual(audit.breaks, [], `${context}: the log is broken`);
      assert.deepEqual(
        durableAfterLoss(commands, new Set(durable.keys())),
        [],
        `${context}: durable after a loss`,
      );
      for (const { commandId } of logged) {
        const record = durable.get(commandId);
        assert.ok(record !== undefined, `${context}: ${commandId} is logged but has no durable outcome`);
        assert.equal(acknowledgementOf(record).ok, true, `${context}: refused ${commandId} is logged`);
        assert.equal(audit.timesLogged.get(commandId), 1, `${context}: ${commandId} logged twice`);
      }
      for (const [id, record] of durable) {
        const times = audit.timesLogged.get(id) ?? 0;
        assert.equal(
          times,
          acknowledgementOf(record).ok ? 1 : 0,
          `${context}: ${id} is logged ${times} times`,
        );
      }

      // The model applies exactly the durable commands, in the order the child sent them (each actor's
      // mailbox is first in, first out), and must agree with every stored outcome and every position.
      for (const command of commands) {
        const record = durable.get(command.commandId);
        if (record === undefined) continue;
        const expected = model.apply(command);
        assert.equal(
          acknowledgementOf(record).ok ? 'ok' : 'refused',
          expected,
          `${context}: ${command.commandId} outcome differs from the model: ${JSON.stringify(command)} -> ${JSON.stringify(record.result)}`,
        );
      }
      assertPositions(engine, model, context);

      // Resubmitting what was acknowledged replays the first answers and applies nothing.
      const acknowledgedCommands = commands.filter((command) => report.acknowledged.has(command.commandId));
      const answers = await submitInOrder(engine, acknowledgedCommands);
      for (const [at, answer] of answers.entries()) {
        const id = acknowledgedCommands[at]!.commandId;
        assert.equal(answer.replayed, true, `${context}: resubmitted ${id} was not a replay`);
        assert.deepEqual(
          answer.result,
          durable.get(id)!.result,
          `${context}: ${id} replays a different result`,
        );
      }
      assert.equal(engine.stats().commandsApplied, 0, `${context}: a resubmitted command was applied again`);
    } finally {
      await engine.close();
    }
    // verifyDataDir replays the whole log, so it runs on every tenth crashed dir, not all fifty. Its findings
    // (and the history index's) are asserted at the end, so one run also shows everything the cycles prove.
    if ((cycle + 1) % verifyEveryCycles === 0) {
      for (const problem of await verificationProblems(dataDir))
        verifyFindings.push(`after cycle ${cycle}: ${problem}`);
    }
  }

  // Every command ever sent, durable or not, is now submitted again with its id: what was on disk replays,
  // the rest applies once, in cycle order after everything already applied (which is what the model does).
  const engine = await openEngine(dataDir);
  try {
    let appliedLate = 0;
    for (const [cycle, commands] of streams.entries()) {
      const durable = durableByCycle[cycle]!;
      const missing = commands.filter((command) => !durable.has(command.commandId));
      const answers = await submitInOrder(engine, missing);
      for (const [at, answer] of answers.entries()) {
        const command = missing[at]!;
        assert.equal(answer.replayed, false, `${command.commandId} was never on disk yet replays`);
        assert.equal(
          answer.result.ok ? 'ok' : 'refused',
          model.apply(command),
          `${command.commandId} differs`,
        );
      }
      appliedLate += missing.length;
    }
    assertPositions(engine, model, 'after resubmitting everything');

    const everything = streams.flat();
    const totals = new Map<string, number>();
    for (const command of everything) {
      if (!isTotalsSku(command.sku)) continue;
      const key = `${command.location}|${command.sku}`;
      totals.set(key, (totals.get(key) ?? 0) + onHandDeltaOf(command));
    }
    for (const [key, onHand] of totals) {
      const [location, sku] = key.split('|') as [string, string];
      assert.equal(
        engine.position(location, sku).onHand,
        onHand,
        `${key}: on-hand is not the sum of its stream`,
      );
    }

    const appliedBefore = engine.stats().commandsApplied;
    const answers = await submitInOrder(engine, everything);
    assert.ok(
      answers.every((answer) => answer.replayed),
      'every command is now a replay',
    );
    assert.equal(
      engine.stats().commandsApplied,
      appliedBefore,
      'a second full resubmission applied something',
    );

    audit.scan(engine);
    assert.deepEqual(audit.breaks, [], 'the log is broken');
    for (const command of everything) {
      assert.ok((audit.timesLogged.get(command.commandId) ?? 0) <= 1, `${command.commandId} logged twice`);
    }
    t.diagnostic(
      `${cycles} SIGKILL cycles, ${acknowledgedTotal} commands acknowledged, ` +
        `${durableUnacknowledged} durable but unacknowledged at the kill, ${everything.length} sent, ` +
        `${appliedLate} applied only on the final resubmission, ${audit.records} log records`,
    );
  } finally {
    await engine.close();
  }
  for (const problem of await verificationProblems(dataDir)) verifyFindings.push(`at the end: ${problem}`);
  const findings = [
    ...audit.historyMismatches.slice(0, findingsShownMax).map((mismatch) => `history index: ${mismatch}`),
    ...verifyFindings.slice(0, findingsShownMax).map((problem) => `verifyDataDir ${problem}`),
  ];
  assert.deepEqual(
    findings,
    [],
    `${audit.historyMismatches.length} logged commands are not where the history index points, ` +
      `verifyDataDir found ${verifyFindings.length} problems:\n${findings.join('\n')}`,
  );
});
