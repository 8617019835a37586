/**
 * Passkeys in the real vault (docs/vault.md §1.3): WebAuthn with the PRF extension on the CDP
 * virtual authenticator, through the app's client, against the real vault worker.
 */
import { expect, test } from './support/fixtures.js';

const PASSPHRASE = 'correct horse battery staple';

test('passkey: set up with PRF, unlock with it, wipe the page copy; a wrong PRF output fails; the last daily method stays', async ({ page, virtualAuthenticator }) => {
  await page.goto('/vault.html');
  await page.waitForFunction(() => window.vaultTest !== undefined && window.vaultTestReady);
  await page.evaluate(() => window.vaultTest.start());
  await page.evaluate((p) => window.vaultTest.create(p), PASSPHRASE);

  const added = await page.evaluate(() => window.vaultTest.addPasskey('Test phone'));
  console.log(`  PRF at creation: ${added.prfAtCreate ? 'yes' : 'no (evaluated with get)'}`);
  // The output went to the worker transferred: nothing of it stays in the page.
  expect(added.handedOver).toMatchObject({ detached: true });
  const { credentials } = await virtualAuthenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: virtualAuthenticator.authenticatorId });
  expect(credentials).toHaveLength(1);

  const passkeyId = `passkey:${added.credentialId}`;
  expect(await page.evaluate(() => window.vaultTest.methods())).toEqual([
    { id: 'passphrase', kind: 'passphrase' },
    { id: passkeyId, kind: 'passkey', label: 'Test phone', prfSaltLength: 32 },
    { id: 'recovery', kind: 'recovery' },
  ]);

  await page.evaluate(() => window.vaultTest.lock());
  expect(await page.evaluate(() => window.vaultTest.state())).toMatchObject({ unlocked: false });

  // The right credential, the wrong salt: a PRF output that opens nothing. Wiped all the same.
  const wrong = await page.evaluate((id) => window.vaultTest.unlockWithPasskey(id, 'other'), added.credentialId);
  expect(wrong.before).toEqual({ detached: false, zeroed: false, byteLength: 32 });
  expect(wrong.result).toMatchObject({ ok: false, reason: 'wrong' });
  expect(wrong.after.detached || wrong.after.zeroed).toBe(true);
  expect(await page.evaluate(() => window.vaultTest.state())).toMatchObject({ unlocked: false });

  // The salt stored in the passkey's wrap record: unlocked, and the page's buffer is wiped.
  const right = await page.evaluate((id) => window.vaultTest.unlockWithPasskey(id, 'stored'), added.credentialId);
  expect(right.methodId).toBe(passkeyId);
  expect(right.before).toEqual({ detached: false, zeroed: false, byteLength: 32 });
  expect(right.result).toEqual({ ok: true });
  expect(right.after.detached || right.after.zeroed).toBe(true);
  expect(await page.evaluate(() => window.vaultTest.state())).toMatchObject({ unlocked: true });
  expect(await page.evaluate(() => window.vaultTest.securityKinds())).toContain('passkey-added');

  // With the passkey there, the passphrase can go; then the passkey is the last daily way in.
  expect(await page.evaluate(() => window.vaultTest.removeMethod('passphrase'))).toBeUndefined();
  expect(await page.evaluate(() => window.vaultTest.unlockResult('correct horse battery staple'))).toMatchObject({ ok: false, reason: 'no-such-method' });
  expect(await page.evaluate((id) => window.vaultTest.removeMethod(id), passkeyId)).toMatch(/last passphrase or passkey/);
  expect(await page.evaluate(() => window.vaultTest.removeMethod('recovery'))).toMatch(/replaced, not removed/);
  expect((await page.evaluate(() => window.vaultTest.methods())).map((m) => m.id)).toEqual([passkeyId, 'recovery']);

  // And it still opens the vault.
  await page.evaluate(() => window.vaultTest.lock());
  const again = await page.evaluate((id) => window.vaultTest.unlockWithPasskey(id, 'stored'), added.credentialId);
  expect(again.result).toEqual({ ok: true });
});
