/**
 * DPoP proof verification at the API (RFC 9449 §4.3 and §7.1): the proof in the `DPoP` header must
 * be a JWT of type `dpop+jwt`, signed with an asymmetric algorithm by the public key in its `jwk`
 * header (no private members), for this request's method (`htm`) and URL (`htu`, without query or
 * fragment), issued within the freshness window (`iat`), never seen before (`jti`, in a replay cache
 * in the database so every instance shares it), bound to this access token (`ath` = base64url of
 * its SHA-256), and signed by the key the token is bound to (`cnf.jkt` = RFC 7638 thumbprint).
 *
 * Every failure is a `DpopProofError` with a reason for the log; the wire says `invalid_dpop_proof`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64url, calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Queryable } from '../db/database.js';
import { equalBytes, utf8 } from '../../src/core/bytes.js';
import { DpopProofError } from './errors.js';

export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] as const;
/** Proofs older than this, or further than `FUTURE_SKEW_SECONDS` ahead, are stale. */
export const PROOF_MAX_AGE_SECONDS = 60;
export const FUTURE_SKEW_SECONDS = 10;
const MAX_PROOF_LENGTH = 8192;

export interface ProofRequest {
  /** The `DPoP` header value(s) as received. */
  readonly proof: string | readonly string[] | undefined;
  readonly method: string;
  /** The request's absolute URL as the client addressed it (public origin + path). */
  readonly url: string;
  readonly accessToken: string;
  /** `cnf.jkt` of the access token. */
  readonly boundThumbprint: string;
}

export interface ReplayCache {
  /** Records the proof id; false when it was already there. */
  remember(proofId: string, expiresAt: Date): Promise<boolean>;
}

/** Prune expired proof ids about once every this many inserts. */
const PRUNE_EVERY = 1000;

/** The replay cache in the shared database (table `identity_dpop_proofs`). */
export function databaseReplayCache(db: Queryable): ReplayCache {
  let inserts = 0;
  return {
    async remember(proofId, expiresAt) {
      const r = await db.query('INSERT INTO identity_dpop_proofs (proof_id, expires_at) VALUES ($1, $2) ON CONFLICT (proof_id) DO NOTHING', [proofId, expiresAt]);
      if (++inserts % PRUNE_EVERY === 0) await db.query('DELETE FROM identity_dpop_proofs WHERE expires_at < now()');
      return r.rowCount === 1;
    },
  };
}

/** Structural checks on the protected header, before any cryptography. */
export function checkProofHeader(header: Record<string, unknown>): JWK {
  if (header.typ !== 'dpop+jwt') throw new DpopProofError('type');
  if (typeof header.alg !== 'string' || !(DPOP_ALGORITHMS as readonly string[]).includes(header.alg)) throw new DpopProofError('algorithm');
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new DpopProofError('key');
  const k = jwk as Record<string, unknown>;
  if (typeof k.kty !== 'string' || !['EC', 'OKP', 'RSA'].includes(k.kty)) throw new DpopProofError('key');
  // A private key in the header would mean the client leaked it (RFC 9449 §4.3 point 6).
  for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) if (privateMember in k) throw new DpopProofError('key');
  return k as JWK;
}

/** Compares `htu` with the request URL: scheme, host, port and path; query and fragment ignored. */
export function sameTarget(htu: unknown, requestUrl: string): boolean {
  if (typeof htu !== 'string' || htu.length > 2048) return false;
  const a = parseUrl(htu);
  const b = parseUrl(requestUrl);
  if (a === null || b === null) return false;
  return a.protocol === b.protocol && a.host === b.host && a.pathname === b.pathname;
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

export async function verifyDpopProof(request: ProofRequest, replay: ReplayCache, now = Date.now()): Promise<{ jkt: string; jti: string }> {
  const proof = request.proof;
  if (proof === undefined) throw new DpopProofError('missing');
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH) throw new DpopProofError('malformed');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(proof) as Record<string, unknown>;
  } catch {
    throw new DpopProofError('malformed');
  }
  const jwk = checkProofHeader(header);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGORITHMS] }));
  } catch {
    throw new DpopProofError('signature');
  }
  if (typeof payload.htm !== 'string' || payload.htm !== request.method.toUpperCase()) throw new DpopProofError('method');
  if (!sameTarget(payload.htu, request.url)) throw new DpopProofError('url');
  const nowSeconds = Math.floor(now / 1000);
  if (typeof payload.iat !== 'number' || payload.iat < nowSeconds - PROOF_MAX_AGE_SECONDS || payload.iat > nowSeconds + FUTURE_SKEW_SECONDS) {
    throw new DpopProofError('stale');
  }
  if (typeof payload.jti !== 'string' || payload.jti.length < 8 || payload.jti.length > 256) throw new DpopProofError('malformed');
  const expectedAth = base64url.encode(sha256(utf8(request.accessToken)));
  if (typeof payload.ath !== 'string' || !equalBytes(utf8(payload.ath), utf8(expectedAth))) throw new DpopProofError('token-hash');
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  if (!equalBytes(utf8(jkt), utf8(request.boundThumbprint))) throw new DpopProofError('key-binding');
  // Last, so that only proofs that are valid in every other respect take a slot in the cache.
  const proofId = base64url.encode(sha256(utf8(`${jkt}\0${payload.jti}`)));
  const expiresAt = new Date((payload.iat + PROOF_MAX_AGE_SECONDS + FUTURE_SKEW_SECONDS + 1) * 1000);
  if (!(await replay.remember(proofId, expiresAt))) throw new DpopProofError('replayed');
  return { jkt, jti: payload.jti };
}
