// The domain's public surface, for engine/ and adapters/.
export * from './assert.ts';
export * from './commands.ts';
export * from './decide.ts';
export * from './events.ts';
export * from './evolve.ts';
export * from './idempotency.ts';
export * from './ids.ts';
export * from './keyed.ts';
export * from './ledger.ts';
export * from './limits.ts';
export * from './machine.ts';
export * from './refusals.ts';
export * from './rules.ts';
