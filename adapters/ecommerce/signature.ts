// Webhook signatures, both ways (inbound order webhooks, outbound availability pushes): HMAC-SHA256 with
// a shared secret over `<id>.<timestamp>.<raw body>`, sent as `sha256=<base64>`. The id and the
// timestamp are inside what is signed, so neither can be changed to slip a captured request past the
// replay checks. Comparison is constant-time over equal-length digests.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_SCHEME = 'sha256=';

export function signatureOf(
  secret: string,
  id: string,
  timestampSeconds: string,
  body: string | Buffer,
): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `${SIGNATURE_SCHEME}${hmac.digest('base64')}`;
}

/** True when `sent` is the signature of this id, timestamp and body. Never throws on junk input. */
export function signatureMatches(
  secret: string,
  id: string,
  timestampSeconds: string,
  body: string | Buffer,
  sent: string,
): boolean {
  const expected = Buffer.from(signatureOf(secret, id, timestampSeconds, body));
  const given = Buffer.from(sent);
  // timingSafeEqual needs equal lengths; a length mismatch reveals only the length of a public format.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
