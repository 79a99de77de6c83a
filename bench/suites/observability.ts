// Issue 8's measurements of observability, on the embedded engine over the stocked 100k SKU-locations
// (the W1 scene of the peers suite, driven through the `direct` view):
//   metrics     W1 closed-loop throughput without metrics (STOCKLEDGER_METRICS=0) and with them (the
//               engine's observability and the Prometheus registry, scraped every 5 s as Prometheus
//               would), in one run, engines opened alternately on fresh copies of the same data dir;
//   dashboard   with 10k more locations stocked (11k in all) and W1 offered open-loop at a fixed rate:
//               the dashboard's time to first render in headless chromium (navigation start to the
//               page's `dashboard-rendered` mark) and the server process's CPU with and without the
//               page connected, over equal windows.

import type { FastifyInstance } from 'fastify';
import { chromium } from 'playwright-core';
import { locationId, sku } from '../../actors/index.ts';
import { buildApp } from '../../adapters/http/app.ts';
import { createMetrics } from '../../adapters/http/metrics.ts';
import type { Engine } from '../../engine/engine.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import { silentLogger } from '../../engine/logger.ts';
import { observabilityOf } from '../../engine/observability/observability.ts';
import { chromiumBinary } from '../../test/helpers/chromium.ts';
import type { LoopResult } from '../driver.ts';
import { closedLoop, openLoop } from '../driver.ts';
import { issueFrom, setScene } from '../issue.ts';
import { describeNoise, NoiseMonitor } from '../noise.ts';
import type { BenchRecord } from '../report.ts';
import { median, relativeSpread } from '../stats.ts';
import { HUNDRED_THOUSAND, sizeOf } from '../workloads/catalogue.ts';
import { MixedWorkload } from '../workloads/mixed.ts';
import type { StockedEngine } from '../workloads/stocked-engine.ts';
import { openStockedEngine } from '../workloads/stocked-engine.ts';
import type { Suite, SuiteContext } from './suite.ts';

const PHASES = ['metrics', 'dashboard'] as const;
const W1 = 'w1-mixed-100k';
/** How often the "with metrics" run scrapes the registry (Prometheus' usual interval is 5-15 s). */
const scrapeIntervalMs = 5_000;
/** Locations the dashboard phase adds to W1's 1,000, one SKU each, so the heatmap has 11k cells. */
const extraLocations = 10_000;
/** The open-loop rate of the dashboard phase, as a share of a short closed-loop calibration. */
const openLoopShare = 0.25;
const openLoopOutstandingMax = 100_000;
const loadOutstandingMax = 20_000;
const calibrationMs = 3_000;
const pageLoads = 3;
const metricsPairsMin = 3;
/**
 * Run in the page before its own scripts. The first render is the first summary applied (its last step
 * writes the heatmap's caption, after the canvas is painted), marked at the next animation frame, when
 * it reaches the screen. A string, as the bench is typed without the DOM library.
 */
const firstRenderScript = `
  const observer = new MutationObserver(() => {
    const caption = document.getElementById('heatmap-caption');
    if (caption === null || caption.textContent === '') return;
    observer.disconnect();
    // The caption names the locations drawn: the heatmap paints every cell before it writes it.
    const drawn = caption.textContent;
    requestAnimationFrame(() => {
      if (performance.getEntriesByName('dashboard-rendered').length === 0)
        performance.mark('dashboard-rendered', { detail: drawn });
    });
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });
`;

const formatCount = (value: number) => Math.round(value).toLocaleString('en-US');
const formatMs = (value: number | null) => (value === null ? 'n/a' : value.toFixed(1));

/** Waits until the stock-status counts are seeded, so the seed pass does not fall inside a window. */
async function statusSeeded(engine: Engine): Promise<void> {
  const observed = observabilityOf(engine);
  if (observed === null) return;
  while (!observed.stockStatus.ready) await new Promise((resolve) => setTimeout(resolve, 50));
}

export const observabilitySuite: Suite = {
  name: 'observability',
  description:
    'metrics on/off overhead on W1; dashboard time to first render and server CPU with 10k locations',
  phases: PHASES,
  async run(context: SuiteContext): Promise<BenchRecord[]> {
    const records: BenchRecord[] = [];
    const wants = (phase: string) => context.only === null || context.only.has(phase);
    if (wants('metrics')) records.push(...(await metricsOverhead(context)));
    if (wants('dashboard')) records.push(...(await dashboardCost(context)));
    return records;
  },
};

async function openW1(
  context: SuiteContext,
  metrics: boolean,
): Promise<{ opened: StockedEngine; workload: MixedWorkload }> {
  const opened = await openStockedEngine({
    cacheDir: context.cacheDir,
    progress: context.progress,
    settings: { STOCKLEDGER_METRICS: metrics ? '1' : '0' },
  });
  const workload = new MixedWorkload(HUNDRED_THOUSAND, 0xc0ffee, metrics ? 'w1-on' : 'w1-off');
  const system = opened.view('direct');
  await setScene(
    system,
    workload.prime(context.profile.peers.primeReservations, context.profile.peers.primeReturns),
    'priming',
    loadOutstandingMax,
  );
  workload.resetIssued();
  return { opened, workload };
}

async function metricsOverhead(context: SuiteContext): Promise<BenchRecord[]> {
  const { profile, progress } = context;
  const runs: Record<'off' | 'on', LoopResult[]> = { off: [], on: [] };
  const monitor = new NoiseMonitor();
  // Alternating, so a drift of the machine over the run weighs on both sides alike; at least three pairs,
  // as the difference sought is smaller than the noise of one short window.
  const repetitions = Math.max(metricsPairsMin, profile.repetitions);
  for (let repetition = 0; repetition < repetitions; repetition++) {
    for (const variant of ['off', 'on'] as const) {
      const { opened, workload } = await openW1(context, variant === 'on');
      let scraper: NodeJS.Timeout | null = null;
      try {
        if (variant === 'on') {
          const metrics = createMetrics(opened.engine);
          await statusSeeded(opened.engine);
          scraper = setInterval(() => {
            metrics.registry.metrics().catch(() => {});
          }, scrapeIntervalMs);
        }
        const result = await closedLoop({
          issue: issueFrom(() => workload.next(), opened.view('direct')),
          outstandingMax: profile.peers.clients,
          warmupMs: profile.warmupMs,
          durationMs: profile.closedLoopMs,
        });
        runs[variant].push(result);
        progress(`W1 metrics ${variant}: ${formatCount(result.throughputPerSecond)} ops/s`);
      } finally {
        if (scraper !== null) clearInterval(scraper);
        await opened.close();
      }
    }
  }
  const noise = monitor.read();
  const throughput = (variant: 'off' | 'on') =>
    median(runs[variant].map((result) => result.throughputPerSecond));
  const off = throughput('off');
  const on = throughput('on');
  const overheadPercent = (100 * (off - on)) / off;
  /** Max minus min over the median, in percent: an overhead below this is not told apart from noise. */
  const spreadPercent = (variant: 'off' | 'on') =>
    100 * relativeSpread(runs[variant].map((result) => result.throughputPerSecond));
  progress(`metrics cost ${overheadPercent.toFixed(1)}% of W1 throughput; ${describeNoise(noise)}`);
  const record = (variant: 'off' | 'on'): BenchRecord => {
    const latency = runs[variant].at(-1)!.latency.summary();
    return {
      workload: `${W1} metrics ${variant}`,
      system: 'stockledger:direct',
      throughput_per_s: Math.round(throughput(variant)),
      p50_ms: latency.p50Ms,
      p99_ms: latency.p99Ms,
      p999_ms: latency.p999Ms,
      errors: runs[variant].reduce((sum, result) => sum + result.refused + result.failed, 0),
      durable: true,
      notes:
        `W1 closed loop (${formatCount(profile.peers.clients)} in flight, ${profile.closedLoopMs / 1000} s after ` +
        `${profile.warmupMs / 1000} s warm-up, median of ${runs[variant].length}), metrics ${variant}` +
        (variant === 'on'
          ? `: engine observability plus the Prometheus registry scraped every ${scrapeIntervalMs / 1000} s. ` +
            `Throughput ${overheadPercent.toFixed(1)}% below metrics off in the same run (run-to-run spread ` +
            `${spreadPercent('off').toFixed(0)}% off, ${spreadPercent('on').toFixed(0)}% on).`
          : ' (STOCKLEDGER_METRICS=0).') +
        ` Latency columns: closed loop, so mostly queueing. ${describeNoise(noise)}.`,
      metrics: {
        spread_percent: spreadPercent(variant),
        ...(variant === 'on' ? { overhead_percent: overheadPercent } : {}),
      },
    };
  };
  return [record('off'), record('on')];
}

/** Stocks `extraLocations` more locations, one SKU each, spread over in, low and out of stock. */
async function stockExtraLocations(engine: Engine): Promise<void> {
  const commands: CommandInput[] = [];
  for (let index = 0; index < extraLocations; index++) {
    const qty = index % 10;
    const target = {
      commandId: `dashboard.stock.${index}` as CommandInput['commandId'],
      sku: sku('DASH-SKU'),
      location: locationId(`dash-${String(index).padStart(5, '0')}`),
    };
    // Out of stock ones are counted at zero, so that they exist (a location with no event has no cell).
    commands.push(qty === 0 ? { ...target, type: 'count', counted: 0 } : { ...target, type: 'receive', qty });
  }
  for (let start = 0; start < commands.length; start += 2_000)
    await engine.submit(commands.slice(start, start + 2_000), { correlationId: null, source: 'bench:stock' });
}

interface CpuWindow {
  readonly result: LoopResult;
  readonly cpuPercent: number;
}

async function cpuWindow(run: () => Promise<LoopResult>): Promise<CpuWindow> {
  const cpuBefore = process.cpuUsage();
  const startedMs = performance.now();
  const result = await run();
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - startedMs;
  return { result, cpuPercent: (100 * (cpu.user + cpu.system)) / 1_000 / wallMs };
}

async function dashboardCost(context: SuiteContext): Promise<BenchRecord[]> {
  const { profile, progress } = context;
  const { opened, workload } = await openW1(context, true);
  let app: FastifyInstance | null = null;
  const browser = await chromium.launch({
    // Installed from Debian's packages when missing, as the browser test does.
    executablePath: chromiumBinary(),
    headless: true,
    args: ['--no-sandbox'],
  });
  try {
    await stockExtraLocations(opened.engine);
    app = buildApp({
      engine: opened.engine,
      config: opened.engine.config,
      logger: silentLogger(),
      apiKeys: null,
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    await statusSeeded(opened.engine);
    const issue = issueFrom(() => workload.next(), opened.view('direct'));
    const calibration = await closedLoop({
      issue,
      outstandingMax: profile.peers.clients,
      warmupMs: 0,
      durationMs: calibrationMs,
    });
    const rate = Math.max(100, Math.round(calibration.throughputPerSecond * openLoopShare));
    const offered = () =>
      openLoop({
        issue,
        ratePerSecond: rate,
        warmupMs: profile.warmupMs,
        durationMs: profile.openLoopMs,
        outstandingMax: openLoopOutstandingMax,
      });
    const monitor = new NoiseMonitor();
    const without = await cpuWindow(offered);
    progress(`W1 at ${formatCount(rate)}/s, no dashboard: server CPU ${without.cpuPercent.toFixed(1)}%`);
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // The first render is the first summary applied (its last step writes the heatmap's caption, after
    // the canvas is painted), marked at the next animation frame, i.e. when it reaches the screen.
    await page.addInitScript({ content: firstRenderScript });
    const renders: number[] = [];
    /** Locations drawn on the heatmap at each first render (its caption). */
    const cellsDrawn: number[] = [];
    let connected: CpuWindow | null = null;
    try {
      // Loaded while W1 runs, as an operator would open it on a busy node.
      const loading = (async () => {
        for (let load = 0; load < pageLoads; load++) {
          await page.goto(`${url}/`, { waitUntil: 'commit' });
          await page.waitForFunction(
            () => performance.getEntriesByName('dashboard-rendered').length > 0,
            null,
            {
              timeout: 30_000,
            },
          );
          const mark = await page.evaluate(() => {
            const entry = performance.getEntriesByName('dashboard-rendered')[0] as unknown as {
              startTime: number;
              detail?: unknown;
            };
            return { startTime: entry.startTime, drawn: String(entry.detail) };
          });
          renders.push(mark.startTime);
          cellsDrawn.push(Number((/^([\d,]+) locations/.exec(mark.drawn)?.[1] ?? 'NaN').replaceAll(',', '')));
        }
      })();
      await loading;
      connected = await cpuWindow(offered);
    } finally {
      await page.close();
    }
    const noise = monitor.read();
    const renderMs = median(renders);
    const extraCpu = connected.cpuPercent - without.cpuPercent;
    progress(
      `dashboard first render ${formatMs(renderMs)} ms (median of ${renders.length}), drawing ` +
        `${cellsDrawn.map(formatCount).join(', ')} of ${formatCount(HUNDRED_THOUSAND.locations + extraLocations)} locations; ` +
        `server CPU with the page connected ${connected.cpuPercent.toFixed(1)}% (${extraCpu >= 0 ? '+' : ''}${extraCpu.toFixed(1)} points)`,
    );
    const locations = HUNDRED_THOUSAND.locations + extraLocations;
    const record = (
      name: string,
      window: CpuWindow,
      notes: string,
      metrics: Record<string, number>,
    ): BenchRecord => {
      const latency = window.result.latency.summary();
      return {
        workload: name,
        system: 'stockledger:http',
        throughput_per_s: Math.round(window.result.throughputPerSecond),
        p50_ms: latency.p50Ms,
        p99_ms: latency.p99Ms,
        p999_ms: latency.p999Ms,
        errors: window.result.refused + window.result.failed,
        durable: true,
        notes: `${notes} ${describeNoise(noise)}.`,
        metrics: { server_cpu_percent: window.cpuPercent, ...metrics },
      };
    };
    const scene =
      `${formatCount(locations)} locations (${formatCount(sizeOf(HUNDRED_THOUSAND))} W1 SKU-locations plus ` +
      `${formatCount(extraLocations)} one-SKU locations), W1 offered open-loop at ${formatCount(rate)}/s ` +
      `(${Math.round(openLoopShare * 100)}% of a ${calibrationMs / 1000} s closed-loop calibration) for ` +
      `${profile.openLoopMs / 1000} s after ${profile.warmupMs / 1000} s warm-up; server CPU is the bench process ` +
      '(engine, HTTP app and load generator; the browser is its own process).';
    return [
      record(`${W1} + ${formatCount(locations)} locations, no dashboard`, without, scene, {}),
      record(
        `${W1} + ${formatCount(locations)} locations, dashboard connected`,
        connected,
        `${scene} One headless chromium page on GET / with its SSE stream open; time to first render is ` +
          `navigation start to the page's dashboard-rendered mark, median of ${renders.length} loads made under the same load; ` +
          `the heatmap had drawn ${formatCount(Math.min(...cellsDrawn))} location cells by then (the fewest of the loads).`,
        {
          first_render_ms: renderMs,
          extra_cpu_points: extraCpu,
          cells_at_first_render: Math.min(...cellsDrawn),
        },
      ),
    ];
  } finally {
    await browser.close();
    if (app !== null) await app.close();
    await opened.close();
  }
}
