// PostgreSQL as a peer: the ledger a team would write on a relational database. One row per
// SKU-location; a reservation is a conditional `UPDATE stock SET reserved = reserved + $q WHERE ... AND
// on_hand - reserved >= $q`, with the reservation row and a unique idempotency key in the same
// transaction. Each operation is one PL/pgSQL function call, so one round trip and one transaction
// (autocommit), committed with synchronous_commit on: PostgreSQL answers after the WAL is flushed, and
// concurrent commits share a flush (its own group commit). A repeated command id answers the first
// outcome, like stockledger's idempotency table.
//
// The service is the one on 127.0.0.1:5432 (trust auth); the bench uses its own database,
// `stockledger_bench`, and drops and recreates its tables on every `open`.

import pg from 'pg';
import type { Audit, Operation, Outcome, Peer, PeerInstance, PeerOpenOptions, Target } from './system.ts';
import { PeerUnavailable } from './system.ts';

const host = '127.0.0.1';
const port = 5432;
const users = ['postgres', 'root'] as const;
const database = 'stockledger_bench';
/**
 * The shared server allows 100 connections (max_connections) and other work uses some: the pool is
 * sized like the client count up to this. Beyond it, operations wait in the pool's queue.
 */
const poolConnectionsMax = 64;
const connectTimeoutMs = 3_000;
const stockRowsPerStatement = 20_000;
/** Idempotency records are kept as long as stockledger keeps them by default (7 days). */
const retentionSeconds = 7 * 24 * 3600;

const SCHEMA = `
DROP TABLE IF EXISTS stock, reservations, return_lots, idempotency CASCADE;
CREATE TABLE stock (
  location text NOT NULL,
  sku text NOT NULL,
  on_hand bigint NOT NULL DEFAULT 0,
  reserved bigint NOT NULL DEFAULT 0,
  quarantine bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (location, sku)
);
CREATE TABLE reservations (
  reservation_id text PRIMARY KEY,
  location text NOT NULL,
  sku text NOT NULL,
  qty bigint NOT NULL,
  state text NOT NULL,
  expires_at timestamptz
);
CREATE TABLE return_lots (
  return_id text PRIMARY KEY,
  location text NOT NULL,
  sku text NOT NULL,
  qty bigint NOT NULL
);
CREATE TABLE idempotency (
  command_id text PRIMARY KEY,
  outcome text NOT NULL,
  expires_at timestamptz NOT NULL DEFAULT now() + interval '${retentionSeconds} seconds'
);

-- Claims a command id for this transaction: NULL when it is new (its outcome is presumed OK and
-- corrected on a refusal), else the first outcome. A concurrent claim of the same id waits on the
-- unique index until the first commits, then sees its row.
CREATE OR REPLACE FUNCTION sl_claim(p_id text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE seen text;
BEGIN
  INSERT INTO idempotency (command_id, outcome) VALUES (p_id, 'OK') ON CONFLICT DO NOTHING;
  IF FOUND THEN RETURN NULL; END IF;
  SELECT outcome INTO seen FROM idempotency WHERE command_id = p_id;
  RETURN seen;
END $$;

CREATE OR REPLACE FUNCTION sl_refuse(p_id text, p_code text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  UPDATE idempotency SET outcome = p_code WHERE command_id = p_id;
  RETURN p_code;
END $$;

CREATE OR REPLACE FUNCTION sl_reserve(p_id text, p_location text, p_sku text, p_qty bigint,
    p_reservation text, p_ttl_seconds integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE seen text;
BEGIN
  seen := sl_claim(p_id);
  IF seen IS NOT NULL THEN RETURN seen; END IF;
  UPDATE stock SET reserved = reserved + p_qty
    WHERE location = p_location AND sku = p_sku AND on_hand - reserved >= p_qty;
  IF NOT FOUND THEN RETURN sl_refuse(p_id, 'INSUFFICIENT_STOCK'); END IF;
  INSERT INTO reservations VALUES (p_reservation, p_location, p_sku, p_qty, 'held',
    now() + p_ttl_seconds * interval '1 second');
  RETURN 'OK';
END $$;

CREATE OR REPLACE FUNCTION sl_release(p_id text, p_reservation text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE seen text; line reservations%ROWTYPE;
BEGIN
  seen := sl_claim(p_id);
  IF seen IS NOT NULL THEN RETURN seen; END IF;
  DELETE FROM reservations WHERE reservation_id = p_reservation AND state = 'held' RETURNING * INTO line;
  IF NOT FOUND THEN RETURN sl_refuse(p_id, 'RESERVATION_NOT_FOUND'); END IF;
  UPDATE stock SET reserved = reserved - line.qty WHERE location = line.location AND sku = line.sku;
  RETURN 'OK';
END $$;

CREATE OR REPLACE FUNCTION sl_commit(p_id text, p_reservation text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE seen text;
BEGIN
  seen := sl_claim(p_id);
  IF seen IS NOT NULL THEN RETURN seen; END IF;
  UPDATE reservations SET state = 'committed', expires_at = NULL
    WHERE reservation_id = p_reservation AND state = 'held';
  IF NOT FOUND THEN RETURN sl_refuse(p_id, 'RESERVATION_NOT_FOUND'); END IF;
  RETURN 'OK';
END $$;

-- receive, sale and adjust: a change of on-hand (a POS sale is accepted even when it oversells, as in
-- stockledger, where it is flagged instead).
CREATE OR REPLACE FUNCTION sl_move(p_id text, p_location text, p_sku text, p_delta bigint)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE seen text;
BEGIN
  seen := sl_claim(p_id);
  IF seen IS NOT NULL THEN RETURN seen; END IF;
  INSERT INTO stock (location, sku, on_hand) VALUES (p_location, p_sku, p_delta)
    ON CONFLICT (location, sku) DO UPDATE SET on_hand = stock.on_hand + EXCLUDED.on_hand;
  RETURN 'OK';
END $$;

CREATE OR REPLACE FUNCTION sl_count(p_id text, p_location text, p_sku text, p_counted bigint)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE seen text;
BEGIN
  seen := sl_claim(p_id);
  IF seen IS NOT NULL THEN RETURN seen; END IF;
  INSERT INTO stock (location, sku, on_hand) VALUES (p_location, p_sku, p_counted)
    ON CONFLICT (location, sku) DO UPDATE SET on_hand = EXCLUDED.on_hand;
  RETURN 'OK';
END $$;

CREATE OR REPLACE FUNCTION sl_return(p_id text, p_location text, p_sku text, p_return text, p_qty bigint)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE seen text;
BEGIN
  seen := sl_claim(p_id);
  IF seen IS NOT NULL THEN RETURN seen; END IF;
  INSERT INTO return_lots VALUES (p_return, p_location, p_sku, p_qty)
    ON CONFLICT (return_id) DO UPDATE SET qty = return_lots.qty + EXCLUDED.qty;
  INSERT INTO stock (location, sku, quarantine) VALUES (p_location, p_sku, p_qty)
    ON CONFLICT (location, sku) DO UPDATE SET quarantine = stock.quarantine + EXCLUDED.quarantine;
  RETURN 'OK';
END $$;

CREATE OR REPLACE FUNCTION sl_dispose(p_id text, p_location text, p_sku text, p_return text, p_qty bigint,
    p_restock boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE seen text; remaining bigint;
BEGIN
  seen := sl_claim(p_id);
  IF seen IS NOT NULL THEN RETURN seen; END IF;
  UPDATE return_lots SET qty = qty - p_qty WHERE return_id = p_return AND qty >= p_qty
    RETURNING qty INTO remaining;
  IF NOT FOUND THEN RETURN sl_refuse(p_id, 'RETURN_NOT_FOUND'); END IF;
  IF remaining = 0 THEN DELETE FROM return_lots WHERE return_id = p_return; END IF;
  UPDATE stock SET quarantine = quarantine - p_qty,
      on_hand = on_hand + CASE WHEN p_restock THEN p_qty ELSE 0 END
    WHERE location = p_location AND sku = p_sku;
  RETURN 'OK';
END $$;
`;

interface Statement {
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
}

/** The prepared statement (named, so each connection parses it once) for an operation. */
export function statementFor(operation: Operation, id: string): Statement {
  const call = (fn: string, values: unknown[]): Statement => ({
    name: fn,
    text: `SELECT ${fn}(${values.map((_, at) => `$${at + 1}`).join(', ')}) AS outcome`,
    values,
  });
  const { location, sku } = operation;
  switch (operation.kind) {
    case 'reserve':
      return call('sl_reserve', [
        id,
        location,
        sku,
        operation.qty,
        operation.reservationId,
        operation.ttlSeconds,
      ]);
    case 'release':
      return call('sl_release', [id, operation.reservationId]);
    case 'commit':
      return call('sl_commit', [id, operation.reservationId]);
    case 'receive':
      return call('sl_move', [id, location, sku, operation.qty]);
    case 'sale':
      return call('sl_move', [id, location, sku, -operation.qty]);
    case 'adjust':
      return call('sl_move', [id, location, sku, operation.delta]);
    case 'count':
      return call('sl_count', [id, location, sku, operation.counted]);
    case 'return':
      return call('sl_return', [id, location, sku, operation.returnId, operation.qty]);
    case 'dispose':
      return call('sl_dispose', [
        id,
        location,
        sku,
        operation.returnId,
        operation.qty,
        operation.disposition === 'restock',
      ]);
  }
}

async function connectAdmin(): Promise<{ client: pg.Client; user: string }> {
  const reasons: string[] = [];
  for (const user of users) {
    const client = new pg.Client({
      host,
      port,
      user,
      database: 'postgres',
      connectionTimeoutMillis: connectTimeoutMs,
    });
    try {
      await client.connect();
      return { client, user };
    } catch (error) {
      reasons.push(`${user}: ${error instanceof Error ? error.message : String(error)}`);
      await client.end().catch(() => {});
    }
  }
  throw new PeerUnavailable(`PostgreSQL on ${host}:${port} cannot be reached (${reasons.join('; ')})`);
}

export const postgresPeer: Peer = {
  name: 'postgresql',
  description:
    `PostgreSQL on ${host}:${port}, database ${database}: one PL/pgSQL call per operation (conditional UPDATE ... WHERE on_hand - reserved >= $q, ` +
    'reservation row and unique idempotency key in the same transaction), synchronous_commit on, node-postgres pool',
  open: openPostgres,
};

async function openPostgres(options: PeerOpenOptions): Promise<PeerInstance> {
  const admin = await connectAdmin();
  let settings: { synchronousCommit: string; fsync: string; version: string };
  try {
    const exists = await admin.client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.client.query(`CREATE DATABASE ${database}`);
    const shown = await admin.client.query<{ sc: string; fs: string; v: string }>(
      "SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fs, current_setting('server_version') AS v",
    );
    const row = shown.rows[0];
    settings = { synchronousCommit: row?.sc ?? '?', fsync: row?.fs ?? '?', version: row?.v ?? '?' };
  } finally {
    await admin.client.end();
  }
  const pool = new pg.Pool({
    host,
    port,
    user: admin.user,
    database,
    max: Math.max(1, Math.min(poolConnectionsMax, options.clients)),
    connectionTimeoutMillis: connectTimeoutMs * 10,
    // A session setting, so it holds whatever the server's default is; the audit still reports the default.
    options: '-c synchronous_commit=on',
  });
  pool.on('error', () => {});
  await pool.query(SCHEMA);
  const durable = settings.fsync === 'on';
  return new PostgresInstance(pool, durable, settings.version, Math.min(poolConnectionsMax, options.clients));
}

class PostgresInstance implements PeerInstance {
  readonly name = 'postgresql';
  readonly durable: boolean;
  readonly version: string;
  readonly connections: number;
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool, durable: boolean, version: string, connections: number) {
    this.#pool = pool;
    this.durable = durable;
    this.version = version;
    this.connections = connections;
  }

  async apply(operation: Operation, id: string): Promise<Outcome> {
    const result = await this.#pool.query<{ outcome: string }>(statementFor(operation, id));
    const outcome = result.rows[0]?.outcome;
    if (outcome === undefined) throw new Error('PostgreSQL answered no outcome');
    return outcome === 'OK' ? { ok: true } : { ok: false, refusal: outcome };
  }

  async stock(targets: readonly Target[], units: number): Promise<void> {
    for (let start = 0; start < targets.length; start += stockRowsPerStatement) {
      const chunk = targets.slice(start, start + stockRowsPerStatement);
      await this.#pool.query(
        `INSERT INTO stock (location, sku, on_hand)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
         ON CONFLICT (location, sku) DO UPDATE SET on_hand = stock.on_hand + EXCLUDED.on_hand`,
        [chunk.map((target) => target.location), chunk.map((target) => target.sku), chunk.map(() => units)],
      );
    }
    await this.#pool.query('ANALYZE stock');
  }

  async audit(targets: readonly Target[]): Promise<Audit> {
    let oversoldUnits = 0;
    let onHandUnits = 0;
    let reservedUnits = 0;
    for (let start = 0; start < targets.length; start += stockRowsPerStatement) {
      const chunk = targets.slice(start, start + stockRowsPerStatement);
      const sums = await this.#pool.query<{ oversold: string; on_hand: string; reserved: string }>(
        `SELECT coalesce(sum(greatest(s.reserved - s.on_hand, 0)), 0) AS oversold,
                coalesce(sum(s.on_hand), 0) AS on_hand, coalesce(sum(s.reserved), 0) AS reserved
           FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS t(location, sku)) AS t
           JOIN stock AS s USING (location, sku)`,
        [chunk.map((target) => target.location), chunk.map((target) => target.sku)],
      );
      const row = sums.rows[0];
      oversoldUnits += Number(row?.oversold ?? 0);
      onHandUnits += Number(row?.on_hand ?? 0);
      reservedUnits += Number(row?.reserved ?? 0);
    }
    const holds = await this.#pool.query<{ holds: string }>('SELECT count(*) AS holds FROM reservations');
    const inconsistent = await this.#pool.query<{ rows: string }>(
      `SELECT count(*) AS rows FROM stock AS s
         LEFT JOIN (SELECT location, sku, sum(qty) AS qty FROM reservations GROUP BY location, sku) AS r
         USING (location, sku)
        WHERE s.reserved <> coalesce(r.qty, 0)`,
    );
    return {
      oversoldUnits,
      holds: Number(holds.rows[0]?.holds ?? 0),
      onHandUnits,
      reservedUnits,
      inconsistent: Number(inconsistent.rows[0]?.rows ?? 0),
    };
  }

  async memory(): Promise<Record<string, number>> {
    const size = await this.#pool.query<{ bytes: string }>(
      'SELECT pg_database_size(current_database()) AS bytes',
    );
    return { database_bytes: Number(size.rows[0]?.bytes ?? 0) };
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
