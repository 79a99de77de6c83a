// Proves that an idempotency fingerprint's text says what a body says and nothing about how it was
// written: generated JSON values give the same canonical text whatever order their keys come in, the
// text parses back to the value (undefined fields dropped, as JSON drops them), and bodies that differ
// give different texts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { canonicalJson } from '../../../actors/idempotency.ts';
import { assertProperty } from '../../helpers/fast-check.ts';

/** The same value with every object's keys in reverse order. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .reverse()
      .map((key) => [key, reordered((value as Record<string, unknown>)[key])]),
  );
}

test('the canonical text ignores key order, round-trips through JSON, and tells bodies apart', () => {
  assertProperty(
    fc.property(fc.jsonValue(), fc.jsonValue(), (left, right) => {
      const text = canonicalJson(left);
      assert.equal(canonicalJson(reordered(left)), text);
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(left)));
      // Two bodies get the same text exactly when they say the same thing (deep equality ignores key order).
      const same = isDeepStrictEqual(JSON.parse(JSON.stringify(left)), JSON.parse(JSON.stringify(right)));
      assert.equal(canonicalJson(right) === text, same);
    }),
    2_000,
    import.meta.url,
  );
  assert.equal(
    canonicalJson({ b: 1, a: undefined, c: [2, { z: null, y: 'x' }] }),
    '{"b":1,"c":[2,{"y":"x","z":null}]}',
  );
});
