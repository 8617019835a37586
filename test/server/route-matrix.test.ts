/**
 * Every route × role × relationship (issue 5 §4), on both engines: who gets 2xx, 401 or 403,
 * including the denials; every decision — allowed or denied — lands in the audit log with the
 * right actor and decision; and every route the app registers is in the matrix.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { registeredRoutes } from '../../server/app.js';
import { describeEngines } from './support/engines.js';
import { buildWorld, principal, PEOPLE, type Person, type World } from './support/world.js';

type Who = Person | 'anonymous';
const EVERYONE: Who[] = ['anonymous', ...(Object.keys(PEOPLE) as Person[])];
const CLINICAL_ALLOWED: Who[] = ['patientSelf', 'nurseOnShift', 'clinicianCare'];

interface Case {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly route: string;
  readonly url: (w: World) => string;
  readonly body?: (w: World) => unknown;
  readonly allowed: readonly Who[];
  readonly status: number;
}

const clinical = (route: string, url: (w: World) => string): Case => ({ method: 'GET', route, url, allowed: CLINICAL_ALLOWED, status: 200 });
const admin = (method: Case['method'], route: string, url: (w: World) => string, status: number, body?: (w: World) => unknown): Case => ({
  method,
  route,
  url,
  allowed: ['admin'],
  status,
  ...(body !== undefined ? { body } : {}),
});

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

const CASES: Case[] = [
  clinical('/api/patients/:patientId', (w) => `/api/patients/${w.patientId}`),
  clinical('/api/patients/:patientId/observations', (w) => `/api/patients/${w.patientId}/observations?limit=5`),
  clinical('/fhir/Observation', (w) => `/fhir/Observation?patient=Patient/${w.patientId}&_count=5`),
  clinical('/fhir/Patient/:id', (w) => `/fhir/Patient/${w.patientId}`),
  clinical('/fhir/Device/:id', (w) => `/fhir/Device/${w.deviceId}`),
  { method: 'GET', route: '/api/audit', url: () => '/api/audit?limit=5', allowed: ['auditor'], status: 200 },
  { method: 'GET', route: '/api/audit/verify', url: () => '/api/audit/verify', allowed: ['auditor'], status: 200 },
  { method: 'GET', route: '/api/break-glass', url: () => '/api/break-glass', allowed: ['auditor'], status: 200 },
  {
    method: 'POST',
    route: '/api/break-glass',
    url: () => '/api/break-glass',
    body: (w) => ({ patientId: w.patientId, reason: 'Matrix test: emergency access needed now' }),
    allowed: ['clinicianCare', 'clinicianOther'],
    status: 201,
  },
  admin('GET', '/api/admin/patients', () => '/api/admin/patients', 200),
  admin('POST', '/api/admin/patients', () => '/api/admin/patients', 201, () => ({})),
  admin('GET', '/api/admin/wards', () => '/api/admin/wards', 200),
  admin('POST', '/api/admin/wards', () => '/api/admin/wards', 201, () => ({ name: `Ward ${unique()}` })),
  admin('PUT', '/api/admin/patients/:patientId/ward', (w) => `/api/admin/patients/${w.otherPatientId}/ward`, 200, (w) => ({ wardId: w.wardId })),
  admin('DELETE', '/api/admin/patients/:patientId/ward', (w) => `/api/admin/patients/${w.otherPatientId}/ward`, 200),
  admin('PUT', '/api/admin/wards/:wardId/staff/:subject', (w) => `/api/admin/wards/${w.wardId}/staff/sub-extra`, 200, () => ({ shiftStart: '07:00', shiftEnd: '19:00', timeZone: 'Europe/Paris' })),
  admin('DELETE', '/api/admin/wards/:wardId/staff/:subject', (w) => `/api/admin/wards/${w.wardId}/staff/sub-extra`, 200),
  admin('PUT', '/api/admin/patients/:patientId/care-team/:subject', (w) => `/api/admin/patients/${w.otherPatientId}/care-team/sub-extra`, 200),
  admin('DELETE', '/api/admin/patients/:patientId/care-team/:subject', (w) => `/api/admin/patients/${w.otherPatientId}/care-team/sub-extra`, 200),
  admin('GET', '/api/admin/devices', () => '/api/admin/devices', 200),
  admin('POST', '/api/admin/devices', () => '/api/admin/devices', 201, () => ({ id: Buffer.from(unique()).toString('hex').slice(0, 16).padEnd(16, '0'), model: 'VL-1', serial: `S-${unique()}`, manufacturer: 'Ref' })),
  admin('PUT', '/api/admin/devices/:deviceId/patient', (w) => `/api/admin/devices/${w.deviceId}/patient`, 200, (w) => ({ patientId: w.patientId })),
  admin('GET', '/api/admin/accounts', () => '/api/admin/accounts', 200),
  admin('POST', '/api/admin/accounts', () => '/api/admin/accounts', 201, () => ({ username: `user-${unique()}`, displayName: 'Matrix User', password: 'correct horse battery', roles: ['nurse'] })),
  admin('PUT', '/api/admin/accounts/:id/roles', () => '/api/admin/accounts/00000000-0000-4000-8000-000000000000/roles', 404, () => ({ roles: ['clinician'] })),
  admin('PUT', '/api/admin/accounts/:id/disabled', () => '/api/admin/accounts/00000000-0000-4000-8000-000000000000/disabled', 404, () => ({ disabled: true })),
];

const purposeFor = (who: Who): string | undefined => (who === 'patientSelf' || who === 'patientOther' ? 'PATRQT' : who === 'anonymous' ? undefined : 'TREAT');

describeEngines('route × role × relationship matrix', (engine) => {
  let world: World;
  beforeAll(async () => {
    world = await buildWorld(await engine.fresh());
  });
  afterAll(async () => {
    await world.app.close();
    await engine.dispose(world.db);
  });

  it('covers every route the app registers', () => {
    const covered = new Set(CASES.map((c) => `${c.method} ${c.route}`));
    const missing = registeredRoutes(world.app)
      .filter((r) => r.method !== 'HEAD' && !['/healthz', '/readyz', '/'].includes(r.url))
      .map((r) => `${r.method} ${r.url}`)
      .filter((r) => !covered.has(r));
    expect(missing).toEqual([]);
  });

  for (const c of CASES) {
    it(`${c.method} ${c.route}: ${c.allowed.join(', ')} → ${c.status}; everyone else refused and audited`, async () => {
      // Denied callers first, so the allowed call's change (if any) cannot mask a denial's.
      const order = [...EVERYONE.filter((w) => !c.allowed.includes(w)), ...c.allowed];
      for (const who of order) {
        const before = Number((await world.db.query<{ seq: string }>('SELECT seq::text AS seq FROM audit_head')).rows[0]?.seq);
        const purpose = purposeFor(who);
        const res = await world.as(who === 'anonymous' ? undefined : who, {
          method: c.method,
          url: c.url(world),
          ...(purpose !== undefined ? { purpose } : {}),
          ...(c.body !== undefined ? { payload: c.body(world) as object } : {}),
        });
        const expected = c.allowed.includes(who) ? c.status : who === 'anonymous' ? 401 : 403;
        expect({ who, status: res.statusCode }).toEqual({ who, status: expected });
        if (expected >= 400) expect(res.json()).toMatchObject(c.route.startsWith('/fhir') ? { resourceType: 'OperationOutcome' } : { error: {} });
        const entries = (await world.db.query<{ actor: string; decision: string }>('SELECT actor, decision FROM audit_log WHERE seq > $1', [before])).rows;
        const actor = who === 'anonymous' ? 'anonymous' : principal(who).subject;
        expect(entries).toContainEqual({ actor, decision: expected === 401 || expected === 403 ? 'deny' : 'allow' });
      }
    });
  }

  it('a break-glass grant opens the record for ETREAT reads, flagged; the report counts them', async () => {
    const read = () => world.as('clinicianOther', { url: `/api/patients/${world.otherPatientId}/observations`, purpose: 'ETREAT' });
    expect((await read()).statusCode).toBe(403);
    const grant = await world.as('clinicianOther', { method: 'POST', url: '/api/break-glass', payload: { patientId: world.otherPatientId, reason: 'Patient collapsed, care team unreachable' } });
    expect(grant.statusCode).toBe(201);
    expect((await read()).statusCode).toBe(200);
    expect((await world.as('clinicianOther', { url: `/api/patients/${world.otherPatientId}/observations`, purpose: 'TREAT' })).statusCode).toBe(403);
    const flagged = await world.db.query<{ action: string }>("SELECT action FROM audit_log WHERE actor = 'sub-clinicianOther' AND resource = $1 AND detail LIKE '%\"breakGlass\":true%'", [`patient/${world.otherPatientId}`]);
    expect(flagged.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['break-glass.open', 'break-glass.grant', 'observation.read']));
    const report = await world.as('auditor', { url: '/api/break-glass' });
    const mine = (report.json() as { grants: { id: string; reason: string; reads: number }[] }).grants.find((g) => g.id === (grant.json() as { id: string }).id);
    expect(mine).toMatchObject({ reason: 'Patient collapsed, care team unreachable', reads: 1 });
    // The grant expires.
    world.setNow(new Date(Date.now() + 2 * 3600_000));
    try {
      expect((await read()).statusCode).toBe(403);
    } finally {
      world.setNow(new Date('2026-03-02T12:00:00.000Z'));
    }
  });
});
