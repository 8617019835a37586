// Identity inside the real server (`buildApp`: helmet's strict CSP, rate limits, the error
// handler, the policy, the hash-chained audit log): the first administrator signs in through the
// forms — setting up an authenticator on the way — and manages accounts over the API with a
// DPoP-bound token; a nurse's token is refused there by the policy, a forged one by identity.
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../server/app.js';
import { AuditLog } from '../../../server/audit/audit-log.js';
import { generateMasterKey, LocalKeyProvider } from '../../../server/crypto/key-provider.js';
import type { Database } from '../../../server/db/database.js';
import { accountDirectory, createAccount, identityForApp, type EmbeddedIdentityConfig } from '../../../server/identity/index.js';
import { createLogger } from '../../../server/logging.js';
import { decodeBase32, totp } from '../../../server/identity/totp.js';
import { ENGINES } from './support/engines.js';
import { Browser, exchangeCode, follow, freePort, insecure, startAuthorization, signInThroughForms, type Tokens } from './support/identity-server.js';

for (const engine of ENGINES) {
  describe.skipIf(engine.skip !== undefined)(`identity in the whole server on ${engine.name}`, () => {
    let db: Database;
    let app: FastifyInstance;
    let origin: string;
    let admin: Tokens;
    const logs: string[] = [];
    const secrets: string[] = [];
    const adminPassword = randomBytes(18).toString('base64url');

    beforeAll(async () => {
      db = await engine.open();
      const keys = new LocalKeyProvider(generateMasterKey());
      const port = await freePort();
      origin = `http://127.0.0.1:${port}`;
      const config: EmbeddedIdentityConfig = { kind: 'embedded', origin, identityKey: new Uint8Array(randomBytes(32)) };
      const accountCtx = { db, identityKey: config.identityKey, audit: new AuditLog(db, keys) };
      await createAccount(accountCtx, { username: 'admin', displayName: 'Administrator', password: adminPassword, roles: ['admin'] });
      secrets.push(adminPassword);
      app = await buildApp({
        db,
        keys,
        identity: identityForApp(db, config),
        accounts: accountDirectory(accountCtx),
        logger: createLogger({ level: 'debug', stream: { write: (line: string) => void logs.push(line) } }),
      });
      await app.listen({ host: '127.0.0.1', port });
    });
    afterAll(async () => app.close());

    it('the first administrator sets up an authenticator at sign-in, under the strict CSP', async () => {
      const browser = new Browser();
      const auth = await startAuthorization(origin);
      const login = await follow(browser, origin, await browser.fetch(auth.url));
      if (login instanceof URL) throw new Error('expected the login page');
      const csp = login.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("form-action 'self'");
      const enrol = await follow(browser, origin, await browser.submit(origin, await login.text(), '/login', { username: 'admin', password: adminPassword }));
      if (enrol instanceof URL) throw new Error('expected the set-up page');
      const html = await enrol.text();
      const key = /<code class="key"[^>]*>([A-Z2-7 ]+)<\/code>/.exec(html)?.[1] ?? '';
      secrets.push(key.replace(/ /g, ''));
      const callback = await follow(browser, origin, await browser.submit(origin, html, '/enrol', { code: totp(decodeBase32(key), Date.now() / 1000) }));
      if (!(callback instanceof URL)) throw new Error(`expected the app, got ${callback.status}`);
      admin = await exchangeCode(auth, callback);
      secrets.push(admin.response.access_token, admin.response.refresh_token ?? '', callback.searchParams.get('code') ?? '');
    });

    it('an admin manages accounts over the API; a nurse is refused by the policy; a forged token by identity', async () => {
      const call = (tokens: Tokens, method: string, path: string, body?: unknown) =>
        oauth.protectedResourceRequest(tokens.response.access_token, method, new URL(origin + path), new Headers(body === undefined ? {} : { 'content-type': 'application/json' }), body === undefined ? null : JSON.stringify(body), { DPoP: tokens.dpop, ...insecure });
      const list = await call(admin, 'GET', '/api/admin/accounts');
      expect(list.status).toBe(200);
      expect(((await list.json()) as { accounts: { username: string }[] }).accounts.map((a) => a.username)).toEqual(['admin']);
      const nursePassword = 'the nurse has a long passphrase';
      secrets.push(nursePassword);
      const created = await call(admin, 'POST', '/api/admin/accounts', { username: 'nurse.eve', displayName: 'Eve', password: nursePassword, roles: ['nurse'] });
      expect(created.status).toBe(201);
      const taken = await call(admin, 'POST', '/api/admin/accounts', { username: 'nurse.eve', displayName: 'Eve', password: nursePassword, roles: ['nurse'] });
      expect(taken.status).toBe(409);

      // The nurse signs in (setting up an authenticator) and is refused account management.
      const browser = new Browser();
      const auth = await startAuthorization(origin);
      const login = await follow(browser, origin, await browser.fetch(auth.url));
      if (login instanceof URL) throw new Error('expected the login page');
      const enrol = await follow(browser, origin, await browser.submit(origin, await login.text(), '/login', { username: 'nurse.eve', password: nursePassword }));
      if (enrol instanceof URL) throw new Error('expected the set-up page');
      const html = await enrol.text();
      const seed = decodeBase32(/<code class="key"[^>]*>([A-Z2-7 ]+)<\/code>/.exec(html)?.[1] ?? '');
      const callback = await follow(browser, origin, await browser.submit(origin, html, '/enrol', { code: totp(seed, Date.now() / 1000) }));
      if (!(callback instanceof URL)) throw new Error('expected the app');
      const nurse = await exchangeCode(auth, callback);
      expect((await call(nurse, 'GET', '/api/admin/accounts')).status).toBe(403);
      // A second sign-in of the nurse, now with the enrolled authenticator, works as usual.
      const again = await startAuthorization(origin);
      expect((await signInThroughForms(origin, again, { username: 'nurse.eve', password: nursePassword, totpSeed: seed }, new Browser(), () => Math.floor(Date.now() / 1000) + 30)).searchParams.get('code')).toBeTruthy();

      const forged = await fetch(`${origin}/api/admin/accounts`, { headers: { authorization: `DPoP ${admin.response.access_token.slice(0, -4)}AAAA`, dpop: 'x.y.z' } });
      expect(forged.status).toBe(401);
      expect(forged.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
      expect(await forged.json()).toEqual({ error: { code: 'unauthenticated', message: 'Your sign-in is not valid any more. Sign in again.' } });
    });

    it('sign-ins and failures are in the hash-chained audit log; no secret is in any log', async () => {
      const rows = await db.query<{ action: string; decision: string }>("SELECT action, decision FROM audit_log WHERE action LIKE 'auth.%' ORDER BY seq");
      expect(rows.rows.filter((r) => r.action === 'auth.sign-in').length).toBeGreaterThanOrEqual(3);
      expect(rows.rows.some((r) => r.action === 'auth.token-rejected')).toBe(true);
      const all = (await db.query<{ row: string }>('SELECT row_to_json(a)::text AS row FROM audit_log a')).rows.map((r) => r.row).join('\n');
      const text = logs.join('\n');
      expect(logs.length).toBeGreaterThan(10);
      for (const s of secrets.filter((x) => x.length >= 8)) {
        expect(text.includes(s), 'secret in logs').toBe(false);
        expect(all.includes(s), 'secret in audit').toBe(false);
      }
    });
  });
}
