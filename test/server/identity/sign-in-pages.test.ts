// The sign-in interaction as a person meets it: accessible forms without script, CSRF and origin
// checks, plain-language errors, lockout and per-address limits through the forms, accounts
// without a second factor or disabled, cancelling, and disabling an account revoking its grants.
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../server/db/database.js';
import { createAccount, disableAccount, enrolTotp, type AccountContext } from '../../../server/identity/accounts.js';
import { FREE_FAILURES } from '../../../server/identity/login-throttle.js';
import { decodeBase32, totp } from '../../../server/identity/totp.js';
import { ENGINES } from './support/engines.js';
import { APP_CLIENT, Browser, exchangeCode, follow, insecure, signInThroughForms, startAuthorization, startServer, type Credentials, type TestServer } from './support/identity-server.js';
import { RecordingAudit } from './support/recording-audit.js';

for (const engine of ENGINES) {
  describe.skipIf(engine.skip !== undefined)(`sign-in pages on ${engine.name}`, () => {
    let db: Database;
    let server: TestServer;
    let ctx: AccountContext;
    const identityKey = new Uint8Array(randomBytes(32));

    async function person(username: string, withTotp = true): Promise<Credentials & { id: string }> {
      const password = `the passphrase of ${username}`;
      const a = await createAccount(ctx, { username, displayName: username, password, roles: ['clinician'] });
      const seed = withTotp ? decodeBase32((await enrolTotp(ctx, a.id)).secret) : new Uint8Array(20);
      return { id: a.id, username, password, totpSeed: seed };
    }

    /** Opens the login page of a fresh authorization; returns the browser and the page. */
    async function loginPage(s = server) {
      const browser = new Browser();
      const auth = await startAuthorization(s.origin);
      const page = await follow(browser, s.origin, await browser.fetch(auth.url));
      if (page instanceof URL) throw new Error('expected a page');
      return { browser, auth, html: await page.text(), status: page.status };
    }

    beforeAll(async () => {
      db = await engine.open();
      ctx = { db, identityKey, audit: new RecordingAudit() };
      server = await startServer(db, identityKey, { addressLimit: { attempts: 1000, windowSeconds: 300 } });
    });
    afterAll(async () => {
      await server.close();
      await db.close();
    });

    it('serves accessible forms with no script and no inline style, and a stylesheet with 48 px targets', async () => {
      const { html, status } = await loginPage();
      expect(status).toBe(200);
      expect(html).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
      expect(html).toContain('<html lang="en">');
      for (const id of ['username', 'password']) {
        expect(html).toContain(`<label for="${id}">`);
        expect(html).toMatch(new RegExp(`id="${id}"[^>]*autocomplete="(username|current-password)"`));
      }
      const css = await fetch(`${server.origin}/oidc/assets/sign-in.css`);
      expect(css.headers.get('content-type')).toMatch(/text\/css/);
      expect(await css.text()).toMatch(/button\{[^}]*min-height:48px/);
    });

    it('refuses a post with a wrong CSRF token, without the interaction cookie, or from another site', async () => {
      const who = await person('csrf.test');
      const { browser, html } = await loginPage();
      const forged = html.replace(/name="csrf" value="[^"]+"/, 'name="csrf" value="forged"');
      const r1 = await browser.submit(server.origin, forged, '/login', { username: who.username, password: who.password });
      expect(r1.status).toBe(400);
      expect(await r1.text()).toContain('This sign-in page has expired');
      const r2 = await new Browser().submit(server.origin, html, '/login', { username: who.username, password: who.password });
      expect(r2.status).toBe(400);
      const r3 = await browser.submit(server.origin, html, '/login', { username: who.username, password: who.password }, { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' } });
      expect(r3.status).toBe(400);
      const r4 = await browser.submit(server.origin, html, '/login', { username: who.username, password: who.password }, { headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' } });
      expect(r4.status).toBe(400);
      // The genuine post still works after all that.
      const ok = await browser.submit(server.origin, html, '/login', { username: who.username, password: who.password });
      expect(ok.status).toBe(303);
    });

    it('says plainly when the password is wrong, the same for unknown users and disabled accounts', async () => {
      const who = await person('wrong.pw');
      const off = await person('disabled.one');
      await disableAccount(ctx, off.id);
      const bodies: string[] = [];
      for (const [username, password] of [[who.username, 'not the passphrase'], ['nobody.exists', 'whatever it is'], [off.username, off.password]] as const) {
        const { browser, html } = await loginPage();
        const res = await browser.submit(server.origin, html, '/login', { username, password });
        expect(res.status).toBe(400);
        bodies.push((await res.text()).replace(/interaction\/[^/]+\//g, '').replace(/value="[^"]*"/g, ''));
      }
      expect(bodies[0]).toContain('The username or password is not right. Check both and try again.');
      expect(new Set(bodies).size).toBe(1);
      const failures = server.audit.events.filter((e) => e.action === 'auth.sign-in-failed');
      expect(failures.length).toBeGreaterThanOrEqual(3);
      expect(JSON.stringify(failures)).not.toMatch(/not the passphrase|whatever it is|nobody\.exists/);
    });

    it('locks the username after repeated failures: even the right password waits', async () => {
      const who = await person('locked.out');
      for (let i = 0; i < FREE_FAILURES; i++) {
        const { browser, html } = await loginPage();
        expect((await browser.submit(server.origin, html, '/login', { username: who.username, password: `guess number ${i}` })).status).toBe(400);
      }
      const { browser, html } = await loginPage();
      const res = await browser.submit(server.origin, html, '/login', { username: who.username, password: who.password });
      expect(res.status).toBe(429);
      expect(await res.text()).toMatch(/Too many failed attempts for this username\. Wait 1 minute, then try again\./);
      expect(server.audit.events.some((e) => e.action === 'auth.locked-out')).toBe(true);
    });

    it('wrong TOTP codes count as failures; a reused code is refused; cancel returns access_denied', async () => {
      const who = await person('totp.user');
      const { browser, html } = await loginPage();
      const codePage = await follow(browser, server.origin, await browser.submit(server.origin, html, '/login', { username: who.username, password: who.password }));
      if (codePage instanceof URL) throw new Error('expected the code page');
      const codeHtml = await codePage.text();
      expect(codeHtml).toMatch(/autocomplete="one-time-code"/);
      const wrong = await browser.submit(server.origin, codeHtml, '/totp', { code: '000000' === totp(who.totpSeed, Date.now() / 1000) ? '111111' : '000000' });
      expect(wrong.status).toBe(400);
      expect(await wrong.text()).toContain('That code is not right, or it was already used.');
      expect(server.audit.events.some((e) => e.action === 'auth.second-factor-failed')).toBe(true);
      const cancelled = await follow(browser, server.origin, await browser.submit(server.origin, codeHtml, '/abort', {}));
      expect(cancelled).toBeInstanceOf(URL);
      expect((cancelled as URL).searchParams.get('error')).toBe('access_denied');

      // A code used once cannot sign in again.
      const auth = await startAuthorization(server.origin);
      const fixed = Math.floor(Date.now() / 1000);
      const at = () => fixed; // the same code twice, even if a 30 s step ends between the two
      await signInThroughForms(server.origin, auth, who, new Browser(), at);
      await expect(signInThroughForms(server.origin, await startAuthorization(server.origin), who, new Browser(), at)).rejects.toThrow(/expected a redirect to the app, got 400/);
    });

    it('an account without a second factor sets up its authenticator at first sign-in', async () => {
      const who = await person('first.time', false);
      const { browser, html } = await loginPage();
      const enrol = await follow(browser, server.origin, await browser.submit(server.origin, html, '/login', { username: who.username, password: who.password }));
      if (enrol instanceof URL) throw new Error('expected the set-up page');
      const enrolHtml = await enrol.text();
      expect(enrolHtml).toContain('Set up your authenticator app');
      expect(enrolHtml).not.toMatch(/<script|\sstyle=/i);
      const key = /<code class="key"[^>]*>([A-Z2-7 ]+)<\/code>/.exec(enrolHtml)?.[1] ?? '';
      const seed = decodeBase32(key);
      expect(seed).toHaveLength(20);
      expect(enrolHtml).toContain(`otpauth://totp/Vitalock:first.time?secret=${key.replace(/ /g, '')}`);
      // Nothing is stored until a code proves the app holds the key.
      expect((await db.query<{ s: unknown }>('SELECT totp_secret AS s FROM identity_accounts WHERE id = $1', [who.id])).rows[0]?.s).toBeNull();
      const wrong = await browser.submit(server.origin, enrolHtml, '/enrol', { code: totp(seed, Date.now() / 1000 - 300) });
      expect(wrong.status).toBe(400);
      expect(await wrong.text()).toContain('That code does not match the key.');
      const done = await follow(browser, server.origin, await browser.submit(server.origin, enrolHtml, '/enrol', { code: totp(seed, Date.now() / 1000) }));
      expect(done).toBeInstanceOf(URL);
      expect((done as URL).searchParams.get('code')).toBeTruthy();
      // From now on the account signs in with that authenticator.
      const again = await startAuthorization(server.origin);
      const callback = await signInThroughForms(server.origin, again, { ...who, totpSeed: seed }, new Browser(), () => Math.floor(Date.now() / 1000) + 30);
      expect(callback.searchParams.get('code')).toBeTruthy();
      expect(server.audit.events.some((e) => e.action === 'auth.sign-in' && e.actor === who.id)).toBe(true);
    });

    it('with enrolment at sign-in turned off, refuses an account without a second factor, saying what to do', async () => {
      const strict = await startServer(db, identityKey, { enrolSecondFactorAtSignIn: false, addressLimit: { attempts: 1000, windowSeconds: 300 } });
      try {
        const who = await person('no.second', false);
        const { browser, html } = await loginPage(strict);
        const res = await browser.submit(strict.origin, html, '/login', { username: who.username, password: who.password });
        expect(res.status).toBe(403);
        expect(await res.text()).toContain('Ask your administrator to set one up');
      } finally {
        await strict.close();
      }
    });

    it('a shared device: the next authorization in the same browser asks for credentials again', async () => {
      const who = await person('shared.tablet');
      const browser = new Browser();
      await signInThroughForms(server.origin, await startAuthorization(server.origin), who, browser);
      const next = await follow(browser, server.origin, await browser.fetch((await startAuthorization(server.origin)).url));
      expect(next).not.toBeInstanceOf(URL);
      expect(await (next as Response).text()).toContain('autocomplete="current-password"');
      // The next nurse signs in on the same browser and gets tokens of her own, not the last user's.
      const other = await person('shared.tablet2');
      const auth = await startAuthorization(server.origin);
      const { response } = await exchangeCode(auth, await signInThroughForms(server.origin, auth, other, browser));
      const claims = JSON.parse(Buffer.from(response.access_token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string };
      expect(claims.sub).toBe(other.id);
      expect(claims.sub).not.toBe(who.id);
    });

    it('disabling an account revokes its refresh tokens', async () => {
      const who = await person('to.disable');
      const auth = await startAuthorization(server.origin);
      const { dpop, response } = await exchangeCode(auth, await signInThroughForms(server.origin, auth, who));
      await disableAccount(ctx, who.id);
      const res = await oauth.refreshTokenGrantRequest(auth.as, APP_CLIENT, oauth.None(), response.refresh_token ?? '', { DPoP: dpop, ...insecure });
      await expect(oauth.processRefreshTokenResponse(auth.as, APP_CLIENT, res)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('limits sign-in posts per address', async () => {
      // A fixed clock, so the test never straddles the end of a window.
      const limited = await startServer(db, identityKey, { addressLimit: { attempts: 3, windowSeconds: 300 } }, () => new Date('2026-03-01T10:01:00Z'));
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) {
          const { browser, html } = await loginPage(limited);
          const res = await browser.submit(limited.origin, html, '/login', { username: 'some.body', password: 'some password here' });
          statuses.push(res.status);
          if (i === 3) expect(await res.text()).toContain('Too many sign-in attempts from this network.');
        }
        expect(statuses).toEqual([400, 400, 400, 429]);
      } finally {
        await limited.close();
      }
    });
  });
}
