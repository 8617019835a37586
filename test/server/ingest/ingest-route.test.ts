/**
 * `POST /api/ingest` (issue 5 §7) through the real app: who may deliver, content type, size
 * limit, a refused batch's answer, and the acknowledgement after commit (audited).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../server/app.js';
import { generateMasterKey, LocalKeyProvider } from '../../../server/crypto/key-provider.js';
import type { Database } from '../../../server/db/database.js';
import { createLogger } from '../../../server/logging.js';
import type { Principal } from '../../../server/policy/principal.js';
import { MAX_INGEST_BODY } from '../../../server/ingest/ingest-route.js';
import { describeEngines } from '../support/engines.js';
import { deployment, NOW, type Deployment } from './ingest-fixture.js';

const people: Record<string, Principal> = {
  nurse: { subject: 'sub-nurse', roles: ['nurse'], tokenId: 't-nurse' },
  admin: { subject: 'sub-admin', roles: ['admin'], tokenId: 't-admin' },
};

describeEngines('POST /api/ingest', (engine) => {
  let db: Database;
  let d: Deployment;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await engine.fresh();
    d = await deployment(db, 'ingest-route');
    app = await buildApp({
      db,
      keys: new LocalKeyProvider(generateMasterKey()),
      logger: createLogger({ level: 'silent' }),
      now: () => NOW,
      authenticate: async (request) => people[String(request.headers['x-test-as'])],
      ingest: { secrets: d.deps.secrets, trustStore: d.deps.trustStore },
    });
  });
  afterAll(async () => {
    await app.close();
    await engine.dispose(db);
  });

  const post = (body: Uint8Array | string, as?: string, type = 'application/octet-stream') =>
    app.inject({ method: 'POST', url: '/api/ingest', payload: typeof body === 'string' ? body : Buffer.from(body), headers: { 'content-type': type, ...(as ? { 'x-test-as': as } : {}) } });

  it('acknowledges a batch after commit, the same way twice, and audits the write', async () => {
    const sealed = d.seal(0, 120);
    const first = await post(sealed, 'nurse');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ accepted: 120, duplicates: 0, provenance: { verified: 100, pending: 20, unverified: 0 } });
    const again = await post(sealed, 'nurse');
    expect(again.json()).toEqual(first.json());
    const audit = await db.query<{ action: string; actor: string }>("SELECT action, actor FROM audit_log WHERE action = 'observation.ingest'");
    expect(audit.rows).toEqual([{ action: 'observation.ingest', actor: 'sub-nurse' }]);
  });

  it('refuses the unauthenticated (401) and roles that do not deliver readings (403)', async () => {
    expect((await post(d.seal(0, 5))).statusCode).toBe(401);
    expect((await post(d.seal(0, 5), 'admin')).statusCode).toBe(403);
  });

  it('refuses another content type (415), an oversized body (413) and a tampered batch (400), with a plain message', async () => {
    expect((await post('{"batch":1}', 'nurse', 'application/json')).statusCode).toBe(415);
    expect((await post(new Uint8Array(MAX_INGEST_BODY + 1), 'nurse')).statusCode).toBe(413);
    const bad = d.seal(0, 5);
    bad[bad.length - 1]! ^= 1;
    const refused = await post(bad, 'nurse');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/did not open/);
  });
});
