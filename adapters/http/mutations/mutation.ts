// A mutation is one kind of idempotent write request (a sale, a reservation, a receipt ...). Its
// endpoint, `POST /v1/commands`, `POST /v1/sales:batch` and a dead-letter retry all run it the same
// way: as ONE engine job keyed by the mutation and the request's own id, whose result is the HTTP
// answer itself, so a repeated request is answered the stored first answer, byte for byte.

import type { TSchema } from '@sinclair/typebox';
import type { ClusterNode } from '../../../engine/cluster/node.ts';
import type { Config } from '../../../engine/config.ts';
import type { BatchContext, Engine } from '../../../engine/engine.ts';
import type { CommandMeta } from '../../../engine/store/records.ts';
import type { Access, Scope } from '../auth.ts';
import type { OpenReservations } from '../open-reservations.ts';
import type { CommandType } from '../schemas.ts';

/** An HTTP answer as a job result: plain data, stored as the first outcome of the request's key. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  /**
   * Cluster mode: the reservation whose steps on other shards are under way; the request is answered
   * once they settle (a create with its final answer, stored in place of this one).
   */
  readonly saga?: string;
  /** Outbox records (a transfer's arrival) delivered before the answer: it waits for them. */
  readonly outbox?: readonly string[];
}

/** What the app's mutations share. */
export interface Services {
  readonly engine: Engine;
  readonly config: Config;
  readonly openReservations: OpenReservations;
  /** Cluster mode: this node's membership, leases and router; absent when embedded. */
  readonly cluster?: ClusterNode | undefined;
}

export interface Caller {
  readonly access: Access;
  readonly meta: CommandMeta;
}

/** The job a mutation runs: the shard whose mailbox takes it, and what it does inside its batch. */
export interface PlannedJob {
  readonly shard: number;
  /** Throws (nothing applied) or returns the answer; it never throws after applying anything. */
  run(context: BatchContext): Reply;
}

export interface Mutation<Input> {
  /** Its name in `POST /v1/commands`. */
  readonly type: CommandType;
  readonly scope: Scope;
  /** The input: the endpoint's body with the ids of its path. */
  readonly schema: TSchema;
  /** The request's own id, for answers and messages; null for a mutation keyed by none. */
  id(input: Input): string | null;
  /** The idempotency key; null for a mutation that is idempotent by what it says (a policy PUT). */
  key(input: Input): string | null;
  /** The locations the request names, checked against the key before the job is queued. */
  locations(input: Input): readonly string[];
  /** Plans the job; throws for a request that cannot be run at all (a repeated SKU ...). */
  plan(services: Services, input: Input, caller: Caller): PlannedJob;
}
