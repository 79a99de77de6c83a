// API keys (API.md "Security"). Keys come from a JSON file named by STOCKLEDGER_API_KEYS, checked
// whole when the server starts: a problem stops the start with a message naming the key and the field.
// Each key has scopes and, optionally, the locations it may touch; a request's key is resolved in an
// onRequest hook before any handler runs, and the handlers check every location a request names.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyRequest } from 'fastify';
import { isId } from '../../actors/index.ts';
import { ConfigError } from '../../engine/config.ts';
import { forbidden, HttpError } from './errors.ts';

export const SCOPES = [
  'stock:read',
  'reservations:write',
  'sales:write',
  'returns:write',
  'supply:write',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

/** Shorter keys are refused at start: a key is a secret, not a name. */
export const keyLengthMin = 24;
const keyLengthMax = 512;
const keysPerFileMax = 10_000;

/** Who is calling, and what they may do. */
export interface Access {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** Null: every location. */
  readonly locations: ReadonlySet<string> | null;
  /** Requests per minute for this key, overriding the configured default; null = the default. */
  readonly requestsPerMinute: number | null;
}

/** Without configured keys (loopback only), every caller may do everything. */
export const LOCAL_ACCESS: Access = {
  name: 'local',
  scopes: new Set(SCOPES),
  locations: null,
  requestsPerMinute: null,
};

/** Routes that need no key (health, readiness, metrics, docs). */
export const PUBLIC_ACCESS: Access = {
  name: 'public',
  scopes: new Set(),
  locations: new Set(),
  requestsPerMinute: null,
};

export interface ApiKeys {
  /** The key whose SHA-256 digest this is; a lookup by digest compares no secret byte by byte. */
  readonly byDigest: ReadonlyMap<string, Access>;
}

function digestOf(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

function problem(file: string, where: string, message: string): ConfigError {
  return new ConfigError('STOCKLEDGER_API_KEYS', `${file}: ${where} ${message}`);
}

/** Parses and checks a key file's text. Throws ConfigError naming the file, the key and the field. */
export function parseApiKeys(text: string, file: string): ApiKeys {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw problem(file, 'the file', `is not JSON (${(error as Error).message})`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw problem(file, 'the file', 'must be an object {"keys": [...]}');
  }
  const unknownTop = Object.keys(document).filter((name) => name !== 'keys');
  if (unknownTop.length > 0) throw problem(file, `"${unknownTop[0]}"`, 'is not a known field');
  const keys = (document as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw problem(file, '"keys"', 'must be a non-empty array');
  }
  if (keys.length > keysPerFileMax) throw problem(file, '"keys"', `may hold at most ${keysPerFileMax} keys`);
  const byDigest = new Map<string, Access>();
  const names = new Set<string>();
  for (const [at, entry] of keys.entries()) {
    const where = `keys[${at}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw problem(file, where, 'must be an object');
    }
    const record = entry as Record<string, unknown>;
    for (const field of Object.keys(record)) {
      if (!['key', 'name', 'scopes', 'locations', 'requestsPerMinute'].includes(field)) {
        throw problem(file, `${where}.${field}`, 'is not a known field');
      }
    }
    const { key, name, scopes, locations, requestsPerMinute } = record;
    if (!isId(name)) throw problem(file, `${where}.name`, 'must be an id (letters, digits, . _ : / -)');
    if (names.has(name)) throw problem(file, `${where}.name`, `repeats the name "${name}"`);
    names.add(name);
    const named = `${where} ("${name}")`;
    if (
      typeof key !== 'string' ||
      key.length < keyLengthMin ||
      key.length > keyLengthMax ||
      !/^[\x21-\x7e]+$/.test(key)
    ) {
      throw problem(
        file,
        `${named}.key`,
        `must be ${keyLengthMin} to ${keyLengthMax} printable characters without spaces`,
      );
    }
    if (!Array.isArray(scopes) || scopes.length === 0) {
      throw problem(file, `${named}.scopes`, `must be a non-empty array of ${SCOPES.join(', ')}`);
    }
    for (const [index, scope] of scopes.entries()) {
      if (!(SCOPES as readonly unknown[]).includes(scope)) {
        throw problem(
          file,
          `${named}.scopes[${index}]`,
          `${JSON.stringify(scope)} is not a scope (${SCOPES.join(', ')})`,
        );
      }
    }
    if (locations !== undefined) {
      if (!Array.isArray(locations) || locations.length === 0) {
        throw problem(file, `${named}.locations`, 'must be a non-empty array of locations when present');
      }
      for (const [index, location] of locations.entries()) {
        if (!isId(location)) throw problem(file, `${named}.locations[${index}]`, 'must be a location id');
      }
    }
    if (
      requestsPerMinute !== undefined &&
      (!Number.isSafeInteger(requestsPerMinute) || (requestsPerMinute as number) < 1)
    ) {
      throw problem(file, `${named}.requestsPerMinute`, 'must be a whole number from 1');
    }
    const digest = digestOf(key).toString('hex');
    if (byDigest.has(digest)) throw problem(file, `${named}.key`, 'is the same as another key');
    byDigest.set(digest, {
      name,
      scopes: new Set(scopes as Scope[]),
      locations: locations === undefined ? null : new Set(locations as string[]),
      requestsPerMinute: (requestsPerMinute as number | undefined) ?? null,
    });
  }
  return { byDigest };
}

/** Reads and checks the key file named by STOCKLEDGER_API_KEYS. */
export function loadApiKeys(file: string): ApiKeys {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw problem(file, 'the file', `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseApiKeys(text, file);
}

/** The caller's access from the `Authorization: Bearer <key>` header; 401 without a known key. */
export function authenticate(keys: ApiKeys, request: FastifyRequest): Access {
  const header = request.headers.authorization;
  if (header === undefined) {
    throw new HttpError('UNAUTHORIZED', 'this route needs an API key: Authorization: Bearer <key>');
  }
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
  const presented = match?.[1];
  if (presented === undefined) {
    throw new HttpError('UNAUTHORIZED', 'the Authorization header must be "Bearer <key>"');
  }
  // Looked up by digest: the timing of the lookup depends on the digest, which reveals nothing of a key.
  const access = keys.byDigest.get(digestOf(presented).toString('hex'));
  if (access === undefined) throw new HttpError('UNAUTHORIZED', 'the API key is not known');
  return access;
}

export function hasScope(access: Access, scope: Scope): boolean {
  return access.scopes.has('admin') || access.scopes.has(scope);
}

/** 403 unless the caller holds one of `scopes` (admin holds them all). */
export function requireScope(access: Access, scopes: readonly Scope[]): void {
  if (scopes.some((scope) => hasScope(access, scope))) return;
  throw forbidden(`the key "${access.name}" lacks the scope this needs (${scopes.join(' or ')})`, {
    needs: scopes,
  });
}

export function allowsLocation(access: Access, location: string): boolean {
  return access.locations === null || access.locations.has(location);
}

/** 403 unless the caller may touch every one of `locations` (API.md: no key reaches another's stock). */
export function requireLocations(access: Access, locations: Iterable<string>): void {
  if (access.locations === null) return;
  const refused = new Set<string>();
  for (const location of locations) if (!access.locations.has(location)) refused.add(location);
  if (refused.size === 0) return;
  throw forbidden(`the key "${access.name}" may not touch ${[...refused].join(', ')}`, {
    locations: [...refused],
  });
}

/** Whether `host` is a loopback address, the only place a server without keys may listen. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}
