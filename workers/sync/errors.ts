/**
 * Typed errors of sync (docs/sync.md §5): what the uploader and the OAuth client throw on purpose.
 * Messages are fixed plain words; none carries a token, a code, a verifier or a reading.
 */

export type SignedOutReason =
  /** No session: never signed in, signed out, or the refresh token could not be read. */
  | 'no-session'
  /** The authorization server refused the refresh token (revoked, expired, reused). */
  | 'refresh-rejected'
  /** The API refused a freshly refreshed access token. */
  | 'token-rejected';

/** Sync needs the user to sign in again; the outbox is kept. */
export class SignedOutError extends Error {
  override readonly name = 'SignedOutError';
  constructor(readonly reason: SignedOutReason) {
    super('signed out: sign in again to resume sync');
  }
}

/** A call to the authorization server failed in a way that may pass (network, 5xx): retry later. */
export class AuthUnavailableError extends Error {
  override readonly name = 'AuthUnavailableError';
  constructor(readonly status?: number) {
    super('the sign-in server could not be reached');
  }
}

export type SignInErrorCode =
  /** `completeSignIn` without a `beginSignIn` in this worker, or after it expired. */
  | 'no-pending-sign-in'
  /** The callback's `state` is not the one this worker sent (a forged or stale callback). */
  | 'state-mismatch'
  /** The user or the server refused (`error=access_denied` and the like). */
  | 'denied'
  /** The server's answer did not validate (ID token, token type, missing refresh token). */
  | 'invalid-response'
  /** The server could not be reached. */
  | 'unavailable';

export class SignInError extends Error {
  override readonly name = 'SignInError';
  constructor(
    readonly code: SignInErrorCode,
    message: string,
  ) {
    super(message);
  }
}
