/**
 * Playwright fixtures for the browser suites:
 *
 * - `harness`: a page on test/browser/pages/harness.html, with `window.harness` ready.
 * - `virtualAuthenticator`: a CDP WebAuthn virtual authenticator (CTAP2, internal, resident keys,
 *   user verification, PRF) on the test's page; removed afterwards.
 * - `bluetoothEmulation`: the browser-wide CDP session with `BluetoothEmulation` enabled
 *   (powered on, LE supported); disabled afterwards, so the next test starts without peripherals.
 *   One emulation per browser, hence one worker (playwright.config.ts).
 */
import { test as base, expect, type CDPSession, type Page } from '@playwright/test';

export interface VirtualAuthenticator {
  readonly cdp: CDPSession;
  readonly authenticatorId: string;
}

export interface BluetoothEmulation {
  /** A browser-level CDP session: only there does the BluetoothEmulation domain exist. */
  readonly cdp: CDPSession;
}

export async function openHarness(page: Page): Promise<Page> {
  await page.goto('/harness.html');
  await page.waitForFunction(() => window.harnessReady === true);
  return page;
}

export const test = base.extend<{ harness: Page; virtualAuthenticator: VirtualAuthenticator; bluetoothEmulation: BluetoothEmulation }>({
  harness: async ({ page }, use) => {
    await use(await openHarness(page));
  },
  virtualAuthenticator: async ({ page }, use) => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        hasPrf: true,
        automaticPresenceSimulation: true,
      },
    });
    await use({ cdp, authenticatorId });
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId }).catch(() => undefined);
    await cdp.detach().catch(() => undefined);
  },
  bluetoothEmulation: async ({ browser }, use) => {
    const cdp = await browser.newBrowserCDPSession();
    // Not in Playwright's protocol typings (Chromium-only, experimental): send untyped.
    await cdp.send('BluetoothEmulation.enable' as never, { state: 'powered-on', leSupported: true } as never);
    await use({ cdp });
    await cdp.send('BluetoothEmulation.disable' as never).catch(() => undefined);
    await cdp.detach().catch(() => undefined);
  },
});

export { expect };
