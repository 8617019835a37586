/**
 * Transport session: framing, limits and replay protection of TRANSPORT frames
 * (docs/protocol.md §7).
 *
 * frame = 0x10 ‖ counter u64 ‖ ChaCha20-Poly1305(key, nonce = 0⁴ ‖ counter u64 LE,
 *                                               ad = 0x10 ‖ counter u64, plaintext)
 *
 * The counter is explicit (as in WireGuard) so a lost notification does not desynchronise the
 * stream; the receiver de-duplicates with the RFC 6479 window of `replay-window.ts`. The keys
 * are the two cipher keys of the Noise `Split()` (§7.1): each side seals with one and opens with
 * the other, so a frame reflected back to its sender never opens.
 *
 * This is the hot path (one frame per reading), so the per-direction frame header / AD and nonce
 * live in buffers allocated once per session and are rewritten in place for every frame; the
 * counters stay numbers (they never get near 2^53, the session dies at REJECT_AFTER_MESSAGES).
 */
import { wipe } from './bytes.js';
import { ProtocolError } from './errors.js';
import { MAX_MESSAGE, MessageKind } from './framing.js';
import { aeadOpen, aeadSeal, KEY_LEN, NONCE_LEN, TAG_LEN } from './primitives.js';
import { ReplayWindow } from './replay-window.js';

/** The hub starts a new KK handshake after this many frames sent (§7.3). */
export const REKEY_AFTER_MESSAGES = 2 ** 20;
/** No frame is sent or accepted with a counter at or past this (§7.3). */
export const REJECT_AFTER_MESSAGES = 2 ** 20 + 2 ** 16;
/** The hub starts a new KK handshake once the session is this old (§7.3). */
export const REKEY_AFTER_MS = 3_600_000;
/** A session this old neither sends nor accepts frames (§7.3). */
export const REJECT_AFTER_MS = 3_900_000;
/** kind u8 ‖ counter u64. */
export const TRANSPORT_HEADER_LEN = 9;
/** Smallest frame: header and tag, empty plaintext. */
export const MIN_TRANSPORT_FRAME = TRANSPORT_HEADER_LEN + TAG_LEN;
/** MAX_MESSAGE − 9 − 16 (§7.2). */
export const MAX_PLAINTEXT = MAX_MESSAGE - TRANSPORT_HEADER_LEN - TAG_LEN;

const TWO_POW_32 = 2 ** 32;

export interface TransportSessionOptions {
  /** Cipher key this side seals with (hub: Split()'s first, sensor: its second). Copied. */
  readonly sendKey: Uint8Array;
  /** Cipher key this side opens with. Copied. */
  readonly receiveKey: Uint8Array;
  /** When the handshake completed (ms); the age limits of §7.3 count from here. */
  readonly createdAtMs: number;
  /**
   * Test hook: start the send counter here instead of 0, so the message limits can be tested
   * without sealing a million frames. Skipping counters forward never reuses a nonce; production
   * code leaves it unset.
   */
  readonly initialSendCounter?: number;
}

/** Writes `counter` big-endian into `out[at..at+8]` (the frame header / AD). */
function writeCounterBE(out: Uint8Array, at: number, counter: number): void {
  const hi = Math.floor(counter / TWO_POW_32);
  const lo = counter >>> 0;
  out[at] = hi >>> 24;
  out[at + 1] = (hi >>> 16) & 0xff;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

/** Noise nonce (§7.2, same bytes as `noiseNonce`): bytes 0..3 stay zero, then the counter LE. */
function writeNonce(nonce: Uint8Array, counter: number): void {
  const hi = Math.floor(counter / TWO_POW_32);
  const lo = counter >>> 0;
  nonce[4] = lo & 0xff;
  nonce[5] = (lo >>> 8) & 0xff;
  nonce[6] = (lo >>> 16) & 0xff;
  nonce[7] = lo >>> 24;
  nonce[8] = hi & 0xff;
  nonce[9] = (hi >>> 8) & 0xff;
  nonce[10] = (hi >>> 16) & 0xff;
  nonce[11] = hi >>> 24;
}

export class TransportSession {
  private readonly sendKey: Uint8Array;
  private readonly receiveKey: Uint8Array;
  private readonly createdAtMs: number;
  /** 0x10 ‖ counter of the next frame sent: the frame's first 9 bytes and its AD. */
  private readonly sendHeader = new Uint8Array(TRANSPORT_HEADER_LEN);
  private readonly sendNonce = new Uint8Array(NONCE_LEN);
  private readonly receiveNonce = new Uint8Array(NONCE_LEN);
  private readonly window = new ReplayWindow();
  private sendCounter: number;
  /** Highest counter received + 1 (0 before any frame), for the hub's rekey decision. */
  private receivedCount = 0;
  private destroyed = false;

  constructor(opts: TransportSessionOptions) {
    if (opts.sendKey.length !== KEY_LEN || opts.receiveKey.length !== KEY_LEN) {
      throw new RangeError(`transport keys must be ${KEY_LEN} bytes`);
    }
    if (!Number.isFinite(opts.createdAtMs)) throw new RangeError('createdAtMs must be a finite number');
    const initial = opts.initialSendCounter ?? 0;
    if (!Number.isSafeInteger(initial) || initial < 0) throw new RangeError('initialSendCounter must be ≥ 0');
    // Copies: the caller wipes its Noise cipher states; our copies are wiped by destroy().
    this.sendKey = opts.sendKey.slice();
    this.receiveKey = opts.receiveKey.slice();
    this.createdAtMs = opts.createdAtMs;
    this.sendCounter = initial;
    this.sendHeader[0] = MessageKind.Transport;
  }

  /** Frames sealed so far (= the counter of the next frame). */
  get sent(): number {
    return this.sendCounter;
  }

  /** Highest counter received + 1, or 0 before any frame was accepted. */
  get received(): number {
    return this.receivedCount;
  }

  /**
   * Whether the hub should replace this session with a new KK handshake (§7.3): by age, or by
   * counters in either direction — the sensor sends far more than the hub, so the hub watches
   * the counters it receives too.
   */
  needsRekey(nowMs: number): boolean {
    return (
      this.isExpired(nowMs) ||
      nowMs - this.createdAtMs >= REKEY_AFTER_MS ||
      this.sendCounter >= REKEY_AFTER_MESSAGES ||
      this.receivedCount >= REKEY_AFTER_MESSAGES
    );
  }

  /**
   * Past a hard limit (§7.3: age, or every counter used) or destroyed: the session neither seals
   * nor opens any more and must be replaced.
   */
  isExpired(nowMs: number): boolean {
    return this.destroyed || nowMs - this.createdAtMs >= REJECT_AFTER_MS || this.sendCounter >= REJECT_AFTER_MESSAGES;
  }

  /**
   * Encrypts one plaintext (an application message, §8) into a complete TRANSPORT frame.
   * Throws `session-expired` past the limits and `limit` for a plaintext over MAX_PLAINTEXT.
   */
  seal(plaintext: Uint8Array, nowMs: number): Uint8Array {
    if (this.isExpired(nowMs)) throw new ProtocolError('session-expired', 'session must be replaced');
    if (plaintext.length > MAX_PLAINTEXT) throw new ProtocolError('limit', 'plaintext too large');
    const counter = this.sendCounter;
    writeCounterBE(this.sendHeader, 1, counter);
    writeNonce(this.sendNonce, counter);
    const ciphertext = aeadSeal(this.sendKey, this.sendNonce, plaintext, this.sendHeader);
    // Consumed only once a ciphertext exists: a throw above emitted nothing under this nonce.
    this.sendCounter = counter + 1;
    const frame = new Uint8Array(TRANSPORT_HEADER_LEN + ciphertext.length);
    frame.set(this.sendHeader, 0);
    frame.set(ciphertext, TRANSPORT_HEADER_LEN);
    return frame;
  }

  /**
   * Authenticates and decrypts one TRANSPORT frame (kind byte included), with the checks of
   * §7.4 in its order. Any failure throws and leaves the session exactly as it was: the caller
   * drops the frame silently.
   *
   * - `session-expired`: this session is past its limits or destroyed (checked first: nothing is
   *   accepted on such a session, §7.3);
   * - `auth-failed`: shorter than 9 + 16 bytes or not kind 0x10 (it cannot be authentic), or the
   *   AEAD does not open;
   * - `limit`: longer than MAX_MESSAGE, or counter ≥ REJECT_AFTER_MESSAGES. These are properties
   *   of one unauthenticated frame, not of the session, so they are not `session-expired`: a
   *   forged frame must not make the caller tear a healthy session down;
   * - `replay`: the window already saw the counter or it is too old.
   */
  open(frame: Uint8Array, nowMs: number): Uint8Array {
    if (this.isExpired(nowMs)) throw new ProtocolError('session-expired', 'session must be replaced');
    const length = frame.length;
    if (length > MAX_MESSAGE) throw new ProtocolError('limit', 'frame too large');
    if (length < MIN_TRANSPORT_FRAME || frame[0] !== MessageKind.Transport) {
      throw new ProtocolError('auth-failed', 'message failed authentication');
    }
    const hi = ((frame[1] as number) << 24) | ((frame[2] as number) << 16) | ((frame[3] as number) << 8) | (frame[4] as number);
    const lo = (((frame[5] as number) << 24) | ((frame[6] as number) << 16) | ((frame[7] as number) << 8) | (frame[8] as number)) >>> 0;
    // REJECT_AFTER_MESSAGES < 2^32: any non-zero high word is already past the limit.
    if (hi !== 0 || lo >= REJECT_AFTER_MESSAGES) throw new ProtocolError('limit', 'counter past the session limit');
    const counter = lo;
    if (!this.window.check(counter, REJECT_AFTER_MESSAGES)) throw new ProtocolError('replay', 'replayed or too old');
    writeNonce(this.receiveNonce, counter);
    // Throws `auth-failed` before any state below is touched.
    const plaintext = aeadOpen(
      this.receiveKey,
      this.receiveNonce,
      frame.subarray(TRANSPORT_HEADER_LEN),
      frame.subarray(0, TRANSPORT_HEADER_LEN),
    );
    // Only now, with the frame authenticated, may the window move (§7.4).
    this.window.accept(counter, REJECT_AFTER_MESSAGES);
    if (counter >= this.receivedCount) this.receivedCount = counter + 1;
    return plaintext;
  }

  /** Wipes both keys; every later seal/open throws `session-expired`. Idempotent. */
  destroy(): void {
    this.destroyed = true;
    wipe(this.sendKey, this.receiveKey);
    this.window.reset();
  }
}
