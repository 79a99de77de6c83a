// Proves the dashboard works in a real browser against the real server: `stockledger serve` runs as a
// child process on a free port, Debian's chromium (headless, through playwright-core) loads `GET /`,
// a sale is posted through the API, and the page must show the command count and throughput move and,
// on a SKU search, the new on-hand at each location and the sale in the recent history. A screenshot
// goes to the test's temporary directory.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../helpers/chromium.ts';
import { temporaryDirectory } from '../../helpers/engine.ts';
import { listeningWithin, ServerProcess } from '../../helpers/server-process.ts';

const directory = temporaryDirectory('dashboard');
let server: ServerProcess;
let address: string;
let browser: Browser;

before(async () => {
  // First the browser: on a fresh machine it is installed first (apt-get, synchronously), which must not
  // hold up the test process while a server it started waits to be read.
  browser = await launchChromium();
  server = new ServerProcess({
    dataDir: path.join(directory.path, 'data'),
    settings: { STOCKLEDGER_SHARDS: '4' },
  });
  address = await listeningWithin(server, 20_000);
});
after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await server?.exited;
  directory.remove();
});

async function post(route: string, body: unknown): Promise<void> {
  const response = await fetch(`${address}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 201, await response.text());
}

test('the dashboard shows a sale posted through the API, and a SKU search its positions', async () => {
  await post('/v1/receipts', { receiptId: 'asn-1', location: 'store-1', lines: [{ sku: 'SKU-1', qty: 10 }] });
  await post('/v1/receipts', { receiptId: 'asn-2', location: 'store-2', lines: [{ sku: 'SKU-1', qty: 4 }] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const failures: string[] = [];
  page.on('pageerror', (error) => failures.push(error.message));
  await page.goto(`${address}/`);
  await page.waitForFunction("document.getElementById('connection')?.textContent === 'live'");
  await page.waitForFunction("document.getElementById('commands-total')?.textContent === '2'");
  assert.match((await page.textContent('#heatmap-caption')) ?? '', /^2 locations/);

  // Throughput falls back to 0 a second after the receipts; the sale must move it again.
  await page.waitForFunction("document.getElementById('throughput')?.textContent === '0'");
  await post('/v1/sales', { transactionId: 'pos-1', location: 'store-1', lines: [{ sku: 'SKU-1', qty: 3 }] });
  await page.waitForFunction("document.getElementById('commands-total')?.textContent === '3'");
  await page.waitForFunction("Number(document.getElementById('throughput')?.textContent) > 0", null, {
    timeout: 5_000,
  });

  await page.fill('#sku-input', 'SKU-1');
  await page.click('#sku-form button');
  await page.waitForSelector('#sku-rows tr[data-location="store-1"]');
  assert.equal(await page.textContent('#sku-rows tr[data-location="store-1"] .on-hand'), '7');
  assert.equal(await page.textContent('#sku-rows tr[data-location="store-2"] .on-hand'), '4');
  await page.waitForSelector('#history-rows tr');
  const history = (await page.textContent('#history-rows')) ?? '';
  assert.match(history, /pos-1/);

  const screenshot = path.join(directory.path, 'dashboard.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok(statSync(screenshot).size > 10_000, 'the screenshot is an image of the page');
  assert.deepEqual(failures, []);
  await page.close();
});
