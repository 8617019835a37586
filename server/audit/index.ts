/**
 * The audit module's surface (issue 5 §6): the event type every part appends, the log, and the
 * verifier. Identity calls `audit.append(event)` for every sign-in and failure.
 */
export type { AuditDecision, AuditDetail, AuditEntry, AuditEvent, AuditSink } from './audit-event.js';
export { AuditLog } from './audit-log.js';
export { verifyAuditChain, type ChainVerdict } from './verify.js';
