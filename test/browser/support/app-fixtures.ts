/**
 * Fixtures and steps shared by the app specs. `appUrl` is the built app, served once per test
 * worker (app-server.ts); each test runs in a fresh browser context, so a fresh origin storage:
 * no vault, no simulated sensors, no service worker. Steps drive the app as a user does —
 * through its visible labels — and the checks (axe, screenshots) are the reviewer's eyes.
 */
import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { startAppServer } from './app-server.js';

export const PASSPHRASE = 'night shift ward three';
/** Where the PNGs go; `VITALOCK_SCREENS_DIR` overrides (e.g. to keep them out of a shared test-results). */
export const SCREENS_DIR = process.env.VITALOCK_SCREENS_DIR ?? 'test-results/screens';

export const test = base.extend<{ app: Page }, { appUrl: string }>({
  appUrl: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const server = await startAppServer();
      await use(server.url);
      await server.close();
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  app: async ({ page, appUrl }, use) => {
    await page.goto(`${appUrl}/`);
    await use(page);
  },
});

export { expect };

/** Deep text query across shadow roots (Playwright's CSS and text engines pierce them). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENS_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENS_DIR}/${name}.png`, fullPage: true });
}

/** No serious or critical accessibility violation on what is on screen now. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${screen}: ${v.id} (${v.impact}) — ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`),
    `axe on ${screen}`,
  ).toEqual([]);
}

/** First run: creates the vault with a passphrase and confirms the recovery code. */
export async function createVault(page: Page, onRecovery?: () => Promise<void>): Promise<string> {
  await expect(page.getByRole('heading', { name: 'Set up Vitalock' })).toBeVisible();
  await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
  await page.getByLabel('Type the passphrase again').fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Create vault' }).click();
  await expect(page.getByRole('heading', { name: 'Write down your recovery code' })).toBeVisible({ timeout: 20_000 });
  const code = (await page.getByLabel('Recovery code', { exact: true }).textContent())?.trim() ?? '';
  expect(code).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/);
  await onRecovery?.();
  await page.getByLabel('I have written the recovery code down').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { name: 'Sensors' })).toBeVisible();
  return code;
}

/** Demo mode: adds a simulated sensor, types the code from its label, names it. Returns its device id. */
export async function pairSimulatedSensor(page: Page, name: string, onCode?: () => Promise<void>, onIdentity?: () => Promise<void>): Promise<string> {
  await page.getByRole('link', { name: 'Add a simulated sensor' }).click();
  const label = page.getByRole('region', { name: 'Label of the simulated sensor' });
  await expect(label).toBeVisible({ timeout: 10_000 });
  const setupCode = (await label.locator('.setup-code').textContent())?.trim() ?? '';
  expect(setupCode).toMatch(/^\d{4}-\d{4}-\d$/);
  await page.getByLabel('Setup code (9 digits on the sensor’s label)').fill(setupCode);
  await onCode?.();
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'The sensor proved who it is' })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText('Vitalock Simulator', { exact: true })).toBeVisible();
  await onIdentity?.();
  await page.getByLabel('Name (optional)').fill(name);
  await page.getByLabel('Patient (optional)').fill('Bed 4');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Paired.')).toBeVisible();
  const href = await page.getByRole('link', { name: 'See live values' }).getAttribute('href');
  const deviceId = /#\/sensor\/([0-9A-F]{16})$/.exec(href ?? '')?.[1];
  expect(deviceId).toBeDefined();
  return deviceId as string;
}

/** The newest value and reading time of a vital on screen (a `vl-vital-tile`, by its name). */
export async function tileReading(page: Page, vital: string): Promise<{ value: string; time: number } | undefined> {
  const tile = page.locator('vl-vital-tile', { has: page.getByRole('group', { name: vital, exact: true }) }).first();
  const time = await tile.getAttribute('data-reading-time');
  if (time === null) return undefined;
  const value = (await tile.locator('.value > span').first().textContent())?.trim() ?? '';
  return { value, time: Number(time) };
}

export async function unlock(page: Page): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Unlock Vitalock' })).toBeVisible({ timeout: 15_000 });
  await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Unlock' }).click();
  // The app returns to the screen it was on (the route is in the URL).
  await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible({ timeout: 20_000 });
}

/** How many readings of a sensor the vault holds in a time range (asked through the app's own vault session). */
export async function storedReadings(page: Page, deviceId: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): Promise<number> {
  return page.evaluate(
    async ({ id, from, to }) => {
      const app = document.querySelector('vl-app') as unknown as { vault: { vault: { history(id: string, from: number, to: number): Promise<unknown[]> } } };
      return (await app.vault.vault.history(id, from, to)).length;
    },
    { id: deviceId, from: fromMs, to: toMs },
  );
}
