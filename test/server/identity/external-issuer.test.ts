// A hospital's own issuer instead of the embedded provider: no provider is mounted, tokens are
// verified against the issuer's JWKS URL, and roles come from the configured claim. The "hospital"
// here is a second server running the embedded provider, which publishes its JWKS over HTTP.
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../server/db/database.js';
import { identityPlugin, type ExternalIdentityConfig } from '../../../server/identity/index.js';
import { identityConfigFromEnv } from '../../../server/identity/config.js';
import { IdentityConfigError } from '../../../server/identity/errors.js';
import { loadSigningKeys } from '../../../server/identity/signing-keys.js';
import { utf8 } from '../../../src/core/bytes.js';
import { ENGINES } from './support/engines.js';
import { freePort, startServer, type TestServer } from './support/identity-server.js';
import { RecordingAudit } from './support/recording-audit.js';

describe('identity configuration from the environment', () => {
  it('chooses the hospital issuer when OIDC_ISSUER is set, and says what is missing', async () => {
    const env = { OIDC_ISSUER: 'https://idp.hospital.example', OIDC_AUDIENCE: 'https://vitalock.hospital.example/api', OIDC_JWKS_URL: 'https://idp.hospital.example/jwks', OIDC_ROLES_CLAIM: 'vitalock_roles' };
    expect(await identityConfigFromEnv(env, 'https://vitalock.hospital.example')).toMatchObject({ kind: 'external', rolesClaim: 'vitalock_roles' });
    await expect(identityConfigFromEnv({ OIDC_ISSUER: env.OIDC_ISSUER }, 'https://vitalock.hospital.example')).rejects.toThrow(/OIDC_AUDIENCE is required/);
    await expect(identityConfigFromEnv({ ...env, OIDC_JWKS_URL: 'http://idp.hospital.example/jwks' }, 'https://vitalock.hospital.example')).rejects.toThrow(IdentityConfigError);
    await expect(identityConfigFromEnv({}, 'http://vitalock.hospital.example')).rejects.toThrow(/must use https/);
    await expect(identityConfigFromEnv({ VITALOCK_IDENTITY_KEY: 'abc' }, 'https://vitalock.hospital.example')).rejects.toThrow(/64 hex digits/);
    const embedded = await identityConfigFromEnv({ VITALOCK_IDENTITY_KEY: 'ab'.repeat(32) }, 'https://vitalock.hospital.example/');
    expect(embedded).toMatchObject({ kind: 'embedded', origin: 'https://vitalock.hospital.example' });
  });
});

for (const engine of ENGINES) {
  describe.skipIf(engine.skip !== undefined)(`a hospital's issuer on ${engine.name}`, () => {
    let db: Database;
    let hospital: TestServer;
    let api: FastifyInstance;
    let apiOrigin: string;
    let signingKey: CryptoKey;
    let kid: string;
    const audit = new RecordingAudit();
    const identityKey = new Uint8Array(randomBytes(32));

    beforeAll(async () => {
      db = await engine.open();
      hospital = await startServer(db, identityKey);
      const jwk = (await loadSigningKeys(db, identityKey)).privateJwks.keys[0] as JWK;
      kid = jwk.kid ?? '';
      signingKey = (await importJWK(jwk, 'ES256')) as CryptoKey;
      const port = await freePort();
      apiOrigin = `http://127.0.0.1:${port}`;
      const config: ExternalIdentityConfig = { kind: 'external', issuer: `${hospital.origin}/oidc`, audience: 'urn:vitalock:api', jwksUrl: `${hospital.origin}/oidc/jwks`, rolesClaim: 'vitalock_roles', origin: apiOrigin };
      api = Fastify();
      await identityPlugin(api, { db, config, audit });
      api.get('/api/whoami', async (request) => ({ principal: request.principal ?? null }));
      await api.listen({ host: '127.0.0.1', port });
    });
    afterAll(async () => {
      await api.close();
      await hospital.close();
      await db.close();
    });

    async function call(claims: Record<string, unknown>) {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk = await exportJWK(publicKey);
      const now = Math.floor(Date.now() / 1000);
      // A typical hospital issuer: `typ: JWT`, roles in its own claim, no client_id.
      const token = await new SignJWT({ iss: `${hospital.origin}/oidc`, aud: 'urn:vitalock:api', sub: 'staff-42', jti: randomUUID(), iat: now, exp: now + 300, cnf: { jkt: await calculateJwkThumbprint(jwk) }, ...claims })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .sign(signingKey);
      const proof = await new SignJWT({ htm: 'GET', htu: `${apiOrigin}/api/whoami`, iat: now, jti: randomUUID(), ath: base64url.encode(sha256(utf8(token))) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey);
      const res = await fetch(`${apiOrigin}/api/whoami`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
      return { status: res.status, body: (await res.json()) as { principal?: unknown } };
    }

    it('verifies against the JWKS URL and reads roles from the configured claim', async () => {
      const ok = await call({ vitalock_roles: ['clinician', 'unknown-role'], roles: ['admin'] });
      expect(ok.status).toBe(200);
      expect(ok.body.principal).toEqual({ subject: 'staff-42', roles: ['clinician'], tokenId: expect.any(String) });
      expect((await call({ vitalock_roles: 'nurse auditor' })).body.principal).toMatchObject({ roles: ['nurse', 'auditor'] });
    });

    it('still checks audience, issuer and the DPoP binding', async () => {
      expect((await call({ aud: `${hospital.origin}/api` })).status).toBe(401);
      expect((await call({ iss: 'https://other.example' })).status).toBe(401);
      expect((await call({ cnf: undefined })).status).toBe(401);
      expect(audit.events.map((e) => e.reason)).toEqual(['audience', 'issuer', 'not-dpop-bound']);
    });

    it('mounts no provider', async () => {
      expect((await fetch(`${apiOrigin}/oidc/.well-known/openid-configuration`)).status).toBe(404);
    });
  });
}
