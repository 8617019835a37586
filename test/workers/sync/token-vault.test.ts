// Sync's credentials in the vault database (workers/sync/token-vault.ts), on fake-indexeddb: the
// DPoP key pair kept as a non-extractable CryptoKey, the refresh token sealed to the storage
// public key — written while locked, opened only with the storage secret key, never in clear.
import 'fake-indexeddb/auto';
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it } from 'vitest';
import { x25519KeyPair } from '../../../src/core/primitives.js';
import { openVaultDb, type VaultDb } from '../../../workers/vault/db.js';
import { META_DPOP_KEY, META_REFRESH_TOKEN, META_STORAGE_PUBLIC_KEY, vaultTokenStorage } from '../../../workers/sync/token-vault.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
let db: VaultDb;
let name = 0;

afterEach(() => db.close());

async function setup() {
  db = await openVaultDb(`token-vault-${++name}`);
  const storage = x25519KeyPair(random);
  await db.put('meta', storage.publicKey, META_STORAGE_PUBLIC_KEY);
  let unlocked = false;
  const store = vaultTokenStorage(db, { random, storageSecretKey: async () => (unlocked ? storage.secretKey.slice() : undefined) });
  return { store, storage, unlock: () => (unlocked = true), lock: () => (unlocked = false) };
}

describe('token vault', () => {
  it('keeps the DPoP key pair as non-extractable CryptoKeys that still sign after a reload', async () => {
    const { store } = await setup();
    expect(await store.loadKeyPair()).toBeUndefined();
    const pair = await oauth.generateKeyPair('ES256', { extractable: false });
    await store.saveKeyPair(pair);
    const loaded = await store.loadKeyPair();
    expect(loaded?.privateKey).toBeInstanceOf(CryptoKey);
    expect(loaded?.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', loaded?.privateKey as CryptoKey)).rejects.toThrow();
    // The reloaded pair signs, and the original public key verifies it: the same key.
    const data = new TextEncoder().encode('proof');
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, loaded?.privateKey as CryptoKey, data);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pair.publicKey, sig, data)).toBe(true);
    await store.deleteKeyPair();
    expect(await db.get('meta', META_DPOP_KEY)).toBeUndefined();
  });

  it('refuses to keep an extractable private key', async () => {
    const { store } = await setup();
    await expect(store.saveKeyPair(await oauth.generateKeyPair('ES256', { extractable: true }))).rejects.toThrow(RangeError);
  });

  it('seals the refresh token while locked; only the unlocked vault opens it', async () => {
    const { store, unlock, lock } = await setup();
    const token = 'rt-' + 'x'.repeat(40);
    await store.saveRefreshToken(token); // locked: sealing needs no secret
    const raw = await db.get('meta', META_REFRESH_TOKEN);
    expect(raw).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(raw as Uint8Array).includes(Buffer.from('x'.repeat(40)))).toBe(false);
    expect(await store.loadRefreshToken()).toBeUndefined(); // locked: cannot open
    unlock();
    expect(await store.loadRefreshToken()).toBe(token);
    lock();
    expect(await store.loadRefreshToken()).toBeUndefined();
    unlock();
    await store.deleteRefreshToken();
    expect(await store.loadRefreshToken()).toBeUndefined();
  });

  it('a sealed token moved to another name or tampered with does not open', async () => {
    const { store, unlock } = await setup();
    unlock();
    await store.saveRefreshToken('rt-original-token-value');
    const raw = (await db.get('meta', META_REFRESH_TOKEN)) as Uint8Array;
    const flipped = raw.slice();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    await db.put('meta', flipped, META_REFRESH_TOKEN);
    expect(await store.loadRefreshToken()).toBeUndefined();
  });

  it('without a vault (no storage key) it refuses to save rather than keep a token in clear', async () => {
    db = await openVaultDb(`token-vault-${++name}`);
    const store = vaultTokenStorage(db, { random, storageSecretKey: async () => undefined });
    await expect(store.saveRefreshToken('rt-value')).rejects.toThrow(/no storage key/);
    expect(await db.get('meta', META_REFRESH_TOKEN)).toBeUndefined();
  });
});
