// Cluster mode's metrics (issue 8): leases held, live nodes, failovers and handovers, refused appends,
// and the routing of requests to other nodes (items, NATS requests, retries, round-trip latency).

import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { ClusterNode } from './node.ts';

function counterOf(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      this.inc(now - seen);
      seen = now;
    },
  });
}

export function registerClusterMetrics(registry: Registry, cluster: ClusterNode): void {
  new Gauge({
    name: 'stockledger_cluster_leases_held',
    help: 'Shard leases this node holds',
    registers: [registry],
    collect() {
      this.set(cluster.stats().leasesHeld);
    },
  });
  new Gauge({
    name: 'stockledger_cluster_nodes',
    help: 'Live nodes in the membership bucket, as this node last read it',
    registers: [registry],
    collect() {
      this.set(cluster.stats().liveNodes);
    },
  });
  counterOf(
    registry,
    'stockledger_cluster_failovers_total',
    'Shards this node took over from an owner whose lease had run out',
    () => cluster.stats().failovers,
  );
  counterOf(
    registry,
    'stockledger_cluster_handovers_total',
    'Shards this node handed over gracefully (rebalance or leave)',
    () => cluster.stats().handovers,
  );
  counterOf(
    registry,
    'stockledger_cluster_refused_appends_total',
    'Appends to a shard log refused because this node no longer held the lease',
    () => cluster.stats().refusedAppends,
  );
  counterOf(
    registry,
    'stockledger_cluster_routed_items_total',
    'Requests sent to the owner of their shard on another node',
    () => cluster.router.stats().items,
  );
  counterOf(
    registry,
    'stockledger_cluster_routed_requests_total',
    'NATS requests carrying routed items (micro-batches)',
    () => cluster.router.stats().requests,
  );
  counterOf(
    registry,
    'stockledger_cluster_route_retries_total',
    'Routed items retried because their shard was moving',
    () => cluster.router.stats().retries,
  );
  const failuresSeen: Record<string, number> = {};
  new Counter({
    name: 'stockledger_cluster_route_failures_total',
    help: 'Routed requests that no node answered (no_responders, timeout, connection), and routed items the answering node no longer owned (not_owner); each is retried',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      for (const [reason, count] of Object.entries(cluster.router.stats().failures)) {
        this.inc({ reason }, count - (failuresSeen[reason] ?? 0));
        failuresSeen[reason] = count;
      }
    },
  });
  const latency = new Histogram({
    name: 'stockledger_cluster_routing_seconds',
    help: 'Round trip of one routed micro-batch to the owner and back',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  cluster.router.onLatency.add((seconds) => latency.observe(seconds));
}
