// Sync's client side end to end over real HTTP (docs/sync.md §6): the worker's SyncService —
// OAuth client + uploader — signs in at the REAL embedded OpenID provider, and uploads through
// the fault proxy to a Fastify app whose identity plugin verifies every DPoP-bound token and
// proof; a stand-in `/api/ingest` stores batches idempotently by id. Faults: 500s, requests held
// past the timeout, connections cut mid-request and mid-response, answers lost after commit,
// duplicate (concurrent) deliveries, latency and a server restart. Afterwards the store holds
// every batch exactly once. Then: an access token expiring mid-sync is refreshed; a revoked
// session stops sync with "Sign in again" and keeps the outbox.
//
// The browser version against the real ingestion route comes with the integration of issue 6.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../server/db/database.js';
import { createAccount, enrolTotp, type AccountContext } from '../../../server/identity/accounts.js';
import { identityPlugin } from '../../../server/identity/index.js';
import { decodeBase32 } from '../../../server/identity/totp.js';
import { ENGINES } from '../../server/identity/support/engines.js';
import { Browser, freePort, signInThroughForms, type Authorization } from '../../server/identity/support/identity-server.js';
import { RecordingAudit } from '../../server/identity/support/recording-audit.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import type { AuthStorage } from '../../../workers/sync/auth.js';
import { SyncService } from '../../../workers/sync/sync-service.js';
import type { OutboxBatch, OutboxPort } from '../../../workers/sync/upload-ports.js';
import { realScheduler } from '../../../workers/vault/scheduler.js';

class MemoryStorage implements AuthStorage {
  pair: CryptoKeyPair | undefined;
  token: string | undefined;
  writes = 0;
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
    this.writes++;
  }
  async loadRefreshToken() {
    return this.token;
  }
  async deleteRefreshToken() {
    this.token = undefined;
  }
}

/** An outbox of batches whose body starts with their id (the stand-in server reads it). */
class MemoryOutbox implements OutboxPort {
  readonly rows = new Map<string, Uint8Array>();
  readonly acks = new Map<string, number>();
  add(n: number): string[] {
    return Array.from({ length: n }, () => {
      const id = randomBytes(16).toString('hex');
      this.rows.set(id, new Uint8Array(Buffer.concat([Buffer.from(id), randomBytes(2_000)])));
      return id;
    });
  }
  async take(limit: number): Promise<OutboxBatch[]> {
    return [...this.rows].slice(0, limit).map(([batchId, sealed]) => ({ batchId, sealed }));
  }
  async ack(ids: readonly string[]) {
    for (const id of ids) {
      this.acks.set(id, (this.acks.get(id) ?? 0) + 1);
      this.rows.delete(id);
    }
  }
  async stats() {
    return { pending: this.rows.size };
  }
}

const engine = ENGINES[0];

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe.skipIf(engine === undefined)('sync end to end through the fault proxy', () => {
  let db: Database;
  let app: FastifyInstance;
  let proxy: FaultProxy;
  let ctx: AccountContext;
  const stored = new Map<string, number>();
  const deliveries: { id: string; subject: string }[] = [];
  const identityKey = new Uint8Array(randomBytes(32));
  let n = 0;

  beforeAll(async () => {
    db = await (engine as NonNullable<typeof engine>).open();
    ctx = { db, identityKey, audit: new RecordingAudit() };
    const [proxyPort, serverPort] = [await freePort(), await freePort()];
    const origin = `http://127.0.0.1:${proxyPort}`; // the client only ever sees the proxy
    app = Fastify({ logger: false });
    await identityPlugin(app, { db, config: { kind: 'embedded', origin, identityKey }, audit: new RecordingAudit() });
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
    app.post('/api/ingest', async (request, reply) => {
      if (request.principal === undefined) return reply.status(401).header('www-authenticate', 'DPoP error="invalid_token"').send({ error: { code: 'unauthenticated', message: 'Sign in.' } });
      const id = (request.body as Buffer).subarray(0, 32).toString();
      deliveries.push({ id, subject: request.principal.subject });
      const seen = stored.has(id);
      stored.set(id, (stored.get(id) ?? 0) + 1);
      return { batchId: id, accepted: seen ? 0 : 1, duplicates: seen ? 1 : 0 };
    });
    await app.listen({ host: '127.0.0.1', port: serverPort });
    proxy = await FaultProxy.start({ target: `http://127.0.0.1:${serverPort}`, port: proxyPort, match: { method: 'POST', path: '/api/ingest' } });
  });

  afterAll(async () => {
    await proxy.stop();
    await app.close();
    await db.close();
  });

  async function signedInSync() {
    const storage = new MemoryStorage();
    const outbox = new MemoryOutbox();
    const scheduler = realScheduler();
    const states: string[] = [];
    const sync = new SyncService({
      origin: proxy.origin,
      outbox,
      storage,
      scheduler,
      random: Math.random,
      fetch: (url, init) => fetch(url, init),
      allowInsecureLoopback: true,
      maxInFlight: 4,
      requestTimeoutMs: 1_500,
      backoff: { baseMs: 50, capMs: 400, floorMs: 20 },
      onState: (v) => states.push(JSON.stringify(v)),
    });
    const username = `sync.e2e.${++n}`;
    const password = `a long passphrase for ${username}`;
    const account = await createAccount(ctx, { username, displayName: username, password, roles: ['nurse'] });
    const { secret } = await enrolTotp(ctx, account.id);
    const url = await sync.beginSignIn();
    const callback = await signInThroughForms(proxy.origin, { url: new URL(url) } as unknown as Authorization, { username, password, totpSeed: decodeBase32(secret) }, new Browser());
    await sync.completeSignIn(callback.href);
    return { sync, storage, outbox, scheduler, states, subject: account.id };
  }

  it('after 500s, hangs, cuts, lost answers, duplicates and a restart, every batch is stored exactly once', async () => {
    const { sync, outbox, states, storage, subject } = await signedInSync();
    const ids = outbox.add(60);
    proxy.script(
      { kind: 'status', status: 500 },
      { kind: 'hold' },
      { kind: 'cut-request', afterBytes: 500 },
      { kind: 'cut-response', afterBytes: 10 },
      { kind: 'drop-response' },
      { kind: 'duplicate', concurrent: true },
      { kind: 'delay', ms: 300 },
      { kind: 'status', status: 503, headers: { 'retry-after': '1' } },
      { kind: 'duplicate' },
    );
    const before = deliveries.length;
    await sync.start();
    await waitFor(() => stored.size >= 20, 10_000);
    await proxy.restart(700); // the server restarted mid-sync
    const drained = await waitFor(() => outbox.rows.size === 0 && sync.view().upload.inFlight === 0, 45_000);
    expect(drained, `not drained: ${JSON.stringify({ view: sync.view().upload, stored: stored.size, events: proxy.events.length, last: proxy.events.slice(-5) })}`).toBe(true);
    for (const id of ids) {
      expect(stored.get(id), `batch ${id}`).toBeGreaterThanOrEqual(1);
      expect(outbox.acks.get(id)).toBe(1);
    }
    expect(new Set(ids).size).toBe(60);
    expect(ids.every((id) => stored.has(id))).toBe(true);
    // Faults really happened: some batches reached the server more than once.
    expect(deliveries.length - before).toBeGreaterThan(60);
    expect(deliveries.slice(before).every((d) => d.subject === subject)).toBe(true);
    expect(proxy.scriptLeft).toBe(0);
    // Duplicated requests carry a replayed DPoP proof, which the API refuses: the uploader sent
    // a fresh proof instead of rotating the refresh token (one write: the sign-in's).
    expect(storage.writes).toBe(1);
    const view = sync.view();
    expect(view.upload).toMatchObject({ pending: 0, uploaded: 60, problems: [] });
    // What the page would have been shown holds no token.
    const token = storage.token ?? 'missing';
    expect(states.length).toBeGreaterThan(10);
    expect(states.some((s) => s.includes(token))).toBe(false);
    sync.stop();
  });

  it('an access token expiring mid-sync is refreshed (rotated) and sync goes on', async () => {
    const { sync, outbox, storage, scheduler } = await signedInSync();
    outbox.add(10);
    proxy.heal().always({ kind: 'delay', ms: 100 });
    await sync.start();
    await waitFor(() => outbox.rows.size <= 7, 20_000);
    const writes = storage.writes;
    scheduler.advance(290_000); // the worker's clock: 10 s before the 300 s expiry
    expect(await waitFor(() => outbox.rows.size === 0, 30_000)).toBe(true);
    expect(storage.writes).toBe(writes + 1);
    expect(sync.view().auth.status).toBe('signed-in');
    proxy.heal();
    sync.stop();
  });

  it('a revoked session stops sync, says "Sign in again" and keeps the outbox', async () => {
    const { sync, outbox, storage, scheduler } = await signedInSync();
    // Someone presents an older refresh token: the provider revokes the whole family.
    const stale = storage.token ?? '';
    await sync.auth.refresh();
    const thief = new SyncService({
      origin: proxy.origin,
      outbox: new MemoryOutbox(),
      storage: Object.assign(new MemoryStorage(), { token: stale, pair: storage.pair }),
      scheduler: realScheduler(),
      random: Math.random,
      fetch: (url, init) => fetch(url, init),
      allowInsecureLoopback: true,
    });
    await expect(thief.auth.refresh()).rejects.toThrow();
    const ids = outbox.add(5);
    scheduler.advance(300_000); // the access token has expired: the next upload needs a refresh
    await sync.start();
    expect(await waitFor(() => sync.view().upload.status === 'blocked', 20_000)).toBe(true);
    const view = sync.view();
    expect(view.upload.problem).toMatchObject({ kind: 'signed-out', blocking: true });
    expect(view.upload.problem?.action).toMatch(/Sign in again/);
    expect(view.auth.status).toBe('signed-out');
    expect([...outbox.rows.keys()]).toEqual(ids);
    expect(ids.some((id) => stored.has(id))).toBe(false);
  });
});
