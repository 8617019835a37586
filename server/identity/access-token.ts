/**
 * Access-token verification at the API (RFC 9068 JWT access tokens, RFC 9449 DPoP binding): the
 * token's signature against the issuer's JWKS, `iss`, `aud`, `exp`/`nbf` with a small clock skew,
 * `sub` and `jti` present, and a `cnf.jkt` binding — bearer tokens are not accepted — then the
 * request's DPoP proof (`dpop-proof.ts`). The result is the request's `Principal`.
 *
 * Tokens come from the embedded provider (its keys read from the database) or from a hospital's
 * issuer (its JWKS fetched from `OIDC_JWKS_URL` and cached by jose), with roles from a configurable
 * claim. Errors are typed; the wire says only `invalid_token` or `invalid_dpop_proof`.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Role } from './accounts.js';
import { ROLES } from './accounts.js';
import { AccessTokenError } from './errors.js';
import { verifyDpopProof, type ReplayCache } from './dpop-proof.js';

export interface Principal {
  readonly subject: string;
  readonly roles: Role[];
  readonly tokenId: string;
  readonly clientId?: string;
}

export const CLOCK_SKEW_SECONDS = 5;
const TOKEN_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'PS256', 'RS256'];
const MAX_TOKEN_LENGTH = 8192;

export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Local keys (embedded provider) or a JWKS URL (external issuer). */
  readonly keys: { readonly jwks: { keys: JWK[] } } | { readonly jwksUrl: string };
  readonly rolesClaim: string;
  /** Require `typ: at+jwt` (RFC 9068 §2.1); the embedded provider sets it, not every issuer does. */
  readonly requireAtJwtType: boolean;
  readonly replay: ReplayCache;
}

export interface ProtectedRequest {
  readonly authorization: string | undefined;
  readonly dpop: string | readonly string[] | undefined;
  readonly method: string;
  /** Absolute URL as the client addressed it. */
  readonly url: string;
}

export interface TokenVerifier {
  /** undefined when the request carries no token at all (anonymous). Throws on a bad one. */
  verify(request: ProtectedRequest, now?: number): Promise<Principal | undefined>;
}

/** Reads `Authorization: DPoP <token>`; any other scheme with a token is rejected, not ignored. */
export function parseAuthorization(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^DPoP ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  if (m === null || m[1] === undefined || m[1].length > MAX_TOKEN_LENGTH) throw new AccessTokenError('malformed');
  return m[1];
}

export function rolesFrom(value: unknown): Role[] {
  const list = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
  return [...new Set(list.filter((r): r is Role => typeof r === 'string' && (ROLES as readonly string[]).includes(r)))];
}

function mapJoseError(e: unknown): AccessTokenError {
  if (e instanceof AccessTokenError) return e;
  if (e instanceof errors.JWTExpired) return new AccessTokenError('expired');
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'iss') return new AccessTokenError('issuer');
    if (e.claim === 'aud') return new AccessTokenError('audience');
    if (e.claim === 'nbf') return new AccessTokenError('not-yet-valid');
    return new AccessTokenError('claims');
  }
  if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSNoMatchingKey) return new AccessTokenError('signature');
  return new AccessTokenError('malformed');
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const keySet: JWTVerifyGetKey = 'jwks' in options.keys ? createLocalJWKSet(options.keys.jwks) : createRemoteJWKSet(new URL(options.keys.jwksUrl));
  return {
    async verify(request, now = Date.now()) {
      const token = parseAuthorization(request.authorization);
      if (token === undefined) return undefined;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySet, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: TOKEN_ALGORITHMS,
          clockTolerance: CLOCK_SKEW_SECONDS,
          currentDate: new Date(now),
          requiredClaims: ['exp', 'sub', 'jti'],
          ...(options.requireAtJwtType ? { typ: 'at+jwt' } : {}),
        }));
      } catch (e) {
        throw mapJoseError(e);
      }
      const cnf = payload.cnf as { jkt?: unknown } | undefined;
      if (typeof cnf?.jkt !== 'string') throw new AccessTokenError('not-dpop-bound');
      const sub = payload.sub ?? '';
      const jti = payload.jti ?? '';
      if (sub === '' || jti === '') throw new AccessTokenError('claims');
      await verifyDpopProof({ proof: request.dpop, method: request.method, url: request.url, accessToken: token, boundThumbprint: cnf.jkt }, options.replay, now);
      const clientId = typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : undefined;
      return { subject: sub, roles: rolesFrom(payload[options.rolesClaim]), tokenId: jti, ...(clientId !== undefined ? { clientId } : {}) };
    },
  };
}
