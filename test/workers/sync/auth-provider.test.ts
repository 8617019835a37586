// The worker's OAuth client (workers/sync/auth.ts) against the REAL embedded OpenID provider of
// the server (oidc-provider on PGlite, on 127.0.0.1): sign-in with PKCE + state + nonce + DPoP,
// the API accepting the worker's DPoP proofs, refresh before expiry, single-flight rotation,
// reuse detection, revocation at sign-out, refused callbacks — and no token in anything the
// page could be given.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../server/db/database.js';
import { createAccount, enrolTotp, type AccountContext } from '../../../server/identity/accounts.js';
import { decodeBase32 } from '../../../server/identity/totp.js';
import { ENGINES } from '../../server/identity/support/engines.js';
import { Browser, signInThroughForms, startServer, type Authorization, type Credentials, type TestServer } from '../../server/identity/support/identity-server.js';
import { RecordingAudit } from '../../server/identity/support/recording-audit.js';
import { SyncAuth, type AuthStorage } from '../../../workers/sync/auth.js';
import { SignedOutError, SignInError } from '../../../workers/sync/errors.js';

/** In memory, counting writes (the vault-backed storage has its own test). */
class MemoryStorage implements AuthStorage {
  pair: CryptoKeyPair | undefined;
  token: string | undefined;
  tokenWrites: string[] = [];
  async loadKeyPair() {
    return this.pair;
  }
  async saveKeyPair(p: CryptoKeyPair) {
    this.pair = p;
  }
  async deleteKeyPair() {
    this.pair = undefined;
  }
  async saveRefreshToken(t: string) {
    this.token = t;
    this.tokenWrites.push(t);
  }
  async loadRefreshToken() {
    return this.token;
  }
  async deleteRefreshToken() {
    this.token = undefined;
  }
}

const engine = ENGINES[0];

describe.skipIf(engine === undefined)('sync auth against the embedded provider', () => {
  let db: Database;
  let server: TestServer;
  let ctx: AccountContext;
  const identityKey = new Uint8Array(randomBytes(32));
  let n = 0;

  async function nurse(): Promise<Credentials> {
    const username = `sync.nurse.${++n}`;
    const password = `a long passphrase for ${username}`;
    const a = await createAccount(ctx, { username, displayName: `Nurse ${n}`, password, roles: ['nurse'] });
    const { secret } = await enrolTotp(ctx, a.id);
    return { username, password, totpSeed: decodeBase32(secret) };
  }

  function client(storage = new MemoryStorage(), now = () => Date.now()) {
    const auth = new SyncAuth({
      config: { issuer: `${server.origin}/oidc`, clientId: 'vitalock-app', redirectUri: `${server.origin}/auth/callback`, resource: `${server.origin}/api` },
      storage,
      now: () => now(),
      allowInsecureLoopback: true,
    });
    return { auth, storage };
  }

  async function signIn(auth: SyncAuth) {
    const url = await auth.beginSignIn();
    const callback = await signInThroughForms(server.origin, { url: new URL(url) } as unknown as Authorization, await nurse(), new Browser());
    return { url, callback, state: await auth.completeSignIn(callback.href) };
  }

  async function whoami(auth: SyncAuth): Promise<Response> {
    const url = `${server.origin}/api/whoami`;
    const token = await auth.accessToken();
    const proof = await auth.dpopProof('POST', url, token);
    return fetch(url, { method: 'POST', headers: { authorization: `DPoP ${token}`, dpop: proof } });
  }

  beforeAll(async () => {
    db = await (engine as NonNullable<typeof engine>).open();
    ctx = { db, identityKey, audit: new RecordingAudit() };
    server = await startServer(db, identityKey);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  it('signs in: PKCE S256, state, nonce, DPoP key binding; the API accepts the worker’s proofs', async () => {
    const { auth, storage } = client();
    const { url, state } = await signIn(auth);
    const p = new URL(url).searchParams;
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(p.get('dpop_jkt')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('resource')).toBe(`${server.origin}/api`);
    expect(p.has('code_verifier')).toBe(false);
    expect(state.status).toBe('signed-in');
    expect(state.subject).toMatch(/.+/);
    expect(state.name).toMatch(/^Nurse \d+$/);
    // The DPoP private key is non-extractable; the refresh token was persisted.
    expect(storage.pair?.privateKey.extractable).toBe(false);
    expect(storage.token).toMatch(/.{20,}/);
    const res = await whoami(auth);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { principal: { subject: string; roles: string[] } };
    expect(body.principal).toMatchObject({ subject: state.subject, roles: ['nurse'] });
  });

  it('nothing it returns for the page holds a token, a code, a verifier or a proof', async () => {
    const { auth, storage } = client();
    const { callback, state } = await signIn(auth);
    const token = await auth.accessToken();
    const proof = await auth.dpopProof('POST', `${server.origin}/api/ingest`, token);
    await auth.refresh();
    const secrets = [token, await auth.accessToken(), proof, callback.searchParams.get('code') ?? '', ...storage.tokenWrites].filter((s) => s.length >= 16);
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    const shown = JSON.stringify([state, auth.state()]);
    for (const s of secrets) expect(shown.includes(s)).toBe(false);
  });

  it('refreshes before expiry, rotating the refresh token, one refresh for concurrent callers', async () => {
    let skew = 0;
    const { auth, storage } = client(new MemoryStorage(), () => Date.now() + skew);
    await signIn(auth);
    const first = await auth.accessToken();
    expect(await auth.accessToken()).toBe(first); // still fresh: no refresh
    skew = 290_000; // 10 s before the 300 s expiry: inside the refresh margin
    const [a, b, c] = await Promise.all([auth.accessToken(), auth.accessToken(), auth.refresh().then(() => auth.accessToken())]);
    expect(a).not.toBe(first);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(storage.tokenWrites).toHaveLength(2); // sign-in, then exactly one rotation
    expect(storage.tokenWrites[1]).not.toBe(storage.tokenWrites[0]);
    expect((await whoami(auth)).status).toBe(200);
  });

  it('a reused (rotated-out) refresh token revokes the session: both holders are signed out', async () => {
    const { auth, storage } = client();
    await signIn(auth);
    const old = storage.token ?? '';
    await auth.refresh();
    // A copy of the old token (a stale backup, a thief) is presented.
    const thief = client(Object.assign(new MemoryStorage(), { token: old, pair: storage.pair }));
    await expect(thief.auth.refresh()).rejects.toBeInstanceOf(SignedOutError);
    const error = await auth.refresh().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SignedOutError);
    expect((error as SignedOutError).reason).toBe('refresh-rejected');
    expect(auth.state().status).toBe('signed-out');
    expect(storage.token).toBeUndefined();
    await expect(auth.accessToken()).rejects.toBeInstanceOf(SignedOutError);
  });

  it('resumes a stored session in a new worker (same key pair, stored refresh token)', async () => {
    const { auth, storage } = client();
    await signIn(auth);
    const next = client(storage);
    expect(next.auth.state().status).toBe('signed-out');
    expect(await next.auth.resume()).toBe(true);
    expect(next.auth.state().status).toBe('signed-in');
    expect((await whoami(next.auth)).status).toBe(200);
  });

  it('sign-out revokes the refresh token at the server and forgets the key pair', async () => {
    const { auth, storage } = client();
    await signIn(auth);
    const token = storage.token ?? '';
    const pair = storage.pair;
    await auth.signOut();
    expect(auth.state()).toEqual({ status: 'signed-out' });
    expect(storage.token).toBeUndefined();
    expect(storage.pair).toBeUndefined();
    const copy = client(Object.assign(new MemoryStorage(), { token, pair }));
    await expect(copy.auth.refresh()).rejects.toBeInstanceOf(SignedOutError);
  });

  it('refuses a callback it did not start, with another state, or an error; one code, one use', async () => {
    const { auth } = client();
    await expect(auth.completeSignIn(`${server.origin}/auth/callback?code=abc&state=xyz`)).rejects.toMatchObject({ code: 'no-pending-sign-in' });
    const url = await auth.beginSignIn();
    const iss = encodeURIComponent(`${server.origin}/oidc`);
    await expect(auth.completeSignIn(`${server.origin}/auth/callback?code=abc&state=forged&iss=${iss}`)).rejects.toMatchObject({ code: 'state-mismatch' });
    const state = new URL(url).searchParams.get('state') ?? '';
    const denied = await auth.completeSignIn(`${server.origin}/auth/callback?error=access_denied&state=${state}&iss=${iss}`).then(() => undefined, (e: unknown) => e);
    expect(denied).toBeInstanceOf(SignInError);
    expect((denied as SignInError).code).toBe('denied');
    expect(auth.state().status).toBe('signed-out');
    // A real callback replayed after use is refused (the pending sign-in was consumed).
    const { callback } = await signIn(auth);
    await expect(auth.completeSignIn(callback.href)).rejects.toMatchObject({ code: 'no-pending-sign-in' });
  });

  it('a session that cannot be stored (no vault yet) still works for the life of the worker', async () => {
    const storage = Object.assign(new MemoryStorage(), {
      async saveRefreshToken(): Promise<void> {
        throw new Error('the vault has no storage key yet');
      },
    });
    const { auth } = client(storage);
    const { state } = await signIn(auth);
    expect(state.status).toBe('signed-in');
    expect(storage.token).toBeUndefined();
    await auth.refresh();
    expect((await whoami(auth)).status).toBe(200);
  });

  it('puts the server’s time in proofs when told the device clock is off', async () => {
    const { auth } = client();
    await signIn(auth);
    const token = await auth.accessToken();
    const iat = async () => {
      const proof = await auth.dpopProof('POST', `${server.origin}/api/whoami`, token);
      return (JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString()) as { iat: number }).iat;
    };
    const before = await iat();
    auth.setServerTime(Date.now() - 600_000);
    expect(before - (await iat())).toBeGreaterThanOrEqual(599);
    auth.setServerTime(Date.now() + 1_000); // within tolerance: back to the device clock
    expect(Math.abs((await iat()) - before)).toBeLessThan(5);
  });
});
