/**
 * The HTTP service itself (issue 5 §1, §6), on both engines: security headers with a strict CSP,
 * rate limits with a typed 429, typed 404s, health and readiness (503 when a migration is
 * missing), the "build the app first" page or the built app, and an audit log no route can
 * change — only GET routes reach it, and every other method leaves it as it was.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, registeredRoutes } from '../../server/app.js';
import { generateMasterKey, LocalKeyProvider } from '../../server/crypto/key-provider.js';
import { createLogger } from '../../server/logging.js';
import { describeEngines } from './support/engines.js';
import { buildWorld, principal, type World } from './support/world.js';

describeEngines('the HTTP service', (engine) => {
  let world: World;
  beforeAll(async () => {
    world = await buildWorld(await engine.fresh());
  });
  afterAll(async () => {
    await world.app.close();
    await engine.dispose(world.db);
  });

  it('sends a strict CSP and the other security headers', async () => {
    const res = await world.as(undefined, { url: '/' });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "worker-src 'self'"]) expect(csp).toContain(directive);
    expect(csp).not.toMatch(/'unsafe-inline'|'unsafe-eval'|\*/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.body).toContain('npm run build');
  });

  it('answers typed 404s', async () => {
    const res = await world.as('admin', { url: '/api/nothing-here?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not-found', message: 'Nothing at GET /api/nothing-here.' } });
  });

  it('is alive and ready; not ready when a migration is missing', async () => {
    expect((await world.as(undefined, { url: '/healthz' })).json()).toEqual({ status: 'alive' });
    expect((await world.as(undefined, { url: '/readyz' })).statusCode).toBe(200);
    await world.db.query("DELETE FROM schema_migrations WHERE version = '003-audit-log'");
    try {
      const res = await world.as(undefined, { url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'not-ready', reason: '1 migration(s) not applied' });
    } finally {
      await world.db.query("INSERT INTO schema_migrations (version) VALUES ('003-audit-log')");
    }
  });

  it('no route can change the audit log: only GETs reach it, every other method is a 404 and leaves it unchanged', async () => {
    const auditRoutes = registeredRoutes(world.app).filter((r) => r.url.startsWith('/api/audit'));
    expect(auditRoutes.length).toBeGreaterThan(0);
    expect(auditRoutes.every((r) => r.method === 'GET' || r.method === 'HEAD')).toBe(true);
    const head = async () => (await world.db.query<{ seq: string; hash: Uint8Array }>('SELECT seq::text AS seq, hash FROM audit_head')).rows[0];
    const before = await head();
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      for (const url of ['/api/audit', '/api/audit/1', '/api/audit/verify', '/api/audit?after=0']) {
        const res = await world.as('auditor', { method, url, payload: { seq: 1, actor: 'x' } });
        expect(res.statusCode).toBe(404);
      }
    }
    expect(await head()).toEqual(before);
    // And the only writers of audit_log in the code are AuditLog.append and restore (checked by the chain tests).
  });

  it('rate-limits with a typed 429', async () => {
    const app = await buildApp({ db: world.db, keys: new LocalKeyProvider(generateMasterKey()), logger: createLogger({ level: 'silent' }), rateLimit: { max: 3, timeWindow: 60_000 }, authenticate: async () => principal('auditor') });
    const statuses: number[] = [];
    let last = '';
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ url: '/healthz' });
      statuses.push(res.statusCode);
      last = res.body;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(JSON.parse(last)).toEqual({ error: { code: 'rate-limited', message: 'Too many requests. Wait a minute, then try again.' } });
  });

  it('closing finishes the request in flight, then refuses new connections', async () => {
    let release: () => void = () => undefined;
    const entered = new Promise<void>((resolve) => {
      release = resolve;
    });
    let unblock: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    // The authenticator holds the request open until the test lets it go.
    const app = await buildApp({
      db: world.db,
      keys: new LocalKeyProvider(generateMasterKey()),
      logger: createLogger({ level: 'silent' }),
      closeDatabase: false,
      authenticate: async () => {
        release();
        await gate;
        return principal('auditor');
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const inFlight = fetch(`http://127.0.0.1:${port}/api/audit/verify`);
    await entered;
    const closing = app.close();
    unblock();
    const res = await inFlight;
    expect(res.status).toBe(200);
    await closing;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('serves the built app from its folder when it exists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vitalock-app-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>Vitalock</title><style>:root{color:red}</style><script type="module" src="/assets/main.js"></script>');
    await writeFile(join(dir, 'assets', 'main.js'), 'console.log(1)');
    const app = await buildApp({ db: world.db, keys: new LocalKeyProvider(generateMasterKey()), logger: createLogger({ level: 'silent' }), appDir: dir });
    expect((await app.inject({ url: '/' })).body).toContain('<title>Vitalock</title>');
    const js = await app.inject({ url: '/assets/main.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    const csp = String(js.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    // The inline critical CSS of the built page is allowed by its hash, not by 'unsafe-inline'.
    expect(csp).toContain(`style-src 'self' 'sha256-${createHash('sha256').update(':root{color:red}').digest('base64')}'`);
    expect(csp).not.toContain('unsafe-inline');
    expect((await app.inject({ url: '/assets/missing.js' })).statusCode).toBe(404);
  });
});
