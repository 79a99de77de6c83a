// Proves the dead-letter endpoints over a real socket and a real engine: letters written by a backlog
// are listed with filters, a retry with a corrected payload applies the sale and marks the letter
// retried, a retry that fails again answers its error and leaves the letter open with the failure in
// its history, and DELETE discards a letter with a reason while keeping it (never erased).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, position, receive, startServer, unique } from './harness.ts';

interface Letter {
  id: string;
  adapter: string;
  reason: string;
  payload: unknown;
  status: string;
  history: { action: string; note: string }[];
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

async function deadLetter(text: string): Promise<string> {
  const answer = await server.request<{ rejected: { deadLetterId: string }[] }>('POST', '/v1/sales:batch', {
    raw: { text, type: 'application/x-ndjson' },
  });
  expectStatus(answer, 200);
  return answer.body.rejected[0]!.deadLetterId;
}

describe('dead letters', () => {
  test('listed with filters; a retry with a corrected payload applies it and marks the letter retried', async () => {
    const sku = unique('SKU');
    await receive(server, 'store-l', sku, 5);
    const transactionId = unique('pos');
    const id = await deadLetter(
      JSON.stringify({ transactionId, location: 'store-l', lines: [{ sku, qty: 0 }] }),
    );
    const listed = await server.request<{ letters: Letter[]; next: string | null }>(
      'GET',
      '/v1/dead-letters?status=open&reason=VALIDATION_FAILED&limit=500',
    );
    expectStatus(listed, 200);
    const letter = listed.body.letters.find((candidate) => candidate.id === id);
    assert.equal(letter?.adapter, 'http:sales:batch');
    assert.match(letter?.reason ?? '', /^VALIDATION_FAILED: line 1: /);

    const failed = await server.request('POST', `/v1/dead-letters/${id}/retry`);
    expectStatus(failed, 400, 'VALIDATION_FAILED');
    const stillOpen = await server.request<{ letters: Letter[] }>(
      'GET',
      '/v1/dead-letters?status=open&limit=500',
    );
    const open = stillOpen.body.letters.find((candidate) => candidate.id === id);
    assert.deepEqual(
      open?.history.map((step) => step.action),
      ['retry-failed'],
    );

    const retried = await server.request<{ letter: Letter; outcome: { status: number; replayed: boolean } }>(
      'POST',
      `/v1/dead-letters/${id}/retry`,
      {
        body: {
          payload: { transactionId, location: 'store-l', lines: [{ sku, qty: 2 }] },
          note: 'qty keyed as 0',
        },
      },
    );
    expectStatus(retried, 200);
    assert.equal(retried.body.letter.status, 'retried');
    assert.deepEqual(retried.body.outcome.status, 201);
    assert.equal((await position(server, 'store-l', sku)).onHand, 3);
    expectStatus(await server.request('POST', `/v1/dead-letters/${id}/retry`), 409, 'INVALID_STATE');
  });

  test('DELETE discards with a reason and keeps the letter; unknown ids are 404', async () => {
    const id = await deadLetter('not json at all');
    const discarded = await server.request<{ letter: Letter }>('DELETE', `/v1/dead-letters/${id}`, {
      body: { reason: 'test noise from register 9' },
    });
    expectStatus(discarded, 200);
    assert.equal(discarded.body.letter.status, 'discarded');
    assert.deepEqual(
      discarded.body.letter.history.map((step) => [step.action, step.note]),
      [['discard', 'test noise from register 9']],
    );
    const kept = await server.request<{ letters: Letter[] }>(
      'GET',
      '/v1/dead-letters?status=discarded&limit=500',
    );
    assert.ok(kept.body.letters.some((letter) => letter.id === id && letter.payload === 'not json at all'));
    expectStatus(await server.request('POST', `/v1/dead-letters/${id}/retry`), 409, 'INVALID_STATE');
    expectStatus(
      await server.request('DELETE', `/v1/dead-letters/${id}`, { body: {} }),
      400,
      'VALIDATION_FAILED',
    );
    expectStatus(
      await server.request('DELETE', '/v1/dead-letters/dl-none', { body: { reason: 'x' } }),
      404,
      'NOT_FOUND',
    );
    expectStatus(await server.request('POST', '/v1/dead-letters/dl-none/retry'), 404, 'NOT_FOUND');
  });
});
