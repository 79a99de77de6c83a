// Proves the subject-token escaping on every character the id grammar allows: the token of an id has no
// `.`, `:` or `/` (so it is one NATS token), decoding gives the id back, distinct ids give distinct
// tokens, and text that no id encodes to (a raw `.`, a wildcard, a bad escape) decodes to null.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availabilitySubject } from '../../../adapters/feeds/nats-feed.ts';
import { idOfToken, subjectToken } from '../../../adapters/nats/subject-token.ts';
import { posSubject, storeOfSubject } from '../../../adapters/pos/subjects.ts';

test('round trip and one-to-one over ids made of every allowed character', () => {
  const alphabet = 'Az09._:/-';
  const ids = new Set<string>();
  for (const a of alphabet.slice(0, 4)) {
    for (const b of alphabet) for (const c of alphabet) ids.add(`${a}${b}${c}`);
  }
  const tokens = new Set<string>();
  for (const id of ids) {
    const token = subjectToken(id);
    assert.doesNotMatch(token, /[.:/\s*>]/, id);
    assert.equal(idOfToken(token), id);
    tokens.add(token);
  }
  assert.equal(tokens.size, ids.size);
  assert.equal(subjectToken('store.042:a/b'), 'store%2E042%3Aa%2Fb');
});

test('tokens that no id encodes to are refused', () => {
  for (const token of ['a.b', '*', '>', 'a%2e', '%41', 'a%2', '', '-x'])
    assert.equal(idOfToken(token), null, token);
});

test('subjects carry the escaped ids', () => {
  assert.equal(posSubject('store.1', 'live'), 'pos.store%2E1.sales');
  assert.equal(posSubject('store.1', 'backlog'), 'pos.store%2E1.backlog');
  assert.equal(storeOfSubject('pos.store%2E1.sales'), 'store.1');
  assert.equal(storeOfSubject('pos.a.b.sales'), null);
  assert.equal(availabilitySubject('dc:1', 'SKU/9.1'), 'inv.avail.dc%3A1.SKU%2F9%2E1');
});
