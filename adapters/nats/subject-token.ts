// Ids become NATS subject tokens. The id grammar (API.md) allows `.`, `:` and `/`; a `.` would split a
// token in two, and `:` and `/` are kept out too so that subjects stay portable to bridges that treat
// them specially (MQTT, some tooling). Each of the three is percent-encoded (`.` → `%2E`, `:` → `%3A`,
// `/` → `%2F`). An id can never contain `%`, so the encoding is reversible and one-to-one:
// `store.042` ↔ `store%2E042`. Everything else in an id (letters, digits, `_`, `-`) is a safe token.

import { isId } from '../../actors/index.ts';

const encodings: Readonly<Record<string, string>> = { '.': '%2E', ':': '%3A', '/': '%2F' };
const decodings: Readonly<Record<string, string>> = { '%2E': '.', '%3A': ':', '%2F': '/' };

/** The subject token of an id. */
export function subjectToken(id: string): string {
  return id.replace(/[.:/]/g, (character) => encodings[character]!);
}

/** The id a subject token stands for, or null when the token is not the encoding of a valid id. */
export function idOfToken(token: string): string | null {
  const id = token.replace(/%2E|%3A|%2F/g, (encoded) => decodings[encoded]!);
  if (!isId(id) || subjectToken(id) !== token) return null;
  return id;
}
