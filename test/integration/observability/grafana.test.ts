// Proves the Grafana files under adapters/observability/grafana/: every metric a panel of the dashboard
// queries is exported by a real node's GET /metrics (with its type: `_bucket`, `_sum` and `_count` only
// of histograms), every panel and query uses the provisioned Prometheus datasource, and the provisioning
// points at the paths docker-compose.yml mounts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TestServer } from '../http/harness.ts';
import { expectStatus, startServer, unique } from '../http/harness.ts';

const grafana = (file: string) =>
  readFileSync(
    fileURLToPath(new URL(`../../../adapters/observability/grafana/${file}`, import.meta.url)),
    'utf8',
  );

interface Target {
  readonly expr: string;
  readonly datasource: { readonly uid: string };
}
interface Panel {
  readonly title: string;
  readonly type: string;
  readonly datasource?: { readonly uid: string };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}

const dashboard = JSON.parse(grafana('dashboards/stockledger.json')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { query: { query: string } }[] };
};
const datasources = grafana('provisioning/datasources/prometheus.yml');
const providers = grafana('provisioning/dashboards/stockledger.yml');

function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
}

/** The metric names in a PromQL expression: identifiers followed by a selector or a range. */
function metricsOf(expr: string): string[] {
  const withoutStrings = expr.replaceAll(/"[^"]*"/g, '""');
  return [...withoutStrings.matchAll(/\b([a-z_][a-z0-9_]*)\s*\{/g)].map((match) => match[1]!);
}

let server: TestServer;
before(async () => {
  server = await startServer();
  // A little of everything the panels show, so labelled series exist too.
  const sku = unique('SKU');
  expectStatus(
    await server.request('POST', '/v1/receipts', {
      body: { receiptId: unique('asn'), location: 'store-g', lines: [{ sku, qty: 3 }] },
    }),
    201,
  );
  expectStatus(
    await server.request('POST', '/v1/sales', {
      body: { transactionId: unique('pos'), location: 'store-g', lines: [{ sku, qty: 1 }] },
    }),
    201,
  );
});
after(async () => {
  await server.close();
});

test('every metric the Grafana dashboard queries is exported by /metrics, with the right type', async () => {
  const scrape = await server.request<string>('GET', '/metrics');
  expectStatus(scrape, 200);
  const types = new Map<string, string>();
  for (const match of scrape.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
  const queries = panelsOf(dashboard.panels).flatMap((panel) => panel.targets ?? []);
  assert.ok(queries.length >= 20, `the dashboard has ${queries.length} queries`);
  const queried = new Set(queries.flatMap((target) => metricsOf(target.expr)));
  for (const query of dashboard.templating.list) {
    for (const name of query.query.query.matchAll(/label_values\((\w+)/g)) queried.add(name[1]!);
  }
  const missing: string[] = [];
  for (const name of queried) {
    const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
    if (histogram !== null && types.get(histogram[1]!) === 'histogram') continue;
    const type = types.get(name);
    if (type === undefined || type === 'histogram') missing.push(name);
  }
  assert.deepEqual(missing, [], `queried by the dashboard but not exported: ${missing.join(', ')}`);
  assert.ok(queried.has('stockledger_commit_duration_seconds_bucket'));
});

test('panels and queries use the provisioned Prometheus; provisioning points at the mounted paths', () => {
  const uid = /^\s*uid:\s*(\S+)$/m.exec(datasources)?.[1];
  assert.equal(uid, 'stockledger-prometheus');
  assert.match(datasources, /^\s*url:\s*http:\/\/prometheus:9090$/m);
  assert.match(datasources, /^\s*type:\s*prometheus$/m);
  for (const panel of panelsOf(dashboard.panels)) {
    if (panel.type === 'row') continue;
    assert.equal(panel.datasource?.uid, uid, panel.title);
    for (const target of panel.targets ?? []) assert.equal(target.datasource.uid, uid, panel.title);
  }
  assert.match(providers, /^\s*path:\s*\/var\/lib\/grafana\/dashboards$/m);
  assert.match(providers, /^\s*type:\s*file$/m);
  assert.equal(dashboard.uid, 'stockledger');
});
