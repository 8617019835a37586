/**
 * Passkeys in the built app (docs/vault.md §1.3): first run with a passphrase and a passkey
 * (WebAuthn PRF, a CDP virtual authenticator with PRF), then after a reload the vault opens with
 * the passkey alone; the recovery code opens it too, and a wrong passphrase says how to go on.
 */
import { createVault, expect, test } from './support/app-fixtures.js';

test('first run with a passkey; after a reload the passkey unlocks, and so does the recovery code', async ({ app: page }) => {
  test.setTimeout(90_000);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, hasPrf: true, automaticPresenceSimulation: true },
  });
  try {
    // The helper fills both passphrase fields; tick the passkey box before it submits.
    await page.getByLabel(/Also unlock with a passkey/).check();
    const recoveryCode = await createVault(page);
    await page.getByRole('link', { name: 'Settings' }).click();
    await expect(page.getByText('Vitalock passkey')).toBeVisible();

    await page.reload();
    await expect(page.getByRole('heading', { name: 'Unlock Vitalock' })).toBeVisible({ timeout: 15_000 });
    // A wrong passphrase: a plain answer, and the app stays locked.
    await page.getByLabel('Passphrase', { exact: true }).fill('not the passphrase');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect(page.getByRole('alert')).toContainText('That did not unlock the app.');

    await page.getByRole('button', { name: 'Passkey' }).click();
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible({ timeout: 20_000 });

    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    await page.getByRole('button', { name: 'Recovery code' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCode.toLowerCase().replace(/-/g, ' '));
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible({ timeout: 20_000 });
  } finally {
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId }).catch(() => undefined);
  }
});
