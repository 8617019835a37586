/**
 * Which Chromium the browser tests launch. Playwright cannot download its own browser on these
 * machines, so Debian's Chromium is the default; `CHROMIUM_PATH` overrides it; on a machine with
 * neither, Playwright's own browser (`npx playwright install chromium`) is used.
 */
import { existsSync } from 'node:fs';
import { chromium } from '@playwright/test';

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** The `executablePath` for `launchOptions`: undefined means Playwright's own browser. */
export function chromiumExecutablePath(): string | undefined {
  return process.env.CHROMIUM_PATH ?? (existsSync(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : undefined);
}

/** Flags that keep Chromium quiet on a closed network, plus Web Bluetooth (see docs: testing). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-experimental-web-platform-features',
];

/** Throws a message that says what to do when no usable Chromium is on this machine. */
export function assertChromiumAvailable(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH is set to ${fromEnv}, which does not exist.`);
    return fromEnv;
  }
  if (existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  const bundled = chromium.executablePath();
  if (existsSync(bundled)) return bundled;
  throw new Error(
    [
      'No Chromium for the browser tests (npm run test:browser).',
      `  Looked for: $CHROMIUM_PATH (unset), ${DEBIAN_CHROMIUM}, and Playwright's own browser at ${bundled}.`,
      '  Fix one of:',
      '    - Debian/Ubuntu: apt-get install -y chromium',
      '    - point CHROMIUM_PATH at a Chromium or Chrome binary',
      '    - npx playwright install chromium   (needs network access to the Playwright CDN)',
    ].join('\n'),
  );
}
