// Location codes: what a source system calls a store (a POS store number, an ecommerce warehouse code,
// a country in a sales log) and the location id the ledger knows it by. Codes are free text (they may
// hold spaces: `United Kingdom`), trimmed, at most 128 characters, without control characters.

import { isId } from '../../actors/index.ts';
import type { Checked } from './items.ts';
import { hasControlCharacters } from './items.ts';

export const locationCodeLengthMax = 128;
export const locationNameLengthMax = 200;

export interface LocationCodeInput {
  readonly code: string;
  readonly location: string;
  readonly name?: string | undefined;
}

export interface LocationCodeFields {
  readonly code: string;
  readonly location: string;
  readonly name: string;
}

/** A code as stored and looked up: trimmed. Null when it cannot be a code. */
export function normalCode(code: string): string | null {
  const trimmed = code.trim();
  if (trimmed.length === 0 || trimmed.length > locationCodeLengthMax) return null;
  if (hasControlCharacters(trimmed)) return null;
  return trimmed;
}

export function checkLocationCode(input: LocationCodeInput): Checked<LocationCodeFields> {
  const code = normalCode(input.code);
  if (code === null) {
    return {
      ok: false,
      reason: `INVALID_LOCATION_CODE: ${JSON.stringify(input.code.slice(0, 60))} is not 1 to ${locationCodeLengthMax} printable characters`,
    };
  }
  const location: string = input.location;
  if (!isId(location)) {
    return {
      ok: false,
      reason: `INVALID_LOCATION: ${JSON.stringify(String(location).slice(0, 60))} is not an id`,
    };
  }
  const name = (input.name ?? '').trim();
  if (name.length > locationNameLengthMax || hasControlCharacters(name)) {
    return {
      ok: false,
      reason: `INVALID_NAME: at most ${locationNameLengthMax} characters, no control characters`,
    };
  }
  return { ok: true, value: { code, location, name } };
}

/**
 * A place name in the id grammar, for sources whose codes are names (the sales log's `Country`):
 * accents dropped, lower case, every run of other characters one `-`, no `-` at either end.
 * `United Kingdom` -> `united-kingdom`, `EIRE` -> `eire`, `Côte d'Ivoire` -> `cote-d-ivoire`. Null when
 * nothing is left (a name of punctuation only).
 */
export function locationIdOfName(name: string): string | null {
  const id = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 128)
    .replace(/-+$/, '');
  return isId(id) ? id : null;
}

/** The store codes' CSV columns (a header names them, in any order): `code`, `location`, `name` (optional). */
export const LOCATION_COLUMNS = ['code', 'location', 'name'] as const;
export type LocationColumn = (typeof LOCATION_COLUMNS)[number];

export function locationOfRow(row: Readonly<Partial<Record<LocationColumn, string>>>): LocationCodeInput {
  return { code: row.code ?? '', location: (row.location ?? '').trim(), name: row.name ?? '' };
}
