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
  // Built by concatenation rather than map/filter/join: this runs for every command's fingerprint.
  if (Array.isArray(value)) {
    let text = '[';
    for (let at = 0; at < value.length; at++) text += (at === 0 ? '' : ',') + canonicalJson(value[at]);
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  let text = '{';
  let first = true;
  for (const key of Object.keys(record).sort()) {
    const field = record[key];
    if (field === undefined) continue;
    text += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(field)}`;
    first = false;
  }
  return `${text}}`;
}
