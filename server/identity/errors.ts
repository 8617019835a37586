/**
 * Typed errors of the identity service (issue 5 §3).
 *
 * Messages are fixed strings that carry no secret, token or password, so they may be logged as
 * they are. What reaches the wire is decided by the callers: a request with a bad token gets only
 * `invalid_token` or `invalid_dpop_proof` (RFC 9449 §7.1), never the `reason` below.
 */

export type TokenRejection =
  | 'malformed'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'not-yet-valid'
  | 'claims'
  | 'not-dpop-bound';

export type ProofRejection =
  | 'missing'
  | 'malformed'
  | 'type'
  | 'algorithm'
  | 'key'
  | 'signature'
  | 'method'
  | 'url'
  | 'stale'
  | 'replayed'
  | 'token-hash'
  | 'key-binding';

/** An access token that did not verify; the wire says `invalid_token`. */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  readonly wireError = 'invalid_token';
  constructor(readonly reason: TokenRejection) {
    super(`access token rejected: ${reason}`);
  }
}

/** A DPoP proof that did not verify; the wire says `invalid_dpop_proof`. */
export class DpopProofError extends Error {
  override readonly name = 'DpopProofError';
  readonly wireError = 'invalid_dpop_proof';
  constructor(readonly reason: ProofRejection) {
    super(`DPoP proof rejected: ${reason}`);
  }
}

export type AccountErrorCode =
  | 'invalid-username'
  | 'invalid-display-name'
  | 'weak-password'
  | 'invalid-role'
  | 'username-taken'
  | 'not-found';

/** Bad input to an account function (the admin API maps it to a 4xx). */
export class AccountError extends Error {
  override readonly name = 'AccountError';
  constructor(
    readonly code: AccountErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A stored or submitted encoding (PHC string, base32 secret, one-time code) that does not parse. */
export class EncodingError extends Error {
  override readonly name = 'EncodingError';
  constructor(message: string) {
    super(message);
  }
}

/** Configuration that cannot work (missing key, bad URL); thrown at start, never per request. */
export class IdentityConfigError extends Error {
  override readonly name = 'IdentityConfigError';
  constructor(message: string) {
    super(message);
  }
}
