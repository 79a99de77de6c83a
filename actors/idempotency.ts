// Rule 5: a command id that was already applied returns its first outcome and changes nothing;
// the same id with a different payload is refused. The store of first outcomes lives in the
// engine (an LMDB table); the rule lives here, so the runtime and the property suite share it.

export interface IdempotencyRecord<Outcome> {
  /** A digest of the command's payload, without the engine's stamps. */
  readonly fingerprint: string;
  readonly outcome: Outcome;
}

export type IdempotencyVerdict<Outcome> =
  | { readonly kind: 'apply' }
  | { readonly kind: 'replay'; readonly outcome: Outcome }
  | { readonly kind: 'conflict' };

export function idempotencyVerdict<Outcome>(
  existing: IdempotencyRecord<Outcome> | undefined,
  fingerprint: string,
): IdempotencyVerdict<Outcome> {
  if (existing === undefined) return { kind: 'apply' };
  return existing.fingerprint === fingerprint
    ? { kind: 'replay', outcome: existing.outcome }
    : { kind: 'conflict' };
}

/**
 * A canonical text of a payload: object keys sorted, so that two bodies that say the same thing
 * have the same text whatever order a client wrote them in. Depth is bounded by the schemas upstream.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}
