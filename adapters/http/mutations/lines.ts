// Multi-line requests are applied whole or not at all. Every line's command is checked first, in the
// same synchronous turn that applies them; only when none is refused are they applied. A request may
// name a SKU once, so each line is a different actor and a check is exactly what applying would say.

import { assert } from '../../../actors/index.ts';
import type { BatchContext, CommandOutcome } from '../../../engine/engine.ts';
import type { CommandInput } from '../../../engine/inputs.ts';
import type { CommandMeta } from '../../../engine/store/records.ts';
import { refusalError, validationFailed } from '../errors.ts';

/** 400 when two lines name the same SKU (or SKU-location, with `location`). */
export function requireDistinct(
  lines: readonly { readonly sku: string; readonly location?: string }[],
  what = 'SKU',
): void {
  const seen = new Set<string>();
  for (const [at, line] of lines.entries()) {
    const key = `${line.location ?? ''}|${line.sku}`;
    if (seen.has(key)) {
      throw validationFailed([{ path: `/lines/${at}/sku`, message: `repeats a ${what} of an earlier line` }]);
    }
    seen.add(key);
  }
}

/** Checks every line, then applies every line; the outcomes are in line order and all accepted. */
export function applyAll(
  context: BatchContext,
  inputs: readonly CommandInput[],
  meta: CommandMeta,
  what: string,
): Extract<CommandOutcome, { ok: true }>[] {
  for (const [at, input] of inputs.entries()) {
    const refusal = context.check(input);
    if (refusal !== null) throw refusalError(refusal, `/lines/${at}`, `${what}, line ${at}`);
  }
  return inputs.map((input, at) => {
    const outcome = context.apply(input, meta);
    assert(outcome.ok, `${what}, line ${at}: refused after its check`);
    return outcome;
  });
}
