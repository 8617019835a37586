/**
 * Key derivation for the unlock methods (docs/vault.md §1.2–§1.4): Argon2id for the passphrase,
 * with parameters calibrated on the device, and HKDF for the passkey PRF output and the recovery
 * code. Every function that produces a key returns a fresh buffer the caller must wipe.
 *
 * Argon2id runs through `argon2idAsync`, which yields to the event loop every few milliseconds,
 * so the worker keeps answering messages during a derivation.
 */
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { utf8, wipe } from '../../src/core/bytes.js';
import { hkdfSha256, KEY_LEN } from '../../src/core/primitives.js';
import type { Clock } from '../../src/core/primitives.js';

export interface Argon2Params {
  /** Memory in KiB. */
  readonly m: number;
  /** Passes. */
  readonly t: number;
  /** Lanes; always 1 (§1.2). */
  readonly p: 1;
}

/** The OWASP minimum of §1.2: 19 MiB, two passes, one lane. Never used below this. */
export const ARGON2_MIN: Argon2Params = Object.freeze({ m: 19 * 1024, t: 2, p: 1 });
/** Calibration raises t up to this cap before it raises m. */
export const ARGON2_CALIBRATION_MAX_T = 4;
/** Calibration never asks for more memory than this (KiB): 64 MiB, safe on phones. */
export const ARGON2_CALIBRATION_MAX_M = 64 * 1024;
/**
 * Bounds a stored record must respect to be tried at all: a record edited to ask for 4 GiB or a
 * million passes would otherwise hang or crash the worker at the next unlock.
 */
export const ARGON2_RECORD_MAX_M = 1024 * 1024;
export const ARGON2_RECORD_MAX_T = 16;
/** The smallest parameters Argon2 itself accepts (m ≥ 8p, t ≥ 1): test-only keyrings may use them. */
export const ARGON2_ABSOLUTE_MIN: Argon2Params = Object.freeze({ m: 8, t: 1, p: 1 });

export const PRF_INFO = 'VITALOCK-VAULT-PRF-1';
export const RECOVERY_INFO = 'VITALOCK-VAULT-RECOVERY-1';
export const RECORDS_INFO = 'VITALOCK-VAULT-RECORDS-1';
export const INDEX_INFO = 'VITALOCK-VAULT-INDEX-1';

/** Whether `params` is well formed and within [min, record maximum]. */
export function argon2ParamsValid(params: Argon2Params, min: Argon2Params = ARGON2_MIN): boolean {
  const { m, t, p } = params;
  return (
    p === 1 &&
    Number.isInteger(m) &&
    Number.isInteger(t) &&
    m >= min.m &&
    t >= min.t &&
    m <= ARGON2_RECORD_MAX_M &&
    t <= ARGON2_RECORD_MAX_T
  );
}

/** Raises each parameter to at least the minimum (§1.2: "never below the minimum"). */
export function atLeastMinimum(params: Argon2Params): Argon2Params {
  return { m: Math.max(ARGON2_MIN.m, Math.floor(params.m)), t: Math.max(ARGON2_MIN.t, Math.floor(params.t)), p: 1 };
}

/** The passphrase as Argon2 reads it: NFKC, then UTF-8 (§1.2). The caller wipes the result. */
export function passphraseBytes(passphrase: string): Uint8Array {
  return utf8(passphrase.normalize('NFKC'));
}

/**
 * `KEK = Argon2id(passphrase, salt, m, t, p = 1, 32 bytes)` (§1.2). The passphrase bytes are
 * wiped here, whatever happens.
 */
export async function deriveArgon2Kek(passphrase: Uint8Array, salt: Uint8Array, params: Argon2Params): Promise<Uint8Array> {
  try {
    return await argon2idAsync(passphrase, salt, { m: params.m, t: params.t, p: params.p, dkLen: KEY_LEN, maxmem: 2 ** 31 });
  } finally {
    wipe(passphrase);
  }
}

/** `KEK = HKDF-SHA-256(prf, salt, "VITALOCK-VAULT-PRF-1")` (§1.3). Wipes `prfOutput`. */
export function derivePrfKek(prfOutput: Uint8Array, salt: Uint8Array): Uint8Array {
  try {
    return hkdfSha256(prfOutput, salt, utf8(PRF_INFO), KEY_LEN);
  } finally {
    wipe(prfOutput);
  }
}

/** `KEK = HKDF-SHA-256(code bits, salt, "VITALOCK-VAULT-RECOVERY-1")` (§1.4). Wipes `codeBytes`. */
export function deriveRecoveryKek(codeBytes: Uint8Array, salt: Uint8Array): Uint8Array {
  try {
    return hkdfSha256(codeBytes, salt, utf8(RECOVERY_INFO), KEY_LEN);
  } finally {
    wipe(codeBytes);
  }
}

/** `RK` and `IK` of §1: HKDF-SHA-256 of VK, no salt, the label as info. */
export function deriveVaultKeys(vk: Uint8Array): { recordKey: Uint8Array; indexKey: Uint8Array } {
  return {
    recordKey: hkdfSha256(vk, undefined, utf8(RECORDS_INFO), KEY_LEN),
    indexKey: hkdfSha256(vk, undefined, utf8(INDEX_INFO), KEY_LEN),
  };
}

// ── Calibration (§1.2) ──────────────────────────────────────────────────────────────────────────

export interface Calibration {
  readonly params: Argon2Params;
  /** Measured duration of one derivation with `params`, in ms. */
  readonly ms: number;
}

/** Measures one derivation with `params` and returns its duration in ms. */
export type Argon2Probe = (params: Argon2Params) => Promise<number>;

export interface CalibrateOptions {
  /** Replaces the real measurement: tests inject a cost model here to stay fast. */
  readonly probe?: Argon2Probe;
  /** Cap on t (default `ARGON2_CALIBRATION_MAX_T`). */
  readonly maxT?: number;
  /** Cap on m in KiB (default `ARGON2_CALIBRATION_MAX_M`). */
  readonly maxM?: number;
  /** Most derivations calibration may run (default 4), so set-up stays within a few seconds. */
  readonly maxProbes?: number;
}

/** A probe that times a real Argon2id derivation of a fixed, non-secret input. */
export function argon2Probe(now: Clock): Argon2Probe {
  return async (params) => {
    const start = now();
    const out = await argon2idAsync(new Uint8Array(16), new Uint8Array(16), { m: params.m, t: params.t, p: params.p, dkLen: KEY_LEN, maxmem: 2 ** 31 });
    const ms = now() - start;
    wipe(out);
    return ms;
  };
}

/** Within this fraction of the target counts as "about" the target. */
const TOLERANCE = 0.1;
const MIB = 1024;

/**
 * The parameters whose cost m·t is closest to `work` from below, raising t first (up to maxT),
 * then m in whole MiB (up to maxM); never below the minimum.
 */
function fitWork(work: number, maxT: number, maxM: number): Argon2Params {
  const t = Math.min(maxT, Math.max(ARGON2_MIN.t, Math.floor(work / ARGON2_MIN.m)));
  if (t < maxT) return { m: ARGON2_MIN.m, t, p: 1 };
  const m = Math.min(maxM, Math.max(ARGON2_MIN.m, Math.floor(work / t / MIB) * MIB));
  return { m, t, p: 1 };
}

const cost = (p: Argon2Params): number => p.m * p.t;

/**
 * Calibrates Argon2id on this device (§1.2): times one derivation at the minimum (19 MiB, t = 2,
 * p = 1), then, modelling the time as proportional to m·t, raises t (up to `maxT`) and then m
 * (up to `maxM`) until one derivation takes about `targetMs` (within 10 %, or the closest below
 * it after `maxProbes` measurements). The result is never below the minimum, even on a device
 * where the minimum alone takes longer than the target.
 */
export async function calibrateArgon2(targetMs = 500, now: Clock = Date.now, options: CalibrateOptions = {}): Promise<Calibration> {
  if (!(targetMs > 0)) throw new RangeError('target must be positive');
  const probe = options.probe ?? argon2Probe(now);
  const maxT = Math.max(ARGON2_MIN.t, options.maxT ?? ARGON2_CALIBRATION_MAX_T);
  const maxM = Math.max(ARGON2_MIN.m, options.maxM ?? ARGON2_CALIBRATION_MAX_M);
  const maxProbes = Math.max(1, options.maxProbes ?? 4);

  let best: Calibration = { params: ARGON2_MIN, ms: await probe(ARGON2_MIN) };
  let last = best;
  const tried = new Set<string>([`${ARGON2_MIN.m}/${ARGON2_MIN.t}`]);
  for (let probes = 1; probes < maxProbes; probes++) {
    if (Math.abs(best.ms - targetMs) <= TOLERANCE * targetMs || best.ms > targetMs) break;
    const rate = Math.max(last.ms, 1e-6) / cost(last.params);
    const next = fitWork(targetMs / rate, maxT, maxM);
    const key = `${next.m}/${next.t}`;
    if (tried.has(key) || cost(next) <= cost(best.params)) break;
    tried.add(key);
    const ms = await probe(next);
    last = { params: next, ms };
    if (ms <= targetMs * (1 + TOLERANCE)) best = last;
  }
  return best;
}
