/**
 * Byte helpers shared by every codec of the protocol (docs/protocol.md §1 Conventions).
 *
 * All multi-byte integers on the wire are big-endian unless a section says otherwise
 * (the only exception is the ChaCha20-Poly1305 nonce, §7.2, which follows Noise: little-endian).
 * `ByteReader` and `ByteWriter` are the only way codecs touch raw buffers, so every bounds check
 * lives here and every decoder fails with the same typed error.
 */
import { DecodeError } from './errors.js';

export type Bytes = Uint8Array;

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Constant-time equality: the running time depends only on the lengths, never on where the
 * first difference is, so comparing a secret (a tag, a key, a code) leaks nothing through timing.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Overwrites a secret in place. Call it on every temporary key once it is no longer needed. */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i] as number;
  return acc === 0;
}

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    s += (HEX[b >> 4] as string) + (HEX[b & 15] as string);
  }
  return s;
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new DecodeError('malformed', 'not a hex string');
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function fromUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new DecodeError('malformed', 'invalid UTF-8');
  }
}

/** Sequential big-endian reader; every read is bounds-checked and throws `DecodeError`. */
export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly input: Uint8Array) {
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  get remaining(): number {
    return this.input.length - this.offset;
  }

  private need(n: number): number {
    if (n < 0 || this.offset + n > this.input.length) throw new DecodeError('truncated', 'message ends early');
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }

  u16(): number {
    return this.view.getUint16(this.need(2));
  }

  u32(): number {
    return this.view.getUint32(this.need(4));
  }

  i16(): number {
    return this.view.getInt16(this.need(2));
  }

  u64(): bigint {
    return this.view.getBigUint64(this.need(8));
  }

  /** A u64 that must fit a JavaScript number exactly (times in ms, counters well below 2^53). */
  u64Number(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('out-of-range', 'integer too large');
    return Number(v);
  }

  /** A copy, so the caller may keep it after the input buffer is reused or wiped. */
  bytes(n: number): Uint8Array {
    const at = this.need(n);
    return this.input.slice(at, at + n);
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  /** Throws unless every byte was consumed: trailing bytes are an error, never ignored. */
  end(): void {
    if (this.remaining !== 0) throw new DecodeError('trailing-bytes', 'unexpected bytes after the message');
  }
}

/** Growable big-endian writer. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.length + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): this {
    const value = checkUint(v, 0xff);
    const at = this.reserve(1);
    this.view.setUint8(at, value);
    return this;
  }

  u16(v: number): this {
    const value = checkUint(v, 0xffff);
    const at = this.reserve(2);
    this.view.setUint16(at, value);
    return this;
  }

  u32(v: number): this {
    const value = checkUint(v, 0xffffffff);
    const at = this.reserve(4);
    this.view.setUint32(at, value);
    return this;
  }

  i16(v: number): this {
    if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new RangeError(`not an int16: ${v}`);
    const at = this.reserve(2);
    this.view.setInt16(at, v);
    return this;
  }

  u64(v: bigint | number): this {
    const big = typeof v === 'bigint' ? v : BigInt(checkUint(v, Number.MAX_SAFE_INTEGER));
    if (big < 0n || big > 0xffffffffffffffffn) throw new RangeError('not a uint64');
    const at = this.reserve(8);
    this.view.setBigUint64(at, big);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function checkUint(v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`integer out of range: ${v}`);
  return v;
}
