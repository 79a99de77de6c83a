// ERP stock snapshots for reconciliation (DESIGN.md §7): a CSV of `location,sku,onHand` is compared with
// the ledger SKU-location by SKU-location, giving a variance report (ledger onHand, ERP onHand, variance
// = ERP - ledger). SKU-locations the file does not name are not compared: a snapshot may cover part of
// the estate. It changes nothing unless asked to post: then each variance becomes a `count` command
// (onHand set to the ERP figure), its command id derived from the snapshot id and the row's line, so
// posting the same snapshot again applies nothing twice. A header that cannot be read refuses the whole
// file; a bad row (malformed, not an id, not a whole number, a SKU-location named twice) becomes a dead
// letter with its reason and is neither compared nor posted.

import { createHash } from 'node:crypto';
import { commandId, isId, locationId, quantityMax, sku } from '../../actors/index.ts';
import type { Engine } from '../../engine/engine.ts';
import { EngineError } from '../../engine/errors.ts';
import type { CommandMeta } from '../../engine/store/records.ts';
import { readCsvTable } from '../mapping/imports.ts';

export const SNAPSHOT_COLUMNS = ['location', 'sku', 'onHand'] as const;
/** A snapshot id leaves room in a 128-character command id for `snapshot:` and the line number. */
export const snapshotIdLengthMax = 100;
const snapshotIdPattern = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,${snapshotIdLengthMax - 1}}$`);

export interface SnapshotRow {
  readonly line: number;
  readonly location: string;
  readonly sku: string;
  readonly onHand: number;
}

export interface SnapshotRowPayload {
  readonly line: number;
  readonly text: string;
}

export interface ParsedSnapshot {
  /** The snapshot id derived from the text (`snapshot-` and 16 hex digits of its SHA-256). */
  readonly contentId: string;
  readonly rows: readonly SnapshotRow[];
  readonly bad: readonly { readonly payload: SnapshotRowPayload; readonly reason: string }[];
}

export function isSnapshotId(text: string): boolean {
  return snapshotIdPattern.test(text);
}

/** Reads a snapshot; throws ImportRefusedError when the header cannot be read or it has too many rows. */
export function parseSnapshot(text: string): ParsedSnapshot {
  const contentId = `snapshot-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
  const table = readCsvTable(text, SNAPSHOT_COLUMNS);
  const rows: SnapshotRow[] = [];
  const bad: { payload: SnapshotRowPayload; reason: string }[] = [...table.bad];
  const firstLineOf = new Map<string, number>();
  for (const { line, text: rowText, field } of table.rows) {
    const payload = { line, text: rowText };
    const refuse = (reason: string) => bad.push({ payload, reason });
    const location = field('location');
    const item = field('sku');
    const onHandText = field('onHand');
    if (!isId(location)) {
      refuse(`INVALID_LOCATION: ${JSON.stringify(location)} is not a location id`);
      continue;
    }
    if (!isId(item)) {
      refuse(`INVALID_SKU: ${JSON.stringify(item)} is not a SKU`);
      continue;
    }
    if (!/^[0-9]{1,10}$/.test(onHandText) || Number(onHandText) > quantityMax) {
      refuse(
        `INVALID_QUANTITY: onHand ${JSON.stringify(onHandText)} is not a whole number from 0 to ${quantityMax}`,
      );
      continue;
    }
    const key = `${location}|${item}`;
    const first = firstLineOf.get(key);
    if (first !== undefined) {
      refuse(`DUPLICATE: ${location} ${item} is already on line ${first}`);
      continue;
    }
    firstLineOf.set(key, line);
    rows.push({ line, location, sku: item, onHand: Number(onHandText) });
  }
  bad.sort((left, right) => left.payload.line - right.payload.line);
  return { contentId, rows, bad };
}

export interface VarianceLine {
  readonly line: number;
  readonly location: string;
  readonly sku: string;
  readonly ledgerOnHand: number;
  readonly erpOnHand: number;
  /** ERP minus ledger: positive when the ERP has more. */
  readonly variance: number;
  /** When posted: `applied`, `replayed` (posted before under this snapshot id), or a refusal code. */
  readonly posted?: string;
  readonly commandId?: string;
}

export interface ReconcileReport {
  readonly snapshotId: string;
  readonly posted: boolean;
  readonly rows: number;
  readonly matching: number;
  readonly variances: readonly VarianceLine[];
  readonly rejected: readonly {
    readonly line: number;
    readonly reason: string;
    readonly deadLetterId: string;
  }[];
}

export interface ReconcileOptions {
  readonly snapshotId: string;
  readonly post: boolean;
  readonly adapter: string;
  readonly meta: CommandMeta;
  /**
   * Told as the work advances: rows compared, then variances posted (with --post the total grows by the
   * variances once the comparison has found them).
   */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Compares (and, when asked, posts) a parsed snapshot; bad rows go to the dead letters. */
export async function reconcileSnapshot(
  engine: Engine,
  snapshot: ParsedSnapshot,
  options: ReconcileOptions,
): Promise<ReconcileReport> {
  let matching = 0;
  const variances: VarianceLine[] = [];
  const rows = snapshot.rows.length;
  const report = options.onProgress ?? (() => {});
  let compared = 0;
  for (const row of snapshot.rows) {
    report(compared++, rows);
    const ledgerOnHand = engine.position(row.location, row.sku).onHand;
    if (ledgerOnHand === row.onHand) {
      matching++;
      continue;
    }
    variances.push({
      line: row.line,
      location: row.location,
      sku: row.sku,
      ledgerOnHand,
      erpOnHand: row.onHand,
      variance: row.onHand - ledgerOnHand,
    });
  }
  report(rows, rows + (options.post ? variances.length : 0));
  const reported = options.post
    ? await postCounts(engine, variances, options, (posted) => report(rows + posted, rows + variances.length))
    : variances;
  const letters = await engine.deadLetters.addMany(
    snapshot.bad.map(({ payload, reason }) => ({
      adapter: options.adapter,
      reason,
      payload: { snapshotId: options.snapshotId, ...payload },
    })),
  );
  return {
    snapshotId: options.snapshotId,
    posted: options.post,
    rows: snapshot.rows.length + snapshot.bad.length,
    matching,
    variances: reported,
    rejected: snapshot.bad.map(({ payload, reason }, at) => ({
      line: payload.line,
      reason,
      deadLetterId: letters[at]!.id,
    })),
  };
}

/** One `count` job per variance, each idempotent by its own command id; one refused does not stop the rest. */
function postCounts(
  engine: Engine,
  variances: readonly VarianceLine[],
  options: ReconcileOptions,
  onPosted: (posted: number) => void,
): Promise<VarianceLine[]> {
  let answered = 0;
  return Promise.all(
    variances.map(async (variance) => {
      const id = `snapshot:${options.snapshotId}:${variance.line}`;
      try {
        const [result] = await engine.submit(
          [
            {
              type: 'count',
              commandId: commandId(id),
              sku: sku(variance.sku),
              location: locationId(variance.location),
              counted: variance.erpOnHand,
            },
          ],
          options.meta,
        );
        const posted = result!.replayed
          ? 'replayed'
          : result!.result.ok
            ? 'applied'
            : result!.result.refusal.code;
        return { ...variance, posted, commandId: id };
      } catch (error) {
        if (!(error instanceof EngineError)) throw error;
        return { ...variance, posted: error.code, commandId: id };
      } finally {
        onPosted(++answered);
      }
    }),
  );
}
