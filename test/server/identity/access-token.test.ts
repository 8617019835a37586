// The API's token check against a real server: hand-made access tokens (signed with the provider's
// own key from the database, or another) and DPoP proofs, each wrong in one way → 401 with only
// `invalid_token` / `invalid_dpop_proof` on the wire, the reason in the audit log. A proof replayed
// to a second instance sharing the database is refused too.
import { randomBytes, randomUUID } from 'node:crypto';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../server/db/database.js';
import { loadSigningKeys } from '../../../server/identity/signing-keys.js';
import { utf8 } from '../../../src/core/bytes.js';
import { ENGINES } from './support/engines.js';
import { startServer, type TestServer } from './support/identity-server.js';

interface ProofKey {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly jkt: string;
}

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip !== undefined)(`access tokens at the API on ${engine.name}`, () => {
    let db: Database;
    let server: TestServer;
    let second: TestServer;
    let signingKey: CryptoKey;
    let kid: string;
    let holder: ProofKey;
    const identityKey = new Uint8Array(randomBytes(32));
    const now = () => Math.floor(Date.now() / 1000);

    beforeAll(async () => {
      db = await engine.open();
      server = await startServer(db, identityKey);
      const keys = await loadSigningKeys(db, identityKey);
      const jwk = keys.privateJwks.keys[0] as JWK;
      kid = jwk.kid ?? '';
      signingKey = (await importJWK(jwk, 'ES256')) as CryptoKey;
      holder = await proofKey();
    });
    afterAll(async () => {
      await second?.close();
      await server.close();
      await db.close();
    });

    async function token(claims: Record<string, unknown> = {}, options: { key?: CryptoKey; kid?: string; typ?: string } = {}): Promise<string> {
      const payload = { iss: `${server.origin}/oidc`, aud: `${server.origin}/api`, sub: 'acct-1', jti: randomUUID(), client_id: 'vitalock-app', roles: ['clinician'], cnf: { jkt: holder.jkt }, iat: now(), exp: now() + 300, ...claims };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k];
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: options.kid ?? kid, typ: options.typ ?? 'at+jwt' }).sign(options.key ?? signingKey);
    }

    async function proof(accessToken: string, overrides: Record<string, unknown> = {}, key: ProofKey = holder, header: Record<string, unknown> = {}): Promise<string> {
      const claims = { htm: 'GET', htu: `${server.origin}/api/whoami`, iat: now(), jti: randomUUID(), ath: base64url.encode(sha256(utf8(accessToken))), ...overrides };
      for (const [k, v] of Object.entries(claims)) if (v === undefined) delete (claims as Record<string, unknown>)[k];
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk, ...header }).sign(key.privateKey);
    }

    async function call(accessToken: string | undefined, dpop: string | undefined, path = '/api/whoami', method = 'GET', base = server.origin) {
      const headers: Record<string, string> = {};
      if (accessToken !== undefined) headers.authorization = `DPoP ${accessToken}`;
      if (dpop !== undefined) headers.dpop = dpop;
      const res = await fetch(base + path, { method, headers });
      return { status: res.status, challenge: res.headers.get('www-authenticate'), body: (await res.json()) as Record<string, unknown> };
    }

    const lastReason = () => server.audit.events.filter((e) => e.action === 'auth.token-rejected').at(-1)?.reason;

    it('accepts a good token with its proof and sets the principal; no token → anonymous', async () => {
      const t = await token();
      const ok = await call(t, await proof(t));
      expect(ok.status).toBe(200);
      expect(ok.body.principal).toMatchObject({ subject: 'acct-1', roles: ['clinician'], clientId: 'vitalock-app' });
      expect((await call(undefined, undefined)).body).toEqual({ principal: null });
      const fhir = await call(t, await proof(t, { htu: `${server.origin}/fhir/metadata` }), '/fhir/metadata');
      expect(fhir.status).toBe(200);
    });

    const tokenCases: [string, () => Promise<string>, string][] = [
      ['expired', () => token({ exp: now() - 60, iat: now() - 400 }), 'expired'],
      ['not yet valid', () => token({ nbf: now() + 120 }), 'not-yet-valid'],
      ['for another audience', () => token({ aud: 'https://elsewhere.example/api' }), 'audience'],
      ['from another issuer', () => token({ iss: 'https://evil.example/oidc' }), 'issuer'],
      ['signed by a key not in the JWKS', async () => token({}, { key: (await generateKeyPair('ES256')).privateKey }), 'signature'],
      ['without a DPoP binding (a bearer token)', () => token({ cnf: undefined }), 'not-dpop-bound'],
      ['without a subject', () => token({ sub: undefined }), 'claims'],
      ['of the wrong type (an ID token)', () => token({}, { typ: 'JWT' }), 'claims'],
    ];
    it.each(tokenCases)('rejects a token %s', async (_name, make, reason) => {
      const t = await make();
      const res = await call(t, await proof(t));
      expect(res.status).toBe(401);
      expect(res.challenge).toMatch(/^DPoP error="invalid_token"/);
      expect(JSON.stringify(res.body)).not.toMatch(new RegExp(reason));
      expect(lastReason()).toBe(reason);
    });

    it('rejects garbage and other schemes in Authorization', async () => {
      for (const header of ['Bearer abc.def.ghi', 'DPoP', 'DPoP not a jwt', 'DPoP a.b.c', "DPoP ' OR 1=1 --"]) {
        const res = await fetch(`${server.origin}/api/whoami`, { headers: { authorization: header, dpop: 'x' } });
        expect(res.status, header).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/invalid_token/);
      }
    });

    it('rejects a proof signed by another key than the token is bound to', async () => {
      const t = await token();
      const res = await call(t, await proof(t, {}, await proofKey()));
      expect(res.status).toBe(401);
      expect(res.challenge).toMatch(/^DPoP error="invalid_dpop_proof"/);
      expect(lastReason()).toBe('key-binding');
    });

    const proofCases: [string, (t: string) => Promise<string | undefined>, string][] = [
      ['missing', async () => undefined, 'missing'],
      ['for another URL', (t) => proof(t, { htu: `${server.origin}/api/other` }), 'url'],
      ['for another origin', (t) => proof(t, { htu: 'https://evil.example/api/whoami' }), 'url'],
      ['for another method', (t) => proof(t, { htm: 'POST' }), 'method'],
      ['too old', (t) => proof(t, { iat: now() - 120 }), 'stale'],
      ['from the future', (t) => proof(t, { iat: now() + 120 }), 'stale'],
      ['for another token', (t) => proof(t, { ath: base64url.encode(sha256(utf8(t + 'x'))) }), 'token-hash'],
      ['without ath', (t) => proof(t, { ath: undefined }), 'token-hash'],
      ['without jti', (t) => proof(t, { jti: undefined }), 'malformed'],
      ['of the wrong type', (t) => proof(t, {}, holder, { typ: 'JWT' }), 'type'],
      ['carrying a private key', async (t) => proof(t, {}, holder, { jwk: { ...holder.jwk, d: 'AAAA' } }), 'key'],
      ['with a symmetric algorithm', async (t) => {
        const h = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'dpop+jwt', jwk: holder.jwk }));
        const b = base64url.encode(JSON.stringify({ htm: 'GET', htu: `${server.origin}/api/whoami`, iat: now(), jti: randomUUID(), ath: base64url.encode(sha256(utf8(t))) }));
        return `${h}.${b}.${base64url.encode(new Uint8Array(32))}`;
      }, 'algorithm'],
      ['with a forged signature', async (t) => {
        const p = await proof(t);
        return p.slice(0, p.lastIndexOf('.') + 1) + base64url.encode(new Uint8Array(64));
      }, 'signature'],
    ];
    it.each(proofCases)('rejects a proof %s', async (_name, make, reason) => {
      const t = await token();
      const res = await call(t, await make(t));
      expect(res.status).toBe(401);
      expect(res.challenge).toMatch(/^DPoP error="invalid_dpop_proof"/);
      expect(lastReason()).toBe(reason);
    });

    it('checks htm and htu of a POST too, ignoring the query string', async () => {
      const t = await token();
      const ok = await call(t, await proof(t, { htm: 'POST', htu: `${server.origin}/api/whoami` }), '/api/whoami?x=1', 'POST');
      expect(ok.status).toBe(200);
      const bad = await call(t, await proof(t, { htm: 'GET' }), '/api/whoami', 'POST');
      expect(bad.status).toBe(401);
    });

    it('refuses a replayed proof, also on a second instance sharing the database', async () => {
      const t = await token();
      const p = await proof(t);
      expect((await call(t, p)).status).toBe(200);
      const again = await call(t, p);
      expect(again.status).toBe(401);
      expect(lastReason()).toBe('replayed');
      // A second instance on the same database behind the same public origin (as behind a load
      // balancer): a proof used at the first is refused at the second.
      second = await startServer(db, identityKey, { origin: server.origin });
      const t2 = await token();
      const p2 = await proof(t2);
      const secondUrl = second.app.listeningOrigin;
      expect((await call(t2, p2)).status).toBe(200);
      const atSecond = await call(t2, p2, '/api/whoami', 'GET', secondUrl);
      expect(atSecond.status).toBe(401);
      expect(second.audit.events.at(-1)?.reason).toBe('replayed');
      // A fresh proof for the same token works at the second instance: it shares the signing key.
      expect((await call(t2, await proof(t2), '/api/whoami', 'GET', secondUrl)).status).toBe(200);
      const rows = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM identity_dpop_proofs');
      expect(Number(rows.rows[0]?.n)).toBeGreaterThan(0);
    });
  });
}
