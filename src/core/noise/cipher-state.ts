/**
 * Noise CipherState (Noise Protocol Framework rev. 34, §5.1; ChaChaPoly cipher functions, §12.3).
 *
 * Used both inside the handshakes of docs/protocol.md §4 (pairing, XXpsk3) and §5 (reconnection,
 * KK) and, after `Split()`, as the two directions of the transport (§7.1). The key is copied in,
 * so wiping it here never touches a buffer the caller still uses, and the caller's wiping never
 * leaves us with a zero key.
 */
import { wipe } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { aeadOpen, aeadSeal, KEY_LEN, noiseNonce } from '../primitives.js';

/**
 * 2^64 − 1 is reserved by Noise (§5.1) — Rekey() encrypts under it — so the counter must never
 * reach it for a message.
 */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

export class CipherState {
  #k: Uint8Array | undefined;
  #n = 0n;

  constructor(key?: Uint8Array) {
    if (key !== undefined) this.initializeKey(key);
  }

  /** InitializeKey(key): sets k (a copy) and resets n to 0. The previous key, if any, is wiped. */
  initializeKey(key: Uint8Array): void {
    if (key.length !== KEY_LEN) throw new RangeError('cipher key must be 32 bytes');
    wipe(this.#k);
    this.#k = key.slice();
    this.#n = 0n;
  }

  hasKey(): boolean {
    return this.#k !== undefined;
  }

  /**
   * A copy of k. The transport frame (docs/protocol.md §7.2) authenticates its explicit counter
   * as AD and keeps its own replay window, so it runs the AEAD itself on the split keys.
   */
  get key(): Uint8Array {
    if (this.#k === undefined) throw new ProtocolError('bad-state', 'no key');
    return this.#k.slice();
  }

  /** The counter of the next message. */
  get nonce(): bigint {
    return this.#n;
  }

  /**
   * SetNonce (§5.1). The transport carries its counter explicitly (docs/protocol.md §7.2) so a
   * receiver has to decrypt out of order; the replay window above this layer decides which
   * counters are acceptable.
   */
  setNonce(n: bigint): void {
    if (n < 0n || n > MAX_NONCE) throw new RangeError('nonce out of range');
    this.#n = n;
  }

  /** EncryptWithAd: without a key Noise sends the plaintext as is (the first handshake tokens). */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return plaintext.slice();
    this.#checkNonce();
    const ciphertext = aeadSeal(this.#k, noiseNonce(this.#n), plaintext, ad);
    this.#n += 1n;
    return ciphertext;
  }

  /**
   * DecryptWithAd. A failed tag leaves n unchanged (§5.1), so a forged message injected by an
   * attacker cannot desynchronise the two sides.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return ciphertext.slice();
    this.#checkNonce();
    const plaintext = aeadOpen(this.#k, noiseNonce(this.#n), ciphertext, ad);
    this.#n += 1n;
    return plaintext;
  }

  /** Rekey (§4.2 default REKEY): k = first 32 bytes of ENCRYPT(k, 2^64 − 1, "", zeros(32)). */
  rekey(): void {
    if (this.#k === undefined) throw new ProtocolError('bad-state', 'no key to rekey');
    const zeros = new Uint8Array(KEY_LEN);
    const sealed = aeadSeal(this.#k, noiseNonce(MAX_NONCE), zeros, new Uint8Array(0));
    wipe(this.#k);
    this.#k = sealed.slice(0, KEY_LEN);
    wipe(sealed);
  }

  /** Wipes the key; the state then behaves as if it never had one and refuses Rekey. */
  clear(): void {
    wipe(this.#k);
    this.#k = undefined;
    this.#n = 0n;
  }

  #checkNonce(): void {
    if (this.#n >= MAX_NONCE) throw new ProtocolError('session-expired', 'nonce space exhausted');
  }
}
