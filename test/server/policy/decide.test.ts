/**
 * The policy decision, table-driven (issue 5 §4): every role × action × relationship × purpose ×
 * shift combination that matters, allowed and denied, with the obligation flags. Pure: the facts
 * are given, so no database is involved (the route matrix runs the same rules on both engines).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide, inShift, PURPOSES, type Action, type PatientFacts, type PurposeOfUse, type Resource } from '../../../server/policy/decide.js';
import { ROLES, type Principal, type Role } from '../../../server/policy/principal.js';

const NOON = new Date('2026-03-02T12:00:00Z');
const MIDNIGHT = new Date('2026-03-02T23:30:00Z');
const who = (...roles: Role[]): Principal => ({ subject: 'me', roles, tokenId: 't' });
const patient: Resource = { kind: 'patient', patientId: 'p-1' };
const none: PatientFacts = { patientAccount: null, sharedWardShifts: [], careRelationship: false, activeBreakGlass: false };
const own: PatientFacts = { ...none, patientAccount: 'me' };
const dayShift: PatientFacts = { ...none, sharedWardShifts: [{ wardId: 'w', startMinute: 480, endMinute: 1200, timeZone: 'UTC' }] };
const care: PatientFacts = { ...none, careRelationship: true };
const glass: PatientFacts = { ...none, activeBreakGlass: true };

interface Row {
  readonly name: string;
  readonly principal: Principal | undefined;
  readonly action: Action;
  readonly resource?: Resource;
  readonly facts?: PatientFacts;
  readonly purpose?: PurposeOfUse;
  readonly now?: Date;
  readonly reason?: string;
  readonly allow: boolean;
  readonly flagged?: boolean;
  readonly because?: RegExp;
}

const table: Row[] = [
  // anonymous
  { name: 'anonymous clinical read', principal: undefined, action: 'clinical.read', facts: care, purpose: 'TREAT', allow: false, because: /not signed in/ },
  { name: 'anonymous audit read', principal: undefined, action: 'audit.read', resource: { kind: 'audit' }, allow: false },
  // patient
  { name: 'patient reads own record', principal: who('patient'), action: 'clinical.read', facts: own, purpose: 'PATRQT', allow: true },
  { name: 'patient reads own record without purpose', principal: who('patient'), action: 'clinical.read', facts: own, allow: false, because: /purpose of use/ },
  { name: 'patient reads own record as TREAT', principal: who('patient'), action: 'clinical.read', facts: own, purpose: 'TREAT', allow: false, because: /PATRQT/ },
  { name: 'patient reads another record', principal: who('patient'), action: 'clinical.read', facts: none, purpose: 'PATRQT', allow: false, because: /own record/ },
  { name: 'patient writes own record', principal: who('patient'), action: 'clinical.write', facts: own, allow: true },
  { name: 'patient reads audit', principal: who('patient'), action: 'audit.read', resource: { kind: 'audit' }, allow: false },
  { name: 'patient breaks glass', principal: who('patient'), action: 'break-glass.open', facts: own, reason: 'x'.repeat(40), allow: false },
  // nurse
  { name: 'nurse on ward in shift', principal: who('nurse'), action: 'clinical.read', facts: dayShift, purpose: 'TREAT', now: NOON, allow: true },
  { name: 'nurse on ward off shift', principal: who('nurse'), action: 'clinical.read', facts: dayShift, purpose: 'TREAT', now: MIDNIGHT, allow: false, because: /shift/ },
  { name: 'nurse not on the ward', principal: who('nurse'), action: 'clinical.read', facts: none, purpose: 'TREAT', now: NOON, allow: false, because: /ward/ },
  { name: 'nurse on ward in shift, wrong purpose', principal: who('nurse'), action: 'clinical.read', facts: dayShift, purpose: 'PATRQT', now: NOON, allow: false, because: /TREAT/ },
  { name: 'nurse with care relationship only', principal: who('nurse'), action: 'clinical.read', facts: care, purpose: 'TREAT', now: NOON, allow: false },
  { name: 'nurse ETREAT with a grant', principal: who('nurse'), action: 'clinical.read', facts: glass, purpose: 'ETREAT', now: NOON, allow: false },
  { name: 'nurse writes in shift', principal: who('nurse'), action: 'clinical.write', facts: dayShift, now: NOON, allow: true },
  { name: 'nurse writes off shift', principal: who('nurse'), action: 'clinical.write', facts: dayShift, now: MIDNIGHT, allow: false },
  { name: 'nurse breaks glass', principal: who('nurse'), action: 'break-glass.open', facts: none, reason: 'x'.repeat(40), allow: false, because: /clinician/ },
  { name: 'nurse manages accounts', principal: who('nurse'), action: 'accounts.manage', resource: { kind: 'accounts' }, allow: false },
  // clinician
  { name: 'clinician with care relationship', principal: who('clinician'), action: 'clinical.read', facts: care, purpose: 'TREAT', allow: true },
  { name: 'clinician with care relationship, no purpose', principal: who('clinician'), action: 'clinical.read', facts: care, allow: false, because: /purpose/ },
  { name: 'clinician with care relationship, PATRQT', principal: who('clinician'), action: 'clinical.read', facts: care, purpose: 'PATRQT', allow: false, because: /TREAT/ },
  { name: 'clinician without relationship', principal: who('clinician'), action: 'clinical.read', facts: none, purpose: 'TREAT', allow: false, because: /care relationship/ },
  { name: 'clinician on a ward, no relationship', principal: who('clinician'), action: 'clinical.read', facts: dayShift, purpose: 'TREAT', now: NOON, allow: false },
  { name: 'clinician ETREAT without grant', principal: who('clinician'), action: 'clinical.read', facts: none, purpose: 'ETREAT', allow: false, because: /break-glass/ },
  { name: 'clinician ETREAT with grant', principal: who('clinician'), action: 'clinical.read', facts: glass, purpose: 'ETREAT', allow: true, flagged: true },
  { name: 'clinician TREAT with grant only', principal: who('clinician'), action: 'clinical.read', facts: glass, purpose: 'TREAT', allow: false },
  { name: 'clinician breaks glass with a reason', principal: who('clinician'), action: 'break-glass.open', facts: none, reason: 'Unconscious patient in ED, no care team reachable', allow: true, flagged: true },
  { name: 'clinician breaks glass with a short reason', principal: who('clinician'), action: 'break-glass.open', facts: none, reason: 'because', allow: false, because: /reason/ },
  { name: 'clinician breaks glass with blank reason', principal: who('clinician'), action: 'break-glass.open', facts: none, reason: ' '.repeat(30), allow: false },
  { name: 'clinician reads audit', principal: who('clinician'), action: 'audit.read', resource: { kind: 'audit' }, allow: false },
  { name: 'clinician reads break-glass report', principal: who('clinician'), action: 'break-glass.report', resource: { kind: 'audit' }, allow: false },
  // admin
  { name: 'admin manages accounts', principal: who('admin'), action: 'accounts.manage', resource: { kind: 'accounts' }, allow: true },
  { name: 'admin manages care structure', principal: who('admin'), action: 'care-structure.manage', resource: { kind: 'care-structure' }, allow: true },
  { name: 'admin reads clinical data', principal: who('admin'), action: 'clinical.read', facts: none, purpose: 'TREAT', allow: false, because: /admins/ },
  { name: 'admin reads clinical data of a patient in care', principal: who('admin'), action: 'clinical.read', facts: care, purpose: 'TREAT', allow: false },
  { name: 'admin breaks glass', principal: who('admin'), action: 'break-glass.open', facts: none, reason: 'x'.repeat(40), allow: false },
  { name: 'admin reads audit', principal: who('admin'), action: 'audit.read', resource: { kind: 'audit' }, allow: false },
  // auditor
  { name: 'auditor reads audit', principal: who('auditor'), action: 'audit.read', resource: { kind: 'audit' }, allow: true },
  { name: 'auditor reads break-glass report', principal: who('auditor'), action: 'break-glass.report', resource: { kind: 'audit' }, allow: true },
  { name: 'auditor reads clinical data', principal: who('auditor'), action: 'clinical.read', facts: own, purpose: 'TREAT', allow: false },
  { name: 'auditor manages accounts', principal: who('auditor'), action: 'accounts.manage', resource: { kind: 'accounts' }, allow: false },
  // several roles: any allowing role allows; none leaks another's right
  { name: 'admin+clinician with care relationship', principal: who('admin', 'clinician'), action: 'clinical.read', facts: care, purpose: 'TREAT', allow: true },
  { name: 'admin+auditor reads clinical', principal: who('admin', 'auditor'), action: 'clinical.read', facts: care, purpose: 'TREAT', allow: false },
  { name: 'nurse+clinician off shift with care', principal: who('nurse', 'clinician'), action: 'clinical.read', facts: { ...dayShift, careRelationship: true }, purpose: 'TREAT', now: MIDNIGHT, allow: true },
  // missing facts (unknown patient) and wrong resource kinds
  { name: 'clinical read with no facts', principal: who('clinician'), action: 'clinical.read', purpose: 'TREAT', allow: false },
  { name: 'clinical read of a non-patient resource', principal: who('clinician'), action: 'clinical.read', resource: { kind: 'audit' }, facts: care, purpose: 'TREAT', allow: false },
];

describe('decide: the policy table', () => {
  it.each(table)('$name → allow=$allow', (row) => {
    const d = decide(row.principal, row.action, row.resource ?? patient, { now: row.now ?? NOON, purposeOfUse: row.purpose, breakGlassReason: row.reason, facts: row.facts });
    expect(d.allow).toBe(row.allow);
    expect(d.obligations).toContain('audit');
    expect(d.obligations.includes('flag-break-glass')).toBe(row.flagged ?? false);
    expect(d.reason.length).toBeGreaterThan(0);
    if (row.because !== undefined) expect(d.reason).toMatch(row.because);
  });

  it('break-glass opening also alerts the privacy office', () => {
    const d = decide(who('clinician'), 'break-glass.open', patient, { now: NOON, breakGlassReason: 'Unconscious patient in ED, no care team reachable', facts: none });
    expect(d.obligations).toEqual(['audit', 'flag-break-glass', 'alert-privacy-office']);
  });

  it('admin and auditor never read clinical data, whatever the facts and purpose (property)', () => {
    const facts = fc.record({
      patientAccount: fc.option(fc.constantFrom('me', 'other'), { nil: null }),
      sharedWardShifts: fc.array(fc.record({ wardId: fc.constant('w'), startMinute: fc.integer({ min: 0, max: 1439 }), endMinute: fc.integer({ min: 0, max: 1440 }), timeZone: fc.constantFrom('UTC', 'Europe/Paris') }), { maxLength: 2 }),
      careRelationship: fc.boolean(),
      activeBreakGlass: fc.boolean(),
    });
    fc.assert(
      fc.property(facts, fc.option(fc.constantFrom(...PURPOSES), { nil: undefined }), fc.subarray(['admin', 'auditor'] as Role[], { minLength: 1 }), fc.date({ noInvalidDate: true }), (f, purpose, roles, now) => {
        expect(decide(who(...roles), 'clinical.read', patient, { now, purposeOfUse: purpose, facts: f }).allow).toBe(false);
      }),
    );
  });

  it('no role reads clinical data without a purpose of use (property)', () => {
    fc.assert(
      fc.property(fc.subarray([...ROLES], { minLength: 1 }), fc.boolean(), fc.boolean(), (roles, careRelationship, activeBreakGlass) => {
        const d = decide(who(...roles), 'clinical.read', patient, { now: NOON, facts: { ...own, careRelationship, activeBreakGlass, sharedWardShifts: dayShift.sharedWardShifts } });
        expect(d.allow).toBe(false);
      }),
    );
  });
});

describe('inShift', () => {
  const shift = (startMinute: number, endMinute: number, timeZone = 'UTC') => ({ wardId: 'w', startMinute, endMinute, timeZone });
  it.each([
    ['day shift at noon', shift(480, 1200), '2026-03-02T12:00:00Z', true],
    ['day shift at its start', shift(480, 1200), '2026-03-02T08:00:00Z', true],
    ['day shift at its end (exclusive)', shift(480, 1200), '2026-03-02T20:00:00Z', false],
    ['night shift before midnight', shift(1200, 480), '2026-03-02T23:00:00Z', true],
    ['night shift after midnight', shift(1200, 480), '2026-03-02T03:00:00Z', true],
    ['night shift at noon', shift(1200, 480), '2026-03-02T12:00:00Z', false],
    ['all day', shift(0, 1440), '2026-03-02T23:59:00Z', true],
    ['Paris 08:00–20:00 at 07:30 UTC (08:30 Paris)', shift(480, 1200, 'Europe/Paris'), '2026-03-02T07:30:00Z', true],
    ['Paris 08:00–20:00 at 19:30 UTC (20:30 Paris)', shift(480, 1200, 'Europe/Paris'), '2026-03-02T19:30:00Z', false],
    ['unknown time zone', shift(0, 1440, 'Mars/Olympus'), '2026-03-02T12:00:00Z', false],
  ] as const)('%s', (_name, s, at, expected) => {
    expect(inShift(s, new Date(at))).toBe(expected);
  });
});
