// Prototype pollution guard: no request body may carry a `__proto__`, `constructor` or `prototype` key
// anywhere, not even where a schema allows free-form keys (a policy's channels, a dead letter's
// corrected payload). Fastify's JSON parser already refuses `__proto__` and `constructor.prototype`;
// this walk refuses the rest. It is iterative and bounded: input depth never drives recursion.

import type { Issue } from './errors.ts';

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
/** Objects and arrays visited at most; a body with more is refused as too complex. */
const nodesVisitedMax = 200_000;

/** The first forbidden key's path (a JSON pointer), or null. */
export function forbiddenKeyIssue(value: unknown): Issue | null {
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  let visited = 0;
  while (stack.length > 0) {
    const { value: node, path } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    visited += 1;
    if (visited > nodesVisitedMax) return { path, message: 'the body nests too many objects' };
    if (Array.isArray(node)) {
      for (const [at, item] of node.entries()) stack.push({ value: item, path: `${path}/${at}` });
      continue;
    }
    for (const key of Object.keys(node)) {
      if (FORBIDDEN.has(key)) return { path: `${path}/${key}`, message: 'is a forbidden key' };
      stack.push({ value: (node as Record<string, unknown>)[key], path: `${path}/${key}` });
    }
  }
  return null;
}
