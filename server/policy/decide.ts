/**
 * The one access decision of the cloud endpoint (issue 5 §4; architecture §5). Every route calls
 * `decide(principal, action, resource, context)` and acts on its answer; the function is pure (the
 * facts it needs are loaded beforehand by `policy-facts.ts`), so a table of cases tests it whole.
 *
 * - patient: their own record only (purpose PATRQT);
 * - nurse: patients admitted to a ward the nurse is assigned to, during the nurse's shift (TREAT);
 * - clinician: patients in a care relationship (TREAT), or any patient through break-glass (ETREAT,
 *   after a written reason), which is allowed, flagged and reported;
 * - admin: accounts, wards, assignments and devices — never clinical data;
 * - auditor: the audit log and the break-glass report only.
 * Clinical reads need a purpose of use. Anything not allowed is denied, with a reason.
 */
import type { Principal, Role } from './principal.js';

export type Action =
  | 'clinical.read'
  | 'clinical.write'
  | 'break-glass.open'
  | 'break-glass.report'
  | 'audit.read'
  | 'accounts.manage'
  | 'care-structure.manage';

export type Resource = { readonly kind: 'patient'; readonly patientId: string } | { readonly kind: 'audit' } | { readonly kind: 'accounts' } | { readonly kind: 'care-structure' };

/** HL7 v3 PurposeOfUse codes the API accepts. */
export type PurposeOfUse = 'TREAT' | 'ETREAT' | 'PATRQT';
export const PURPOSES: readonly PurposeOfUse[] = ['TREAT', 'ETREAT', 'PATRQT'];

export interface WardShift {
  readonly wardId: string;
  /** Minutes after midnight in `timeZone`; end before start means the shift runs past midnight. */
  readonly startMinute: number;
  readonly endMinute: number;
  readonly timeZone: string;
}

/** What the database says about the principal and the patient, loaded before deciding. */
export interface PatientFacts {
  /** The patient's own account subject, if any. */
  readonly patientAccount: string | null;
  /** The principal's shifts on the ward the patient is admitted to (empty when none). */
  readonly sharedWardShifts: readonly WardShift[];
  readonly careRelationship: boolean;
  readonly activeBreakGlass: boolean;
  /** The open grant's id, recorded with every read it allows. */
  readonly breakGlassGrantId?: string | undefined;
}

export interface DecisionContext {
  readonly now: Date;
  readonly purposeOfUse?: PurposeOfUse | undefined;
  readonly breakGlassReason?: string | undefined;
  readonly facts?: PatientFacts | undefined;
}

export type Obligation = 'audit' | 'flag-break-glass' | 'alert-privacy-office';

export interface Decision {
  readonly allow: boolean;
  readonly reason: string;
  readonly obligations: readonly Obligation[];
}

export const MIN_BREAK_GLASS_REASON = 20;

const allow = (reason: string, ...extra: Obligation[]): Decision => ({ allow: true, reason, obligations: ['audit', ...extra] });
const deny = (reason: string): Decision => ({ allow: false, reason, obligations: ['audit'] });

export function decide(principal: Principal | undefined, action: Action, resource: Resource, context: DecisionContext): Decision {
  if (principal === undefined) return deny('not signed in');
  const roles = new Set<Role>(principal.roles);
  switch (action) {
    case 'audit.read':
    case 'break-glass.report':
      return roles.has('auditor') ? allow('auditor') : deny('only an auditor reads the audit log and the break-glass report');
    case 'accounts.manage':
    case 'care-structure.manage':
      return roles.has('admin') ? allow('admin') : deny('only an admin manages accounts, wards, assignments and devices');
    case 'break-glass.open':
      if (!roles.has('clinician')) return deny('only a clinician may break the glass');
      if (resource.kind !== 'patient') return deny('break-glass applies to a patient record');
      if ((context.breakGlassReason?.trim().length ?? 0) < MIN_BREAK_GLASS_REASON) return deny(`break-glass needs a written reason of at least ${MIN_BREAK_GLASS_REASON} characters`);
      return allow('break-glass opened by a clinician', 'flag-break-glass', 'alert-privacy-office');
    case 'clinical.read':
    case 'clinical.write':
      if (resource.kind !== 'patient') return deny('clinical data belongs to a patient');
      return decideClinical(principal, roles, action, context);
  }
}

function decideClinical(principal: Principal, roles: ReadonlySet<Role>, action: 'clinical.read' | 'clinical.write', context: DecisionContext): Decision {
  const facts = context.facts;
  if (facts === undefined) return deny('patient not found');
  const purpose = context.purposeOfUse;
  const reading = action === 'clinical.read';
  if (reading && purpose === undefined) return deny('a purpose of use is required to read clinical data');
  const denials: string[] = [];

  if (roles.has('patient')) {
    if (facts.patientAccount !== principal.subject) denials.push('a patient sees only their own record');
    else if (reading && purpose !== 'PATRQT') denials.push('a patient reads their own record with purpose PATRQT');
    else return allow('own record');
  }
  if (roles.has('nurse')) {
    if (facts.sharedWardShifts.length === 0) denials.push('the patient is not on a ward the nurse is assigned to');
    else if (!facts.sharedWardShifts.some((s) => inShift(s, context.now))) denials.push('outside the nurse’s shift hours');
    else if (reading && purpose !== 'TREAT') denials.push('ward access is for treatment (purpose TREAT)');
    else return allow('ward assignment during shift');
  }
  if (roles.has('clinician')) {
    if (facts.careRelationship && (!reading || purpose === 'TREAT')) return allow('care relationship');
    if (reading && purpose === 'ETREAT' && facts.activeBreakGlass) return allow('break-glass', 'flag-break-glass');
    if (facts.careRelationship) denials.push('care access is for treatment (purpose TREAT)');
    else if (purpose === 'ETREAT') denials.push('no open break-glass for this patient: open one with a written reason first');
    else denials.push('no care relationship with this patient');
  }
  if (roles.has('admin') || roles.has('auditor')) denials.push('admins and auditors do not read clinical data');
  return deny(denials[0] ?? 'no role that may access clinical data');
}

/** Whether `now` falls in the shift, in the ward's time zone. An unknown time zone is never in shift. */
export function inShift(shift: WardShift, now: Date): boolean {
  let minute: number;
  try {
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone: shift.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
    const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
    minute = get('hour') * 60 + get('minute');
  } catch {
    return false;
  }
  if (!Number.isInteger(minute)) return false;
  const { startMinute: s, endMinute: e } = shift;
  return s <= e ? minute >= s && minute < e : minute >= s || minute < e;
}
