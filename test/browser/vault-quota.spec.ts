/**
 * Storage full with real IndexedDB (docs/vault.md §3.2): Chromium's per-origin quota override
 * (CDP `Storage.overrideQuotaForOrigin`) makes the vault's writes fail with QuotaExceededError.
 *
 * What it takes in this Chromium (measured with Debian's 156): the override alone is not enough.
 * IndexedDB keeps the space an origin has left from its last question to the quota manager and
 * checks writes against that figure; an override set after the first write was first seen about
 * 30 s later (writes of 100 kB every 2 s: refused from 30 s on), unless a write larger than the
 * figure makes IndexedDB ask again. So: a modest quota (8 MB) before the first write, then the
 * tiny quota, then one write larger than 8 MB in a test-only database — refused, and from then
 * on every write sees the tiny quota. Removing the override (no `quotaSize`) is seen at once.
 * `navigator.storage.estimate()` ignores the override (it reports usage + ~10 GiB throughout).
 */
import { expect, test } from '@playwright/test';

const PASSPHRASE = 'correct horse battery staple';
const MODEST_QUOTA = 8 * 1024 * 1024;

test('storage full: nothing acknowledged or lost, the UI and the log are told; once space is back, the retry stores everything', async ({ page }) => {
  await page.goto('/vault.html');
  await page.waitForFunction(() => window.vaultTest !== undefined && window.vaultTestReady);
  const cdp = await page.context().newCDPSession(page);
  const origin = await page.evaluate(() => window.vaultTest.origin());
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: MODEST_QUOTA });
  await page.evaluate(() => window.vaultTest.start());
  await page.evaluate((p) => window.vaultTest.create(p), PASSPHRASE);
  await page.evaluate(() => window.vaultTest.pair());
  await page.evaluate(() => window.vaultTest.stream(0, 500));
  expect(await page.evaluate(() => window.vaultTest.storageFullFlags())).toEqual([false]);

  // The disk is full.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1 });
  expect(await page.evaluate((n) => window.vaultTest.probeWrite(n), MODEST_QUOTA + 1024 * 1024)).toBe('QuotaExceededError');

  // A burst of 100 readings (one READINGS message, so one storage batch), then nothing new: a
  // spot-check device, or a sensor between measurements.
  await page.evaluate(() => window.vaultTest.record(500, 100));
  await page.evaluate(() => window.vaultTest.waitStorageFull(true));
  await page.waitForTimeout(500); // time enough for any (wrong) acknowledgement to arrive
  const full = await page.evaluate(() => window.vaultTest.sensor());
  // Nothing acknowledged while full, so the sensor keeps every reading it took since.
  expect(full).toEqual({ lastSeq: 600, acked: 500, held: 100 });
  expect(await page.evaluate(() => window.vaultTest.probeWrite(1))).toBe('QuotaExceededError');

  // Space again; the pipeline's retry (STORE_RETRY_MS = 30 s on the worker's clock) must store
  // the lot without the sensor measuring anything new. Soft checks, so one run reports each defect.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await page.evaluate(() => window.vaultTest.advanceClock(31_000));
  await page.evaluate(() => window.vaultTest.waitStorageFull(false));
  expect(await page.evaluate(() => window.vaultTest.storageFullFlags())).toEqual([false, true, false]);
  await expect
    .soft(async () => expect(await page.evaluate(() => window.vaultTest.sensor())).toEqual({ held: 0, lastSeq: 600, acked: 600 }), 'after the retry, everything stored and acknowledged')
    .toPass({ timeout: 5_000 });
  expect.soft((await page.evaluate(() => window.vaultTest.historySeqs())).length, 'readings stored after the retry').toBe(600);
  // The event is logged while storage is full; it must not be lost with the write that failed.
  expect.soft(await page.evaluate(() => window.vaultTest.securityKinds()), 'the security log').toContain('storage-full');

  // Whatever the retry did: one new reading, and the history is complete — nothing lost, no duplicate.
  await page.evaluate(() => window.vaultTest.stream(600, 1));
  expect(await page.evaluate(() => window.vaultTest.sensor())).toEqual({ held: 0, lastSeq: 601, acked: 601 });
  expect(await page.evaluate(() => window.vaultTest.historySeqs())).toEqual(Array.from({ length: 601 }, (_, i) => i + 1));
});
