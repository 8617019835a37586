/**
 * What the identity service hands to the audit log (issue 5 §6): every sign-in, every failure and
 * every account change, as `AuditEvent`s of `server/audit/`. Events carry the account id, the
 * attempted username (normalised) and the client address — never a password, code, secret or token.
 */
import type { AuditEvent } from '../audit/audit-event.js';

export type { AuditEvent };

export type IdentityAuditAction =
  | 'auth.sign-in'
  | 'auth.sign-in-failed'
  | 'auth.second-factor-failed'
  | 'auth.locked-out'
  | 'auth.address-limited'
  | 'auth.token-rejected'
  | 'account.create'
  | 'account.roles'
  | 'account.disable'
  | 'account.enable'
  | 'account.totp-enrol'
  | 'account.totp-reset'
  | 'account.password';

/** The part of the audit log identity needs (the log's own `append` returns the entry; ignored here). */
export interface IdentityAudit {
  append(event: AuditEvent): Promise<unknown>;
}

export function identityEvent(
  action: IdentityAuditAction,
  decision: 'success' | 'failure',
  actor: string,
  resource: string,
  extra: { reason?: string; address?: string; detail?: Record<string, string | number | boolean> } = {},
): AuditEvent {
  const detail = { ...(extra.detail ?? {}), ...(extra.address !== undefined ? { address: extra.address } : {}) };
  return {
    actor,
    action,
    resource,
    decision,
    ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
    ...(Object.keys(detail).length > 0 ? { detail } : {}),
  };
}
