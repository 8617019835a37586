/**
 * The append-only, hash-chained audit log (issue 5 §6). Each entry's hash covers the previous
 * entry's hash, so an edit, a deletion or a reordering breaks the chain; `audit_head` holds the
 * last seq and hash under a MAC from the master key, so cutting the tail is detected too.
 *
 * Concurrency: an append locks the single `audit_head` row (`SELECT … FOR UPDATE`) inside its
 * transaction, so any number of instances sharing one PostgreSQL append in one total order. The
 * table refuses UPDATE, DELETE and TRUNCATE (a trigger), and no route writes to it but `append`.
 */
import { concatBytes, utf8 } from '../../src/core/bytes.js';
import { hmacSha256 } from '../../src/core/primitives.js';
import type { Database, Queryable } from '../db/database.js';
import type { KeyProvider } from '../crypto/key-provider.js';
import { canonicalJson, entryHash, type AuditEntry, type AuditEvent, type AuditSink } from './audit-event.js';

const ACTION = /^[a-z][a-z0-9.-]{1,63}$/;

interface EntryRow {
  seq: string;
  at: Date;
  actor: string;
  action: string;
  resource: string;
  decision: AuditEntry['decision'];
  reason: string | null;
  detail: string;
  prev_hash: Uint8Array;
  hash: Uint8Array;
}

export const ENTRY_COLUMNS = 'seq::text AS seq, at, actor, action, resource, decision, reason, detail, prev_hash, hash';

export function entryFromRow(r: EntryRow): AuditEntry {
  return {
    seq: Number(r.seq),
    at: new Date(r.at),
    actor: r.actor,
    action: r.action,
    resource: r.resource,
    decision: r.decision,
    reason: r.reason,
    detail: r.detail,
    prevHash: new Uint8Array(r.prev_hash),
    hash: new Uint8Array(r.hash),
  };
}

/** MAC of the head: binds the last seq to its hash under a key only the master key yields. */
export function headMac(anchorKey: Uint8Array, seq: number, hash: Uint8Array): Uint8Array {
  const seqBytes = new Uint8Array(8);
  new DataView(seqBytes.buffer).setBigUint64(0, BigInt(seq));
  return hmacSha256(anchorKey, concatBytes(utf8('vitalock/audit-head/v1\0'), seqBytes, hash));
}

export const AUDIT_ANCHOR_PURPOSE = 'audit-head';

function check(event: AuditEvent): void {
  if (!ACTION.test(event.action)) throw new RangeError('audit action must be a short dotted name');
  if (event.actor.length === 0 || event.actor.length > 256) throw new RangeError('audit actor must be 1–256 characters');
  if (event.resource.length === 0 || event.resource.length > 512) throw new RangeError('audit resource must be 1–512 characters');
  if (event.reason !== undefined && event.reason.length > 2000) throw new RangeError('audit reason must be at most 2000 characters');
}

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: (entry: AuditEntry) => void;
  readonly reject: (error: unknown) => void;
}

/** Most entries one group commit writes (10 parameters each, well under PostgreSQL's 65 535). */
const MAX_BATCH = 500;

export class AuditLog implements AuditSink {
  #anchorKey: Promise<Uint8Array> | undefined;
  readonly #queue: Pending[] = [];
  #flushing = false;

  constructor(
    private readonly db: Database,
    private readonly keys: KeyProvider,
  ) {}

  /**
   * Appends one event; resolves once it is committed. Appends made while a commit is in progress
   * are written together in the next one (group commit): one lock, one head update and one
   * commit for many entries, so concurrent requests do not queue behind one commit each.
   */
  append(event: AuditEvent): Promise<AuditEntry> {
    try {
      check(event);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_BATCH);
        try {
          const entries = await this.db.transaction((tx) => this.appendManyIn(tx, batch.map((p) => p.event)));
          batch.forEach((p, i) => p.resolve(entries[i] as AuditEntry));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Appends inside the caller's transaction: the entry commits or rolls back with the caller's write. */
  async appendIn(tx: Queryable, event: AuditEvent): Promise<AuditEntry> {
    const [entry] = await this.appendManyIn(tx, [event]);
    return entry as AuditEntry;
  }

  /** Appends several events in order inside the caller's transaction, under one lock of the head. */
  async appendManyIn(tx: Queryable, events: readonly AuditEvent[]): Promise<AuditEntry[]> {
    events.forEach(check);
    if (events.length === 0) return [];
    const anchorKey = await this.anchorKey();
    const head = (await tx.query<{ seq: string; hash: Uint8Array }>('SELECT seq::text AS seq, hash FROM audit_head WHERE id = 1 FOR UPDATE')).rows[0];
    if (head === undefined) throw new Error('audit_head row missing: migrations not applied');
    let seq = Number(head.seq);
    let prevHash: Uint8Array = new Uint8Array(head.hash);
    const entries: AuditEntry[] = [];
    const params: (string | number | Date | Uint8Array | null)[] = [];
    const tuples: string[] = [];
    for (const event of events) {
      seq += 1;
      const unhashed = {
        seq,
        at: new Date(),
        actor: event.actor,
        action: event.action,
        resource: event.resource,
        decision: event.decision,
        reason: event.reason ?? null,
        detail: canonicalJson(event.detail ?? {}),
        prevHash,
      };
      const entry: AuditEntry = { ...unhashed, hash: entryHash(unhashed) };
      entries.push(entry);
      prevHash = entry.hash;
      const b = params.length;
      tuples.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9}, $${b + 10})`);
      params.push(entry.seq, entry.at, entry.actor, entry.action, entry.resource, entry.decision, entry.reason, entry.detail, entry.prevHash, entry.hash);
    }
    await tx.query(`INSERT INTO audit_log (seq, at, actor, action, resource, decision, reason, detail, prev_hash, hash) VALUES ${tuples.join(', ')}`, params);
    await tx.query('UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1', [seq, prevHash, headMac(anchorKey, seq, prevHash)]);
    return entries;
  }

  /** Entries after `afterSeq`, oldest first. */
  async read(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const r = await this.db.query<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY audit_log.seq LIMIT $2`, [afterSeq, limit]);
    return r.rows.map(entryFromRow);
  }

  private anchorKey(): Promise<Uint8Array> {
    this.#anchorKey ??= this.keys.deriveKey(AUDIT_ANCHOR_PURPOSE);
    return this.#anchorKey;
  }
}

export type { AuditEntry, AuditEvent, AuditSink } from './audit-event.js';
