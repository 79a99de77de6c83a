// Opening a Server-Sent Events response: the route hands the socket over from Fastify and writes the
// stream's headers itself (one place for /v1/events and the dashboard's stream).

import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CORRELATION_HEADER } from './correlation.ts';

export function openEventStream(request: FastifyRequest, reply: FastifyReply): ServerResponse {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    [CORRELATION_HEADER]: request.correlationId,
  });
  return raw;
}
