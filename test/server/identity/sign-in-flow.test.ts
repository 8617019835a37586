// The whole sign-in as the app's worker will do it, against a real server on 127.0.0.1: the
// interaction forms (password, TOTP) through fetch, then authorization code + PKCE + DPoP with
// oauth4webapi, a protected route, refresh-token rotation and reuse detection, and the logs.
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../server/db/database.js';
import { createAccount, enrolTotp, type AccountContext } from '../../../server/identity/accounts.js';
import { decodeBase32 } from '../../../server/identity/totp.js';
import { ENGINES } from './support/engines.js';
import { Browser, exchangeCode, follow, insecure, APP_CLIENT, signInThroughForms, startAuthorization, startServer, type Credentials, type TestServer } from './support/identity-server.js';
import { RecordingAudit } from './support/recording-audit.js';

for (const engine of ENGINES) {
  describe.skipIf(engine.skip !== undefined)(`sign-in flow on ${engine.name}`, () => {
    let db: Database;
    let server: TestServer;
    let ctx: AccountContext;
    const identityKey = new Uint8Array(randomBytes(32));
    const secrets: string[] = [];

    /** A fresh nurse for each test: a TOTP code works once, so two sign-ins in one step need two accounts. */
    async function newNurse(username: string): Promise<Credentials> {
      const password = `a long passphrase for ${username}`;
      const a = await createAccount(ctx, { username, displayName: username, password, roles: ['nurse'] });
      const { secret } = await enrolTotp(ctx, a.id);
      secrets.push(password, secret);
      return { username, password, totpSeed: decodeBase32(secret) };
    }

    beforeAll(async () => {
      db = await engine.open();
      ctx = { db, identityKey, audit: new RecordingAudit() };
      server = await startServer(db, identityKey);
    });
    afterAll(async () => {
      await server.close();
      await db.close();
    });

    it('signs in with password + TOTP, gets DPoP-bound JWT tokens and calls a protected route', async () => {
      const auth = await startAuthorization(server.origin);
      const callback = await signInThroughForms(server.origin, auth, await newNurse('nurse.ada'));
      secrets.push(callback.searchParams.get('code') ?? '');
      const { dpop, response } = await exchangeCode(auth, callback);
      secrets.push(response.access_token, response.refresh_token ?? '', response.id_token ?? '');
      expect(response.token_type.toLowerCase()).toBe('dpop');
      expect(response.expires_in).toBeLessThanOrEqual(300);
      expect(typeof response.refresh_token).toBe('string');
      const [, body = ''] = response.access_token.split('.');
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toMatchObject({ iss: `${server.origin}/oidc`, aud: `${server.origin}/api`, client_id: 'vitalock-app', roles: ['nurse'] });
      expect((claims.cnf as { jkt?: string }).jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const res = await oauth.protectedResourceRequest(response.access_token, 'GET', new URL(`${server.origin}/api/whoami`), new Headers(), null, { DPoP: dpop, ...insecure });
      expect(res.status).toBe(200);
      const { principal } = (await res.json()) as { principal: { subject: string; roles: string[]; clientId: string; tokenId: string } };
      expect(principal).toMatchObject({ roles: ['nurse'], clientId: 'vitalock-app', subject: claims.sub, tokenId: claims.jti });
      expect(server.audit.events.some((e) => e.action === 'auth.sign-in' && e.decision === 'success' && e.actor === claims.sub)).toBe(true);
    });

    it('rotates refresh tokens; reusing a rotated one revokes the whole family', async () => {
      const auth = await startAuthorization(server.origin);
      const { dpop, response } = await exchangeCode(auth, await signInThroughForms(server.origin, auth, await newNurse('nurse.bea')));
      const first = response.refresh_token ?? '';
      const refresh = async (rt: string) => oauth.processRefreshTokenResponse(auth.as, APP_CLIENT, await oauth.refreshTokenGrantRequest(auth.as, APP_CLIENT, oauth.None(), rt, { DPoP: dpop, ...insecure }));
      const second = await refresh(first);
      expect(second.refresh_token).toBeDefined();
      expect(second.refresh_token).not.toBe(first);
      secrets.push(first, second.refresh_token ?? '', second.access_token);
      // The new access token works.
      const ok = await oauth.protectedResourceRequest(second.access_token, 'GET', new URL(`${server.origin}/api/whoami`), new Headers(), null, { DPoP: dpop, ...insecure });
      expect(ok.status).toBe(200);
      // An attacker replays the first refresh token: refused, and the family is revoked …
      await expect(refresh(first)).rejects.toMatchObject({ error: 'invalid_grant' });
      // … so the legitimate, newer refresh token no longer works either.
      await expect(refresh(second.refresh_token ?? '')).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('a refresh token is bound to the DPoP key: another key cannot use it', async () => {
      const auth = await startAuthorization(server.origin);
      const { response } = await exchangeCode(auth, await signInThroughForms(server.origin, auth, await newNurse('nurse.cat')));
      const thief = oauth.DPoP(APP_CLIENT, await oauth.generateKeyPair('ES256'));
      const res = await oauth.refreshTokenGrantRequest(auth.as, APP_CLIENT, oauth.None(), response.refresh_token ?? '', { DPoP: thief, ...insecure });
      await expect(oauth.processRefreshTokenResponse(auth.as, APP_CLIENT, res)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('requires PKCE (S256) and DPoP at the token endpoint', async () => {
      const browser = new Browser();
      const noPkce = await startAuthorization(server.origin);
      noPkce.url.searchParams.delete('code_challenge');
      noPkce.url.searchParams.delete('code_challenge_method');
      const r1 = await follow(browser, server.origin, await browser.fetch(noPkce.url));
      expect(r1).toBeInstanceOf(URL);
      expect((r1 as URL).searchParams.get('error')).toBe('invalid_request');
      const plain = await startAuthorization(server.origin);
      plain.url.searchParams.set('code_challenge_method', 'plain');
      const r2 = await follow(browser, server.origin, await browser.fetch(plain.url));
      expect((r2 as URL).searchParams.get('error')).toBe('invalid_request');

      const auth = await startAuthorization(server.origin);
      const callback = await signInThroughForms(server.origin, auth, await newNurse('nurse.dee'));
      const params = oauth.validateAuthResponse(auth.as, APP_CLIENT, callback, auth.state);
      const res = await oauth.authorizationCodeGrantRequest(auth.as, APP_CLIENT, oauth.None(), params, auth.redirectUri, auth.verifier, insecure);
      const refused = await oauth.processAuthorizationCodeResponse(auth.as, APP_CLIENT, res).then(() => undefined, (e: unknown) => e as { error?: string; error_description?: string });
      expect(refused?.error).toBe('invalid_grant');
      // The same request with a DPoP proof succeeds: the proof was the only thing missing.
      const dpop = oauth.DPoP(APP_CLIENT, await oauth.generateKeyPair('ES256'));
      const retry = await oauth.authorizationCodeGrantRequest(auth.as, APP_CLIENT, oauth.None(), params, auth.redirectUri, auth.verifier, { DPoP: dpop, ...insecure });
      expect((await oauth.processAuthorizationCodeResponse(auth.as, APP_CLIENT, retry)).token_type.toLowerCase()).toBe('dpop');
    });

    it('writes no password, TOTP secret, code or token to the logs or the audit log', () => {
      const logs = server.logs.join('\n');
      const audit = JSON.stringify(server.audit.events);
      expect(server.logs.length).toBeGreaterThan(10);
      for (const s of secrets.filter((x) => x.length >= 8)) {
        expect(logs.includes(s), 'secret in logs').toBe(false);
        expect(audit.includes(s), 'secret in audit').toBe(false);
      }
    });
  });
}
