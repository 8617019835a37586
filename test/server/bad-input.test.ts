/**
 * Bad input on every route (issue 5 §1, §9), on both engines: wrong types, unknown fields,
 * oversized bodies, SQL metacharacters and garbage → a typed 4xx error (400, or 413 for a body
 * over the limit, 415 for a body that is not JSON), never a 5xx, and nothing stored (every
 * table's row count unchanged, the audit log included). Callers are authorised, so validation is
 * what stops the request. Free text with SQL metacharacters is stored verbatim, harmlessly.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { dependencyOrder, quoteIdent } from '../../server/backup/schema-catalog.js';
import { describeEngines } from './support/engines.js';
import { buildWorld, type Person, type World } from './support/world.js';

const SQL = ["'; DROP TABLE patients; --", '1 OR 1=1', '"); DELETE FROM audit_log; --', "p-1' UNION SELECT * FROM patient_keys --", '$1', '\\x00'];

interface BodyRoute {
  readonly method: 'POST' | 'PUT';
  readonly url: (w: World) => string;
  readonly as: Person;
  readonly valid: (w: World) => Record<string, unknown>;
}

const BODY_ROUTES: BodyRoute[] = [
  { method: 'POST', url: () => '/api/admin/patients', as: 'admin', valid: () => ({ accountSubject: 'sub-new' }) },
  { method: 'POST', url: () => '/api/admin/wards', as: 'admin', valid: () => ({ name: 'Ward Q' }) },
  { method: 'PUT', url: (w) => `/api/admin/patients/${w.otherPatientId}/ward`, as: 'admin', valid: (w) => ({ wardId: w.wardId }) },
  { method: 'PUT', url: (w) => `/api/admin/wards/${w.wardId}/staff/sub-x`, as: 'admin', valid: () => ({ shiftStart: '07:00', shiftEnd: '19:00', timeZone: 'UTC' }) },
  { method: 'POST', url: () => '/api/admin/devices', as: 'admin', valid: () => ({ id: 'ffee', model: 'm', serial: 's', manufacturer: 'x' }) },
  { method: 'PUT', url: (w) => `/api/admin/devices/${w.deviceId}/patient`, as: 'admin', valid: (w) => ({ patientId: w.patientId }) },
  { method: 'POST', url: () => '/api/admin/accounts', as: 'admin', valid: () => ({ username: 'newuser', displayName: 'N', password: 'long enough password', roles: ['nurse'] }) },
  { method: 'PUT', url: () => '/api/admin/accounts/abc/roles', as: 'admin', valid: () => ({ roles: ['nurse'] }) },
  { method: 'PUT', url: () => '/api/admin/accounts/abc/disabled', as: 'admin', valid: () => ({ disabled: true }) },
  { method: 'POST', url: () => '/api/break-glass', as: 'clinicianOther', valid: (w) => ({ patientId: w.patientId, reason: 'A long enough reason for the test' }) },
];

const GET_URLS: { as: Person; purpose?: string; urls: (w: World) => string[] }[] = [
  {
    as: 'clinicianCare',
    purpose: 'TREAT',
    urls: (w) => [
      ...SQL.map((s) => `/api/patients/${encodeURIComponent(s)}`),
      ...SQL.map((s) => `/api/patients/${encodeURIComponent(s)}/observations`),
      `/api/patients/${w.patientId}/observations?limit=abc`,
      `/api/patients/${w.patientId}/observations?limit=100000`,
      `/api/patients/${w.patientId}/observations?offset=-1`,
      `/api/patients/${w.patientId}/observations?code=${encodeURIComponent(SQL[1]!)}`,
      `/api/patients/${w.patientId}/observations?from=${encodeURIComponent(SQL[0]!)}`,
      `/api/patients/${w.patientId}/observations?unknown=1`,
      `/api/patients/${w.patientId}/observations?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z`,
      ...SQL.map((s) => `/fhir/Observation?patient=${encodeURIComponent(s)}`),
      `/fhir/Observation?patient=Patient/${w.patientId}&code=${encodeURIComponent(SQL[0]!)}`,
      `/fhir/Observation?patient=Patient/${w.patientId}&date=${encodeURIComponent(SQL[1]!)}`,
      `/fhir/Observation?patient=Patient/${w.patientId}&date=ge2026-13-01`,
      `/fhir/Observation?patient=Patient/${w.patientId}&date=ge2026-01-01&date=le2026-12-31&date=eq2026-05-05`,
      `/fhir/Observation?patient=Patient/${w.patientId}&_count=-1`,
      `/fhir/Observation?patient=Patient/${w.patientId}&_count=99999`,
      `/fhir/Observation?patient=Patient/${w.patientId}&_sort=date`,
      `/fhir/Observation?patient=Patient/${w.patientId}&_revinclude=Device:x`,
      `/fhir/Observation`,
      ...SQL.map((s) => `/fhir/Patient/${encodeURIComponent(s)}`),
      ...SQL.map((s) => `/fhir/Device/${encodeURIComponent(s)}`),
    ],
  },
  { as: 'auditor', urls: () => ['/api/audit?after=-1', '/api/audit?limit=0', `/api/audit?after=${encodeURIComponent(SQL[1]!)}`, '/api/audit?x=1', '/api/break-glass?since=yesterday', '/api/break-glass?limit=1e9'] },
];

function wrongTypes(valid: Record<string, unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const key of Object.keys(valid)) {
    const v = valid[key];
    for (const bad of [42, '42', true, null, [], {}, [v]]) {
      if (typeof bad === typeof v && !Array.isArray(bad) && bad !== null) continue;
      if (bad === null && key === 'patientId' && v !== undefined) continue; // null unlinks a device: valid there
      out.push({ ...valid, [key]: bad });
    }
  }
  return out;
}

describeEngines('bad input on every route', (engine) => {
  let world: World;
  let tables: string[];
  const counts = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const t of tables) out[t] = (await world.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(t)}`)).rows[0]?.n ?? '?';
    return out;
  };
  beforeAll(async () => {
    world = await buildWorld(await engine.fresh());
    tables = await dependencyOrder(world.db);
  });
  afterAll(async () => {
    await world.app.close();
    await engine.dispose(world.db);
  });

  const expectTypedRefusal = (status: number, body: string, url: string) => {
    expect({ url, status }).toEqual({ url, status: expect.toSatisfy((s: number) => s >= 400 && s < 500 && s !== 401 && s !== 403) });
    const json = JSON.parse(body) as Record<string, unknown>;
    if (url.startsWith('/fhir')) expect(json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error' }] });
    else expect(json).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    expect(body).not.toMatch(/at .*\.ts:|SELECT |INSERT |stack/i);
  };

  it('bodies: wrong types, unknown fields, not an object, not JSON, oversized → typed 4xx, nothing stored', async () => {
    const before = await counts();
    for (const r of BODY_ROUTES) {
      const valid = r.valid(world);
      const bad: unknown[] = [...wrongTypes(valid), { ...valid, extra: 1 }, { ...valid, __proto__: { admin: true }, constructor: 1 }, [], 'text', 7, null];
      for (const payload of bad) {
        const res = await world.as(r.as, { method: r.method, url: r.url(world), payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
        expectTypedRefusal(res.statusCode, res.body, r.url(world));
        expect(res.statusCode).toBe(400);
      }
      const notJson = await world.as(r.as, { method: r.method, url: r.url(world), payload: '{"a":', headers: { 'content-type': 'application/json' } });
      expectTypedRefusal(notJson.statusCode, notJson.body, r.url(world));
      const form = await world.as(r.as, { method: r.method, url: r.url(world), payload: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.statusCode).toBe(415);
      const huge = await world.as(r.as, { method: r.method, url: r.url(world), payload: { ...valid, name: 'x'.repeat(70 * 1024) } });
      expect(huge.statusCode).toBe(413);
      expectTypedRefusal(huge.statusCode, huge.body, r.url(world));
    }
    expect(await counts()).toEqual(before);
  });

  it('paths and queries: SQL metacharacters, wrong types, unknown parameters → typed 4xx, nothing stored', async () => {
    const before = await counts();
    for (const group of GET_URLS) {
      for (const url of group.urls(world)) {
        const res = await world.as(group.as, { url, ...(group.purpose !== undefined ? { purpose: group.purpose } : {}) });
        expectTypedRefusal(res.statusCode, res.body, url);
      }
    }
    expect(await counts()).toEqual(before);
  });

  it('an unknown purpose-of-use value is refused', async () => {
    const res = await world.as('clinicianCare', { url: `/api/patients/${world.patientId}`, purpose: "TREAT'; --" });
    expect(res.statusCode).toBe(400);
  });

  it('free text with SQL metacharacters is stored verbatim and harms nothing', async () => {
    const name = "Ward O'Brien\"); DROP TABLE wards; --";
    const res = await world.as('admin', { method: 'POST', url: '/api/admin/wards', payload: { name } });
    expect(res.statusCode).toBe(201);
    const wards = (await world.as('admin', { url: '/api/admin/wards' })).json() as { wards: { name: string }[] };
    expect(wards.wards.map((w) => w.name)).toContain(name);
    expect(tables).toContain('wards');
  });

  it('random JSON bodies never cause a 5xx (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES), fc.jsonValue({ maxDepth: 3 }), async (r, payload) => {
        const res = await world.as(r.as, { method: r.method, url: r.url(world), payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
        expect(res.statusCode).toBeLessThan(500);
      }),
      { numRuns: 150, seed: 5 },
    );
  });
});
