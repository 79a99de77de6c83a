// Proves API.md's security rules route by route: one table below lists every route the app registers
// (checked against `app.printRoutes()`, so a new route without a row fails this test) with the scopes it
// needs and the locations each request variant touches; every route × variant × key is then sent over a
// real socket to a server with a key file (no key, an unknown key, each scope alone, admin, a POS key and
// an all-scopes key limited to store-042, an admin limited to store-042), each cell on fresh state
// prepared by an unrestricted admin. The expected answer is derived from the table alone: 401 without a
// known key, 403 without the scope or when a touched location is outside the key's (every line of a
// multi-line body, each command of /v1/commands on its own), else the route's 2xx. A refused request must
// not move the engine's commit feed.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestServer } from './harness.ts';
import { expectStatus, startServer, unique } from './harness.ts';

type Scope = 'stock:read' | 'reservations:write' | 'sales:write' | 'returns:write' | 'supply:write' | 'admin';

const OWN = 'store-042';
const OTHER = 'store-043';
const THIRD = 'store-044';
const ADMIN = 'matrix-setup-key-0123456789abcdef';

interface KeyCase {
  readonly label: string;
  /** The bearer token sent; null sends no Authorization header. */
  readonly token: string | null;
  /** What the key may do; null for no key or an unknown one. */
  readonly scopes: ReadonlySet<Scope> | null;
  readonly locations: ReadonlySet<string> | null;
}

function keyCase(label: string, scopes: readonly Scope[], locations?: readonly string[]): KeyCase {
  return {
    label,
    token: `matrix-${label.replaceAll(/[^a-z0-9]/g, '-')}-key-0123456789abcdef`,
    scopes: new Set(scopes),
    locations: locations === undefined ? null : new Set(locations),
  };
}

const WRITE_SCOPES: readonly Scope[] = ['reservations:write', 'sales:write', 'returns:write', 'supply:write'];
const KEYS: readonly KeyCase[] = [
  { label: 'no key', token: null, scopes: null, locations: null },
  { label: 'unknown key', token: 'matrix-unknown-key-0123456789abcdef', scopes: null, locations: null },
  keyCase('stock:read (read-only)', ['stock:read']),
  keyCase('reservations:write', ['reservations:write']),
  keyCase('sales:write', ['sales:write']),
  keyCase('returns:write', ['returns:write']),
  keyCase('supply:write', ['supply:write']),
  keyCase('admin', ['admin']),
  keyCase('pos store-042', ['sales:write', 'stock:read'], [OWN]),
  keyCase('all scopes store-042', ['stock:read', ...WRITE_SCOPES], [OWN]),
  keyCase('admin store-042', ['admin'], [OWN]),
];

/** One request of a cell, and what it touches. */
interface Cell {
  readonly path: string;
  readonly body?: unknown;
  readonly ndjson?: string;
  /** Sent as text/csv (master data imports). */
  readonly csv?: string;
  /** Locations the request names; a limited key needs all of them (or, with `any`, one). */
  readonly touches: readonly string[];
  readonly rule?: 'all' | 'any';
  readonly success: number;
  /** For /v1/commands: each command's scope, locations and success status, in order. */
  readonly commands?: readonly CommandCase[];
}

interface CommandCase {
  readonly scope: Scope;
  readonly touches: readonly string[];
  readonly success: number;
}

interface Variant {
  readonly label: string;
  build(): Promise<Cell>;
}

interface Row {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** The route as `app.printRoutes()` names it. */
  readonly route: string;
  /** Scopes of which one is needed; null for a public route. */
  readonly scopes: readonly Scope[] | null;
  /** Dead letters: admin with no location limit. */
  readonly unrestricted?: boolean;
  readonly variants: readonly Variant[];
}

let server: TestServer;

before(async () => {
  server = await startServer({
    keys: [
      { key: ADMIN, name: 'setup', scopes: ['admin'] },
      ...KEYS.filter((key) => key.scopes !== null).map((key, at) => ({
        key: key.token!,
        name: `key-${at}`,
        scopes: [...key.scopes!],
        ...(key.locations === null ? {} : { locations: [...key.locations] }),
      })),
    ],
  });
});

after(async () => {
  await server?.close();
});

// ---- preparing state as the unrestricted admin -------------------------------------------------------

async function asAdmin<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const answer = await server.request<T>(method, path, {
    key: ADMIN,
    ...(body === undefined ? {} : { body }),
  });
  assert.ok(answer.status < 300, `preparing ${method} ${path}: ${answer.status} ${answer.text}`);
  return answer.body;
}

async function stocked(locations: readonly string[]): Promise<string> {
  const sku = unique('SKU');
  for (const location of locations) {
    await asAdmin('POST', '/v1/receipts', { receiptId: unique('rcpt'), location, lines: [{ sku, qty: 50 }] });
  }
  return sku;
}

async function reservation(locations: readonly string[]): Promise<string> {
  const sku = await stocked(locations);
  const reservationId = unique('cart');
  await asAdmin('POST', '/v1/reservations', {
    reservationId,
    channel: 'web',
    lines: locations.map((location) => ({ sku, location, qty: 2 })),
  });
  return reservationId;
}

async function returned(location: string): Promise<{ returnId: string; sku: string }> {
  const sku = unique('SKU');
  const returnId = unique('ret');
  await asAdmin('POST', '/v1/returns', { returnId, location, lines: [{ sku, qty: 3, reason: 'too big' }] });
  return { returnId, sku };
}

/** A transfer shipped and arrived (the arrival comes through the outbox, so it is waited for). */
async function shipped(from: string, to: string): Promise<{ transferId: string; sku: string }> {
  const sku = await stocked([from]);
  const transferId = unique('tr');
  await asAdmin('POST', '/v1/transfers', { transferId, from, to, lines: [{ sku, qty: 4 }] });
  const deadline = Date.now() + 3_000;
  while (server.engine.transferHeader(transferId)?.status !== 'arrived') {
    assert.ok(Date.now() < deadline, `transfer ${transferId} did not arrive`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // The header is readable as soon as its transaction commits, a little before the feed says so: wait
  // until the feed is still, so that a refused request after this one is seen to change nothing.
  for (let last = -1; server.engine.feedPosition() !== last; ) {
    last = server.engine.feedPosition();
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  return { transferId, sku };
}

async function deadLetter(): Promise<string> {
  const answer = await server.request<{ rejected: { deadLetterId: string }[] }>('POST', '/v1/sales:batch', {
    key: ADMIN,
    raw: { text: `{"transactionId":"${unique('bad')}"}\n`, type: 'application/x-ndjson' },
  });
  expectStatus(answer, 200);
  return answer.body.rejected[0]!.deadLetterId;
}

// ---- the table --------------------------------------------------------------------------------------

const sale = (location: string, sku = unique('SKU')) => ({
  transactionId: unique('pos'),
  location,
  lines: [{ sku, qty: 1 }],
});

/** Variants over one location: the key's own, and another. */
function atEach(build: (location: string) => Promise<Cell>): Variant[] {
  return [
    { label: OWN, build: () => build(OWN) },
    { label: OTHER, build: () => build(OTHER) },
  ];
}

/** Variants over the lines of a multi-line body: own, other, and one line of each. */
function overLines(build: (locations: readonly string[]) => Promise<Cell>): Variant[] {
  return [
    { label: OWN, build: () => build([OWN]) },
    { label: OTHER, build: () => build([OTHER]) },
    { label: `${OWN} + ${OTHER}`, build: () => build([OWN, OTHER]) },
  ];
}

/** Each command of /v1/commands at a location: its body, scope, locations and success status. */
const COMMANDS: Readonly<
  Record<string, (location: string) => Promise<{ command: Record<string, unknown> } & CommandCase>>
> = {
  receive: async (location) => ({
    command: {
      type: 'receive',
      receiptId: unique('rcpt'),
      location,
      lines: [{ sku: unique('SKU'), qty: 1 }],
    },
    scope: 'supply:write',
    touches: [location],
    success: 201,
  }),
  sale: async (location) => ({
    command: { type: 'sale', ...sale(location) },
    scope: 'sales:write',
    touches: [location],
    success: 201,
  }),
  reserve: async (location) => ({
    command: {
      type: 'reserve',
      reservationId: unique('cart'),
      channel: 'web',
      lines: [{ sku: await stocked([location]), location, qty: 1 }],
    },
    scope: 'reservations:write',
    touches: [location],
    success: 201,
  }),
  commit: async (location) => ({
    command: { type: 'commit', reservationId: await reservation([location]) },
    scope: 'reservations:write',
    touches: [location],
    success: 200,
  }),
  fulfil: async (location) => ({
    command: { type: 'fulfil', reservationId: await reservation([location]), fulfilmentId: unique('ship') },
    scope: 'reservations:write',
    touches: [location],
    success: 200,
  }),
  release: async (location) => ({
    command: { type: 'release', reservationId: await reservation([location]), releaseId: unique('rel') },
    scope: 'reservations:write',
    touches: [location],
    success: 200,
  }),
  return: async (location) => ({
    command: {
      type: 'return',
      returnId: unique('ret'),
      location,
      lines: [{ sku: unique('SKU'), qty: 1, reason: 'broken' }],
    },
    scope: 'returns:write',
    touches: [location],
    success: 201,
  }),
  dispose: async (location) => {
    const { returnId, sku } = await returned(location);
    return {
      command: {
        type: 'dispose',
        returnId,
        dispositionId: unique('disp'),
        lines: [{ sku, qty: 1, disposition: 'scrap' }],
      },
      scope: 'returns:write',
      touches: [location],
      success: 201,
    };
  },
  transfer: async (location) => {
    const to = location === OWN ? OTHER : THIRD;
    return {
      command: {
        type: 'transfer',
        transferId: unique('tr'),
        from: location,
        to,
        lines: [{ sku: await stocked([location]), qty: 1 }],
      },
      scope: 'supply:write',
      touches: [location, to],
      success: 201,
    };
  },
  transferReceipt: async (location) => {
    const { transferId, sku } = await shipped(location === OWN ? OTHER : OWN, location);
    return {
      command: { type: 'transferReceipt', transferId, lines: [{ sku, qty: 4 }] },
      scope: 'supply:write',
      touches: [location],
      success: 200,
    };
  },
  adjust: async (location) => ({
    command: {
      type: 'adjust',
      adjustmentId: unique('adj'),
      location,
      lines: [{ sku: unique('SKU'), delta: 2, reason: 'found' }],
    },
    scope: 'supply:write',
    touches: [location],
    success: 201,
  }),
  count: async (location) => ({
    command: { type: 'count', countId: unique('cnt'), location, lines: [{ sku: unique('SKU'), counted: 7 }] },
    scope: 'supply:write',
    touches: [location],
    success: 201,
  }),
  setPolicy: async (location) => ({
    command: { type: 'setPolicy', location, sku: unique('SKU'), safetyStock: 1, lowStockThreshold: 2 },
    scope: 'admin',
    touches: [location],
    success: 200,
  }),
};

async function commandsCell(parts: readonly (readonly [string, string])[]): Promise<Cell> {
  const built = await Promise.all(parts.map(([type, location]) => COMMANDS[type]!(location)));
  return {
    path: '/v1/commands',
    body: { commands: built.map(({ command }) => command) },
    touches: [],
    success: 200,
    commands: built.map(({ scope, touches, success }) => ({ scope, touches, success })),
  };
}

const publicRow = (method: 'GET' | 'HEAD', route: string, path: string, success = 200): Row => ({
  method,
  route,
  scopes: null,
  variants: [{ label: path, build: async () => ({ path, touches: [], success }) }],
});

const READ_RESERVATION: readonly Scope[] = ['stock:read', 'reservations:write'];

const TABLE: readonly Row[] = [
  {
    method: 'GET',
    route: '/v1/stock/:location/:sku',
    scopes: ['stock:read'],
    variants: atEach(async (location) => ({
      path: `/v1/stock/${location}/SKU-1`,
      touches: [location],
      success: 200,
    })),
  },
  {
    method: 'GET',
    route: '/v1/stock/:location/:sku/history',
    scopes: ['stock:read'],
    variants: atEach(async (location) => ({
      path: `/v1/stock/${location}/SKU-1/history`,
      touches: [location],
      success: 200,
    })),
  },
  {
    method: 'GET',
    route: '/v1/availability/:sku',
    scopes: ['stock:read'],
    variants: [
      // Without `locations`, a limited key sees only its own: allowed.
      {
        label: 'all locations',
        build: async () => ({ path: '/v1/availability/SKU-1', touches: [], success: 200 }),
      },
      ...overLines(async (locations) => ({
        path: `/v1/availability/SKU-1?locations=${locations.join(',')}`,
        touches: locations,
        success: 200,
      })),
    ],
  },
  {
    method: 'POST',
    route: '/v1/reservations',
    scopes: ['reservations:write'],
    variants: overLines(async (locations) => {
      const sku = await stocked(locations);
      return {
        path: '/v1/reservations',
        body: {
          reservationId: unique('cart'),
          channel: 'web',
          lines: locations.map((location) => ({ sku, location, qty: 1 })),
        },
        touches: locations,
        success: 201,
      };
    }),
  },
  {
    method: 'GET',
    route: '/v1/reservations/:id',
    scopes: READ_RESERVATION,
    variants: overLines(async (locations) => ({
      path: `/v1/reservations/${await reservation(locations)}`,
      touches: locations,
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/reservations/:id/commit',
    scopes: ['reservations:write'],
    variants: overLines(async (locations) => ({
      path: `/v1/reservations/${await reservation(locations)}/commit`,
      touches: locations,
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/reservations/:id/fulfil',
    scopes: ['reservations:write'],
    variants: overLines(async (locations) => ({
      path: `/v1/reservations/${await reservation(locations)}/fulfil`,
      body: { fulfilmentId: unique('ship') },
      touches: locations,
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/reservations/:id/release',
    scopes: ['reservations:write'],
    variants: overLines(async (locations) => ({
      path: `/v1/reservations/${await reservation(locations)}/release`,
      body: { releaseId: unique('rel') },
      touches: locations,
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/sales',
    scopes: ['sales:write'],
    variants: atEach(async (location) => ({
      path: '/v1/sales',
      body: sale(location),
      touches: [location],
      success: 201,
    })),
  },
  {
    method: 'POST',
    route: '/v1/sales:batch',
    scopes: ['sales:write'],
    variants: overLines(async (locations) => ({
      path: '/v1/sales:batch',
      ndjson: locations.map((location) => JSON.stringify(sale(location))).join('\n'),
      touches: locations,
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/returns',
    scopes: ['returns:write'],
    variants: atEach(async (location) => ({
      path: '/v1/returns',
      body: {
        returnId: unique('ret'),
        location,
        lines: [{ sku: unique('SKU'), qty: 1, reason: 'too small' }],
      },
      touches: [location],
      success: 201,
    })),
  },
  {
    method: 'POST',
    route: '/v1/returns/:returnId/dispositions',
    scopes: ['returns:write'],
    variants: atEach(async (location) => {
      const { returnId, sku } = await returned(location);
      return {
        path: `/v1/returns/${returnId}/dispositions`,
        body: { dispositionId: unique('disp'), lines: [{ sku, qty: 1, disposition: 'restock' }] },
        touches: [location],
        success: 201,
      };
    }),
  },
  {
    method: 'POST',
    route: '/v1/returns:dispositions-import',
    scopes: ['returns:write'],
    variants: atEach(async (location) => {
      const { returnId, sku } = await returned(location);
      return {
        path: '/v1/returns:dispositions-import',
        csv: `returnId,sku,qty,disposition\n${returnId},${sku},1,restock\n`,
        touches: [location],
        success: 200,
      };
    }),
  },
  {
    method: 'GET',
    route: '/v1/returns/quarantine',
    scopes: ['stock:read', 'returns:write'],
    variants: [
      {
        label: 'older than 0 hours',
        build: async () => ({
          path: '/v1/returns/quarantine?olderThanHours=0&limit=5',
          touches: [],
          success: 200,
        }),
      },
    ],
  },
  {
    method: 'GET',
    route: '/v1/returns/:returnId',
    scopes: ['stock:read', 'returns:write'],
    variants: atEach(async (location) => ({
      path: `/v1/returns/${(await returned(location)).returnId}`,
      touches: [location],
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/receipts',
    scopes: ['supply:write'],
    variants: atEach(async (location) => ({
      path: '/v1/receipts',
      body: { receiptId: unique('rcpt'), location, lines: [{ sku: unique('SKU'), qty: 3 }] },
      touches: [location],
      success: 201,
    })),
  },
  {
    method: 'POST',
    route: '/v1/transfers',
    scopes: ['supply:write'],
    variants: [
      [OWN, OTHER],
      [OTHER, THIRD],
    ].map(([from, to]) => ({
      label: `${from} -> ${to}`,
      build: async () => ({
        path: '/v1/transfers',
        body: { transferId: unique('tr'), from, to, lines: [{ sku: await stocked([from!]), qty: 1 }] },
        touches: [from!, to!],
        success: 201,
      }),
    })),
  },
  {
    method: 'POST',
    route: '/v1/transfers/:id/receipt',
    scopes: ['supply:write'],
    // Receiving acts on the destination only.
    variants: [
      [OTHER, OWN],
      [OWN, OTHER],
    ].map(([from, to]) => ({
      label: `${from} -> ${to}`,
      build: async () => {
        const { transferId, sku } = await shipped(from!, to!);
        return {
          path: `/v1/transfers/${transferId}/receipt`,
          body: { lines: [{ sku, qty: 4 }] },
          touches: [to!],
          success: 200,
        };
      },
    })),
  },
  {
    method: 'GET',
    route: '/v1/transfers/:id',
    scopes: ['stock:read', 'supply:write'],
    // A limited key may read a transfer that touches one of its locations at either end.
    variants: [
      [OWN, OTHER],
      [OTHER, OWN],
      [OTHER, THIRD],
    ].map(([from, to]) => ({
      label: `${from} -> ${to}`,
      build: async () => ({
        path: `/v1/transfers/${(await shipped(from!, to!)).transferId}`,
        touches: [from!, to!],
        rule: 'any' as const,
        success: 200,
      }),
    })),
  },
  {
    method: 'POST',
    route: '/v1/adjustments',
    scopes: ['supply:write'],
    variants: atEach(async (location) => ({
      path: '/v1/adjustments',
      body: {
        adjustmentId: unique('adj'),
        location,
        lines: [{ sku: unique('SKU'), delta: -1, reason: 'shrink' }],
      },
      touches: [location],
      success: 201,
    })),
  },
  {
    method: 'POST',
    route: '/v1/counts',
    scopes: ['supply:write'],
    variants: atEach(async (location) => ({
      path: '/v1/counts',
      body: { countId: unique('cnt'), location, lines: [{ sku: unique('SKU'), counted: 4 }] },
      touches: [location],
      success: 201,
    })),
  },
  {
    method: 'PUT',
    route: '/v1/policies/:location/:sku',
    scopes: ['admin'],
    variants: atEach(async (location) => ({
      path: `/v1/policies/${location}/${unique('SKU')}`,
      body: { safetyStock: 2, lowStockThreshold: 3, channels: { web: { share: 0.5 } } },
      touches: [location],
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/commands',
    scopes: WRITE_SCOPES.concat(['admin']),
    variants: [
      ...Object.keys(COMMANDS).flatMap((type) =>
        [OWN, OTHER].map((location) => ({
          label: `${type} at ${location}`,
          build: () => commandsCell([[type, location]]),
        })),
      ),
      {
        label: `receive at ${OWN} + sale at ${OTHER} + reserve at ${OWN}`,
        build: () =>
          commandsCell([
            ['receive', OWN],
            ['sale', OTHER],
            ['reserve', OWN],
          ]),
      },
    ],
  },
  {
    method: 'GET',
    route: '/v1/events',
    scopes: ['stock:read'],
    variants: [{ label: 'live', build: async () => ({ path: '/v1/events', touches: [], success: 200 }) }],
  },
  {
    method: 'POST',
    route: '/v1/stock-snapshots',
    scopes: ['supply:write', 'admin'],
    variants: overLines(async (locations) => ({
      path: '/v1/stock-snapshots?post=true',
      csv: `location,sku,onHand\n${locations.map((location) => `${location},${unique('SKU')},3`).join('\n')}\n`,
      touches: locations,
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/receipts:import',
    scopes: ['supply:write'],
    variants: overLines(async (locations) => ({
      path: '/v1/receipts:import',
      csv: `receiptId,location,sku,qty\n${locations.map((location) => `${unique('rcpt')},${location},${unique('SKU')},2`).join('\n')}\n`,
      touches: locations,
      success: 200,
    })),
  },
  {
    method: 'POST',
    route: '/v1/transfers:import',
    scopes: ['supply:write'],
    variants: [
      [OWN, OTHER],
      [OTHER, THIRD],
    ].map(([from, to]) => ({
      label: `${from} -> ${to}`,
      build: async () => ({
        path: '/v1/transfers:import',
        csv: `transferId,from,to,sku,qty\n${unique('tr')},${from},${to},${await stocked([from!])},1\n`,
        touches: [from!, to!],
        success: 200,
      }),
    })),
  },
  {
    method: 'GET',
    route: '/v1/journal',
    scopes: ['supply:write', 'admin'],
    unrestricted: true,
    variants: [
      { label: 'page', build: async () => ({ path: '/v1/journal?limit=5', touches: [], success: 200 }) },
    ],
  },
  {
    method: 'GET',
    route: '/v1/pos/registers',
    scopes: ['stock:read', 'sales:write'],
    variants: [
      { label: 'all', build: async () => ({ path: '/v1/pos/registers', touches: [], success: 200 }) },
    ],
  },
  {
    method: 'GET',
    route: '/v1/pos/stores',
    scopes: ['stock:read', 'sales:write'],
    variants: [{ label: 'all', build: async () => ({ path: '/v1/pos/stores', touches: [], success: 200 }) }],
  },
  {
    method: 'PUT',
    route: '/v1/items/:sku',
    scopes: ['admin'],
    unrestricted: true,
    variants: [
      {
        label: 'new item',
        build: async () => ({
          path: `/v1/items/${unique('SKU')}`,
          body: { description: 'x' },
          touches: [],
          success: 201,
        }),
      },
    ],
  },
  {
    method: 'GET',
    route: '/v1/items/:sku',
    scopes: ['stock:read'],
    variants: [
      {
        label: 'item',
        build: async () => {
          const sku = unique('SKU');
          await asAdmin('PUT', `/v1/items/${sku}`, { description: 'x' });
          return { path: `/v1/items/${sku}`, touches: [], success: 200 };
        },
      },
    ],
  },
  {
    method: 'GET',
    route: '/v1/barcodes/:gtin',
    scopes: ['stock:read'],
    variants: [
      {
        label: 'barcode',
        build: async () => {
          await asAdmin('PUT', '/v1/items/MATRIX-BARCODE', { barcodes: ['4006381333931'] });
          return { path: '/v1/barcodes/4006381333931', touches: [], success: 200 };
        },
      },
    ],
  },
  {
    method: 'POST',
    route: '/v1/items:import',
    scopes: ['admin'],
    unrestricted: true,
    variants: [
      {
        label: 'csv',
        build: async () => ({
          path: '/v1/items:import',
          csv: `sku\n${unique('SKU')}\n`,
          touches: [],
          success: 200,
        }),
      },
    ],
  },
  {
    method: 'PUT',
    route: '/v1/locations/:code',
    scopes: ['admin'],
    unrestricted: true,
    variants: atEach(async (location) => ({
      path: `/v1/locations/${unique('code')}`,
      body: { location },
      touches: [],
      success: 201,
    })),
  },
  {
    method: 'GET',
    route: '/v1/locations/:code',
    scopes: ['stock:read'],
    variants: atEach(async (location) => {
      const code = unique('code');
      await asAdmin('PUT', `/v1/locations/${code}`, { location });
      return { path: `/v1/locations/${code}`, touches: [location], success: 200 };
    }),
  },
  {
    method: 'POST',
    route: '/v1/locations:import',
    scopes: ['admin'],
    unrestricted: true,
    variants: [
      {
        label: 'csv',
        build: async () => ({
          path: '/v1/locations:import',
          csv: `code,location\n${unique('code')},${OWN}\n`,
          touches: [],
          success: 200,
        }),
      },
    ],
  },
  {
    method: 'POST',
    route: '/v1/kit-reservations',
    scopes: ['reservations:write'],
    variants: overLines(async (locations) => {
      const component = await stocked(locations);
      const kit = unique('KIT');
      await asAdmin('PUT', `/v1/items/${component}`, {});
      await asAdmin('PUT', `/v1/items/${kit}`, { components: [{ sku: component, qty: 2 }] });
      return {
        path: '/v1/kit-reservations',
        body: {
          reservationId: unique('cart'),
          channel: 'web',
          lines: locations.map((location) => ({ sku: kit, location, qty: 1 })),
        },
        touches: locations,
        success: 201,
      };
    }),
  },
  {
    method: 'GET',
    route: '/v1/dead-letters',
    scopes: ['admin'],
    unrestricted: true,
    variants: [
      {
        label: 'open',
        build: async () => ({ path: '/v1/dead-letters?status=open', touches: [], success: 200 }),
      },
    ],
  },
  {
    method: 'POST',
    route: '/v1/dead-letters/:id/retry',
    scopes: ['admin'],
    unrestricted: true,
    variants: [
      {
        label: 'corrected',
        build: async () => ({
          path: `/v1/dead-letters/${await deadLetter()}/retry`,
          body: { payload: sale(OWN), note: 'corrected' },
          touches: [],
          success: 200,
        }),
      },
    ],
  },
  {
    method: 'DELETE',
    route: '/v1/dead-letters/:id',
    scopes: ['admin'],
    unrestricted: true,
    variants: [
      {
        label: 'discard',
        build: async () => ({
          path: `/v1/dead-letters/${await deadLetter()}`,
          body: { reason: 'a duplicate' },
          touches: [],
          success: 200,
        }),
      },
    ],
  },
  {
    // The dashboard's stream spans every location, so a key with a locations limit is refused.
    method: 'GET',
    route: '/v1/dashboard/stream',
    scopes: ['stock:read', 'admin'],
    unrestricted: true,
    variants: [
      { label: 'live', build: async () => ({ path: '/v1/dashboard/stream', touches: [], success: 200 }) },
    ],
  },
  // The dashboard's page and assets hold no data: public, like /docs.
  publicRow('GET', '/', '/'),
  publicRow('GET', '/dashboard/dashboard.js', '/dashboard/dashboard.js'),
  publicRow('GET', '/dashboard/dashboard.css', '/dashboard/dashboard.css'),
  publicRow('GET', '/health', '/health'),
  publicRow('GET', '/ready', '/ready'),
  publicRow('GET', '/metrics', '/metrics'),
  publicRow('GET', '/docs', '/docs'),
  publicRow('GET', '/docs/', '/docs/'),
  publicRow('GET', '/docs/json', '/docs/json'),
  publicRow('GET', '/docs/yaml', '/docs/yaml'),
  publicRow('GET', '/docs/static/index.html', '/docs/static/index.html', 302),
  publicRow('GET', '/docs/static/swagger-initializer.js', '/docs/static/swagger-initializer.js'),
  publicRow('GET', '/docs/*', '/docs/static/swagger-ui.css'),
  publicRow('HEAD', '/docs/*', '/docs/static/swagger-ui.css'),
];

// ---- what each cell must answer ---------------------------------------------------------------------

/** The answer the table implies for a key; 'pass' is the route's 2xx. */
function verdict(
  key: KeyCase,
  scopes: readonly Scope[] | null,
  unrestricted: boolean,
  touches: readonly string[],
  rule: 'all' | 'any',
): 'pass' | 401 | 403 {
  if (scopes === null) return 'pass';
  if (key.scopes === null) return 401;
  const held = key.scopes;
  if (!scopes.some((scope) => held.has('admin') || held.has(scope))) return 403;
  const limit = key.locations;
  if (limit === null) return 'pass';
  if (unrestricted) return 403;
  if (touches.length === 0) return 'pass';
  const allowed = rule === 'all' ? touches.every((at) => limit.has(at)) : touches.some((at) => limit.has(at));
  return allowed ? 'pass' : 403;
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function call(row: Row, cell: Cell, key: KeyCase): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (key.token !== null) headers.authorization = `Bearer ${key.token}`;
  let body: string | undefined;
  if (cell.ndjson !== undefined) {
    headers['content-type'] = 'application/x-ndjson';
    body = cell.ndjson;
  } else if (cell.csv !== undefined) {
    headers['content-type'] = 'text/csv';
    body = cell.csv;
  } else if (cell.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(cell.body);
  }
  const abort = new AbortController();
  const response = await fetch(`${server.url}${cell.path}`, {
    method: row.method,
    headers,
    redirect: 'manual',
    signal: abort.signal,
    ...(body === undefined ? {} : { body }),
  });
  if (response.headers.get('content-type')?.startsWith('text/event-stream') === true) {
    // The stream never ends: its status is the answer.
    abort.abort();
    return { status: response.status, text: '' };
  }
  return { status: response.status, text: await response.text() };
}

/** Routes as `app.printRoutes()` lists them: `METHOD /path`, HEAD and GET apart. */
function registeredRoutes(): Set<string> {
  const routes = new Set<string>();
  const stack: string[] = [];
  for (const line of server.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    for (const method of (match[3] ?? '').split(', ').filter((name) => name !== '')) {
      routes.add(`${method} ${stack.join('')}`);
    }
  }
  return routes;
}

test('the table covers every route the app registers, and only those', () => {
  const registered = registeredRoutes();
  const tabled = new Set(TABLE.map((row) => `${row.method} ${row.route}`));
  assert.ok(registered.size > 30, `printRoutes was not understood: ${[...registered].join(', ')}`);
  assert.deepEqual(
    [...registered].filter((route) => !tabled.has(route)),
    [],
    'routes the app registers that the table lacks',
  );
  assert.deepEqual(
    [...tabled].filter((route) => !registered.has(route)),
    [],
    'rows of the table the app does not register',
  );
});

test('every route x key answers 401, 403 or its 2xx as the table says', { timeout: 120_000 }, async (t) => {
  let cells = 0;
  let commandCells = 0;
  const tally = new Map<string, number>();
  const lines: string[] = [];
  for (const row of TABLE) {
    for (const variant of row.variants) {
      const outcomes: string[] = [];
      for (const key of KEYS) {
        const cell = await variant.build();
        const expected = verdict(
          key,
          row.scopes,
          row.unrestricted === true,
          cell.touches,
          cell.rule ?? 'all',
        );
        const context = `${row.method} ${row.route} [${variant.label}] with ${key.label}`;
        const feedBefore = server.engine.feedPosition();
        const answer = await call(row, cell, key);
        cells++;
        if (expected === 'pass') {
          assert.equal(
            answer.status,
            cell.success,
            `${context}: expected ${cell.success}, got ${answer.status} ${answer.text}`,
          );
        } else {
          expectStatus(
            {
              status: answer.status,
              headers: new Headers(),
              text: answer.text,
              body: JSON.parse(answer.text) as unknown,
            },
            expected,
            expected === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN',
          );
          assert.equal(
            server.engine.feedPosition(),
            feedBefore,
            `${context}: refused, yet something was applied`,
          );
        }
        tally.set(String(answer.status), (tally.get(String(answer.status)) ?? 0) + 1);
        // /v1/commands: each command on its own.
        if (cell.commands !== undefined && expected === 'pass') {
          const results = (JSON.parse(answer.text) as { results: { status: number; body: unknown }[] })
            .results;
          assert.equal(results.length, cell.commands.length, context);
          for (const [at, command] of cell.commands.entries()) {
            const inner = verdict(key, [command.scope], false, command.touches, 'all');
            const wanted = inner === 'pass' ? command.success : inner;
            commandCells++;
            assert.equal(
              results[at]!.status,
              wanted,
              `${context}, command ${at} (${command.scope}): expected ${wanted}, got ${results[at]!.status} ${JSON.stringify(results[at]!.body)}`,
            );
          }
          outcomes.push(`${answer.status}[${results.map((result) => result.status).join(',')}]`);
        } else {
          outcomes.push(String(answer.status));
        }
      }
      lines.push(`${`${row.method} ${row.route} [${variant.label}]`.padEnd(78)} ${outcomes.join(' ')}`);
    }
  }
  t.diagnostic(`keys, in column order: ${KEYS.map((key) => key.label).join(' | ')}`);
  for (const line of lines) t.diagnostic(line);
  t.diagnostic(
    `matrix: ${TABLE.length} route rows, ${TABLE.reduce((sum, row) => sum + row.variants.length, 0)} variants × ${KEYS.length} keys = ${cells} requests, ` +
      `plus ${commandCells} commands of /v1/commands checked one by one; answers ${[...tally.entries()].map(([status, count]) => `${status}: ${count}`).join(', ')}`,
  );
});
