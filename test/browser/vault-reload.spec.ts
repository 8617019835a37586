/**
 * The app's tab reloaded mid-stream (docs/vault.md §3.2): the reference sensor runs in a second
 * tab of the same context (sensor.html), linked to the app's tab (vault-app.html, the real vault
 * worker) over a BroadcastChannel, so it outlives the reload as a real sensor outlives the app.
 */
import { expect, test } from '@playwright/test';

const PASSPHRASE = 'correct horse battery staple';

test('app tab reloaded mid-stream: restart, unlock, reconnect (KK), backfill — history 1..N with no gap and no duplicate', async ({ page: app, context }) => {
  const link = crypto.randomUUID();
  const query = `link=${link}&db=vitalock-vault-reload-${link.slice(0, 8)}`;
  const sensor = await context.newPage();
  await sensor.goto(`/sensor.html?link=${link}`);
  await sensor.waitForFunction(() => window.sensorTestReady === true);
  const trustRoot = await sensor.evaluate(() => window.sensorTest.trustRoot());
  const deviceId = await sensor.evaluate(() => window.sensorTest.deviceId());
  const setupCode = await sensor.evaluate(() => window.sensorTest.setupCode());
  const sensorState = () => sensor.evaluate(() => window.sensorTest.state());

  await app.goto(`/vault-app.html?${query}`);
  await app.waitForFunction(() => window.vaultAppReady === true);
  await app.evaluate((r) => window.vaultApp.start(r), trustRoot);
  await app.evaluate((p) => window.vaultApp.create(p), PASSPHRASE);
  await sensor.evaluate(() => window.sensorTest.openPairingWindow());
  await app.evaluate((c) => window.vaultApp.pair(c), setupCode);
  expect(await sensorState()).toMatchObject({ bonds: 1, connected: true });

  await sensor.evaluate(() => window.sensorTest.record(0, 1_000));
  await sensor.waitForFunction(() => window.sensorTest.state().acked === 1_000, undefined, { polling: 20, timeout: 20_000 });

  // The sensor measures 6 000 more over about 3 s (50 every 25 ms); the app's tab reloads on the way.
  await sensor.evaluate(() => window.sensorTest.measure(1_000, 6_000, 50, 25));
  await sensor.waitForFunction(() => window.sensorTest.state().acked >= 1_500, undefined, { polling: 5, timeout: 20_000 });
  await app.reload();
  const cut = await sensorState();
  console.log(`  reloaded with ${cut.acked} of ${cut.lastSeq} acknowledged`);
  expect(cut.acked).toBeLessThan(7_000); // really mid-stream
  expect(cut.held).toBe(cut.lastSeq - cut.acked);
  expect(cut.held).toBeGreaterThan(0);

  await app.waitForFunction(() => window.vaultAppReady === true);
  await app.evaluate((r) => window.vaultApp.start(r), trustRoot);
  expect(await app.evaluate(() => window.vaultApp.state())).toMatchObject({ exists: true, unlocked: false });
  expect(await app.evaluate((p) => window.vaultApp.unlock(p), PASSPHRASE)).toBe(true);
  await app.evaluate((id) => window.vaultApp.reconnect(id), deviceId);
  const after = await sensorState();
  expect(after.lastSeq).toBeGreaterThan(cut.lastSeq); // it measured while the app was away
  await sensor.waitForFunction(() => !window.sensorTest.state().measuring && window.sensorTest.state().held === 0, undefined, { polling: 20, timeout: 30_000 });
  expect(await sensorState()).toMatchObject({ held: 0, lastSeq: 7_000, acked: 7_000, connected: true, bonds: 1 });
  // This page stored at least everything measured after the cut (the old one may have committed
  // a little past the last ACK the sensor saw: backfill skips that part, exactly once in storage).
  await expect.poll(() => app.evaluate(() => window.vaultApp.storedSinceLoad())).toBeGreaterThanOrEqual(7_000 - cut.lastSeq);
  expect(await app.evaluate((id) => window.vaultApp.historySeqs(id), deviceId)).toEqual(Array.from({ length: 7_000 }, (_, i) => i + 1));
});
