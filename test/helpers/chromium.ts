// Debian's chromium for the browser tests, driven by playwright-core. Where it is missing it is
// installed from Debian's packages when running as root (CI runs as root), as for nats-server; otherwise
// the test fails saying how to install it.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

export function chromiumBinary(): string {
  if (existsSync(chromiumPath)) return chromiumPath;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${chromiumPath} is missing and this process is not root, so it cannot install it: run ` +
        '`sudo apt-get update && sudo apt-get install -y chromium` (Debian)',
    );
  }
  execFileSync('apt-get', ['update'], { stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', 'chromium'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!existsSync(chromiumPath))
    throw new Error('apt-get install chromium succeeded but no binary was found');
  return chromiumPath;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumBinary(), headless: true, args: ['--no-sandbox'] });
}
