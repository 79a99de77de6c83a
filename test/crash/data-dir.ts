// Reads what a data directory holds after a crash, through a freshly opened engine (which is the restart):
// the durable first outcomes of a cycle's command ids, and the log, walked record by record with its hash
// chain checked, so that a command recorded twice or a hole in the log cannot hide.

import assert from 'node:assert/strict';
import { loadConfig } from '../../engine/config.ts';
import type { Engine } from '../../engine/engine.ts';
import { createEngine } from '../../engine/engine.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import { silentLogger } from '../../engine/logger.ts';
import { decodeLogRecord, GENESIS_HASH, hashOf } from '../../engine/store/lmdb-store.ts';
import type { IdempotencyRecord } from '../../engine/store/records.ts';
import { verifyDataDir } from '../../engine/verify.ts';
import type { Acknowledgement } from './child-process.ts';
import { CRASH_INLINE_ENTRIES_MAX, CRASH_SHARDS } from './child-process.ts';
import { commandIdPrefixOf } from './workload.ts';

/** verifyDataDir's findings (engine/verify.ts, read-only); an empty list when the data dir verifies. */
export async function verificationProblems(dataDir: string): Promise<readonly string[]> {
  const report = await verifyDataDir({ dataDir });
  assert.equal(report.ok, report.problems.length === 0);
  return report.problems;
}

export async function openEngine(dataDir: string): Promise<Engine> {
  const config = loadConfig({
    STOCKLEDGER_DATA_DIR: dataDir,
    STOCKLEDGER_SHARDS: CRASH_SHARDS,
    STOCKLEDGER_SNAPSHOT_INLINE_ENTRIES_MAX: CRASH_INLINE_ENTRIES_MAX,
  });
  return createEngine({
    config,
    logger: silentLogger(),
    onFatal: (error) => {
      throw error;
    },
  });
}

/** The outcome the engine stored for a command, in the child's terms. */
export function acknowledgementOf(record: IdempotencyRecord): Acknowledgement {
  const result = record.result as
    | { ok: true; position: { version: number } }
    | { ok: false; refusal: { code: string } };
  return result.ok
    ? { ok: true, version: result.position.version }
    : { ok: false, code: result.refusal.code };
}

/** Every command id of one cycle whose first outcome is on disk, with that outcome. */
export function durableOutcomes(engine: Engine, cycle: number): Map<string, IdempotencyRecord> {
  const prefix = `command:${commandIdPrefixOf(cycle)}`;
  // '.' sorts right after '-', so this range holds exactly the keys that start with the prefix.
  const end = `${prefix.slice(0, -1)}.`;
  const found = new Map<string, IdempotencyRecord>();
  for (const { key, value } of engine.store.idempotency.getRange({ start: prefix, end })) {
    assert.ok(key.startsWith(prefix), `range scan returned ${key}`);
    found.set(key.slice('command:'.length), value);
  }
  return found;
}

/** The index of a command in its cycle's stream, from its id. */
export function streamIndexOf(commandId: string): number {
  return Number(commandId.slice(commandId.indexOf('-') + 1));
}

export interface LoggedCommand {
  readonly commandId: string;
  readonly type: string;
}

/**
 * Walks every shard's log forward from where the previous call stopped, checking that sequences are gap-free
 * and that each record names the hash of the one before; what breaks either is collected in `breaks` (the
 * walk goes on, so one hole does not hide the rest). Keeps how often each command id was logged, and checks
 * that the history index points each logged command at the record and entry that hold it.
 */
export class LogAudit {
  readonly #next: number[] = [];
  readonly #lastHash: Uint8Array[] = [];
  readonly timesLogged = new Map<string, number>();
  readonly breaks: string[] = [];
  /** Logged commands whose history-index pointer (actor key + version) does not name where they are. */
  readonly historyMismatches: string[] = [];
  records = 0;

  scan(engine: Engine): LoggedCommand[] {
    const found: LoggedCommand[] = [];
    for (let shard = 0; shard < engine.layout.shardCount; shard++) {
      let sequence = this.#next[shard] ?? 1;
      let previous = this.#lastHash[shard] ?? GENESIS_HASH;
      for (const { key, value } of engine.store.log.getRange({
        start: [shard, sequence],
        end: [shard, Number.MAX_SAFE_INTEGER],
      })) {
        if (key[1] !== sequence)
          this.breaks.push(`shard ${shard}: log record ${key[1]} where ${sequence} was due`);
        const record = decodeLogRecord(value);
        if (!Buffer.from(record.previousHash).equals(Buffer.from(previous))) {
          this.breaks.push(`shard ${shard}: record ${key[1]} does not chain to the record before it`);
        }
        for (const [at, entry] of record.entries.entries()) {
          if (entry.kind !== 'command') continue;
          const id = entry.command.commandId;
          this.timesLogged.set(id, (this.timesLogged.get(id) ?? 0) + 1);
          found.push({ commandId: id, type: entry.command.type });
          const version = entry.events[0]?.version ?? 0;
          const actorKey = `${entry.command.location}|${entry.command.sku}`;
          const pointer = engine.store.history.get([actorKey, version]);
          if (pointer?.shard !== shard || pointer.sequence !== key[1] || pointer.entry !== at) {
            this.historyMismatches.push(
              `${id}: logged at ${shard}/${key[1]}/${at}, history index ${actorKey} v${version} says ` +
                (pointer === undefined ? 'nothing' : `${pointer.shard}/${pointer.sequence}/${pointer.entry}`),
            );
          }
        }
        previous = hashOf(value);
        sequence = key[1] + 1;
        this.records++;
      }
      this.#next[shard] = sequence;
      this.#lastHash[shard] = previous;
    }
    return found;
  }
}

/**
 * Commands on disk although an earlier command to the same SKU-location (in the order they were sent, which
 * is the order its mailbox applied them) is not: their recorded state was built on a command the disk lost.
 */
export function durableAfterLoss(commands: readonly CommandInput[], durable: ReadonlySet<string>): string[] {
  const lost = new Set<string>();
  const found: string[] = [];
  for (const command of commands) {
    const key = `${command.location}|${command.sku}`;
    if (!durable.has(command.commandId)) lost.add(key);
    else if (lost.has(key)) found.push(command.commandId);
  }
  return found;
}

/** Submits commands in order, a slice at a time so no mailbox overflows; per actor the order is kept. */
export async function submitInOrder(engine: Engine, commands: readonly CommandInput[]) {
  const answers = [];
  const sliceCommands = 1_000;
  for (let start = 0; start < commands.length; start += sliceCommands) {
    answers.push(
      ...(await engine.submit(commands.slice(start, start + sliceCommands), {
        correlationId: null,
        source: 'test:crash-check',
      })),
    );
  }
  return answers;
}
