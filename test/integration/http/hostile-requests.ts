// Hostile requests for the hostile-input suite, built so that each one is invalid by construction: a
// template of a valid request for a route (every field present, optional ones included, each leaf
// tagged with what it is: an id, a quantity, an enum ...) receives one to three mutations, each of which
// alone makes the request one the API must refuse -- a wrong type, a value outside the field's range,
// an unknown or prototype key, a missing required field, deep nesting, malformed or oversized text, a
// content type the route does not take, a bad path parameter, query string, key or correlation id, an
// unknown route. Which values are invalid is decided here from API.md's grammar (ids, positive
// quantities ...), independently of the server's schemas, so a schema that accepts too much is caught.
// A mutation that does not apply to a route does nothing; a request none of whose mutations applied
// gets a fallback one, so every request sent is hostile.

import fc from 'fast-check';

/** API.md's id grammar, written out again here rather than imported from the code under test. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const quantityMax = 1_000_000_000;
const ttlSecondsMax = 30 * 24 * 3600;

// ---- request bodies as trees ------------------------------------------------------------------------

type FieldKind =
  | 'id'
  | 'quantity'
  | 'received'
  | 'count'
  | 'sequence'
  | 'ttl'
  | 'delta'
  | 'share'
  | 'instant'
  | 'text'
  | 'note'
  | 'enum';

interface Entry {
  key: string;
  value: BodyNode;
  readonly optional: boolean;
}
interface ObjectNode {
  readonly t: 'object';
  readonly entries: Entry[];
  /** A record whose keys are ids (a policy's channels): an extra key must then not be an id. */
  readonly record: boolean;
}
interface ArrayNode {
  readonly t: 'array';
  readonly items: BodyNode[];
}
interface LeafNode {
  readonly t: 'leaf';
  readonly kind: FieldKind;
  readonly value: string | number;
  readonly members?: readonly string[];
}
/** JSON text put in by a mutation, sent exactly as written (`1e400`, `-0`, deep nesting ...). */
interface RawNode {
  readonly t: 'raw';
  readonly text: string;
}
type BodyNode = ObjectNode | ArrayNode | LeafNode | RawNode;

/** Stands for a fresh id, made when the request is built, so a request that slipped through would apply. */
const FRESH = '\u0000fresh';

const id = (value: string): LeafNode => ({ t: 'leaf', kind: 'id', value });
const fresh = (): LeafNode => id(FRESH);
const figure = (kind: FieldKind, value: number): LeafNode => ({ t: 'leaf', kind, value });
const oneOf = (value: string, members: readonly string[]): LeafNode => ({
  t: 'leaf',
  kind: 'enum',
  value,
  members,
});
const instant = (value: string): LeafNode => ({ t: 'leaf', kind: 'instant', value });
const text = (value: string): LeafNode => ({ t: 'leaf', kind: 'text', value });

function object(
  fields: Record<string, BodyNode>,
  optional: readonly string[] = [],
  record = false,
): ObjectNode {
  return {
    t: 'object',
    record,
    // In a record every entry may go (a policy without channels is valid).
    entries: Object.entries(fields).map(([key, value]) => ({
      key,
      value,
      optional: record || optional.includes(key),
    })),
  };
}
const array = (...items: BodyNode[]): ArrayNode => ({ t: 'array', items });

export interface Fixtures {
  /** A held reservation at store-h1 / SKU-H1 (commit, fulfil, release act on it). */
  readonly reservationId: string;
  /** A return with units in quarantine at store-h1 / SKU-H1. */
  readonly returnId: string;
  /** A shipped transfer store-h1 -> store-h2 of SKU-H2, not yet received. */
  readonly transferId: string;
  /** An open dead letter. */
  readonly deadLetterId: string;
}

export const LOCATIONS = ['store-h1', 'store-h2'] as const;
export const SKUS = ['SKU-H1', 'SKU-H2'] as const;
const ADJUSTMENT_REASONS = ['damaged', 'shrink', 'found', 'correction', 'other'];
const DISPOSITIONS = ['restock', 'scrap', 'vendor'];
const COMMAND_TYPES = [
  'receive',
  'sale',
  'reserve',
  'release',
  'commit',
  'fulfil',
  'return',
  'dispose',
  'transfer',
  'transferReceipt',
  'adjust',
  'count',
  'setPolicy',
];

const skuQty = (sku = 'SKU-H1', qty = 1) => object({ sku: id(sku), qty: figure('quantity', qty) });

function saleBody(): ObjectNode {
  return object(
    {
      transactionId: fresh(),
      location: id('store-h1'),
      register: id('07'),
      sequence: figure('sequence', 123),
      occurredAt: instant('2026-11-22T14:03:00Z'),
      lines: array(skuQty('SKU-H1', 1), skuQty('SKU-H2', 2)),
    },
    ['register', 'sequence', 'occurredAt'],
  );
}

function reservationBody(): ObjectNode {
  return object(
    {
      reservationId: fresh(),
      channel: id('web'),
      ttlSeconds: figure('ttl', 60),
      mode: oneOf('all-or-nothing', ['all-or-nothing', 'partial']),
      lines: array(object({ sku: id('SKU-H1'), location: id('store-h1'), qty: figure('quantity', 1) })),
    },
    ['ttlSeconds', 'mode'],
  );
}

function policyFields(): Record<string, BodyNode> {
  return {
    safetyStock: figure('count', 3),
    lowStockThreshold: figure('count', 5),
    channels: object({ web: object({ share: figure('share', 0.5) }) }, [], true),
  };
}

/** A command of `POST /v1/commands`: `type` first, then the body of its endpoint. */
function command(type: string, body: ObjectNode): ObjectNode {
  return {
    t: 'object',
    record: false,
    entries: [{ key: 'type', value: oneOf(type, COMMAND_TYPES), optional: false }, ...body.entries],
  };
}

export type QueryKind =
  | 'limit1000'
  | 'limit500'
  | 'before'
  | 'position'
  | 'instant'
  | 'locations'
  | 'id'
  | 'status'
  | 'long128'
  | 'long200';

export interface RouteTemplate {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** With `{name}` for each parameter. */
  readonly path: string;
  readonly params: readonly {
    readonly name: string;
    readonly kind: 'id' | 'letter';
    readonly value: string;
  }[];
  readonly query: readonly { readonly name: string; readonly kind: QueryKind; readonly value: string }[];
  readonly body: 'none' | 'json' | 'ndjson';
  readonly template?: () => ObjectNode;
}

export function routeTemplates(fixtures: Fixtures): RouteTemplate[] {
  const post = (name: string, path: string, template: () => ObjectNode): RouteTemplate => ({
    name,
    method: 'POST',
    path,
    params: [],
    query: [],
    body: 'json',
    template,
  });
  const reservation = [{ name: 'id', kind: 'id' as const, value: fixtures.reservationId }];
  const stockParams = [
    { name: 'location', kind: 'id' as const, value: 'store-h1' },
    { name: 'sku', kind: 'id' as const, value: 'SKU-H1' },
  ];
  const get = (
    name: string,
    path: string,
    params: RouteTemplate['params'],
    query: RouteTemplate['query'] = [],
  ): RouteTemplate => ({ name, method: 'GET', path, params, query, body: 'none' });
  return [
    post('POST /v1/reservations', '/v1/reservations', reservationBody),
    {
      name: 'POST /v1/reservations/{id}/commit',
      method: 'POST',
      path: '/v1/reservations/{id}/commit',
      params: reservation,
      query: [],
      body: 'none',
    },
    {
      ...post('POST /v1/reservations/{id}/fulfil', '/v1/reservations/{id}/fulfil', () =>
        object(
          {
            fulfilmentId: fresh(),
            lines: array(object({ sku: id('SKU-H1'), location: id('store-h1'), qty: figure('quantity', 1) })),
          },
          ['lines'],
        ),
      ),
      params: reservation,
    },
    {
      ...post('POST /v1/reservations/{id}/release', '/v1/reservations/{id}/release', () =>
        object(
          {
            releaseId: fresh(),
            lines: array(object({ sku: id('SKU-H1'), location: id('store-h1'), qty: figure('quantity', 1) })),
          },
          ['lines'],
        ),
      ),
      params: reservation,
    },
    post('POST /v1/sales', '/v1/sales', saleBody),
    {
      name: 'POST /v1/sales:batch',
      method: 'POST',
      path: '/v1/sales:batch',
      params: [],
      query: [],
      body: 'ndjson',
      template: saleBody,
    },
    post('POST /v1/returns', '/v1/returns', () =>
      object(
        {
          returnId: fresh(),
          location: id('store-h1'),
          originalOrderId: id('order-9'),
          lines: array(object({ sku: id('SKU-H1'), qty: figure('quantity', 1), reason: text('wrong size') })),
        },
        ['originalOrderId'],
      ),
    ),
    {
      ...post('POST /v1/returns/{returnId}/dispositions', '/v1/returns/{returnId}/dispositions', () =>
        object({
          dispositionId: fresh(),
          lines: array(
            object({
              sku: id('SKU-H1'),
              qty: figure('quantity', 1),
              disposition: oneOf('restock', DISPOSITIONS),
            }),
          ),
        }),
      ),
      params: [{ name: 'returnId', kind: 'id', value: fixtures.returnId }],
    },
    post('POST /v1/receipts', '/v1/receipts', () =>
      object({ receiptId: fresh(), location: id('store-h1'), lines: array(skuQty('SKU-H1', 5)) }),
    ),
    post('POST /v1/transfers', '/v1/transfers', () =>
      object({
        transferId: fresh(),
        from: id('store-h1'),
        to: id('store-h2'),
        lines: array(skuQty('SKU-H1', 1)),
      }),
    ),
    {
      ...post('POST /v1/transfers/{id}/receipt', '/v1/transfers/{id}/receipt', () =>
        object({ lines: array(object({ sku: id('SKU-H2'), qty: figure('received', 3) })) }),
      ),
      params: [{ name: 'id', kind: 'id', value: fixtures.transferId }],
    },
    post('POST /v1/adjustments', '/v1/adjustments', () =>
      object({
        adjustmentId: fresh(),
        location: id('store-h1'),
        lines: array(
          object({
            sku: id('SKU-H1'),
            delta: figure('delta', 2),
            reason: oneOf('found', ADJUSTMENT_REASONS),
          }),
        ),
      }),
    ),
    post('POST /v1/counts', '/v1/counts', () =>
      object({
        countId: fresh(),
        location: id('store-h1'),
        lines: array(object({ sku: id('SKU-H1'), counted: figure('count', 50) })),
      }),
    ),
    {
      ...post('PUT /v1/policies/{location}/{sku}', '/v1/policies/{location}/{sku}', () =>
        object(policyFields(), ['channels']),
      ),
      method: 'PUT',
      params: stockParams,
    },
    post('POST /v1/commands (receive)', '/v1/commands', () =>
      object({
        commands: array(
          command(
            'receive',
            object({ receiptId: fresh(), location: id('store-h1'), lines: array(skuQty('SKU-H1', 5)) }),
          ),
        ),
      }),
    ),
    post('POST /v1/commands (sale, reserve)', '/v1/commands', () =>
      object({ commands: array(command('sale', saleBody()), command('reserve', reservationBody())) }),
    ),
    post('POST /v1/commands (commit, adjust, setPolicy)', '/v1/commands', () =>
      object({
        commands: array(
          command('commit', object({ reservationId: id(fixtures.reservationId) })),
          command(
            'adjust',
            object({
              adjustmentId: fresh(),
              location: id('store-h1'),
              lines: array(
                object({
                  sku: id('SKU-H2'),
                  delta: figure('delta', -1),
                  reason: oneOf('shrink', ADJUSTMENT_REASONS),
                }),
              ),
            }),
          ),
          command(
            'setPolicy',
            object({ location: id('store-h2'), sku: id('SKU-H1'), ...policyFields() }, ['channels']),
          ),
        ),
      }),
    ),
    {
      ...post('POST /v1/dead-letters/{id}/retry', '/v1/dead-letters/{id}/retry', () =>
        object({ payload: saleBody(), note: { t: 'leaf', kind: 'note', value: 'fixed' } }, [
          'payload',
          'note',
        ]),
      ),
      params: [{ name: 'id', kind: 'letter', value: fixtures.deadLetterId }],
    },
    {
      ...post('DELETE /v1/dead-letters/{id}', '/v1/dead-letters/{id}', () =>
        object({ reason: text('duplicate') }),
      ),
      method: 'DELETE',
      params: [{ name: 'id', kind: 'letter', value: fixtures.deadLetterId }],
    },
    get('GET /v1/stock/{location}/{sku}', '/v1/stock/{location}/{sku}', stockParams, [
      { name: 'asOf', kind: 'instant', value: '2026-01-01T00:00:00Z' },
    ]),
    get('GET /v1/stock/{location}/{sku}/history', '/v1/stock/{location}/{sku}/history', stockParams, [
      { name: 'limit', kind: 'limit1000', value: '10' },
      { name: 'before', kind: 'before', value: '5' },
    ]),
    get(
      'GET /v1/availability/{sku}',
      '/v1/availability/{sku}',
      [{ name: 'sku', kind: 'id', value: 'SKU-H1' }],
      [
        { name: 'locations', kind: 'locations', value: 'store-h1,store-h2' },
        { name: 'channel', kind: 'id', value: 'web' },
      ],
    ),
    get('GET /v1/reservations/{id}', '/v1/reservations/{id}', reservation),
    get('GET /v1/returns/{returnId}', '/v1/returns/{returnId}', [
      { name: 'returnId', kind: 'id', value: fixtures.returnId },
    ]),
    get('GET /v1/transfers/{id}', '/v1/transfers/{id}', [
      { name: 'id', kind: 'id', value: fixtures.transferId },
    ]),
    // A valid request here would open an event stream that never ends; every one sent is hostile.
    get('GET /v1/events', '/v1/events', [], [{ name: 'after', kind: 'position', value: '0' }]),
    get(
      'GET /v1/dead-letters',
      '/v1/dead-letters',
      [],
      [
        { name: 'status', kind: 'status', value: 'open' },
        { name: 'adapter', kind: 'long128', value: 'http:sales:batch' },
        { name: 'reason', kind: 'long200', value: 'VALIDATION' },
        { name: 'after', kind: 'long128', value: '0' },
        { name: 'limit', kind: 'limit500', value: '10' },
      ],
    ),
  ];
}

// ---- hostile values ---------------------------------------------------------------------------------

const HOSTILE_IDS = [
  '',
  ' ',
  'a b',
  ' leading-space',
  '.dot-first',
  '-dash-first',
  '_underscore-first',
  ':colon-first',
  '/slash-first',
  'a#b',
  'a?b',
  'a%b',
  'a&b',
  'a\\b',
  'a"b',
  'a\nb',
  'trailing-newline\n',
  'a\u0000b',
  'é',
  'café',
  'Ｓ',
  '٣',
  '\u200b',
  'a\u200bb',
  '\u202eevil',
  '😀',
  'a😀',
  '\ud800',
  'a'.repeat(129),
  'a'.repeat(1_000),
];

/** Each is invalid for every numeric field of the API (and NaN is not JSON at all). */
const HOSTILE_NUMBERS = [
  '1e308',
  '-1e308',
  '1e400',
  '-1e400',
  '9007199254740993',
  '-9007199254740993',
  '1.5',
  '-0.5',
  '1e20',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '+1',
  '.5',
  '01',
];
const HOSTILE_BY_KIND: Readonly<Record<FieldKind, readonly string[]>> = {
  id: [],
  quantity: ['0', '-0', '-1', '0.0', String(quantityMax + 1)],
  received: ['-1', '-0.0001', String(quantityMax + 1)],
  count: ['-1', '-0.0001', String(quantityMax + 1)],
  sequence: ['-1', '9007199254740992'],
  ttl: ['0', '-0', '-1', String(ttlSecondsMax + 1)],
  delta: ['0', '-0', '0.0', String(quantityMax + 1), String(-quantityMax - 1)],
  share: ['0', '-0', '-1', '1.0000001', '2'],
  instant: [
    '""',
    '"yesterday"',
    '"2026-13-01T00:00:00Z"',
    '"2026-11-22T25:00:00Z"',
    '"2026-11-22"',
    '"14:03:00"',
    '"1e308"',
    '"2026-11-22T14:03:00Z garbage"',
  ],
  text: ['""', JSON.stringify('x'.repeat(201)), JSON.stringify('é'.repeat(201))],
  note: [JSON.stringify('x'.repeat(201)), JSON.stringify('€'.repeat(250))],
  enum: [],
};
const NAN_ISH_STRINGS = ['"5"', '"1"', '"1e3"', '"NaN"', '"Infinity"', '"-0"', '"0x10"', '""', '" 1"'];
const NON_STRING = ['null', 'true', 'false', '0', '1', '-0', '1e308', '[]', '{}', '["web"]', '{"a":"b"}'];
const NON_NUMBER = ['null', 'true', 'false', '[]', '{}', '[1]', '{"value":1}', ...NAN_ISH_STRINGS];
const NON_OBJECT = ['null', 'true', 'false', '0', '-0', '1e308', '"object"', '""', '[]', '[{}]'];
const NON_ARRAY = ['null', 'true', 'false', '0', '1', '"lines"', '""', '{}', '{"0":{}}'];
const ENUM_HOSTILE = [
  '""',
  '"RESTOCK"',
  '" found"',
  '"found "',
  '"unknown"',
  '"all_or_nothing"',
  '"sale\\u0000"',
];
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
const PROTOTYPE_VALUES = ['{}', '{"polluted":true}', '{"prototype":{"polluted":true}}', 'null', '1', '[]'];

const HOSTILE_QUERY: Readonly<Record<QueryKind, readonly string[]>> = {
  limit1000: ['0', '1001', '-1', 'abc', '1.5', '1e3', '', ' 1', '1'.repeat(16), '0x10', 'NaN', '+1'],
  limit500: ['0', '501', '-1', 'abc', '1.5', '1e2', '', ' 1', '1'.repeat(16), 'Infinity'],
  before: ['0', '-1', 'abc', '1.5', '1e3', '', '1'.repeat(16), ' 5'],
  position: ['-1', 'abc', '1.5', '1e3', '', '1'.repeat(16), ' 1', 'last'],
  instant: ['', 'yesterday', '2026-13-01T00:00:00Z', '2026-01-01', 'now', '1e308', '0'],
  locations: [
    '',
    ',',
    'store-h1,',
    ',store-h1',
    'store-h1,,store-h2',
    'store h1',
    '.store',
    'a'.repeat(129),
    Array.from({ length: 1_001 }, (_, at) => `l${at}`).join(','),
  ],
  id: HOSTILE_IDS,
  status: ['', 'OPEN', 'opened', 'closed', 'open '],
  long128: ['x'.repeat(129), 'y'.repeat(1_000)],
  long200: ['x'.repeat(201), 'é'.repeat(300)],
};

const CONTENT_TYPES = [
  null,
  '',
  'text/plain',
  'text/json',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/jsonx',
  'application/json5',
  'application/vnd.api+json',
  'application/merge-patch+json',
  'image/png',
  'json',
  'application',
  '*/*',
];
const JSON_ON_NDJSON = ['application/json', 'application/json; charset=utf-8'];
const NDJSON_ON_JSON = ['application/x-ndjson', 'application/ndjson'];

// ---- mutations --------------------------------------------------------------------------------------

type TextCorruption =
  | 'truncate'
  | 'trailing-garbage'
  | 'single-quotes'
  | 'trailing-comma'
  | 'control-character'
  | 'comment'
  | 'unquoted-key'
  | 'invalid-escape'
  | 'leading-bytes';

export type Mutation =
  | { readonly op: 'wrongType'; readonly at: number; readonly choice: number }
  | { readonly op: 'hostileValue'; readonly at: number; readonly choice: number; readonly id: string }
  | { readonly op: 'removeField'; readonly at: number }
  | { readonly op: 'extraField'; readonly at: number; readonly key: string; readonly value: string }
  | { readonly op: 'prototypeKey'; readonly at: number; readonly key: number; readonly value: number }
  | { readonly op: 'duplicateKey'; readonly at: number; readonly choice: number }
  | {
      readonly op: 'deepNesting';
      readonly at: number;
      readonly depth: number;
      readonly shape: 'array' | 'object';
    }
  | { readonly op: 'emptyArray'; readonly at: number }
  | { readonly op: 'tooManyItems'; readonly at: number }
  | { readonly op: 'corruptText'; readonly how: TextCorruption; readonly position: number }
  | { readonly op: 'contentType'; readonly choice: number }
  | { readonly op: 'oversize'; readonly extraBytes: number }
  | { readonly op: 'param'; readonly at: number; readonly choice: number; readonly id: string }
  | { readonly op: 'query'; readonly at: number; readonly choice: number; readonly id: string }
  | { readonly op: 'unknownQuery'; readonly key: string; readonly value: string }
  | { readonly op: 'duplicateQuery'; readonly at: number }
  | { readonly op: 'method'; readonly choice: number }
  | { readonly op: 'pathSuffix'; readonly suffix: string }
  | { readonly op: 'authorization'; readonly choice: number; readonly garbage: string }
  | { readonly op: 'correlation'; readonly choice: number };

/** What took effect on a request: a mutation, or `backlog` for an NDJSON body of hostile lines. */
export type MutationOp = Mutation['op'] | 'backlog';

/** A string that is not an id, generated: unicode, separators, lengths around the limit. */
const generatedHostileId: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((value) => !ID.test(value)),
  fc.string({ unit: 'binary', maxLength: 8 }).filter((value) => !ID.test(value)),
  fc.integer({ min: 129, max: 400 }).map((length) => 'x'.repeat(length)),
);

const at = fc.nat();
const choice = fc.nat();

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('wrongType' as const), at, choice }) },
  {
    weight: 10,
    arbitrary: fc.record({ op: fc.constant('hostileValue' as const), at, choice, id: generatedHostileId }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('removeField' as const), at }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('extraField' as const),
      at,
      key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('extra', 'bucket', 'version', 'status')),
      value: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value) ?? 'null'),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('prototypeKey' as const),
      at,
      key: fc.nat({ max: PROTOTYPE_KEYS.length - 1 }),
      value: fc.nat({ max: PROTOTYPE_VALUES.length - 1 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('duplicateKey' as const), at, choice }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('deepNesting' as const),
      at,
      depth: fc.oneof(
        { weight: 9, arbitrary: fc.integer({ min: 1, max: 64 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 100_000 }) },
      ),
      shape: fc.constantFrom('array' as const, 'object' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('emptyArray' as const), at }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tooManyItems' as const), at }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('corruptText' as const),
      how: fc.constantFrom<TextCorruption>(
        'truncate',
        'trailing-garbage',
        'single-quotes',
        'trailing-comma',
        'control-character',
        'comment',
        'unquoted-key',
        'invalid-escape',
        'leading-bytes',
      ),
      position: fc.nat(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('contentType' as const), choice }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('oversize' as const),
      extraBytes: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 64 * 1024 })),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('param' as const), at, choice, id: generatedHostileId }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('query' as const), at, choice, id: generatedHostileId }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('unknownQuery' as const),
      key: fc.oneof(
        fc.constantFrom('__proto__', 'constructor', 'prototype', 'limit[]', 'a[b]', 'LIMIT', 'x'),
        fc.string({ minLength: 1, maxLength: 10 }),
      ),
      value: fc.string({ maxLength: 10 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicateQuery' as const), at }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('method' as const), choice }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('pathSuffix' as const),
      suffix: fc.constantFrom('/', '/zz', '/..'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('authorization' as const),
      choice,
      garbage: fc.string({
        unit: fc.integer({ min: 0x21, max: 0x7e }).map(String.fromCharCode),
        maxLength: 40,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('correlation' as const), choice }) },
);

const pick = <T>(values: readonly T[], index: number): T => values[index % values.length]!;

// ---- building a request -----------------------------------------------------------------------------

export interface HostileRequest {
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer | undefined;
  /** The mutations that took effect, by op. */
  readonly applied: readonly MutationOp[];
  /** For an NDJSON backlog answered 200: the lines it carried that are not blank. */
  readonly backlogLines: number | null;
}

interface Located {
  readonly node: BodyNode;
  replace(node: BodyNode): void;
}

/** Every node of a body tree, with a way to replace it; iterative, pre-order. */
function nodesOf(root: { value: BodyNode }): Located[] {
  const found: Located[] = [];
  const stack: Located[] = [{ node: root.value, replace: (node) => (root.value = node) }];
  while (stack.length > 0) {
    const located = stack.pop()!;
    found.push(located);
    const { node } = located;
    if (node.t === 'object') {
      for (const entry of node.entries.toReversed()) {
        stack.push({ node: entry.value, replace: (value) => (entry.value = value) });
      }
    } else if (node.t === 'array') {
      for (let index = node.items.length - 1; index >= 0; index--) {
        stack.push({ node: node.items[index]!, replace: (value) => (node.items[index] = value) });
      }
    }
  }
  return found;
}

const raw = (textOf: string): RawNode => ({ t: 'raw', text: textOf });

function isNumberKind(kind: FieldKind): boolean {
  return !['id', 'instant', 'text', 'note', 'enum'].includes(kind);
}

function wrongTypeFor(node: BodyNode, index: number): string {
  if (node.t === 'object') return pick(NON_OBJECT, index);
  if (node.t === 'array') return pick(NON_ARRAY, index);
  if (node.t === 'leaf') return pick(isNumberKind(node.kind) ? NON_NUMBER : NON_STRING, index);
  return pick(NON_OBJECT, index);
}

function hostileFor(node: LeafNode, index: number, generated: string): string {
  switch (node.kind) {
    case 'id':
      return JSON.stringify(pick([...HOSTILE_IDS, generated], index));
    case 'enum':
      return pick(
        [...ENUM_HOSTILE, JSON.stringify(generated)].filter(
          (value) => !(node.members ?? []).includes(JSON.parse(value) as string),
        ),
        index,
      );
    default:
      return pick(
        [...HOSTILE_BY_KIND[node.kind], ...(isNumberKind(node.kind) ? HOSTILE_NUMBERS : [])],
        index,
      );
  }
}

function deepText(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Applies a body mutation to the tree; false when it does not apply to this body. */
function mutateBody(root: { value: BodyNode }, mutation: Mutation): boolean {
  // What an earlier mutation made hostile stays as it is: only template nodes are targets.
  const nodes = nodesOf(root).filter((located) => located.node.t !== 'raw');
  if (nodes.length === 0) return false;
  const objects = nodes.filter((located) => located.node.t === 'object');
  switch (mutation.op) {
    case 'wrongType': {
      const target = pick(nodes, mutation.at);
      target.replace(raw(wrongTypeFor(target.node, mutation.choice)));
      return true;
    }
    case 'hostileValue': {
      const leaves = nodes.filter((located) => located.node.t === 'leaf');
      if (leaves.length === 0) return false;
      const target = pick(leaves, mutation.at);
      target.replace(raw(hostileFor(target.node as LeafNode, mutation.choice, mutation.id)));
      return true;
    }
    case 'removeField': {
      const required = objects.flatMap((located) =>
        (located.node as ObjectNode).entries
          .filter((entry) => !entry.optional)
          .map((entry) => ({ owner: located.node as ObjectNode, entry })),
      );
      if (required.length === 0) return false;
      const { owner, entry } = pick(required, mutation.at);
      owner.entries.splice(owner.entries.indexOf(entry), 1);
      return true;
    }
    case 'extraField': {
      if (objects.length === 0) return false;
      const owner = pick(objects, mutation.at).node as ObjectNode;
      const known = new Set(owner.entries.map((entry) => entry.key));
      let key = mutation.key;
      // In a record of ids (channels) an id key is a valid entry: make it a key that is not an id.
      if (owner.record && ID.test(key)) key = `~${key}`;
      while (known.has(key)) key = `~${key}`;
      owner.entries.push({ key, value: raw(mutation.value), optional: true });
      return true;
    }
    case 'prototypeKey': {
      if (objects.length === 0) return false;
      const owner = pick(objects, mutation.at).node as ObjectNode;
      owner.entries.push({
        key: pick(PROTOTYPE_KEYS, mutation.key),
        value: raw(pick(PROTOTYPE_VALUES, mutation.value)),
        optional: true,
      });
      return true;
    }
    case 'duplicateKey': {
      const owned = objects.flatMap((located) =>
        (located.node as ObjectNode).entries
          .filter((entry) => entry.value.t !== 'raw')
          .map((entry) => ({ owner: located.node as ObjectNode, entry })),
      );
      if (owned.length === 0) return false;
      const { owner, entry } = pick(owned, mutation.at);
      // JSON.parse keeps the last of two equal keys: the hostile one comes second.
      owner.entries.push({
        key: entry.key,
        value: raw(wrongTypeFor(entry.value, mutation.choice)),
        optional: true,
      });
      return true;
    }
    case 'deepNesting': {
      const target = pick(nodes, mutation.at);
      target.replace(raw(deepText(mutation.depth, mutation.shape)));
      return true;
    }
    case 'emptyArray': {
      const arrays = nodes.filter((located) => located.node.t === 'array');
      if (arrays.length === 0) return false;
      pick(arrays, mutation.at).replace(raw('[]'));
      return true;
    }
    case 'tooManyItems': {
      const arrays = nodes.filter((located) => located.node.t === 'array');
      if (arrays.length === 0) return false;
      const target = pick(arrays, mutation.at);
      const first = (target.node as ArrayNode).items[0];
      if (first === undefined) return false;
      const item = serialise(first, () => 'same-id');
      target.replace(raw(`[${Array.from({ length: 1_001 }, () => item).join(',')}]`));
      return true;
    }
    default:
      return false;
  }
}

function serialise(node: BodyNode, freshId: () => string): string {
  switch (node.t) {
    case 'raw':
      return node.text;
    case 'leaf':
      return node.value === FRESH ? JSON.stringify(freshId()) : JSON.stringify(node.value);
    case 'array':
      return `[${node.items.map((item) => serialise(item, freshId)).join(',')}]`;
    case 'object':
      return `{${node.entries.map((entry) => `${JSON.stringify(entry.key)}:${serialise(entry.value, freshId)}`).join(',')}}`;
  }
}

/** Corrupts JSON text so that it is no longer JSON; null when this corruption cannot apply. */
function corrupt(jsonText: string, how: TextCorruption, position: number): string | Buffer | null {
  switch (how) {
    case 'truncate':
      // At least one character stays: an empty body is "no body", which some routes take.
      return jsonText.length < 2 ? null : jsonText.slice(0, 1 + (position % (jsonText.length - 1)));
    case 'trailing-garbage':
      return jsonText + pick(['x', ',', '}', ']', '{}', ' 1', 'null', '\u0000', '"'], position);
    case 'single-quotes':
      return jsonText.includes('"') ? jsonText.replaceAll('"', "'") : null;
    case 'trailing-comma': {
      const last = jsonText.at(-1);
      return last === '}' || last === ']' ? `${jsonText.slice(0, -1)},${last}` : null;
    }
    case 'control-character': {
      const quote = jsonText.indexOf('"');
      return quote < 0 ? null : `${jsonText.slice(0, quote + 1)}\u0001${jsonText.slice(quote + 1)}`;
    }
    case 'comment':
      return jsonText.startsWith('{') ? `{/* comment */${jsonText.slice(1)}` : null;
    case 'unquoted-key':
      return jsonText.startsWith('{"') ? jsonText.replace(/^\{"([^"]*)"/, '{$1') : null;
    case 'invalid-escape': {
      const quote = jsonText.indexOf('"');
      return quote < 0 ? null : `${jsonText.slice(0, quote + 1)}\\x41${jsonText.slice(quote + 1)}`;
    }
    case 'leading-bytes':
      return Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(jsonText)]);
  }
}

/** Percent-encodes as UTF-8; a lone surrogate (which has no UTF-8) becomes the bytes of one. */
function encodeComponent(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return `${encodeURIComponent(value.replace(/[\ud800-\udfff]/g, ''))}%ED%A0%80`;
  }
}

function hostileSegment(kind: 'id' | 'letter', index: number, generated: string): string {
  // Malformed percent-encodings, then over-long segments, then ids that break the grammar, encoded.
  const malformed = ['%', '%Z1', '%E0%A4%A', '%ff', '%C3', 'a%2', '%%'];
  const long = ['a'.repeat(129), 'b'.repeat(600)];
  if (kind === 'letter') return pick([...malformed, 'c'.repeat(129), 'd'.repeat(600)], index);
  const candidates = [...malformed, ...long, ...[...HOSTILE_IDS, generated].filter((value) => value !== '')];
  const chosen = pick(candidates, index);
  if (malformed.includes(chosen)) return chosen;
  return encodeComponent(chosen);
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
/** Methods registered at each path shape; a changed method must not be one of them. */
function registeredMethods(template: RouteTemplate): readonly string[] {
  if (template.path === '/v1/reservations/{id}' || template.path === '/v1/reservations')
    return ['GET', 'POST'];
  if (template.path === '/v1/dead-letters/{id}') return ['DELETE'];
  return [template.method];
}

export interface Plan {
  readonly route: number;
  readonly mutations: readonly Mutation[];
  /** The backlog's lines, for the NDJSON route: each blank, garbage, or a sale with its own mutations. */
  readonly backlog: readonly BacklogLine[];
}

export type BacklogLine =
  | { readonly line: 'blank'; readonly text: string }
  | { readonly line: 'garbage'; readonly text: string }
  | { readonly line: 'sale'; readonly mutations: readonly Mutation[] }
  | { readonly line: 'crlf-sale'; readonly mutations: readonly Mutation[] };

const bodyMutations = fc.array(mutationArbitrary, { minLength: 1, maxLength: 2 });

export function planArbitrary(routeCount: number): fc.Arbitrary<Plan> {
  return fc.record({
    route: fc.nat({ max: routeCount - 1 }),
    mutations: fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }),
    backlog: fc.array(
      fc.oneof(
        fc.record({ line: fc.constant('blank' as const), text: fc.constantFrom('', ' ', '\t', '  \t ') }),
        fc.record({
          line: fc.constant('garbage' as const),
          text: fc.string({ minLength: 1, maxLength: 40 }).map((value) => value.replaceAll('\n', ' ')),
        }),
        fc.record({ line: fc.constant('sale' as const), mutations: bodyMutations }),
        fc.record({ line: fc.constant('crlf-sale' as const), mutations: bodyMutations }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  });
}

const BODY_OPS: ReadonlySet<MutationOp> = new Set([
  'wrongType',
  'hostileValue',
  'removeField',
  'extraField',
  'prototypeKey',
  'duplicateKey',
  'deepNesting',
  'emptyArray',
  'tooManyItems',
]);

/** A sale line of a backlog, hostile: its body mutations, or a text corruption, or a fallback. */
function backlogSale(mutations: readonly Mutation[], freshId: () => string, applied: MutationOp[]): string {
  const root: { value: BodyNode } = { value: saleBody() };
  let textMutation: Mutation | null = null;
  let any = false;
  for (const mutation of mutations) {
    if (BODY_OPS.has(mutation.op)) {
      if (mutateBody(root, mutation)) {
        applied.push(mutation.op);
        any = true;
      }
    } else if (mutation.op === 'corruptText') textMutation = mutation;
  }
  let lineText = serialise(root.value, freshId);
  if (textMutation !== null && textMutation.op === 'corruptText') {
    const corrupted = corrupt(lineText, textMutation.how, textMutation.position);
    if (corrupted !== null && typeof corrupted === 'string' && corrupted.trim() !== '') {
      lineText = corrupted;
      applied.push('corruptText');
      any = true;
    }
  }
  if (!any) {
    (root.value as ObjectNode).entries.push({ key: 'unknown', value: raw('1'), optional: true });
    lineText = serialise(root.value, freshId);
    applied.push('extraField');
  }
  // A line is one line: a newline inside (only possible in raw text) would split it in two.
  return lineText.replaceAll('\n', '\\n').replaceAll('\r', '\\r');
}

export interface Keys {
  readonly valid: string;
}

/** Builds the request a plan describes; `freshId` makes the ids a valid request would need. */
export function buildRequest(
  templates: readonly RouteTemplate[],
  plan: Plan,
  keys: Keys,
  freshId: () => string,
  bodyBytesMax: number,
  ndjsonBytesMax: number,
): HostileRequest {
  const template = pick(templates, plan.route);
  const applied: MutationOp[] = [];
  let method: string = template.method;
  const params = template.params.map((param) => ({ ...param, segment: encodeURIComponent(param.value) }));
  const query = template.query.map((entry) => ({ key: entry.name, value: entry.value, kind: entry.kind }));
  const extraQuery: { key: string; value: string }[] = [];
  let suffix = '';
  const headers: Record<string, string> = { authorization: `Bearer ${keys.valid}` };
  let contentType: string | null =
    template.body === 'ndjson'
      ? 'application/x-ndjson'
      : template.body === 'json'
        ? 'application/json'
        : null;
  let body: string | Buffer | undefined;
  let backlogLines: number | null = null;

  const root: { value: BodyNode } | null =
    template.template !== undefined && template.body === 'json' ? { value: template.template() } : null;
  let textMutation: Extract<Mutation, { op: 'corruptText' }> | null = null;
  let oversize: Extract<Mutation, { op: 'oversize' }> | null = null;
  let noBody: { value: BodyNode } | null = null;

  for (const mutation of plan.mutations) {
    if (BODY_OPS.has(mutation.op)) {
      if (root !== null) {
        if (mutateBody(root, mutation)) applied.push(mutation.op);
      } else if (template.body === 'none' && template.method === 'POST') {
        // A route that takes no body (commit): any body but `{}` is refused.
        noBody ??= { value: object({}) };
        if (mutation.op === 'wrongType') {
          noBody.value = raw(pick([...NON_OBJECT, '[]', 'null'], mutation.choice));
          applied.push('wrongType');
        } else if (mutation.op === 'extraField' || mutation.op === 'prototypeKey') {
          if (noBody.value.t !== 'object') noBody.value = object({});
          if (mutateBody(noBody, mutation)) applied.push(mutation.op);
        } else if (mutation.op === 'deepNesting') {
          noBody.value = raw(deepText(mutation.depth, mutation.shape));
          applied.push('deepNesting');
        }
      }
      continue;
    }
    switch (mutation.op) {
      case 'corruptText':
        if (template.body === 'json') textMutation = mutation;
        break;
      case 'oversize':
        if (template.body !== 'none' || template.method === 'POST') oversize = mutation;
        break;
      case 'contentType':
        if (template.body === 'json') {
          contentType = pick([...CONTENT_TYPES, ...NDJSON_ON_JSON], mutation.choice);
          applied.push('contentType');
        } else if (template.body === 'ndjson') {
          contentType = pick([...CONTENT_TYPES, ...JSON_ON_NDJSON], mutation.choice);
          applied.push('contentType');
        }
        break;
      case 'param': {
        if (params.length === 0) break;
        const param = pick(params, mutation.at);
        param.segment = hostileSegment(param.kind, mutation.choice, mutation.id);
        applied.push('param');
        break;
      }
      case 'query': {
        if (query.length === 0) break;
        const entry = pick(query, mutation.at);
        const values = HOSTILE_QUERY[entry.kind];
        entry.value = pick(entry.kind === 'id' ? [...values, mutation.id] : values, mutation.choice);
        applied.push('query');
        break;
      }
      case 'unknownQuery': {
        // Only routes that take a query string refuse unknown parameters; the others ignore the query.
        if (method !== 'GET' || template.query.length === 0) break;
        const known = new Set(template.query.map((entry) => entry.name));
        let key = mutation.key;
        while (known.has(key)) key = `~${key}`;
        extraQuery.push({ key, value: mutation.value });
        applied.push('unknownQuery');
        break;
      }
      case 'duplicateQuery': {
        if (query.length === 0) break;
        const entry = pick(query, mutation.at);
        extraQuery.push({ key: entry.key, value: entry.value });
        applied.push('duplicateQuery');
        break;
      }
      case 'method': {
        const others = METHODS.filter((candidate) => !registeredMethods(template).includes(candidate));
        method = pick(others, mutation.choice);
        applied.push('method');
        break;
      }
      case 'pathSuffix':
        suffix = mutation.suffix;
        applied.push('pathSuffix');
        break;
      case 'authorization': {
        const choices: (string | null)[] = [
          null,
          '',
          'Bearer',
          'Bearer ',
          `Bearer ${mutation.garbage}x`,
          `bearer ${keys.valid}`,
          `Basic ${keys.valid}`,
          `Bearer  ${keys.valid}`,
          `Bearer ${keys.valid}x`,
          `Bearer ${keys.valid.slice(0, -1)}`,
          `Bearer ${keys.valid},Bearer ${keys.valid}`,
          `Token ${keys.valid}`,
        ];
        const value = pick(choices, mutation.choice);
        if (value === null) delete headers.authorization;
        else headers.authorization = value;
        applied.push('authorization');
        break;
      }
      case 'correlation':
        headers['x-correlation-id'] = pick(
          [' ', '!!', '.dot', 'a b', 'x'.repeat(129), '-', 'a,b', 'e?'],
          mutation.choice,
        );
        applied.push('correlation');
        break;
      default:
        break;
    }
  }

  if (template.body === 'ndjson') {
    let nonBlank = 0;
    const lines = plan.backlog.map((line): string => {
      switch (line.line) {
        case 'blank':
          return line.text;
        case 'garbage': {
          // Garbage is never a sale; it must at least not be blank (a lone CR is stripped as a line end).
          const cleaned = line.text.replaceAll('\r', ' ');
          const garbage = cleaned.trim() === '' ? 'x' : cleaned;
          nonBlank++;
          return garbage;
        }
        case 'sale':
          nonBlank++;
          return backlogSale(line.mutations, freshId, applied);
        default:
          nonBlank++;
          return `${backlogSale(line.mutations, freshId, applied)}\r`;
      }
    });
    body = lines.join('\n');
    backlogLines = nonBlank;
    if (oversize !== null) {
      body = `${body}\n${' '.repeat(Math.max(0, ndjsonBytesMax + oversize.extraBytes - Buffer.byteLength(body) - 1))}`;
      applied.push('oversize');
    }
    applied.push('backlog');
  } else if (root !== null || noBody !== null) {
    const tree = root ?? noBody!;
    // A route that takes no body has no content type to mutate: its hostile body is sent as JSON.
    if (root === null) contentType ??= 'application/json';
    let jsonText = serialise(tree.value, freshId);
    let corrupted: string | Buffer | null = null;
    if (textMutation !== null) {
      corrupted = corrupt(jsonText, textMutation.how, textMutation.position);
      if (corrupted !== null) applied.push('corruptText');
    }
    if (root === null && applied.length === 0 && corrupted === null && oversize === null) {
      // Nothing made the commit's body hostile: send one that is not `{}`.
      jsonText = '{"unexpected":true}';
      applied.push('extraField');
    }
    body = corrupted ?? jsonText;
    if (oversize !== null) {
      // Whitespace after a JSON value is still JSON: only the size makes this body wrong.
      const padding = bodyBytesMax + oversize.extraBytes - Buffer.byteLength(body);
      body = Buffer.concat([Buffer.from(body), Buffer.alloc(Math.max(1, padding), 0x20)]);
      applied.push('oversize');
    }
  } else if (oversize !== null && template.method === 'POST') {
    body = Buffer.alloc(bodyBytesMax + oversize.extraBytes, 0x20);
    contentType ??= 'application/json';
    applied.push('oversize');
  }

  const hostile = applied.filter((op) => op !== 'backlog');
  if (hostile.length === 0) {
    // No mutation applied to this route: fall back to one that always does.
    if (template.body === 'none' && template.method === 'POST') {
      // A route that takes no body (commit) ignores the query: give it a body, which it refuses.
      body = '{"unexpected":true}';
      contentType = 'application/json';
      applied.push('extraField');
    } else if (template.query.length > 0) {
      extraQuery.push({ key: 'unknown', value: '1' });
      applied.push('unknownQuery');
    } else if (params.length > 0) {
      params[0]!.segment = hostileSegment(params[0]!.kind, 0, '');
      applied.push('param');
    } else if (root !== null) {
      (root.value as ObjectNode).entries.push({ key: 'unknown', value: raw('1'), optional: true });
      body = serialise(root.value, freshId);
      applied.push('extraField');
    }
  }

  let path = template.path;
  for (const param of params) path = path.replace(`{${param.name}}`, param.segment);
  path += suffix;
  const queryText = [...query, ...extraQuery]
    .map(({ key, value }) => `${encodeComponent(key)}=${encodeComponent(value)}`)
    .join('&');
  if (queryText !== '') path += `?${queryText}`;
  if (body !== undefined && contentType !== null) headers['content-type'] = contentType;
  return {
    route: template.name,
    method,
    path,
    headers,
    body,
    applied,
    backlogLines: method === 'POST' && template.body === 'ndjson' && suffix === '' ? backlogLines : null,
  };
}

// ---- protocol-level garbage -------------------------------------------------------------------------

/** Requests Node's HTTP parser refuses, written to a raw socket. */
export const RAW_REQUESTS: readonly { readonly name: string; readonly text: string }[] = [
  { name: 'space in a header name', text: 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n' },
  {
    name: 'headers over the size limit',
    text: `GET /v1/stock/store-h1/SKU-H1 HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`,
  },
  {
    name: 'Content-Length not a number',
    text: 'POST /v1/sales HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
  },
  {
    name: 'Content-Length and Transfer-Encoding together',
    text: 'POST /v1/sales HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  },
  {
    name: 'a chunk size that is not hex',
    text: 'POST /v1/sales HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  },
  { name: 'not HTTP at all', text: 'HELLO WORLD\r\n\r\n' },
  { name: 'HTTP/2 preface', text: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
  { name: 'NUL in the request line', text: 'GET /hea\u0000lth HTTP/1.1\r\nHost: x\r\n\r\n' },
  { name: 'bare LF line endings with a bad header', text: 'GET /health HTTP/1.1\nHost: x\nX:\u0001\n\n' },
  { name: 'an unknown HTTP version', text: 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n' },
];
