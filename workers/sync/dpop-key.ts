/**
 * The worker's DPoP key (RFC 9449; docs/sync.md §5.2): an ECDSA P-256 key pair generated here
 * with a non-extractable private key, kept in the vault database (`AuthStorage`), and the
 * oauth4webapi handle that signs proofs with it and remembers the servers' nonces (§8).
 *
 * Proofs carry this realm's `Date.now()` plus a skew in whole seconds, set from the server's
 * clock when the device's is off (`setSkew`); the handle reads the skew when it is made, so a new
 * skew makes a new handle (its nonce cache starts empty, and a nonce challenge refills it).
 */
import * as oauth from 'oauth4webapi';
import type { AuthStorage } from './auth.js';

/** `DPoPHandle` methods oauth4webapi 3 implements but does not declare; checked at run time. */
interface DpopInternals {
  addProof(url: URL, headers: Headers, htm: string, accessToken?: string): Promise<void>;
  cacheNonce(response: { headers: { get(name: string): string | null } }, url: URL): void;
}

export type DpopHandle = oauth.DPoPHandle & DpopInternals;

export class DpopKey {
  private pair: CryptoKeyPair | undefined;
  private current: DpopHandle | undefined;
  private skewSeconds = 0;

  constructor(private readonly storage: Pick<AuthStorage, 'loadKeyPair' | 'saveKeyPair' | 'deleteKeyPair'>) {}

  /** The handle for oauth4webapi calls; loads or creates the key pair the first time. */
  async handle(): Promise<DpopHandle> {
    if (this.current !== undefined) return this.current;
    let pair = await this.storage.loadKeyPair();
    if (pair === undefined) {
      pair = await oauth.generateKeyPair('ES256', { extractable: false });
      await this.storage.saveKeyPair(pair);
    }
    this.pair = pair;
    this.current = newHandle(pair, this.skewSeconds);
    return this.current;
  }

  /** A proof for one request (`htm`, `htu`), bound to `accessToken` (`ath`). */
  async proof(method: string, url: string, accessToken: string): Promise<string> {
    const headers = new Headers();
    await (await this.handle()).addProof(new URL(url), headers, method.toUpperCase(), accessToken);
    const proof = headers.get('dpop');
    if (proof === null) throw new Error('no DPoP proof was produced');
    return proof;
  }

  /** Remembers a `DPoP-Nonce` the server sent with an answer. */
  observe(url: string, response: { headers: { get(name: string): string | null } }): void {
    this.current?.cacheNonce(response, new URL(url));
  }

  setSkew(seconds: number): void {
    if (seconds === this.skewSeconds) return;
    this.skewSeconds = seconds;
    if (this.pair !== undefined) this.current = newHandle(this.pair, seconds);
  }

  /** Deletes the key pair (sign-out): the next sign-in binds its tokens to a new key. */
  async forget(): Promise<void> {
    this.pair = undefined;
    this.current = undefined;
    await this.storage.deleteKeyPair();
  }
}

function newHandle(pair: CryptoKeyPair, skewSeconds: number): DpopHandle {
  const handle = oauth.DPoP({ [oauth.clockSkew]: skewSeconds }, pair) as oauth.DPoPHandle & Partial<DpopInternals>;
  if (typeof handle.addProof !== 'function' || typeof handle.cacheNonce !== 'function') throw new Error('this oauth4webapi has no DPoP proof method');
  return handle as DpopHandle;
}
