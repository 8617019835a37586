/**
 * A browser without Web Bluetooth (as iOS Safari or Firefox): Chromium launched without the
 * Web Bluetooth flag, so `navigator.bluetooth` is really absent. The app says so in plain words,
 * offers no Bluetooth button (no dead buttons), and history and both exports still work — here
 * with readings from a simulated sensor.
 */
import { chromium } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { CHROMIUM_ARGS, chromiumExecutablePath } from './support/chromium.js';
import { createVault, expect, expectAccessible, pairSimulatedSensor, screenshot, test, tileReading } from './support/app-fixtures.js';

test('no Web Bluetooth: a plain message, no Bluetooth button, history and export work', async ({ appUrl }) => {
  test.setTimeout(120_000);
  const executablePath = chromiumExecutablePath();
  const browser = await chromium.launch({
    ...(executablePath !== undefined ? { executablePath } : {}),
    args: CHROMIUM_ARGS.filter((a) => a !== '--enable-experimental-web-platform-features'),
  });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(`${appUrl}/`);
    expect(await page.evaluate(() => 'bluetooth' in navigator)).toBe(false);
    await createVault(page);
    await expect(page.getByText('This browser cannot connect to Bluetooth sensors.')).toBeVisible();
    await expect(page.getByRole('link', { name: 'Pair a Bluetooth sensor' })).toHaveCount(0);
    await expectAccessible(page, 'sensors without Web Bluetooth (phone, dark)');
    await screenshot(page, '11-no-bluetooth-phone-dark');

    const deviceId = await pairSimulatedSensor(page, 'Home monitor');
    await expect(page.getByRole('button', { name: 'Choose a Bluetooth sensor' })).toHaveCount(0);
    await page.getByRole('link', { name: 'See live values' }).click();
    await expect.poll(async () => (await tileReading(page, 'Heart rate'))?.value, { timeout: 30_000 }).toMatch(/^\d+$/);
    await page.waitForTimeout(2_000);
    await expectAccessible(page, 'live view (phone, dark)');
    await screenshot(page, '12-live-view-phone-dark');

    await page.getByRole('navigation').getByRole('link', { name: 'History' }).click();
    await expect(page.locator(`tr[data-code="147842"]`).first()).toBeVisible({ timeout: 15_000 });
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = await readFile(await csvDownload.path(), 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('time_utc,sensor,sensor_name,seq,measurement,mdc_code,value,unit_ucum,questionable');
    expect(lines.some((l) => l.includes(`,${deviceId},Home monitor,`) && l.includes(',Heart rate,147842,'))).toBe(true);

    const [fhirDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export FHIR (JSON)' }).click()]);
    expect(fhirDownload.suggestedFilename()).toMatch(/\.fhir\.json$/);
    const bundle = JSON.parse(await readFile(await fhirDownload.path(), 'utf8')) as { resourceType: string; entry: { resource: { code: { coding: { code: string }[] }; valueQuantity?: { code: string } } }[] };
    expect(bundle.resourceType).toBe('Bundle');
    const heartRate = bundle.entry.find((e) => e.resource.code.coding[0]?.code === '8867-4');
    expect(heartRate?.resource.valueQuantity?.code).toBe('/min');
    await expect(page.getByText(/Exported \d+ FHIR Observations/)).toBeVisible();
    await expectAccessible(page, 'history (phone, dark)');
    await screenshot(page, '13-history-phone-dark');
    await context.close();
  } finally {
    await browser.close();
  }
});
