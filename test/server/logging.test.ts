/**
 * What reaches the log (issue 5 §1), on both engines: requests that carry a bearer token, a DPoP
 * proof, cookies and a password, and responses that carry clinical values — and the captured log
 * lines contain none of them, while still recording method, path, status and request id. A 5xx
 * logs its details there and only a request id in the response.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEngines } from './support/engines.js';
import { buildWorld, type World } from './support/world.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.SECRET-ACCESS-TOKEN-PAYLOAD.sig';
const PROOF = 'eyJ0eXAiOiJkcG9wK2p3dCJ9.SECRET-DPOP-PROOF.sig';
const PASSWORD = 'Tr0ub4dor&3-very-secret';
const COOKIE = 'session=SECRET-COOKIE-VALUE';

describeEngines('logs', (engine) => {
  let world: World;
  const lines: string[] = [];
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
        done();
      },
    });
    world = await buildWorld(await engine.fresh(), { logStream: stream });
  });
  afterAll(async () => {
    await world.app.close();
    await engine.dispose(world.db);
  });

  it('carry no token, proof, cookie, password or clinical value', async () => {
    const secrets = { authorization: `DPoP ${TOKEN}`, dpop: PROOF, cookie: COOKIE };
    const obs = await world.as('clinicianCare', { url: `/api/patients/${world.patientId}/observations?limit=30`, purpose: 'TREAT', headers: secrets });
    expect(obs.statusCode).toBe(200);
    const values = (obs.json() as { observations: { value: string | null }[] }).observations.map((o) => o.value).filter((v): v is string => v !== null && v.includes('.'));
    expect(values.length).toBeGreaterThan(3);
    const fhir = await world.as('clinicianCare', { url: `/fhir/Observation?patient=${world.patientId}`, purpose: 'TREAT', headers: secrets });
    expect(fhir.statusCode).toBe(200);
    const account = await world.as('admin', { method: 'POST', url: '/api/admin/accounts', payload: { username: 'logtest', displayName: 'Log Test', password: PASSWORD, roles: ['nurse'] }, headers: secrets });
    expect(account.statusCode).toBe(201);
    const bad = await world.as('admin', { method: 'POST', url: '/api/admin/accounts', payload: { username: 'x', displayName: 'y', password: PASSWORD, roles: ['nope'] }, headers: secrets });
    expect(bad.statusCode).toBe(400);

    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(6);
    for (const secret of [TOKEN, 'SECRET-ACCESS-TOKEN', PROOF, 'SECRET-DPOP', 'SECRET-COOKIE', PASSWORD]) expect(log).not.toContain(secret);
    for (const v of values) expect(log).not.toMatch(new RegExp(`[^0-9.]${v.replace('.', '\\.')}[^0-9]`));
    expect(log).not.toContain('valueQuantity');
    // Still useful: method, path without query, status, request id.
    const completed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request completed');
    expect(completed.length).toBeGreaterThanOrEqual(4);
    expect(completed.every((l) => typeof l.reqId === 'string' && typeof (l.res as { statusCode?: number }).statusCode === 'number')).toBe(true);
    const incoming = lines.map((l) => JSON.parse(l) as { req?: { path?: string } }).filter((l) => l.req?.path !== undefined);
    expect(incoming.some((l) => l.req?.path === `/api/patients/${world.patientId}/observations`)).toBe(true);
    expect(log).not.toContain('limit=30');
  });

  it('a 5xx answers a generic message with the request id; the details stay in the log', async () => {
    // Break the database under the app: the read fails inside the handler.
    await world.db.exec('ALTER TABLE observations RENAME TO observations_gone');
    try {
      const res = await world.as('clinicianCare', { url: `/api/patients/${world.patientId}/observations`, purpose: 'TREAT' });
      expect(res.statusCode).toBe(500);
      const body = res.json() as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code).toBe('internal');
      expect(body.error.message).toContain(body.error.requestId);
      expect(res.body).not.toMatch(/observations|relation|SELECT|\.ts/);
      const logged = lines.filter((l) => l.includes(body.error.requestId) && l.includes('"level":50'));
      expect(logged.length).toBeGreaterThan(0);
      expect(logged.join('\n')).toMatch(/observations/);
    } finally {
      await world.db.exec('ALTER TABLE observations_gone RENAME TO observations');
    }
  });
});
