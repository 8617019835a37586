/**
 * Real-browser tests (test/browser, `npm run test:browser`): Debian's Chromium, headless, one
 * worker — one BluetoothEmulation per browser, and a 2-core machine. The pages are served by
 * Vite's dev server, started in test/browser/support/global-setup.ts on a free localhost port.
 * See docs: testing (../shared/design/testing.md) for the flags and the emulation notes.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumExecutablePath } from './test/browser/support/chromium.js';

/** $CHROMIUM_PATH, else Debian's /usr/bin/chromium, else (undefined) Playwright's own browser. */
const executablePath = chromiumExecutablePath();

export default defineConfig({
  testDir: 'test/browser',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/',
  globalSetup: './test/browser/support/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 30_000,
  // The app specs (test/browser/app-*.spec.ts) build the app once and drive it for ~3 minutes.
  globalTimeout: 12 * 60_000,
  expect: { timeout: 5_000 },
  use: {
    browserName: 'chromium',
    headless: true,
    baseURL: process.env.VITALOCK_BROWSER_BASE_URL,
    launchOptions: {
      ...(executablePath !== undefined ? { executablePath } : {}),
      args: CHROMIUM_ARGS,
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
