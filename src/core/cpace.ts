/**
 * CPace, cipher suite CPACE-X25519-SHA512 (draft-irtf-cfrg-cpace; docs/protocol.md §4.2).
 *
 * The pairing PAKE: hub and sensor share an 8-digit passcode and derive a 64-byte intermediate
 * session key ISK whose first 32 bytes become the Noise psk. Sections of the draft implemented:
 *
 * - "Notation for string operations": `prepend_len` (LEB128 length), `lv_cat`, `o_cat`,
 *   `transcript_ir` (initiator-responder) and `transcript_oc` (symmetric, ordered concatenation).
 * - "The CPace protocol" / "CPace protocol instructions": Ya = scalar_mult(ya, g),
 *   K = scalar_mult_vfy(ya, Yb) with abort on the neutral element,
 *   ISK = H.hash(lv_cat(DSI || "_ISK", sid, K) || transcript(Ya, ADa, Yb, ADb)).
 * - "Common function for computing generators": generator_string(DSI, PRS, CI, sid, s_in_bytes),
 *   zero padding so that lv_cat(DSI, PRS, zero_pad) fills the first 128-byte SHA-512 block.
 * - "CPace group objects G_X25519 ..." (CPaceMontgomery): DSI = "CPace255", sample_scalar =
 *   32 random bytes, scalar_mult = scalar_mult_vfy = X25519 (RFC 7748), G.I = 32 zero bytes,
 *   calculate_generator = Elligator 2 (RFC 9380 map_to_curve_elligator2_curve25519) of
 *   decodeUCoordinate(SHA-512(generator_string)[0..32], 255).
 * - "Calculating a session identifier alongside with the CPace run": sid_output.
 * - "Key derivation": K is never returned; it and the scalar are wiped once used.
 *
 * Vitalock usage (§4.2): PRS = ASCII digits of the passcode, CI = lv_cat("VITALOCK-PAIR-1"),
 * sid = 16 random bytes chosen by the hub, the hub is the initiator A (ADa = "hub"), the sensor the
 * responder B (ADb = "sensor"), transcript_ir; psk = ISK[0..32].
 *
 * Pure: no I/O, randomness comes in as a `Random`. Note that JavaScript bigints give no
 * constant-time guarantee; the Elligator 2 map is straight-line (RFC 9380 with CMOV) but its
 * arithmetic timing may still depend on the (passcode-derived) value.
 */
import { _map_to_curve_elligator2_curve25519 } from '@noble/curves/ed25519.js';
import { invert, mod } from '@noble/curves/abstract/modular.js';
import { concatBytes, isAllZero, utf8, wipe } from './bytes.js';
import { ProtocolError } from './errors.js';
import { dh, DH_LEN, sha512 } from './primitives.js';
import type { Random } from './primitives.js';

/** G_X25519.DSI. */
export const CPACE_DSI: Uint8Array = utf8('CPace255');
/** G.DSI || b"_ISK". */
export const CPACE_DSI_ISK: Uint8Array = utf8('CPace255_ISK');
/** Length of Ya / Yb and of a scalar (G_X25519.field_size_bytes). */
export const CPACE_SHARE_LEN = DH_LEN;
/** Length of ISK (SHA-512 output). */
export const CPACE_ISK_LEN = 64;
/** H.s_in_bytes of SHA-512. */
const SHA512_BLOCK_LEN = 128;
const SID_OUTPUT_PREFIX = utf8('CPaceSidOutput');
const OC_PREFIX = utf8('oc');
/** Channel identifier of Vitalock pairing (§4.2), before lv_cat. */
const PAIRING_CI_LABEL = 'VITALOCK-PAIR-1';

/** p = 2^255 - 19. */
const P = (1n << 255n) - 19n;

// ── String utilities ────────────────────────────────────────────────────────────────────────────

/** LEB128 encoding of a non-negative length. */
export function leb128(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a length: ${n}`);
  const out: number[] = [];
  let v = n;
  for (;;) {
    const low = v % 128;
    v = Math.floor(v / 128);
    if (v === 0) {
      out.push(low);
      return Uint8Array.from(out);
    }
    out.push(low | 0x80);
  }
}

/** prepend_len(data) = LEB128(len(data)) || data. */
export function prependLen(data: Uint8Array): Uint8Array {
  return concatBytes(leb128(data.length), data);
}

/** lv_cat(a0, a1, ...) = prepend_len(a0) || prepend_len(a1) || ... */
export function lvCat(...parts: readonly Uint8Array[]): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (const p of parts) pieces.push(leb128(p.length), p);
  return concatBytes(...pieces);
}

/** True when a > b in lexicographic order (a proper prefix is the smaller string). */
export function lexicographicallyLarger(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x > y) return true;
    if (x < y) return false;
  }
  return a.length > b.length;
}

/** o_cat(a, b) = b"oc" || larger || smaller. */
export function oCat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return lexicographicallyLarger(a, b) ? concatBytes(OC_PREFIX, a, b) : concatBytes(OC_PREFIX, b, a);
}

/** transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) || lv_cat(Yb, ADb): initiator-responder mode. */
export function transcriptIr(ya: Uint8Array, adA: Uint8Array, yb: Uint8Array, adB: Uint8Array): Uint8Array {
  return concatBytes(lvCat(ya, adA), lvCat(yb, adB));
}

/** transcript_oc(Ya, ADa, Yb, ADb) = o_cat(lv_cat(Ya, ADa), lv_cat(Yb, ADb)): symmetric mode. */
export function transcriptOc(ya: Uint8Array, adA: Uint8Array, yb: Uint8Array, adB: Uint8Array): Uint8Array {
  return oCat(lvCat(ya, adA), lvCat(yb, adB));
}

/** CI of Vitalock pairing: lv_cat("VITALOCK-PAIR-1") (§4.2). */
export function pairingChannelIdentifier(): Uint8Array {
  return lvCat(utf8(PAIRING_CI_LABEL));
}

// ── Group G_X25519 ──────────────────────────────────────────────────────────────────────────────

/**
 * generator_string(G.DSI, PRS, CI, sid, 128) = lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid),
 * len_zpad = max(0, 128 - 1 - len(prepend_len(PRS)) - len(prepend_len(DSI))).
 * The result contains PRS: wipe it after use.
 */
export function generatorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  const zpadLen = Math.max(0, SHA512_BLOCK_LEN - 1 - (leb128(prs.length).length + prs.length) - (leb128(CPACE_DSI.length).length + CPACE_DSI.length));
  return lvCat(CPACE_DSI, prs, new Uint8Array(zpadLen), ci, sid);
}

function bytesToBigIntLE(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
  return v;
}

function bigIntToBytesLE(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = v;
  for (let i = 0; i < len; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/**
 * G_X25519.calculate_generator(SHA-512, PRS, CI, sid): the Montgomery u-coordinate (32 bytes,
 * little-endian) of Elligator 2 applied to decodeUCoordinate(SHA-512(generator_string)[0..32]).
 * The generator is a password-derived secret: wipe it after use.
 */
export function cpaceGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  const genStr = generatorString(prs, ci, sid);
  const digest = sha512(genStr);
  const h = digest.slice(0, CPACE_SHARE_LEN);
  // decodeUCoordinate(h, 255) (RFC 7748 §5): clear bit 255, little-endian, then as a field element.
  h[31] = (h[31] as number) & 0x7f;
  const r = mod(bytesToBigIntLE(h), P);
  wipe(genStr, digest, h);
  const { xMn, xMd } = _map_to_curve_elligator2_curve25519(r);
  const u = mod(xMn * invert(xMd, P), P);
  return bigIntToBytesLE(u, CPACE_SHARE_LEN);
}

/**
 * G_X25519.scalar_mult_vfy(y, X) = X25519(y, X), aborting (generic `auth-failed`) when the result
 * would be the neutral element G.I (all zero), i.e. when X is a low-order point on the curve or
 * its twist, or when X is not 32 bytes. Bit 255 of X is ignored as RFC 7748 mandates.
 */
export function cpaceScalarMultVfy(scalar: Uint8Array, point: Uint8Array): Uint8Array {
  const out = dh(scalar, point);
  if (isAllZero(out)) throw new ProtocolError('auth-failed', 'key agreement failed');
  return out;
}

/** ISK = SHA-512(lv_cat(DSI_ISK, sid, K) || transcript). The caller wipes K. */
export function cpaceDeriveIsk(sid: Uint8Array, k: Uint8Array, transcript: Uint8Array): Uint8Array {
  const input = concatBytes(lvCat(CPACE_DSI_ISK, sid, k), transcript);
  const isk = sha512(input);
  wipe(input);
  return isk;
}

/** sid_output = SHA-512(b"CPaceSidOutput" || transcript): a public session id for runs without sid. */
export function cpaceSidOutput(transcript: Uint8Array): Uint8Array {
  return sha512(concatBytes(SID_OUTPUT_PREFIX, transcript));
}

// ── Protocol run ────────────────────────────────────────────────────────────────────────────────

export type CpaceRole = 'initiator' | 'responder';
/** 'initiator-responder' uses transcript_ir (Vitalock); 'symmetric' uses transcript_oc. */
export type CpaceMode = 'initiator-responder' | 'symmetric';

export interface CpaceStartOptions {
  /** Password-related string: the passcode digits in ASCII. */
  readonly prs: Uint8Array;
  /** Channel identifier: `pairingChannelIdentifier()` in Vitalock. */
  readonly ci: Uint8Array;
  /** Session identifier (16 random bytes chosen by the hub in Vitalock). */
  readonly sid: Uint8Array;
  /** This party's associated data (ADa for the initiator, ADb for the responder). */
  readonly ad: Uint8Array;
  readonly random: Random;
  /**
   * Fixed scalar, for test vectors only. It is copied; the copy is wiped after `finish`.
   * Never reuse a scalar in a real run.
   */
  readonly scalar?: Uint8Array;
  /** Defaults to 'initiator-responder'. */
  readonly mode?: CpaceMode;
}

/** One CPace run of one party, from `cpaceStart`. */
export interface CpaceExchange {
  /** This party's public share (Ya or Yb), 32 bytes, sent with `ad`. */
  readonly share: Uint8Array;
  /**
   * Consumes the peer's share and AD and returns ISK (64 bytes). `role` is this party's role:
   * the initiator's share and AD come first in transcript_ir. May be called once: the scalar is
   * wiped whatever the outcome, and a second call throws `bad-state`. An invalid peer share
   * (wrong length, low order) throws `auth-failed`.
   */
  finish(peerShare: Uint8Array, peerAd: Uint8Array, role: CpaceRole): Uint8Array;
  /** Abandons the run: wipes the scalar; a later `finish` throws `bad-state`. Idempotent. */
  destroy(): void;
}

/**
 * Starts one CPace run: samples the scalar, computes g and this party's share.
 * Both roles call the same function; the role only matters in `finish`.
 */
export function cpaceStart(options: CpaceStartOptions): CpaceExchange {
  const { prs, ci, sid, random } = options;
  const ad = options.ad.slice();
  const sidCopy = sid.slice();
  const mode: CpaceMode = options.mode ?? 'initiator-responder';
  let scalar: Uint8Array | undefined = options.scalar !== undefined ? options.scalar.slice() : random(CPACE_SHARE_LEN);
  if (scalar.length !== CPACE_SHARE_LEN) {
    wipe(scalar);
    throw new RangeError('CPace scalar must be 32 bytes');
  }
  const g = cpaceGenerator(prs, ci, sid);
  let share: Uint8Array;
  try {
    share = cpaceScalarMultVfy(scalar, g);
  } catch (e) {
    wipe(scalar);
    throw e;
  } finally {
    wipe(g);
  }

  return {
    share: share.slice(),
    finish(peerShare: Uint8Array, peerAd: Uint8Array, role: CpaceRole): Uint8Array {
      const y = scalar;
      if (y === undefined) throw new ProtocolError('bad-state', 'CPace run already finished');
      scalar = undefined;
      let k: Uint8Array | undefined;
      try {
        k = cpaceScalarMultVfy(y, peerShare);
      } finally {
        wipe(y);
      }
      const [yA, adA, yB, adB] = role === 'initiator' ? [share, ad, peerShare, peerAd] : [peerShare, peerAd, share, ad];
      const transcript = mode === 'symmetric' ? transcriptOc(yA, adA, yB, adB) : transcriptIr(yA, adA, yB, adB);
      try {
        return cpaceDeriveIsk(sidCopy, k, transcript);
      } finally {
        wipe(k);
      }
    },
    destroy(): void {
      wipe(scalar);
      scalar = undefined;
    },
  };
}
