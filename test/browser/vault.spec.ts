/**
 * The vault worker in real Chromium (docs/vault.md): real module worker, real IndexedDB, the
 * app's own client, the reference sensor in the page.
 */
import { expect, test } from '@playwright/test';

test.describe('vault worker', () => {
  test.beforeEach(async ({ page }) => {
    await page.goto('/vault.html');
    await page.waitForFunction(() => window.vaultTest !== undefined && window.vaultTestReady);
  });

  test('terminated mid-stream: after restart and unlock, backfill leaves history with no gap and no duplicate', async ({ page }) => {
    await page.evaluate(() => window.vaultTest.start());
    const code = await page.evaluate(() => window.vaultTest.create('correct horse battery staple'));
    expect(code).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/);
    await page.evaluate(() => window.vaultTest.pair());
    await page.evaluate(() => window.vaultTest.stream(0, 2_000));
    // More readings, and the worker dies while they are in flight.
    await page.evaluate(async () => {
      const done = window.vaultTest.stream(2_000, 3_000, 2_500);
      await done;
      window.vaultTest.terminate();
    });
    const before = await page.evaluate(() => window.vaultTest.sensor());
    expect(before.held).toBeGreaterThan(0); // unacknowledged readings wait on the sensor
    await page.evaluate(() => window.vaultTest.start());
    expect(await page.evaluate(() => window.vaultTest.state())).toMatchObject({ exists: true, unlocked: false });
    expect(await page.evaluate(() => window.vaultTest.unlock('wrong passphrase'))).toBe(false);
    expect(await page.evaluate(() => window.vaultTest.unlock('correct horse battery staple'))).toBe(true);
    await page.evaluate(() => window.vaultTest.reconnect());
    const seqs = await page.evaluate(() => window.vaultTest.historySeqs());
    expect(seqs).toEqual(Array.from({ length: 5_000 }, (_, i) => i + 1));
  });

  test('no key material ever appears in a message the worker posts to the page', async ({ page }) => {
    await page.evaluate(() => window.vaultTest.start());
    const code = await page.evaluate(() => window.vaultTest.create('correct horse battery staple'));
    await page.evaluate(() => window.vaultTest.pair());
    await page.evaluate(() => window.vaultTest.stream(0, 1_000));
    await page.evaluate(() => window.vaultTest.historySeqs());
    const secrets = await page.evaluate((c) => window.vaultTest.secretsFromRecoveryCode(c), code);
    expect(secrets).toHaveLength(3);
    const text = await page.evaluate(() => window.vaultTest.capturedText());
    // Replies, fragments for the sensor (ACKs), view batches and bond views, on the worker's port
    // and on comlink's callback port: the scan covers real traffic (fragments arrive in batches,
    // so a thousand readings make a few dozen messages, not thousands).
    expect(await page.evaluate(() => window.vaultTest.capturedCount())).toBeGreaterThan(10);
    expect(text.length).toBeGreaterThan(10_000);
    for (const secret of secrets) {
      for (let i = 0; i + 32 <= secret.length; i += 16) expect(text.includes(secret.slice(i, i + 32))).toBe(false);
    }
    // The scan sees data: the device id is in the bond views it captured.
    const deviceId = await page.evaluate(() => window.vaultTest.deviceId.toLowerCase());
    expect(text).toContain(deviceId);
  });
});
