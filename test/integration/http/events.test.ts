// Proves `GET /v1/events` over a real socket: a Server-Sent Events stream of recorded log records whose
// ids are feed positions, replaying the backlog after `?after=` and then following commits live,
// resumable after a disconnect with `Last-Event-ID`; each command entry carries its events and the
// correlation id of the request that caused it; a malformed position is 400.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, receive, startServer, unique } from './harness.ts';

interface Message {
  readonly id: number;
  readonly event: string;
  readonly data: {
    position: number;
    entries: {
      kind: string;
      commandId?: string;
      correlationId?: string;
      sku?: string;
      events?: { type: string }[];
    }[];
  };
}

/** Reads SSE messages from a stream until `count` have arrived, then disconnects. */
async function readMessages(
  url: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<Message[]> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const messages: Message[] = [];
  let buffer = '';
  const deadline = setTimeout(() => controller.abort(), 5_000);
  try {
    while (messages.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const at = line.indexOf(': ');
          fields.set(line.slice(0, at), line.slice(at + 2));
        }
        if (!fields.has('data')) continue;
        messages.push({
          id: Number(fields.get('id')),
          event: fields.get('event') ?? 'message',
          data: JSON.parse(fields.get('data')!),
        });
      }
    }
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
  return messages;
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.close();
});

describe('GET /v1/events', () => {
  test('replays the backlog after a position, then follows commits live; ids are feed positions', async () => {
    const sku = unique('SKU');
    const start = server.engine.feedPosition();
    await receive(server, 'store-e', sku, 1);
    await receive(server, 'store-e', sku, 2);
    const reading = readMessages(`${server.url}/v1/events?after=${start}`, 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server.request('POST', '/v1/sales', {
      body: { transactionId: unique('pos'), location: 'store-e', lines: [{ sku, qty: 1 }] },
      headers: { 'x-correlation-id': 'live-sale-1' },
    });
    const messages = await reading;
    assert.deepEqual(
      messages.map((message) => message.id),
      [start + 1, start + 2, start + 3],
    );
    assert.ok(
      messages.every((message) => message.event === 'record' && message.data.position === message.id),
    );
    const live = messages[2]!.data.entries[0]!;
    assert.equal(live.kind, 'command');
    assert.equal(live.correlationId, 'live-sale-1');
    assert.deepEqual(
      live.events?.map((event) => event.type),
      ['Sold'],
    );
  });

  test('a reconnect with Last-Event-ID resumes after that id, whatever ?after says', async () => {
    const sku = unique('SKU');
    const start = server.engine.feedPosition();
    for (let at = 0; at < 3; at++) await receive(server, 'store-f', sku, 1);
    const resumed = await readMessages(`${server.url}/v1/events?after=0`, 1, {
      'last-event-id': String(start + 2),
    });
    assert.equal(resumed[0]?.id, start + 3);
  });

  test('400 for a position that is not digits', async () => {
    expectStatus(await server.request('GET', '/v1/events?after=last'), 400, 'VALIDATION_FAILED');
    expectStatus(
      await server.request('GET', '/v1/events', { headers: { 'last-event-id': 'x1' } }),
      400,
      'VALIDATION_FAILED',
    );
  });
});
