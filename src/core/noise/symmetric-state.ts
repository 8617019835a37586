/**
 * Noise SymmetricState (Noise Protocol Framework rev. 34, §5.2) with HASH = SHA-256 and the
 * HMAC-based HKDF of §4.3, for the handshakes of docs/protocol.md §4 (pairing, XXpsk3) and
 * §5 (reconnection, KK).
 */
import { concatBytes, utf8, wipe } from '../bytes.js';
import { HASH_LEN, hmacSha256, sha256 } from '../primitives.js';
import { CipherState } from './cipher-state.js';

const BYTE_1 = Uint8Array.of(0x01);
const BYTE_2 = Uint8Array.of(0x02);
const BYTE_3 = Uint8Array.of(0x03);

/**
 * HKDF(chaining_key, input_key_material, num_outputs) of Noise §4.3. Written out with HMAC rather
 * than via RFC 5869 (to which it is equivalent with salt = ck and empty info) so that the
 * intermediate temp_key and the concatenations that copy earlier outputs can be wiped.
 */
export function noiseHkdf(chainingKey: Uint8Array, ikm: Uint8Array, numOutputs: 2): [Uint8Array, Uint8Array];
export function noiseHkdf(
  chainingKey: Uint8Array,
  ikm: Uint8Array,
  numOutputs: 3,
): [Uint8Array, Uint8Array, Uint8Array];
export function noiseHkdf(chainingKey: Uint8Array, ikm: Uint8Array, numOutputs: 2 | 3): Uint8Array[] {
  const tempKey = hmacSha256(chainingKey, ikm);
  const output1 = hmacSha256(tempKey, BYTE_1);
  const in2 = concatBytes(output1, BYTE_2);
  const output2 = hmacSha256(tempKey, in2);
  wipe(in2);
  if (numOutputs === 2) {
    wipe(tempKey);
    return [output1, output2];
  }
  const in3 = concatBytes(output2, BYTE_3);
  const output3 = hmacSha256(tempKey, in3);
  wipe(in3, tempKey);
  return [output1, output2, output3];
}

export class SymmetricState {
  readonly #cipher = new CipherState();
  #ck: Uint8Array;
  #h: Uint8Array;

  /** InitializeSymmetric(protocol_name). */
  constructor(protocolName: string) {
    const name = utf8(protocolName);
    if (name.length <= HASH_LEN) {
      this.#h = new Uint8Array(HASH_LEN);
      this.#h.set(name);
    } else {
      this.#h = sha256(name);
    }
    this.#ck = this.#h.slice();
  }

  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = noiseHkdf(this.#ck, ikm, 2);
    wipe(this.#ck);
    this.#ck = ck;
    this.#cipher.initializeKey(tempK);
    wipe(tempK);
  }

  mixHash(data: Uint8Array): void {
    this.#h = sha256(concatBytes(this.#h, data));
  }

  /** Used for the psk token (§9.2): the PSK enters both the keys and the transcript. */
  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = noiseHkdf(this.#ck, ikm, 3);
    wipe(this.#ck);
    this.#ck = ck;
    this.mixHash(tempH);
    this.#cipher.initializeKey(tempK);
    wipe(tempH, tempK);
  }

  /** A copy: h is the channel binding of the session and must not be altered by a caller. */
  getHandshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** Throws ProtocolError('auth-failed') on a bad tag; h is then left as it was. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipher.decryptWithAd(this.#h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /**
   * Split(): the two transport CipherStates, c1 (initiator → responder) and c2. ck and the
   * handshake key are wiped, since nothing derived after this point may depend on them; h stays
   * for GetHandshakeHash.
   */
  split(): [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf(this.#ck, new Uint8Array(0), 2);
    const c1 = new CipherState(k1);
    const c2 = new CipherState(k2);
    wipe(k1, k2);
    this.clear();
    return [c1, c2];
  }

  /** Wipes ck and the handshake cipher key (after Split, or when the handshake fails). */
  clear(): void {
    wipe(this.#ck);
    this.#cipher.clear();
  }
}
