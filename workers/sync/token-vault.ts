/**
 * Where sync keeps its credentials in the vault database (docs/sync.md §5.2), implementing
 * `AuthStorage` of `auth.ts` over the `meta` store — no new store, no migration:
 *
 * - `sync-dpop-key`: the DPoP `CryptoKeyPair` itself (ECDSA P-256, private key non-extractable).
 * - `sync-refresh-token`: the refresh token sealed to the vault's storage public key
 *   (`sealToPublicKey`, vault.md §3.3, ad bound to `meta` / this name). Sealing needs no secret,
 *   so a token rotated while the vault is locked is still persisted — a stale stored token,
 *   presented after a restart, would look like reuse and revoke the whole session. Opening needs
 *   the storage secret key, which only the unlocked vault holds: a copied database yields the
 *   DPoP key but no refresh token to use it with.
 */
import { fromUtf8, utf8 } from '../../src/core/bytes.js';
import type { Random } from '../../src/core/primitives.js';
import type { VaultDb } from '../vault/db.js';
import { canonicalKey, openWithSecretKey, sealToPublicKey, VaultIntegrityError } from '../vault/sealed-value.js';
import type { AuthStorage } from './auth.js';

export const META_DPOP_KEY = 'sync-dpop-key';
export const META_REFRESH_TOKEN = 'sync-refresh-token';
/** The storage public key's `meta` name, as the vault service writes it (vault.md §3.3). */
export const META_STORAGE_PUBLIC_KEY = 'storage-public-key';

export interface TokenVaultOptions {
  readonly random: Random;
  /**
   * The storage secret key while the vault is unlocked, else undefined. The caller wipes nothing:
   * this module wipes the copy it is given once the token is open.
   */
  readonly storageSecretKey: () => Promise<Uint8Array | undefined>;
}

export function vaultTokenStorage(db: VaultDb, options: TokenVaultOptions): AuthStorage {
  const tokenKey = canonicalKey(META_REFRESH_TOKEN);
  return {
    async loadKeyPair() {
      const pair = (await db.get('meta', META_DPOP_KEY)) as unknown;
      return isKeyPair(pair) ? pair : undefined;
    },
    async saveKeyPair(pair) {
      if (pair.privateKey.extractable) throw new RangeError('the DPoP private key must be non-extractable');
      await db.put('meta', { publicKey: pair.publicKey, privateKey: pair.privateKey }, META_DPOP_KEY);
    },
    async deleteKeyPair() {
      await db.delete('meta', META_DPOP_KEY);
    },
    async saveRefreshToken(token) {
      const publicKey = await db.get('meta', META_STORAGE_PUBLIC_KEY);
      if (!(publicKey instanceof Uint8Array)) throw new Error('the vault has no storage key yet: create the vault first');
      const sealed = sealToPublicKey(publicKey, 'meta', tokenKey, utf8(token), options.random);
      await db.put('meta', sealed, META_REFRESH_TOKEN);
    },
    async loadRefreshToken() {
      const sealed = await db.get('meta', META_REFRESH_TOKEN);
      if (sealed === undefined) return undefined;
      const secret = await options.storageSecretKey();
      if (secret === undefined) return undefined;
      try {
        return fromUtf8(openWithSecretKey(secret, 'meta', tokenKey, sealed));
      } catch (error) {
        if (error instanceof VaultIntegrityError) return undefined; // tampered or from another vault: sign in again
        throw error;
      } finally {
        secret.fill(0);
      }
    },
    async deleteRefreshToken() {
      await db.delete('meta', META_REFRESH_TOKEN);
    },
  };
}

function isKeyPair(value: unknown): value is CryptoKeyPair {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<CryptoKeyPair>;
  return v.publicKey instanceof CryptoKey && v.privateKey instanceof CryptoKey;
}
