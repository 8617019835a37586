/**
 * GATT fragmentation, reassembly and the message envelope (docs/protocol.md §2.2, §2.3).
 *
 * A protocol message (up to MAX_MESSAGE bytes) crosses GATT as one or more fragments
 * `seq u8 ‖ index u8 ‖ count u8 ‖ chunk`. The sender side is `Fragmenter`; the receiver side is
 * `Reassembler`, which applies every reassembly rule of §2.2. The receiver never trusts the
 * peer: a fragment it cannot use is dropped and counted, never thrown, and memory stays bounded
 * by one message in progress (one preallocated MAX_MESSAGE buffer), whatever the peer sends.
 *
 * The envelope (§2.3) is the first byte of every reassembled message: `messageKind` names it.
 */
import { DecodeError, ProtocolError } from './errors.js';

/** Largest reassembled message (§2.2). */
export const MAX_MESSAGE = 4096;
/** `seq ‖ index ‖ count`. */
export const FRAGMENT_HEADER_LEN = 3;
/** A message in progress for longer than this since its first fragment is discarded (§2.2). */
export const REASSEMBLY_TIMEOUT_MS = 5000;
/** The ATT minimum (Bluetooth Core, ATT_MTU default); gives 17-byte chunks. */
export const MIN_ATT_MTU = 23;
/** `count` is a u8 and at least 1. */
export const MAX_FRAGMENTS = 255;
/** ATT notification/write header (3) plus the fragment header (3). */
const ATT_OVERHEAD = 3 + FRAGMENT_HEADER_LEN;

/**
 * Chunk size for a negotiated ATT MTU: `attMtu − 6` (§2.2). Capped at MAX_MESSAGE, since a larger
 * chunk could never be filled. At the minimum MTU of 23 the 17-byte chunks still carry a
 * MAX_MESSAGE message in ⌈4096 / 17⌉ = 241 ≤ 255 fragments, so every MTU the stack can report
 * yields a chunk size with which any legal message fits the u8 fragment count.
 */
export function chunkSizeForMtu(attMtu: number): number {
  if (!Number.isInteger(attMtu) || attMtu < MIN_ATT_MTU) {
    throw new RangeError(`ATT MTU must be an integer ≥ ${MIN_ATT_MTU}: ${attMtu}`);
  }
  return Math.min(attMtu - ATT_OVERHEAD, MAX_MESSAGE);
}

/**
 * Sender side of §2.2. Holds the per-sender message sequence number (mod 256), which lets the
 * receiver tell a fragment of the next message from a stray one of the previous message.
 */
export class Fragmenter {
  private seq = 0;

  constructor(readonly chunkSize: number) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_MESSAGE) {
      throw new RangeError(`chunk size must be an integer in 1..${MAX_MESSAGE}: ${chunkSize}`);
    }
  }

  /** Sequence number the next message will carry (0..255). */
  get nextSeq(): number {
    return this.seq;
  }

  /**
   * Splits `message` into fragments ready to write/notify, in order. Throws `limit` (and does not
   * consume a sequence number) for an empty message, one over MAX_MESSAGE, or one that would need
   * more than 255 fragments at this chunk size.
   */
  fragment(message: Uint8Array): Uint8Array[] {
    const length = message.length;
    if (length === 0 || length > MAX_MESSAGE) {
      throw new ProtocolError('limit', 'message size out of range');
    }
    const chunk = this.chunkSize;
    const count = Math.ceil(length / chunk);
    if (count > MAX_FRAGMENTS) throw new ProtocolError('limit', 'message needs too many fragments');
    const seq = this.seq;
    this.seq = (seq + 1) & 0xff;

    const out = new Array<Uint8Array>(count);
    for (let index = 0, offset = 0; index < count; index++, offset += chunk) {
      const end = Math.min(offset + chunk, length);
      const fragment = new Uint8Array(FRAGMENT_HEADER_LEN + end - offset);
      fragment[0] = seq;
      fragment[1] = index;
      fragment[2] = count;
      fragment.set(message.subarray(offset, end), FRAGMENT_HEADER_LEN);
      out[index] = fragment;
    }
    return out;
  }
}

export interface ReassemblerOptions {
  /** Largest message accepted; defaults to MAX_MESSAGE (only tests use a smaller one). */
  readonly maxMessage?: number;
  /** Defaults to REASSEMBLY_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

export interface ReassemblerStats {
  /** Messages delivered by `push`. */
  readonly completed: number;
  /**
   * Fragments that will never be part of a delivered message: malformed ones, ones that did not
   * fit the message in progress, and the already received fragments of every discarded message.
   * So every pushed fragment is exactly one of: in a completed message, pending, or dropped.
   */
  readonly dropped: number;
}

/**
 * Receiver side of §2.2, one per direction. `push` never throws on fragment content; it returns
 * the reassembled message when a fragment completes one. The returned message is a fresh copy:
 * the reassembly buffer is reused for the next message.
 */
export class Reassembler {
  private readonly maxMessage: number;
  private readonly timeoutMs: number;
  /** Preallocated once: the only memory a peer can make us hold. */
  private readonly buffer: Uint8Array;
  private readonly counters = { completed: 0, dropped: 0 };

  // The message in progress; `active` false means none (the other fields are then stale).
  private active = false;
  private seq = 0;
  private count = 0;
  private nextIndex = 0;
  private chunkSize = 0;
  private length = 0;
  private startedAtMs = 0;

  constructor(opts: ReassemblerOptions = {}) {
    const maxMessage = opts.maxMessage ?? MAX_MESSAGE;
    const timeoutMs = opts.timeoutMs ?? REASSEMBLY_TIMEOUT_MS;
    if (!Number.isInteger(maxMessage) || maxMessage < 1 || maxMessage > MAX_MESSAGE) {
      throw new RangeError(`maxMessage must be an integer in 1..${MAX_MESSAGE}`);
    }
    if (!(timeoutMs >= 0)) throw new RangeError('timeoutMs must be ≥ 0');
    this.maxMessage = maxMessage;
    this.timeoutMs = timeoutMs;
    this.buffer = new Uint8Array(maxMessage);
  }

  /** Live counters (the same object on every read, updated in place). */
  get stats(): ReassemblerStats {
    return this.counters;
  }

  /** Bytes held for the message in progress (0 when none); never more than `maxMessage`. */
  get pendingBytes(): number {
    return this.active ? this.length : 0;
  }

  /**
   * Feeds one received fragment (a notification value, a read value, or a write's value).
   * `nowMs` is a monotonic time in ms, used only for the reassembly timeout.
   *
   * A zero-length value is not a fragment: it is what a read of `data` returns when the sensor's
   * queue is empty (§2.1), so it is ignored without touching the message in progress.
   */
  push(fragment: Uint8Array, nowMs: number): Uint8Array | undefined {
    const size = fragment.length;
    if (size === 0) return undefined;

    // §2.2: more than REASSEMBLY_TIMEOUT since the first fragment → discarded. Checked before
    // anything else, so a late fragment can never complete a message that already expired.
    if (this.active && nowMs - this.startedAtMs > this.timeoutMs) this.discard();

    if (size <= FRAGMENT_HEADER_LEN) return this.reject(); // chunk must be ≥ 1 byte
    const seq = fragment[0] as number;
    const index = fragment[1] as number;
    const count = fragment[2] as number;
    if (count === 0 || index >= count) return this.reject();
    const chunkLength = size - FRAGMENT_HEADER_LEN;

    if (index === 0) {
      // §2.2: index 0 starts a new message and discards any incomplete one.
      if (this.active) this.discard();
      return this.start(fragment, seq, count, chunkLength, nowMs);
    }

    // A non-zero index with nothing in progress is dropped; one that does not continue the
    // message in progress (seq, count or index) discards that message too.
    if (!this.active) return this.reject();
    if (seq !== this.seq || count !== this.count || index !== this.nextIndex) return this.reject(true);

    const isLast = index === count - 1;
    // All chunks but the last have the size of the first; the last is 1..that size. Any other
    // layout is not a message our peer could have produced.
    if (isLast ? chunkLength > this.chunkSize : chunkLength !== this.chunkSize) return this.reject(true);
    if (this.length + chunkLength > this.maxMessage) return this.reject(true);

    this.buffer.set(fragment.subarray(FRAGMENT_HEADER_LEN), this.length);
    this.length += chunkLength;
    this.nextIndex = index + 1;
    if (!isLast) return undefined;

    this.active = false;
    this.counters.completed++;
    return this.buffer.slice(0, this.length);
  }

  /** Drops whatever is in progress (e.g. on disconnect); counted as dropped. */
  reset(): void {
    if (this.active) this.discard();
  }

  private start(fragment: Uint8Array, seq: number, count: number, chunkLength: number, nowMs: number): Uint8Array | undefined {
    // The shortest message this first fragment announces is (count − 1) full chunks plus one
    // byte: if even that exceeds the limit, it is discarded now rather than after 255 fragments.
    if ((count - 1) * chunkLength + 1 > this.maxMessage || chunkLength > this.maxMessage) return this.reject();
    if (count === 1) {
      this.counters.completed++;
      return fragment.slice(FRAGMENT_HEADER_LEN);
    }
    this.active = true;
    this.seq = seq;
    this.count = count;
    this.chunkSize = chunkLength;
    this.nextIndex = 1;
    this.startedAtMs = nowMs;
    this.buffer.set(fragment.subarray(FRAGMENT_HEADER_LEN), 0);
    this.length = chunkLength;
    return undefined;
  }

  /** Drops this fragment and, when `discardInProgress`, the message in progress. */
  private reject(discardInProgress = false): undefined {
    this.counters.dropped++;
    if (discardInProgress) this.discard();
    return undefined;
  }

  private discard(): void {
    // The fragments already received of the abandoned message: indices 0..nextIndex−1.
    this.counters.dropped += this.nextIndex;
    this.active = false;
    this.length = 0;
    this.nextIndex = 0;
  }
}

// ── Envelope (§2.3) ─────────────────────────────────────────────────────────────────────────────

/** Kind byte of every reassembled message (§2.3). */
export const MessageKind = {
  Pair1: 0x01,
  Pair2: 0x02,
  Pair3: 0x03,
  Kk1: 0x04,
  Kk2: 0x05,
  Transport: 0x10,
  Fail: 0x7f,
} as const;

export type MessageKindValue = (typeof MessageKind)[keyof typeof MessageKind];

/**
 * The kind of a reassembled message. Any other first byte (or an empty message) is
 * `unknown-type`; the caller ignores such a message (§2.3).
 */
export function messageKind(message: Uint8Array): MessageKindValue {
  const kind = message[0];
  switch (kind) {
    case MessageKind.Pair1:
    case MessageKind.Pair2:
    case MessageKind.Pair3:
    case MessageKind.Kk1:
    case MessageKind.Kk2:
    case MessageKind.Transport:
    case MessageKind.Fail:
      return kind;
    default:
      throw new DecodeError('unknown-type', 'unknown message kind');
  }
}
