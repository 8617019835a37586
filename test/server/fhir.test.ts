/**
 * FHIR R4 (issue 5 §8), on both engines: every response — searchset Bundles with their paging
 * links, Observations (vital-signs profile, LOINC + IEEE 11073 codes, UCUM units, device
 * reference), Provenance, Patient, Device, and the OperationOutcome of an error — validates
 * against the official R4 JSON schema; paging walks the whole result exactly once; code and date
 * filters select what they should.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEngines } from './support/engines.js';
import { fhirSchemaErrors } from './support/fhir-schema.js';
import { buildWorld, T0, type World } from './support/world.js';

interface Entry {
  fullUrl: string;
  resource: Record<string, unknown> & { resourceType: string; id: string };
  search: { mode: string };
}

interface Bundle {
  resourceType: 'Bundle';
  type: string;
  total: number;
  link: { relation: string; url: string }[];
  entry: Entry[];
}

describeEngines('FHIR R4', (engine) => {
  let world: World;
  const get = async (url: string) => {
    const res = await world.as('clinicianCare', { url, purpose: 'TREAT' });
    return { status: res.statusCode, type: res.headers['content-type'], json: res.json() as Record<string, unknown> };
  };
  beforeAll(async () => {
    world = await buildWorld(await engine.fresh());
  });
  afterAll(async () => {
    await world.app.close();
    await engine.dispose(world.db);
  });

  it('a searchset Bundle with Provenance validates, pages through everything once, and links next/previous', async () => {
    const seen: string[] = [];
    let url: string | undefined = `/fhir/Observation?patient=Patient/${world.patientId}&_count=7&_revinclude=Provenance:target`;
    let pages = 0;
    while (url !== undefined) {
      const r = await get(url);
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/^application\/fhir\+json/);
      expect(fhirSchemaErrors(r.json)).toEqual([]);
      const bundle = r.json as unknown as Bundle;
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 30 });
      const matches = bundle.entry.filter((e) => e.search.mode === 'match');
      const included = bundle.entry.filter((e) => e.search.mode === 'include');
      expect(included.map((e) => (e.resource as unknown as { target: { reference: string }[] }).target[0]?.reference)).toEqual(matches.map((e) => `Observation/${e.resource.id}`));
      seen.push(...matches.map((e) => e.resource.id));
      if (pages > 0) expect(bundle.link.map((l) => l.relation)).toContain('previous');
      const next = bundle.link.find((l) => l.relation === 'next')?.url;
      url = next === undefined ? undefined : new URL(next).pathname + new URL(next).search;
      pages++;
    }
    expect(pages).toBe(5);
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
  });

  it('Observations carry the vital-signs profile, LOINC and MDC codes, UCUM units, the device and the patient', async () => {
    const r = await get(`/fhir/Observation?patient=${world.patientId}&_count=3`);
    const [temp, bp, hr] = (r.json as unknown as Bundle).entry.map((e) => e.resource);
    expect(temp).toMatchObject({
      meta: { profile: ['http://hl7.org/fhir/StructureDefinition/bodytemp'], tag: [{ code: 'unverified' }] },
      category: [{ coding: [{ code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }, { system: 'urn:iso:std:iso:11073:10101', code: '150364' }] },
      valueQuantity: { value: 36.1, system: 'http://unitsofmeasure.org', code: 'Cel' },
      subject: { reference: `Patient/${world.patientId}` },
      device: { reference: `Device/${world.deviceId}` },
      effectiveDateTime: new Date(T0 + 60_000).toISOString(),
    });
    expect(bp).toMatchObject({
      meta: { tag: [{ code: 'verified' }] },
      component: [
        { code: { coding: [{ code: '8480-6' }, { code: '150021' }] }, valueQuantity: { value: 118, code: 'mm[Hg]' } },
        { code: { coding: [{ code: '8462-4' }, { code: '150022' }] }, valueQuantity: { value: 76, code: 'mm[Hg]' } },
      ],
    });
    expect(hr).toMatchObject({ code: { coding: [{ code: '8867-4' }, { code: '147842' }] }, valueQuantity: { value: 72, code: '/min' } });
  });

  it('filters by code (LOINC or MDC, with or without system) and by date range', async () => {
    const total = async (q: string) => ((await get(`/fhir/Observation?patient=${world.patientId}&${q}`)).json as unknown as Bundle).total;
    expect(await total('code=8310-5')).toBe(10);
    expect(await total('code=http://loinc.org|8867-4')).toBe(10);
    expect(await total('code=urn:iso:std:iso:11073:10101|150020')).toBe(10);
    expect(await total('code=8310-5,8867-4')).toBe(20);
    expect(await total('code=http://loinc.org|150364')).toBe(0);
    expect(await total('code=9999-9')).toBe(0);
    // Readings are at T0 + i minutes, i = 1…30.
    const at = (i: number) => new Date(T0 + i * 60_000).toISOString();
    expect(await total(`date=ge${at(11)}&date=le${at(20)}`)).toBe(10);
    expect(await total(`date=gt${at(11)}`)).toBe(19);
    expect(await total(`date=lt${at(11)}`)).toBe(10);
    expect(await total('date=2026-03-01')).toBe(30);
    expect(await total('date=2026-03-02')).toBe(0);
    expect(await total(`code=8310-5&date=ge${at(16)}`)).toBe(5);
  });

  it('Patient and Device read validate', async () => {
    const p = await get(`/fhir/Patient/${world.patientId}`);
    expect(p.status).toBe(200);
    expect(fhirSchemaErrors(p.json)).toEqual([]);
    expect(p.json).toMatchObject({ resourceType: 'Patient', id: world.patientId });
    const d = await get(`/fhir/Device/${world.deviceId}`);
    expect(d.status).toBe(200);
    expect(fhirSchemaErrors(d.json)).toEqual([]);
    expect(d.json).toMatchObject({ resourceType: 'Device', id: world.deviceId, serialNumber: 'SN-0001', patient: { reference: `Patient/${world.patientId}` } });
  });

  it('errors are OperationOutcomes that validate', async () => {
    for (const [url, status] of [
      [`/fhir/Observation?patient=Patient/p-does-not-exist`, 404],
      [`/fhir/Observation?patient=Patient/${world.patientId}&date=yesterday`, 400],
      [`/fhir/Device/ffff`, 404],
    ] as const) {
      const r = await get(url);
      expect(r.status).toBe(status);
      expect(r.json).toMatchObject({ resourceType: 'OperationOutcome' });
      expect(fhirSchemaErrors(r.json)).toEqual([]);
    }
    const denied = await world.as('clinicianOther', { url: `/fhir/Patient/${world.patientId}`, purpose: 'TREAT' });
    expect(denied.statusCode).toBe(403);
    expect(fhirSchemaErrors(denied.json())).toEqual([]);
  });

  it('the validator does reject a broken resource (the check can fail)', () => {
    expect(fhirSchemaErrors({ resourceType: 'Observation', status: 'not-a-status', code: {} })).not.toEqual([]);
    expect(fhirSchemaErrors({ resourceType: 'Bundle', type: 'searchset', total: 'many' })).not.toEqual([]);
  });
});
