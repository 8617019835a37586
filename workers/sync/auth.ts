/**
 * The vault worker's OAuth client (docs/sync.md §5; issue 6 §2; architecture §4): authorization
 * code + PKCE (S256) + state + nonce, DPoP-bound tokens (RFC 9449) and rotating refresh tokens,
 * with `oauth4webapi`.
 *
 * Who holds what:
 * - The DPoP key pair is generated here (ECDSA P-256, the private key non-extractable) and kept in
 *   IndexedDB as a `CryptoKey` — structured-cloneable, so it survives a restart and stays
 *   non-extractable (`AuthStorage`).
 * - The PKCE verifier, state and nonce live only in this worker's memory between `beginSignIn`
 *   and `completeSignIn`: the page gets an authorization URL and hands back the callback URL.
 * - The access token lives only in memory. The refresh token lives in memory and, sealed so that
 *   only the vault key chain opens it, in the vault (`token-vault.ts`) — a stolen disk holds the
 *   DPoP key but no refresh token.
 * - Nothing this class returns to its callers in the page's direction (`AuthState`) is a token.
 *
 * Refresh happens before expiry (`REFRESH_MARGIN_MS`) and after a 401, one at a time (concurrent
 * callers share one refresh: a rotated refresh token used twice would revoke the whole family).
 * A refresh the server refuses signs the user out (`SignedOutError`); one that cannot reach the
 * server is `AuthUnavailableError` and the current access token is used while it is still valid.
 */
import * as oauth from 'oauth4webapi';
import { DpopKey } from './dpop-key.js';
import { AuthUnavailableError, SignedOutError, SignInError } from './errors.js';
import type { TokenPort, TransportResponse } from './upload-ports.js';

export interface AuthConfig {
  /** The OpenID provider's issuer (`https://host/oidc`). */
  readonly issuer: string;
  readonly clientId: string;
  /** Where the provider sends the browser back (registered with the client). */
  readonly redirectUri: string;
  /** The API's resource indicator (RFC 8707): the access token's audience. */
  readonly resource: string;
  readonly scope?: string;
}

/** Where the DPoP key pair and the sealed refresh token are kept (`token-vault.ts`). */
export interface AuthStorage {
  loadKeyPair(): Promise<CryptoKeyPair | undefined>;
  saveKeyPair(pair: CryptoKeyPair): Promise<void>;
  deleteKeyPair(): Promise<void>;
  /** Seals and stores the refresh token; must work while the vault is locked. */
  saveRefreshToken(token: string): Promise<void>;
  /** The stored refresh token, or undefined when there is none or it cannot be opened now. */
  loadRefreshToken(): Promise<string | undefined>;
  deleteRefreshToken(): Promise<void>;
}

export interface AuthOptions {
  readonly config: AuthConfig;
  readonly storage: AuthStorage;
  readonly now: () => number;
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Plain http to a loopback issuer (development and tests only). */
  readonly allowInsecureLoopback?: boolean;
  /** Each call to the authorization server is abandoned after this long (default 30 s). */
  readonly timeoutMs?: number;
  readonly onChange?: (state: AuthState) => void;
}

export type AuthStatus = 'signed-out' | 'signing-in' | 'signed-in';

/** What the page may see: no token, no code, no verifier. */
export interface AuthState {
  readonly status: AuthStatus;
  /** The account's id at the provider (`sub`). */
  readonly subject?: string;
  /** The account's display name, when the provider gave one. */
  readonly name?: string;
}

export const DEFAULT_SCOPE = 'openid offline_access profile api';
/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS = 60_000;
/** Below this clock offset proofs keep the device's time (the API accepts proofs up to 10 s ahead). */
export const CLOCK_ADJUST_MS = 5_000;
/** A sign-in must complete within this long of `beginSignIn`. */
export const PENDING_SIGN_IN_MS = 10 * 60_000;

interface PendingSignIn {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly createdAtMs: number;
}

export class SyncAuth implements TokenPort {
  private as: oauth.AuthorizationServer | undefined;
  private client: oauth.Client;
  private readonly key: DpopKey;
  private pending: PendingSignIn | undefined;
  private access: { readonly token: string; readonly expiresAtMs: number } | undefined;
  private refreshToken: string | undefined;
  private refreshing: Promise<void> | undefined;
  private status: AuthStatus = 'signed-out';
  private subject: string | undefined;
  private name: string | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: AuthOptions) {
    this.client = { client_id: options.config.clientId };
    this.key = new DpopKey(options.storage);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (options.allowInsecureLoopback === true && !isLoopback(options.config.issuer)) throw new RangeError('plain http is allowed for a loopback issuer only');
  }

  state(): AuthState {
    return { status: this.status, ...(this.subject !== undefined ? { subject: this.subject } : {}), ...(this.name !== undefined ? { name: this.name } : {}) };
  }

  /** After a restart or an unlock: picks up a stored refresh token. True when signed in. */
  async resume(): Promise<boolean> {
    if (this.refreshToken === undefined) this.refreshToken = await this.options.storage.loadRefreshToken();
    if (this.refreshToken !== undefined && this.status === 'signed-out') this.setStatus('signed-in');
    return this.refreshToken !== undefined;
  }

  // ── sign-in ───────────────────────────────────────────────────────────────────────────────────

  /** The authorization URL for the page to open. The verifier, state and nonce stay here. */
  async beginSignIn(): Promise<string> {
    const as = await this.discover();
    const dpop = await this.key.handle();
    const verifier = oauth.generateRandomCodeVerifier();
    const pending: PendingSignIn = { verifier, state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), createdAtMs: this.options.now() };
    if (as.authorization_endpoint === undefined) throw new SignInError('invalid-response', 'The sign-in server has no authorization endpoint.');
    const url = new URL(as.authorization_endpoint);
    const p = url.searchParams;
    p.set('client_id', this.client.client_id);
    p.set('redirect_uri', this.options.config.redirectUri);
    p.set('response_type', 'code');
    p.set('scope', this.options.config.scope ?? DEFAULT_SCOPE);
    p.set('state', pending.state);
    p.set('nonce', pending.nonce);
    p.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    p.set('code_challenge_method', 'S256');
    p.set('resource', this.options.config.resource);
    // RFC 9449 §10: binds the authorization code to this worker's DPoP key.
    p.set('dpop_jkt', await dpop.calculateThumbprint());
    this.pending = pending;
    if (this.status === 'signed-out') this.setStatus('signing-in');
    return url.href;
  }

  /** Completes the sign-in with the URL the provider redirected to. */
  async completeSignIn(callbackUrl: string): Promise<AuthState> {
    const pending = this.pending;
    if (pending === undefined || this.options.now() - pending.createdAtMs > PENDING_SIGN_IN_MS) {
      this.pending = undefined;
      throw new SignInError('no-pending-sign-in', 'This sign-in has expired. Start signing in again.');
    }
    const as = await this.discover();
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(as, this.client, new URL(callbackUrl), pending.state);
    } catch (error) {
      if (error instanceof oauth.AuthorizationResponseError) {
        this.pending = undefined;
        this.afterFailedSignIn();
        throw new SignInError('denied', 'Sign-in was refused. Start signing in again, or ask your administrator.');
      }
      // A callback with another state: not ours (or an old tab). The pending sign-in stays.
      throw new SignInError('state-mismatch', 'This sign-in page does not belong to this app window. Start signing in again.');
    }
    this.pending = undefined;
    let response: oauth.TokenEndpointResponse;
    try {
      response = await this.withNonceRetry(async () => {
        const res = await oauth.authorizationCodeGrantRequest(as, this.client, oauth.None(), params, this.options.config.redirectUri, pending.verifier, await this.requestOptions());
        return oauth.processAuthorizationCodeResponse(as, this.client, res, { expectedNonce: pending.nonce, requireIdToken: true });
      });
    } catch (error) {
      this.afterFailedSignIn();
      if (isUnreachable(error)) throw new SignInError('unavailable', 'The sign-in server could not be reached. Check the connection and try again.');
      throw new SignInError('invalid-response', 'The sign-in server’s answer was not valid. Start signing in again.');
    }
    if (response.token_type.toLowerCase() !== 'dpop' || response.refresh_token === undefined) {
      this.afterFailedSignIn();
      throw new SignInError('invalid-response', 'The sign-in server did not issue a device-bound session. Ask your administrator.');
    }
    const claims = oauth.getValidatedIdTokenClaims(response);
    this.subject = claims?.sub;
    this.name = typeof claims?.name === 'string' ? claims.name : undefined;
    await this.accept(response);
    this.setStatus('signed-in');
    return this.state();
  }

  /** Signs out: revokes the refresh token (best effort), forgets tokens and the DPoP key. */
  async signOut(): Promise<void> {
    const token = this.refreshToken;
    this.dropTokens();
    this.pending = undefined;
    if (token !== undefined && this.as?.revocation_endpoint !== undefined) {
      try {
        const res = await oauth.revocationRequest(this.as, this.client, oauth.None(), token, { ...(await this.requestOptions()), additionalParameters: { token_type_hint: 'refresh_token' } });
        await oauth.processRevocationResponse(res);
      } catch {
        // Offline: the token is forgotten here; the server expires it.
      }
    }
    await this.options.storage.deleteRefreshToken();
    await this.key.forget();
    this.subject = undefined;
    this.name = undefined;
    this.setStatus('signed-out');
  }

  // ── the token port ────────────────────────────────────────────────────────────────────────────

  async accessToken(): Promise<string> {
    const now = this.options.now();
    const access = this.access;
    if (access !== undefined && access.expiresAtMs - now > REFRESH_MARGIN_MS) return access.token;
    try {
      await this.refresh();
    } catch (error) {
      // Cannot reach the server to refresh: a token that has not expired yet still serves.
      if (error instanceof AuthUnavailableError && access !== undefined && access.expiresAtMs > now) return access.token;
      throw error;
    }
    if (this.access === undefined) throw new SignedOutError('no-session');
    return this.access.token;
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  dpopProof(method: string, url: string, accessToken: string): Promise<string> {
    return this.key.proof(method, url, accessToken);
  }

  observe(url: string, response: TransportResponse): void {
    this.key.observe(url, response);
  }

  /**
   * The server's time from an API answer. Proofs are made with this realm's clock (`Date.now`,
   * inside oauth4webapi): when it is off by `CLOCK_ADJUST_MS` or more, proofs carry the server's time.
   */
  setServerTime(serverMs: number): void {
    const offsetMs = serverMs - Date.now();
    this.setClockOffset(Math.abs(offsetMs) >= CLOCK_ADJUST_MS ? offsetMs : 0);
  }

  /** Server minus this realm's clock, in ms, for proofs' `iat` (whole seconds). */
  setClockOffset(offsetMs: number): void {
    const skew = Math.round(offsetMs / 1000);
    if (this.client[oauth.clockSkew] === skew) return;
    // The ID token's times are checked with the same skew as the proofs are made with.
    this.client = { ...this.client, [oauth.clockSkew]: skew };
    this.key.setSkew(skew);
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  private async doRefresh(): Promise<void> {
    const token = this.refreshToken ?? (await this.options.storage.loadRefreshToken());
    if (token === undefined) {
      this.dropTokens();
      if (this.status !== 'signing-in') this.setStatus('signed-out');
      throw new SignedOutError('no-session');
    }
    this.refreshToken = token;
    let as: oauth.AuthorizationServer;
    try {
      as = await this.discover();
    } catch {
      throw new AuthUnavailableError();
    }
    let response: oauth.TokenEndpointResponse;
    try {
      response = await this.withNonceRetry(async () => {
        const res = await oauth.refreshTokenGrantRequest(as, this.client, oauth.None(), token, await this.requestOptions());
        return oauth.processRefreshTokenResponse(as, this.client, res);
      });
    } catch (error) {
      if (error instanceof oauth.ResponseBodyError && error.status < 500 && ['invalid_grant', 'invalid_client', 'unauthorized_client'].includes(error.error)) {
        // Revoked, expired, or reused: this session is over. The outbox is untouched.
        this.dropTokens();
        await this.options.storage.deleteRefreshToken();
        this.setStatus('signed-out');
        throw new SignedOutError('refresh-rejected');
      }
      throw new AuthUnavailableError(error instanceof oauth.ResponseBodyError ? error.status : undefined);
    }
    await this.accept(response);
    if (this.status !== 'signed-in') this.setStatus('signed-in');
  }

  private async accept(response: oauth.TokenEndpointResponse): Promise<void> {
    const expiresIn = typeof response.expires_in === 'number' && response.expires_in > 0 ? response.expires_in : 300;
    this.access = { token: response.access_token, expiresAtMs: this.options.now() + expiresIn * 1000 };
    if (response.refresh_token !== undefined && response.refresh_token !== this.refreshToken) {
      this.refreshToken = response.refresh_token;
      // Persist the rotated token at once: the old one is now spent, and presenting it again
      // after a restart would revoke the family (reuse detection). If it cannot be stored (no
      // vault created yet), the session lasts as long as this worker and the stale copy goes.
      try {
        await this.options.storage.saveRefreshToken(response.refresh_token);
      } catch {
        await this.options.storage.deleteRefreshToken().catch(() => undefined);
      }
    }
  }

  private dropTokens(): void {
    this.access = undefined;
    this.refreshToken = undefined;
  }

  private afterFailedSignIn(): void {
    if (this.status === 'signing-in') this.setStatus(this.refreshToken !== undefined ? 'signed-in' : 'signed-out');
  }

  private setStatus(status: AuthStatus): void {
    this.status = status;
    this.options.onChange?.(this.state());
  }

  private async withNonceRetry<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      // RFC 9449 §8: the server wants a nonce; the handle cached it from the answer.
      if (oauth.isDPoPNonceError(error)) return call();
      throw error;
    }
  }

  private async discover(): Promise<oauth.AuthorizationServer> {
    if (this.as !== undefined) return this.as;
    const issuer = new URL(this.options.config.issuer);
    try {
      const res = await oauth.discoveryRequest(issuer, { ...this.baseOptions(), algorithm: 'oidc' });
      this.as = await oauth.processDiscoveryResponse(issuer, res);
    } catch (error) {
      if (isUnreachable(error)) throw new AuthUnavailableError();
      throw error;
    }
    return this.as;
  }

  private baseOptions() {
    const f = this.options.fetch;
    return {
      signal: AbortSignal.timeout(this.timeoutMs),
      ...(f !== undefined ? { [oauth.customFetch]: (url: string, init: object) => f(url, init as RequestInit) } : {}),
      ...(this.options.allowInsecureLoopback === true ? { [oauth.allowInsecureRequests]: true } : {}),
    };
  }

  private async requestOptions() {
    return { ...this.baseOptions(), DPoP: await this.key.handle() };
  }
}

function isUnreachable(error: unknown): boolean {
  if (error instanceof TypeError) return true; // fetch: network error
  if (error instanceof DOMException && (error.name === 'AbortError' || error.name === 'TimeoutError')) return true;
  if (error instanceof oauth.ResponseBodyError) return error.status >= 500;
  if (error instanceof oauth.OperationProcessingError) {
    const status = (error.cause as { status?: unknown } | undefined)?.status;
    return typeof status === 'number' && status >= 500;
  }
  return false;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}
