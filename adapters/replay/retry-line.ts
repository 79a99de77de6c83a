// A replay's dead letter run again (`stockledger dead-letters retry`, `POST /v1/dead-letters/{id}/retry`):
// the line as its letter keeps it (or corrected: `{"line": 12, "record": {...the eight columns...}}`) is
// mapped and applied exactly as the replay would have, under the same ids, so retrying a line that was
// applied meanwhile is a duplicate, not a second sale.

import type { Engine } from '../../engine/engine.ts';
import type { CommandMeta } from '../../engine/store/records.ts';
import { parseCsvLines } from '../mapping/csv.ts';
import { masterDataOf } from '../mapping/master-data.ts';
import { Resolver } from '../mapping/resolver.ts';
import type { RetailRecord, ReturnPolicy } from './online-retail.ts';
import { actionOf, RETAIL_COLUMNS } from './online-retail.ts';
import type { LineOutcome } from './replay.ts';
import { applyAction } from './replay.ts';

const POLICIES: readonly ReturnPolicy[] = ['none', 'restock', 'scrap', 'vendor'];

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The record a payload names, or the reason it names none. */
function recordOf(
  payload: Readonly<Record<string, unknown>>,
): { ok: true; record: RetailRecord } | { ok: false; reason: string } {
  if (isObject(payload.record)) {
    const given = payload.record;
    const unknown = Object.keys(given).find((name) => !(RETAIL_COLUMNS as readonly string[]).includes(name));
    if (unknown !== undefined)
      return { ok: false, reason: `MALFORMED: ${JSON.stringify(unknown)} is not a column` };
    const missing = RETAIL_COLUMNS.find((name) => typeof given[name] !== 'string');
    if (missing !== undefined) return { ok: false, reason: `MALFORMED: record.${missing} must be text` };
    return { ok: true, record: given as RetailRecord };
  }
  if (!Array.isArray(payload.header) || typeof payload.text !== 'string') {
    return { ok: false, reason: 'MALFORMED: the payload has neither `record` nor `header` and `text`' };
  }
  const header = payload.header.map(String);
  const [parsed] = parseCsvLines([{ line: 0, text: payload.text }]);
  if (parsed === undefined || parsed.kind === 'blank')
    return { ok: false, reason: 'MALFORMED: a blank line' };
  if (parsed.kind === 'malformed') return { ok: false, reason: parsed.reason };
  if (parsed.fields.length !== header.length) {
    return {
      ok: false,
      reason: `MALFORMED: ${parsed.fields.length} fields, the header has ${header.length}`,
    };
  }
  const record: Record<string, string> = {};
  for (const name of RETAIL_COLUMNS) {
    const at = header.indexOf(name);
    if (at === -1) return { ok: false, reason: `MALFORMED: the header has no ${name}` };
    record[name] = parsed.fields[at]!;
  }
  return { ok: true, record: record as RetailRecord };
}

export async function retryReplayLine(
  engine: Engine,
  payload: unknown,
  meta: CommandMeta,
): Promise<LineOutcome> {
  if (!isObject(payload)) return { ok: false, reason: 'MALFORMED: the payload must be an object' };
  const line = payload.line;
  if (!(Number.isSafeInteger(line) && (line as number) >= 1)) {
    return {
      ok: false,
      reason: 'MALFORMED: `line` (the line number the ids come from) must be a whole number from 1',
    };
  }
  const policy = payload.policy ?? 'none';
  if (!(POLICIES as readonly unknown[]).includes(policy)) {
    return { ok: false, reason: `MALFORMED: \`policy\` must be one of ${POLICIES.join(', ')}` };
  }
  const found = recordOf(payload);
  if (!found.ok) return found;
  const resolver = new Resolver(masterDataOf(engine), { codesAreSkus: true, codesAreNames: true });
  return applyAction(engine, actionOf(found.record, line as number, resolver, policy as ReturnPolicy), meta);
}
