/**
 * What the audit log records (issue 5 §6), and its canonical encoding. Every sign-in and failure,
 * every read and write of clinical data, every policy decision and every break-glass is one
 * `AuditEvent`. Events carry who, what, which resource and the decision — never a secret, never a
 * clinical value (detail values are short identifiers and counts).
 *
 * Hash of an entry = SHA-256 over the canonical JSON of (seq, at, actor, action, resource,
 * decision, reason, detail, prev): keys sorted, no spaces, times as ISO-8601 UTC with milliseconds.
 */
import { sha256 } from '../../src/core/primitives.js';
import { utf8 } from '../../src/core/bytes.js';

export type AuditDecision = 'allow' | 'deny' | 'success' | 'failure';

export type AuditDetail = Readonly<Record<string, string | number | boolean | null>>;

export interface AuditEvent {
  /** The principal's subject, or `anonymous`, or `system`. */
  readonly actor: string;
  /** Dotted verb, e.g. `auth.sign-in`, `observation.read`, `break-glass.open`, `account.create`. */
  readonly action: string;
  /** What was acted on, e.g. `patient/p-3f…`, `account/alice`, `audit`. */
  readonly resource: string;
  readonly decision: AuditDecision;
  /** Why (the policy's reason, a failure cause, a break-glass reason). Plain text, no secrets. */
  readonly reason?: string;
  /** Small facts: request id, client address, purpose of use, counts, flags such as `breakGlass`. */
  readonly detail?: AuditDetail;
}

/** What identity (and every other part) calls; implemented by `AuditLog`. */
export interface AuditSink {
  append(event: AuditEvent): Promise<AuditEntry>;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly resource: string;
  readonly decision: AuditDecision;
  readonly reason: string | null;
  /** Canonical JSON of the detail (`{}` when none). */
  readonly detail: string;
  readonly prevHash: Uint8Array;
  readonly hash: Uint8Array;
}

export const GENESIS_HASH = new Uint8Array(32);

/** JSON with object keys sorted at every level; the one encoding the chain hashes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return '{' + entries.map(([k, v]) => JSON.stringify(k) + ':' + canonicalJson(v)).join(',') + '}';
}

export function entryHash(entry: Omit<AuditEntry, 'hash'>): Uint8Array {
  return sha256(
    utf8(
      canonicalJson({
        seq: entry.seq,
        at: entry.at.toISOString(),
        actor: entry.actor,
        action: entry.action,
        resource: entry.resource,
        decision: entry.decision,
        reason: entry.reason,
        detail: entry.detail,
        prev: Buffer.from(entry.prevHash).toString('hex'),
      }),
    ),
  );
}
