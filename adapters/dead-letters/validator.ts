// Schema validation off the HTTP path (the CLI retrying a dead letter), set up as the HTTP app sets up
// Fastify's Ajv (adapters/http/app.ts): no coercion ("5" is not a quantity), nothing removed, no
// defaults, every error reported, discriminated unions, and the formats Fastify adds (`date-time` ...).
// So a payload the API would refuse is refused here too, with the same issues.

import type { TSchema } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { CompileSchema, Validate } from '../http/payload.ts';

// ajv-formats is CommonJS; under ESM its plugin is the module's default export.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

export function standaloneCompiler(): CompileSchema {
  const ajv = new Ajv({
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    allErrors: true,
    discriminator: true,
    addUsedSchema: false,
  });
  addFormats(ajv);
  const compiled = new WeakMap<TSchema, Validate>();
  return (schema) => {
    let validate = compiled.get(schema);
    if (validate === undefined) {
      validate = ajv.compile(schema) as Validate;
      compiled.set(schema, validate);
    }
    return validate;
  };
}
