/**
 * Where routes meet the policy (issue 5 §4, §6): load the facts, call `decide`, append the
 * decision to the audit log (allowed and denied alike), and stop the request on a denial — 401
 * when nobody is signed in, 403 with the policy's reason otherwise.
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { ServerContext } from '../context.js';
import { decide, type Action, type Decision, type PurposeOfUse, type Resource } from '../policy/decide.js';
import { loadPatientFacts } from '../policy/patient-facts.js';
import type { Principal } from '../policy/principal.js';

export interface Granted {
  readonly principal: Principal;
  readonly decision: Decision;
  readonly breakGlass: boolean;
}

export function resourceName(resource: Resource): string {
  return resource.kind === 'patient' ? `patient/${resource.patientId}` : resource.kind;
}

export function purposeOf(request: FastifyRequest): PurposeOfUse | undefined {
  const h = request.headers['x-purpose-of-use'];
  return h === 'TREAT' || h === 'ETREAT' || h === 'PATRQT' ? h : undefined;
}

/** Decides, audits, and throws on a denial. For patient resources the patient must exist (404). */
export async function authorize(
  ctx: ServerContext,
  request: FastifyRequest,
  action: Action,
  resource: Resource,
  extra: { breakGlassReason?: string; auditAction?: string; auditResource?: string } = {},
): Promise<Granted> {
  const principal = await ctx.authenticate(request);
  const now = ctx.now();
  const purposeOfUse = purposeOf(request);
  let facts;
  if (resource.kind === 'patient' && principal !== undefined) {
    facts = await loadPatientFacts(ctx.db, principal.subject, resource.patientId, now);
    if (facts === undefined) throw new ApiError('not-found', 'No patient with that id.');
  }
  const decision = decide(principal, action, resource, { now, purposeOfUse, breakGlassReason: extra.breakGlassReason, facts });
  const breakGlass = decision.obligations.includes('flag-break-glass');
  await ctx.audit.append({
    actor: principal?.subject ?? 'anonymous',
    action: extra.auditAction ?? action,
    resource: extra.auditResource ?? resourceName(resource),
    decision: decision.allow ? 'allow' : 'deny',
    reason: decision.reason,
    detail: {
      requestId: request.id,
      ...(purposeOfUse !== undefined ? { purposeOfUse } : {}),
      ...(breakGlass ? { breakGlass: true } : {}),
      ...(breakGlass && action === 'clinical.read' && facts?.breakGlassGrantId !== undefined ? { grant: facts.breakGlassGrantId } : {}),
    },
  });
  if (principal === undefined) throw new ApiError('unauthenticated', 'Sign in to continue.');
  if (!decision.allow) throw new ApiError('forbidden', `Access denied: ${decision.reason}.`);
  if (decision.obligations.includes('alert-privacy-office')) {
    request.log.warn({ event: 'break-glass', actor: principal.subject, resource: resourceName(resource) }, 'break-glass access opened');
  }
  return { principal, decision, breakGlass };
}
