// Proves that a failed or stalled commit stops the process (exit 70) without acknowledging anything the
// disk does not hold: a real child process runs the seeded workload with a fault injected into the engine's
// commit of batch N, and a fresh engine on the same LMDB dir must then hold exactly the acknowledged
// commands, none of batch N, an unbroken log that verifyDataDir accepts, and positions equal to an
// independent model of what is durable.
//
// How the faults are injected (engine/config.ts, engine/engine.ts `#commit`), all in the child process:
// - STOCKLEDGER_FAULT_FAIL_COMMIT_AT_BATCH=N: batch N's LMDB write transaction runs every put of the batch
//   and then throws inside the transaction callback; the transaction's promise rejects, the engine calls
//   `onFatal`, and the child exits with code 70. The throw is meant to abort that real write transaction,
//   so nothing of batch N may be on disk afterwards. (lmdb-js's asynchronous `transaction()` does not roll
//   back when its callback throws, lmdb-js issue #115: what was put before the throw is committed. These
//   tests hold the engine to the abort it intends, so they fail while the engine relies on that.)
// - STOCKLEDGER_FAULT_STALL_COMMIT_AT_BATCH=N: batch N is never handed to LMDB (its commit promise never
//   settles), as if the disk hung; the commit watchdog (STOCKLEDGER_COMMIT_WATCHDOG_MS, 250 ms here) fires,
//   the engine calls `onFatal`, and the child exits with code 70.
// Batches are numbered from 1 in the order the engine forms them. With one command in flight (window 1)
// batch k holds exactly the k-th command, so the test knows which command the fault hits; with hundreds
// in flight, later batches are applied and committing while batch N fails, which is the hard case.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { ChildReport, LoadChildOptions } from './child-process.ts';
import { FATAL_EXIT_CODE, LoadChild } from './child-process.ts';
import {
  acknowledgementOf,
  durableAfterLoss,
  durableOutcomes,
  LogAudit,
  openEngine,
  submitInOrder,
  verificationProblems,
} from './data-dir.ts';
import { LedgerModel } from './model.ts';
import { commandIdOf, workloadCommands } from './workload.ts';

const seed = 20_240_611;
const watchdogMs = 250;
/** Each case ends within a second or two when the engine behaves; a child alive after this is killed. */
const childTimeoutMs = 8_000;
/** Only turns a hang of the checks themselves into a failure. */
const testTimeoutMs = 60_000;
const directories: string[] = [];
const children = new Set<LoadChild>();

after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

function temporaryDataDir(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'stockledger-commit-failure-'));
  directories.push(directory);
  return directory;
}

/** Runs the child until it stops by itself; a child still running after the time limit fails the test. */
async function runUntilExit(options: LoadChildOptions): Promise<ChildReport> {
  const child = new LoadChild(options);
  children.add(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), childTimeoutMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
    children.delete(child);
  }
}

interface Verdict {
  readonly durable: ReadonlySet<string>;
  readonly acknowledged: ReadonlySet<string>;
}

const problemsShownMax = 8;

/** Collects what is wrong, so that one failure message shows every broken promise at once. */
class Problems {
  readonly #found = new Map<string, string[]>();

  add(kind: string, detail: string): void {
    let list = this.#found.get(kind);
    if (list === undefined) {
      list = [];
      this.#found.set(kind, list);
    }
    list.push(detail);
  }

  assertNone(context: string): void {
    const lines: string[] = [];
    for (const [kind, details] of this.#found) {
      lines.push(`${kind} (${details.length}): ${details.slice(0, problemsShownMax).join('; ')}`);
    }
    assert.equal(lines.length, 0, `${context}:\n${lines.join('\n')}`);
  }
}

/**
 * Restarts on the data dir and checks it against what the child acknowledged: exactly the acknowledged
 * commands are durable, with the answers the child saw; the log is unbroken and logs each applied command
 * once; positions equal the model folded over the durable commands. Then every command the child sent is
 * submitted again: the durable ones replay, the rest (the failed batch's among them) apply now, once.
 */
async function checkAfterRestart(dataDir: string, report: ChildReport, context: string): Promise<Verdict> {
  const problems = new Problems();
  if (report.exitCode !== FATAL_EXIT_CODE) {
    const calledExit = report.stderr.includes('fatal engine error, exiting');
    problems.add(
      `the child did not exit ${FATAL_EXIT_CODE}`,
      calledExit
        ? `onFatal ran and called process.exit(${FATAL_EXIT_CODE}), yet the process was still alive ${childTimeoutMs} ms after it started and was killed (exit ${report.exitCode}, signal ${report.signal})`
        : `exit ${report.exitCode}, signal ${report.signal}: ${report.stderr.slice(-1_000)}`,
    );
  }
  for (const line of report.unexpected) problems.add('stdout outside the protocol', line);
  for (const problem of await verificationProblems(dataDir)) problems.add('verifyDataDir', problem);
  const engine = await openEngine(dataDir);
  try {
    const durable = durableOutcomes(engine, 0);
    for (const [id, acknowledgement] of report.acknowledged) {
      const record = durable.get(id);
      if (record === undefined) problems.add('acknowledged but not on disk', id);
      else if (!isDeepStrictEqual(acknowledgementOf(record), acknowledgement))
        problems.add('answered differently after restart', id);
    }
    for (const id of durable.keys()) {
      if (!report.acknowledged.has(id)) problems.add('on disk but never acknowledged', id);
    }

    const audit = new LogAudit();
    audit.scan(engine);
    for (const broken of audit.breaks) problems.add('log broken', broken);
    for (const mismatch of audit.historyMismatches) problems.add('history index wrong', mismatch);
    for (const [id, record] of durable) {
      const times = audit.timesLogged.get(id) ?? 0;
      if (times !== (acknowledgementOf(record).ok ? 1 : 0))
        problems.add('logged the wrong number of times', id);
    }
    for (const id of audit.timesLogged.keys()) {
      if (!durable.has(id)) problems.add('logged without a durable outcome', id);
    }

    const commands = workloadCommands(seed, 0, report.sent);
    for (const id of durableAfterLoss(commands, new Set(durable.keys()))) {
      problems.add(
        report.acknowledged.has(id)
          ? 'acknowledged although an earlier command to its SKU-location is lost'
          : 'on disk although an earlier command to its SKU-location is lost',
        id,
      );
    }
    const model = new LedgerModel();
    for (const command of commands) {
      const record = durable.get(command.commandId);
      if (record === undefined) continue;
      if ((acknowledgementOf(record).ok ? 'ok' : 'refused') !== model.apply(command))
        problems.add('outcome differs from the model', command.commandId);
    }
    const checkPositions = (when: string) => {
      for (const [key, expected] of model.positions) {
        const [location, sku] = key.split('|') as [string, string];
        const actual = engine.position(location, sku);
        const buckets = ['onHand', 'reserved', 'quarantine'] as const;
        const wrong = buckets.filter((bucket) => actual[bucket] !== expected[bucket]);
        if (wrong.length > 0) {
          problems.add(
            `position differs from the model ${when}`,
            `${key} ${wrong.map((bucket) => `${bucket} ${actual[bucket]} != ${expected[bucket]}`).join(', ')}`,
          );
        }
      }
    };
    checkPositions('after restart');

    const answers = await submitInOrder(engine, commands);
    for (const [at, answer] of answers.entries()) {
      const command = commands[at]!;
      const wasDurable = durable.has(command.commandId);
      if (answer.replayed !== wasDurable) problems.add('resubmission replayed wrongly', command.commandId);
      if (!wasDurable && (answer.result.ok ? 'ok' : 'refused') !== model.apply(command))
        problems.add('resubmitted outcome differs from the model', command.commandId);
    }
    checkPositions('after resubmitting everything sent');
    problems.assertNone(context);
    return { durable: new Set(durable.keys()), acknowledged: new Set(report.acknowledged.keys()) };
  } finally {
    await engine.close();
  }
}

function firstIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => commandIdOf(0, index));
}

test('a commit that fails inside its LMDB transaction stops the child; the failed command is not on disk', {
  timeout: testTimeoutMs,
}, async () => {
  const failAtBatch = 6;
  const dataDir = temporaryDataDir();
  const report = await runUntilExit({
    dataDir,
    seed,
    cycle: 0,
    window: 1,
    count: 1_000,
    settings: { STOCKLEDGER_FAULT_FAIL_COMMIT_AT_BATCH: String(failAtBatch) },
  });
  assert.match(report.stderr, new RegExp(`injected write failure in batch ${failAtBatch}`));
  const verdict = await checkAfterRestart(dataDir, report, 'failed commit, one command in flight');
  // One command per batch: commands 1..N-1 were answered, the N-th (index N-1) was in the failed batch.
  assert.deepEqual([...verdict.acknowledged], firstIds(failAtBatch - 1));
  assert.deepEqual([...verdict.durable].sort(), firstIds(failAtBatch - 1).sort());
});

test('a failed commit under load acknowledges exactly what is durable', {
  timeout: testTimeoutMs,
}, async (t) => {
  const dataDir = temporaryDataDir();
  const report = await runUntilExit({
    dataDir,
    seed,
    cycle: 0,
    settings: { STOCKLEDGER_FAULT_FAIL_COMMIT_AT_BATCH: '40' },
  });
  assert.match(report.stderr, /injected write failure in batch 40/);
  const verdict = await checkAfterRestart(dataDir, report, 'failed commit under load');
  assert.ok(verdict.acknowledged.size > 0, 'the batches before the failure were answered');
  t.diagnostic(`${verdict.acknowledged.size} acknowledged, ${report.sent} sent before the failed commit`);
});

test('a commit that never reaches the disk trips the watchdog; the stalled command is not on disk', {
  timeout: testTimeoutMs,
}, async () => {
  const stallAtBatch = 6;
  const dataDir = temporaryDataDir();
  const startedMs = Date.now();
  const report = await runUntilExit({
    dataDir,
    seed,
    cycle: 0,
    window: 1,
    count: 1_000,
    settings: {
      STOCKLEDGER_FAULT_STALL_COMMIT_AT_BATCH: String(stallAtBatch),
      STOCKLEDGER_COMMIT_WATCHDOG_MS: String(watchdogMs),
    },
  });
  assertStalledGroupIncludes(report.stderr, stallAtBatch, watchdogMs);
  assert.ok(Date.now() - startedMs < childTimeoutMs, 'the watchdog, not the test, stopped the child');
  const verdict = await checkAfterRestart(dataDir, report, 'stalled commit, one command in flight');
  assert.deepEqual([...verdict.acknowledged], firstIds(stallAtBatch - 1));
  assert.deepEqual([...verdict.durable].sort(), firstIds(stallAtBatch - 1).sort());
});

test('a stalled commit under load acknowledges exactly what is durable', {
  timeout: testTimeoutMs,
}, async (t) => {
  const dataDir = temporaryDataDir();
  const report = await runUntilExit({
    dataDir,
    seed,
    cycle: 0,
    settings: {
      STOCKLEDGER_FAULT_STALL_COMMIT_AT_BATCH: '40',
      STOCKLEDGER_COMMIT_WATCHDOG_MS: String(watchdogMs),
    },
  });
  assertStalledGroupIncludes(report.stderr, 40, watchdogMs);
  const verdict = await checkAfterRestart(dataDir, report, 'stalled commit under load');
  assert.ok(verdict.acknowledged.size > 0, 'the batches before the stall were answered');
  t.diagnostic(`${verdict.acknowledged.size} acknowledged, ${report.sent} sent before the stalled commit`);
});

/** The watchdog names the group of batches its write transaction carried; the stalled one must be among them. */
function assertStalledGroupIncludes(stderr: string, stalledBatch: number, limitMs: number): void {
  const named = new RegExp(
    `commit of batches (\\d+)\\.\\.(\\d+) did not reach the disk in ${limitMs} ms`,
  ).exec(stderr);
  assert.ok(named !== null, `no watchdog message in: ${stderr}`);
  const [first, last] = [Number(named[1]), Number(named[2])];
  assert.ok(
    first <= stalledBatch && stalledBatch <= last,
    `batch ${stalledBatch} is not in ${first}..${last}`,
  );
}
