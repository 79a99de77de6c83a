// The POS subjects (README "POS ingest over NATS"). A store's tills publish each sale, as the JSON body
// of `POST /v1/sales`, on `pos.<store>.sales` while online; a store catching up after being offline
// publishes its backlog on `pos.<store>.backlog`. `<store>` is the location id as a subject token
// (adapters/nats/subject-token.ts). One stream, `POS`, keeps both; each has its own durable pull
// consumer, so a backlog of any size never sits in front of live sales.

import { idOfToken, subjectToken } from '../nats/subject-token.ts';

/** The dead letters' adapter name for POS messages; `POST /v1/dead-letters/{id}/retry` runs them as sales. */
export const POS_ADAPTER = 'pos:nats';
export const POS_STREAM = 'POS';
export const LIVE_FILTER = 'pos.*.sales';
export const BACKLOG_FILTER = 'pos.*.backlog';
export const LIVE_CONSUMER = 'stockledger-pos-live';
export const BACKLOG_CONSUMER = 'stockledger-pos-backlog';

export type Lane = 'live' | 'backlog';

export function posSubject(location: string, lane: Lane): string {
  return `pos.${subjectToken(location)}.${lane === 'live' ? 'sales' : 'backlog'}`;
}

/** The store a POS subject names, or null for a subject that is not the encoding of one. */
export function storeOfSubject(subject: string): string | null {
  const tokens = subject.split('.');
  if (tokens.length !== 3 || tokens[0] !== 'pos') return null;
  return idOfToken(tokens[1]!);
}
