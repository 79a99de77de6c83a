// Commands that a coordinator derives from one request get ids derived from the request's own id,
// so a redelivered or recovered step is the same command and idempotency makes it harmless. An id
// that would exceed the grammar's 128 characters is replaced by a digest of the same parts.

import { createHash } from 'node:crypto';
import type { CommandId } from '../actors/index.ts';
import { commandId, isId } from '../actors/index.ts';

export function derivedCommandId(...parts: readonly (string | number)[]): CommandId {
  const joined = parts.join(':');
  if (isId(joined)) return commandId(joined);
  const digest = createHash('sha256').update(joined).digest('base64url').slice(0, 43);
  return commandId(`h.${digest}`);
}

/** Idempotency keys are internal (never matched against the id grammar), namespaced by purpose. */
export function idempotencyKey(purpose: string, ...parts: readonly string[]): string {
  return `${purpose}:${parts.join('\u001f')}`;
}
