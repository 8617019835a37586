/**
 * The embedded provider's token-signing keys (a JWKS, RFC 7517), kept in the database so every
 * instance signs and verifies with the same keys. The private half is sealed with the identity
 * key; the first instance to start creates an ES256 key under an advisory lock, the others load it.
 *
 * Rotation: add a key and mark the old one retired once no token it signed can still be live;
 * not automated yet.
 */
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import type { Database } from '../db/database.js';
import { fromUtf8, utf8 } from '../../src/core/bytes.js';
import { open, seal } from './sealed-secret.js';

const LOCK_KEY = 0x7669_6964; // "viid"
export const SIGNING_ALG = 'ES256';

export interface SigningKeys {
  /** Private JWKs for oidc-provider's `jwks` option. */
  readonly privateJwks: { keys: JWK[] };
  /** Public JWKs for verifying access tokens locally. */
  readonly publicJwks: { keys: JWK[] };
}

interface KeyRow {
  kid: string;
  public_jwk: JWK | string;
  sealed_private_jwk: Uint8Array;
}

export async function loadSigningKeys(db: Database, identityKey: Uint8Array): Promise<SigningKeys> {
  const rows = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const existing = await tx.query<KeyRow>('SELECT kid, public_jwk, sealed_private_jwk FROM identity_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC');
    if (existing.rows.length > 0) return existing.rows;
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: 'sig' };
    const sealed = seal(identityKey, 'signing-key', `signing-key/${kid}`, utf8(JSON.stringify(privateJwk)));
    const pub = { ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' };
    await tx.query('INSERT INTO identity_signing_keys (kid, alg, public_jwk, sealed_private_jwk) VALUES ($1, $2, $3, $4)', [kid, SIGNING_ALG, JSON.stringify(pub), sealed]);
    return [{ kid, public_jwk: pub, sealed_private_jwk: sealed }];
  });
  const privateKeys = rows.map((r) => JSON.parse(fromUtf8(open(identityKey, 'signing-key', `signing-key/${r.kid}`, new Uint8Array(r.sealed_private_jwk)))) as JWK);
  const publicKeys = rows.map((r) => (typeof r.public_jwk === 'string' ? (JSON.parse(r.public_jwk) as JWK) : r.public_jwk));
  return { privateJwks: { keys: privateKeys }, publicJwks: { keys: publicKeys } };
}
