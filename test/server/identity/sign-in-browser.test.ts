// The sign-in pages in real Chromium, inside the whole server (helmet's strict CSP): axe finds no
// accessibility violation, the CSP blocks nothing, targets are at least 48 px, and a first-time
// user types the set-up key into an "authenticator" (the test) and lands back in the app.
// PGlite only: this is about the pages, not the engine (the engines are covered by the other suites).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser as Chromium } from '@playwright/test';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../server/app.js';
import { AuditLog } from '../../../server/audit/audit-log.js';
import { generateMasterKey, LocalKeyProvider } from '../../../server/crypto/key-provider.js';
import { accountDirectory, createAccount, identityForApp, type EmbeddedIdentityConfig } from '../../../server/identity/index.js';
import { createLogger } from '../../../server/logging.js';
import { decodeBase32, totp } from '../../../server/identity/totp.js';
import { CHROMIUM_ARGS, chromiumExecutablePath } from '../../browser/support/chromium.js';
import { ENGINES } from './support/engines.js';
import { freePort, startAuthorization } from './support/identity-server.js';

const executablePath = chromiumExecutablePath();
const noBrowser = executablePath === undefined && !existsSync(chromium.executablePath()) ? 'no Chromium here (set CHROMIUM_PATH or install Debian chromium)' : undefined;
if (noBrowser !== undefined) console.warn(`[identity tests] browser sign-in skipped: ${noBrowser}`);

describe.skipIf(noBrowser !== undefined)('sign-in pages in Chromium', () => {
  let app: FastifyInstance;
  let origin: string;
  let browser: Chromium;
  const password = 'a passphrase typed in a browser';

  beforeAll(async () => {
    const db = await ENGINES[0]!.open();
    const keys = new LocalKeyProvider(generateMasterKey());
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    const config: EmbeddedIdentityConfig = { kind: 'embedded', origin, identityKey: new Uint8Array(randomBytes(32)) };
    const accountCtx = { db, identityKey: config.identityKey, audit: new AuditLog(db, keys) };
    await createAccount(accountCtx, { username: 'nurse.flo', displayName: 'Florence', password, roles: ['nurse'] });
    app = await buildApp({ db, keys, identity: identityForApp(db, config), accounts: accountDirectory(accountCtx), logger: createLogger({ level: 'silent' }) });
    await app.listen({ host: '127.0.0.1', port });
    browser = await chromium.launch({ ...(executablePath !== undefined ? { executablePath } : {}), args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('is accessible, CSP-clean, and takes a first-time user through set-up back to the app', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const auth = await startAuthorization(origin);
    await page.goto(auth.url.href);
    await expect.poll(() => page.title()).toBe('Sign in – Vitalock');
    expect((await new AxeBuilder({ page }).analyze()).violations.map((v) => v.id)).toEqual([]);
    for (const selector of ['#username', '#password', 'button[type=submit] >> nth=0']) {
      expect((await page.locator(selector).boundingBox())?.height ?? 0, selector).toBeGreaterThanOrEqual(48);
    }
    await page.getByLabel('Username').fill('nurse.flo');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.title()).toBe('Set up your authenticator app – Vitalock');
    expect((await new AxeBuilder({ page }).analyze()).violations.map((v) => v.id)).toEqual([]);
    const key = (await page.locator('code.key').textContent()) ?? '';
    await page.getByLabel('6-digit code').fill(totp(decodeBase32(key), Date.now() / 1000));
    const toApp = page.waitForRequest((r) => r.url().startsWith(`${origin}/auth/callback?`));
    await page.getByRole('button', { name: 'Finish setting up and sign in' }).click();
    const callback = new URL((await toApp).url());
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe(auth.state);
    expect(problems.filter((p) => /Content Security Policy|Refused/i.test(p))).toEqual([]);
    await context.close();
  });
});
