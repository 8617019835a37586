/**
 * oidc-provider's storage adapter over the shared database (table `identity_oidc_models`), so
 * several instances share sessions, interactions, codes, refresh tokens, grants and replay
 * detection. Expired rows are invisible at once and pruned as new ones arrive.
 *
 * `consume` marks a row used (authorization codes, rotated refresh tokens); oidc-provider sees
 * `consumed` on the next `find` and, for a refresh token, revokes the whole grant (reuse detection).
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Queryable } from '../db/database.js';

interface ModelRow {
  payload: AdapterPayload;
  consumed_at: Date | null;
}

/** Prune expired rows about once every this many writes. */
const PRUNE_EVERY = 200;

export class DatabaseAdapter implements Adapter {
  private static writes = 0;

  constructor(
    private readonly db: Queryable,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const expiresAt = expiresIn !== undefined && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : null;
    await this.db.query(
      `INSERT INTO identity_oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
         user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
      [this.model, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, expiresAt],
    );
    if (++DatabaseAdapter.writes % PRUNE_EVERY === 0) await pruneExpired(this.db);
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.one('id = $2', id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.one('uid = $2', uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.one('user_code = $2', userCode);
  }

  async consume(id: string): Promise<void> {
    await this.db.query('UPDATE identity_oidc_models SET consumed_at = now() WHERE model = $1 AND id = $2', [this.model, id]);
  }

  async destroy(id: string): Promise<void> {
    await this.db.query('DELETE FROM identity_oidc_models WHERE model = $1 AND id = $2', [this.model, id]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // Every model of the grant, not only this one: the whole token family goes.
    await this.db.query(`DELETE FROM identity_oidc_models WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)`, [grantId]);
  }

  private async one(where: string, value: string): Promise<AdapterPayload | undefined> {
    const r = await this.db.query<ModelRow>(
      `SELECT payload, consumed_at FROM identity_oidc_models
       WHERE model = $1 AND ${where} AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
      [this.model, value],
    );
    const row = r.rows[0];
    if (row === undefined) return undefined;
    const payload = typeof row.payload === 'string' ? (JSON.parse(row.payload) as AdapterPayload) : row.payload;
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) };
  }
}

export async function pruneExpired(db: Queryable): Promise<void> {
  await db.query('DELETE FROM identity_oidc_models WHERE expires_at < now()');
  await db.query('DELETE FROM identity_dpop_proofs WHERE expires_at < now()');
}
