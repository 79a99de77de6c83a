// A sale arriving over NATS passes exactly the checks `POST /v1/sales` applies to its body: JSON, no
// forbidden key (`__proto__` ...), and the same TypeBox schema, compiled by an Ajv with the options
// the HTTP app gives Fastify's (nothing coerced, nothing removed, no defaults, every error reported,
// formats such as `date-time` checked). What passes here would pass there, and the other way round.

import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Issue } from '../http/errors.ts';
import { issuesOf } from '../http/errors.ts';
import { forbiddenKeyIssue } from '../http/forbidden-keys.ts';
import type { Sale } from '../http/schemas.ts';
import { Sale as SaleSchema } from '../http/schemas.ts';

/** A POS message larger than this is a dead letter without being parsed. */
export const saleMessageBytesMax = 1024 * 1024;

// ajv-formats is CommonJS: its plugin is the module's default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(
  new Ajv({
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    allErrors: true,
    addUsedSchema: false,
  }),
);
const validateSale = ajv.compile(SaleSchema);

export type ParsedSale =
  | { readonly ok: true; readonly sale: Sale }
  | { readonly ok: false; readonly issues: readonly Issue[] };

export function parseSale(data: Uint8Array): ParsedSale {
  if (data.byteLength > saleMessageBytesMax) {
    return { ok: false, issues: [{ path: '', message: `is larger than ${saleMessageBytesMax} bytes` }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (error) {
    return { ok: false, issues: [{ path: '', message: `is not JSON: ${(error as Error).message}` }] };
  }
  const forbidden = forbiddenKeyIssue(value);
  if (forbidden !== null) return { ok: false, issues: [forbidden] };
  if (!validateSale(value)) return { ok: false, issues: issuesOf(validateSale.errors ?? [], 'body') };
  return { ok: true, sale: value as Sale };
}
