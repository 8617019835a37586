/**
 * The installable, offline app (issue 4 §4): after one visit the service worker has precached
 * the shell, so with the network off (`context.setOffline(true)`) a reload still opens the app;
 * it unlocks and keeps recording from the simulated sensor (nothing of that needs a network).
 */
import { createVault, expect, pairSimulatedSensor, storedReadings, test, tileReading, unlock } from './support/app-fixtures.js';

test('offline reload: the app opens from the service worker, unlocks and keeps recording', async ({ app: page, context }) => {
  test.setTimeout(120_000);
  await createVault(page);
  const deviceId = await pairSimulatedSensor(page, 'Clinic monitor');
  await page.getByRole('link', { name: 'See live values' }).click();
  await expect.poll(async () => (await tileReading(page, 'Heart rate'))?.value, { timeout: 30_000 }).toMatch(/^\d+$/);

  // The service worker is active and the whole shell is in its precache.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    let count = 0;
    for (const name of names) count += (await (await caches.open(name)).keys()).length;
    return count;
  });
  expect(cached).toBeGreaterThanOrEqual(10);
  const persisted = await page.evaluate(() => navigator.storage.persisted());
  console.log(`  precached entries: ${cached}; storage persisted: ${persisted}`);

  await context.setOffline(true);
  const offlineAt = Date.now();
  await page.reload();
  await unlock(page);
  await expect(page.getByText('Offline — recording continues')).toBeVisible();
  await page.goto(`${new URL(page.url()).origin}/#/sensor/${deviceId}`);
  // New readings after the offline reload: the sensor reconnected and the vault stores them.
  await expect
    .poll(async () => (await tileReading(page, 'Heart rate'))?.time ?? 0, { timeout: 30_000 })
    .toBeGreaterThan(offlineAt);
  expect(await storedReadings(page, deviceId, offlineAt)).toBeGreaterThan(0);
  // And the lazily loaded screens come from the precache too.
  await page.getByRole('navigation').getByRole('link', { name: 'History' }).click();
  await expect(page.getByRole('button', { name: 'Export CSV' })).toBeVisible({ timeout: 15_000 });
  await context.setOffline(false);
});
