/**
 * The keyring of the vault (docs/vault.md §1.1–§1.5): the vault key VK, the wrap records that
 * let each unlock method recover it, the derived record and index keys, locking, auto-lock and
 * the failed-passphrase delay.
 *
 * Pure apart from what is injected: time (`now`), randomness (`random`), where the wrap records
 * and the failure count are kept (`KeyringStorage`) and, for auto-lock, a scheduler. No DOM or
 * Node API is used, so the same code runs in the vault worker and under vitest.
 *
 * Choices this module makes where §1 leaves room:
 * - Record ids are fixed for the single passphrase (`passphrase`) and recovery code (`recovery`)
 *   wraps and `passkey:<credential id>` for a passkey; the credential id is also kept in
 *   `credentialId`. Changing the passphrase or regenerating the recovery code is then one `put`
 *   over the same id, so the old secret stops working atomically (no window where both work).
 * - `RK`/`IK` are HKDF-SHA-256(VK, no salt, info = the label of §1).
 * - The failure count is raised **before** the passphrase is tried and reset on success, so
 *   killing the worker in the middle of a derivation does not give a free guess.
 * - A successful unlock by any method resets the failure count.
 * - `removeMethod` never removes the recovery wrap (only `regenerateRecoveryCode` replaces it)
 *   and refuses to remove the last passphrase/passkey, so the vault always keeps a daily way in
 *   and the recovery code.
 * - `create` leaves the keyring unlocked; `open` returns it locked.
 * - Test-only weak Argon2: `unsafeArgon2ForTests` (see `KeyringOptions`). Without it, every
 *   passphrase wrap uses calibrated parameters of at least 19 MiB / t = 2, and a stored record
 *   below that is ignored as corrupt.
 */
import { concatBytes, equalBytes, utf8, wipe } from '../../src/core/bytes.js';
import { KEY_LEN, XNONCE_LEN, xaeadOpen, xaeadSeal } from '../../src/core/primitives.js';
import type { Clock, Random } from '../../src/core/primitives.js';
import {
  ARGON2_ABSOLUTE_MIN,
  ARGON2_MIN,
  argon2ParamsValid,
  atLeastMinimum,
  calibrateArgon2,
  deriveArgon2Kek,
  derivePrfKek,
  deriveRecoveryKek,
  deriveVaultKeys,
  passphraseBytes,
  PRF_INFO,
  RECOVERY_INFO,
} from './kdf.js';
import type { Argon2Params, Calibration } from './kdf.js';
import { formatRecoveryCode, generateRecoveryBytes, parseRecoveryCode } from './recovery-code.js';
import type { RecoveryCodeProblem } from './recovery-code.js';

// ── Types ───────────────────────────────────────────────────────────────────────────────────────

export type WrapKind = 'passphrase' | 'passkey' | 'recovery';

export type KdfDescriptor =
  | { readonly alg: 'argon2id'; readonly m: number; readonly t: number; readonly p: 1 }
  | { readonly alg: 'hkdf-sha256'; readonly info: typeof PRF_INFO | typeof RECOVERY_INFO };

/** A wrap record of §1.1, stored in clear: nothing in it is secret. */
export interface WrapRecord {
  readonly id: string;
  readonly kind: WrapKind;
  readonly kdf: KdfDescriptor;
  /** 16 bytes for Argon2 (§1.2), 32 for the PRF salt (§1.3) and the recovery HKDF salt. */
  readonly salt: Uint8Array;
  readonly nonce: Uint8Array;
  /** XChaCha20-Poly1305(KEK, nonce, VK, ad = "VITALOCK-VAULT-WRAP-1" ‖ kind ‖ id). */
  readonly wrapped: Uint8Array;
  readonly createdAt: number;
  readonly label?: string;
  /** Passkeys only: the WebAuthn credential id, base64url as the app has it. */
  readonly credentialId?: string;
}

export interface FailureState {
  /** Consecutive failed passphrase attempts. */
  readonly count: number;
  /** Time of the last counted attempt (ms since the epoch), 0 when none. */
  readonly lastAt: number;
}

/** Where the keyring keeps its wrap records and the failure count (the `meta` store of §2.1). */
export interface KeyringStorage {
  loadWrapRecords(): Promise<WrapRecord[]>;
  /** Insert or replace by `id`. */
  saveWrapRecord(record: WrapRecord): Promise<void>;
  deleteWrapRecord(id: string): Promise<void>;
  loadFailures(): Promise<FailureState>;
  saveFailures(failures: FailureState): Promise<void>;
}

export type UnlockFailureReason = 'wrong' | 'no-such-method' | 'malformed' | 'wait';
export type UnlockResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: UnlockFailureReason;
      /** How long before the next passphrase attempt will be tried (0: at once). */
      readonly retryAfterMs: number;
      /** For a malformed recovery code: what is wrong, and in which group (1-based). */
      readonly problem?: RecoveryCodeProblem;
      readonly group?: number;
    };

export interface MethodInfo {
  readonly id: string;
  readonly kind: WrapKind;
  readonly createdAt: number;
  readonly label?: string;
  /** Passkeys: what the main thread needs to ask for the PRF (§1.3); neither is secret. */
  readonly credentialId?: string;
  readonly prfSalt?: Uint8Array;
}

/** Reported for each failed passphrase attempt after the third (§1.5). */
export interface KeyringSecurityEvent {
  readonly type: 'passphrase-failure';
  readonly count: number;
  readonly at: number;
}

export interface KeyringOptions {
  readonly storage: KeyringStorage;
  readonly random: Random;
  /** Wall-clock time in ms; used for `createdAt`, the failure delay and calibration timing. */
  readonly now: Clock;
  /**
   * How Argon2 parameters are chosen when a passphrase is set. Default:
   * `calibrateArgon2(500, now)`. Whatever it returns is raised to the minimum (19 MiB, t = 2).
   */
  readonly calibrate?: () => Promise<Calibration>;
  /**
   * TESTS ONLY. Passphrase wraps use exactly these Argon2 parameters (no calibration, may be below
   * the minimum), and stored records with parameters down to Argon2's own floor (m = 8, t = 1)
   * are accepted. Never set in the app: a record made with it is cheap to brute-force.
   */
  readonly unsafeArgon2ForTests?: Argon2Params;
  readonly onSecurityEvent?: (event: KeyringSecurityEvent) => void;
}

export interface KeyringCreateOptions extends KeyringOptions {
  readonly passphrase?: string;
}

// ── Errors ──────────────────────────────────────────────────────────────────────────────────────

/** A key was asked for, or a managing operation attempted, while the vault is locked. */
export class VaultLockedError extends Error {
  override readonly name = 'VaultLockedError';
  constructor() {
    super('the vault is locked');
  }
}

export type KeyringErrorCode =
  /** `create` found wrap records already: a vault exists. */
  | 'already-exists'
  /** No method with this id (or no passphrase to change). */
  | 'no-such-method'
  /** Removing it would leave no passphrase or passkey. */
  | 'last-method'
  /** The recovery wrap is replaced with `regenerateRecoveryCode`, never removed. */
  | 'recovery-not-removable'
  /** A passkey with this credential id, or a passphrase, is already there. */
  | 'duplicate'
  /** An argument is not of the expected form (empty passphrase, PRF output not 32 bytes, …). */
  | 'malformed'
  /** `addPasskey` without a salt from `preparePasskey`. */
  | 'no-pending-passkey';

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
  constructor(
    readonly code: KeyringErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ── Constants and helpers ───────────────────────────────────────────────────────────────────────

export const WRAP_AD_PREFIX = 'VITALOCK-VAULT-WRAP-1';
export const PASSPHRASE_ID = 'passphrase';
export const RECOVERY_ID = 'recovery';
export const PASSKEY_ID_PREFIX = 'passkey:';
export const ARGON2_SALT_LEN = 16;
export const HKDF_SALT_LEN = 32;
export const PRF_OUTPUT_LEN = 32;
/** Failed passphrase attempts before the delay starts (§1.5). */
export const FREE_ATTEMPTS = 3;
export const MAX_DELAY_MS = 5 * 60_000;
const MAX_LABEL_LENGTH = 64;
const CREDENTIAL_ID = /^[A-Za-z0-9_\-+/]{1,1400}={0,2}$/;

/** `ad = "VITALOCK-VAULT-WRAP-1" ‖ kind ‖ id`, all UTF-8, no separators (§1.1). */
export function wrapAd(kind: WrapKind, id: string): Uint8Array {
  return concatBytes(utf8(WRAP_AD_PREFIX), utf8(kind), utf8(id));
}

export function passkeyId(credentialIdB64: string): string {
  return PASSKEY_ID_PREFIX + credentialIdB64;
}

/** The wait before the next passphrase attempt after `count` consecutive failures (§1.5). */
export function failureDelayMs(count: number): number {
  if (count < FREE_ATTEMPTS) return 0;
  return Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(count - FREE_ATTEMPTS, 30));
}

const isBytes = (v: unknown, length?: number): v is Uint8Array => v instanceof Uint8Array && (length === undefined || v.length === length);

/** Whether a record read from storage has the shape this module writes, with sane KDF bounds. */
function recordValid(r: WrapRecord, argonFloor: Argon2Params): boolean {
  if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || typeof r.createdAt !== 'number') return false;
  if (!isBytes(r.nonce, XNONCE_LEN) || !isBytes(r.wrapped, KEY_LEN + 16)) return false;
  if (r.label !== undefined && typeof r.label !== 'string') return false;
  const kdf = r.kdf as KdfDescriptor | undefined;
  if (typeof kdf !== 'object' || kdf === null) return false;
  switch (r.kind) {
    case 'passphrase':
      return r.id === PASSPHRASE_ID && kdf.alg === 'argon2id' && isBytes(r.salt, ARGON2_SALT_LEN) && argon2ParamsValid(kdf, argonFloor);
    case 'recovery':
      return r.id === RECOVERY_ID && kdf.alg === 'hkdf-sha256' && kdf.info === RECOVERY_INFO && isBytes(r.salt, HKDF_SALT_LEN);
    case 'passkey':
      return (
        typeof r.credentialId === 'string' &&
        CREDENTIAL_ID.test(r.credentialId) &&
        r.id === passkeyId(r.credentialId) &&
        kdf.alg === 'hkdf-sha256' &&
        kdf.info === PRF_INFO &&
        isBytes(r.salt, HKDF_SALT_LEN)
      );
    default:
      return false;
  }
}

function cleanLabel(label: string): string {
  const trimmed = label.normalize('NFC').trim();
  if (trimmed.length === 0 || trimmed.length > MAX_LABEL_LENGTH) throw new KeyringError('malformed', 'a label is 1 to 64 characters');
  return trimmed;
}

function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new KeyringError('malformed', 'the passphrase is empty');
}

const failed = (reason: UnlockFailureReason, retryAfterMs = 0): UnlockResult => ({ ok: false, reason, retryAfterMs });

// ── Keyring ─────────────────────────────────────────────────────────────────────────────────────

interface UnlockedKeys {
  readonly vk: Uint8Array;
  readonly rk: Uint8Array;
  readonly ik: Uint8Array;
}

export class Keyring {
  private keys: UnlockedKeys | null = null;
  /** Bumped by `lock()`, so a managing operation that awaited across a lock aborts. */
  private epoch = 0;
  /** Serialises every operation that reads or writes storage. */
  private queue: Promise<unknown> = Promise.resolve();
  private pendingPrfSalt: Uint8Array | null = null;
  private readonly lockListeners = new Set<() => void>();
  private readonly storage: KeyringStorage;
  private readonly random: Random;
  private readonly now: Clock;
  private readonly options: KeyringOptions;

  private constructor(
    options: KeyringOptions,
    private readonly records: Map<string, WrapRecord>,
    /** Records read from storage that failed validation; left in storage, never tried. */
    readonly ignoredRecords: number,
  ) {
    this.options = options;
    this.storage = options.storage;
    this.random = options.random;
    this.now = options.now;
  }

  /** Loads an existing vault's wrap records; the keyring starts locked. */
  static async open(options: KeyringOptions): Promise<Keyring> {
    const floor = options.unsafeArgon2ForTests !== undefined ? ARGON2_ABSOLUTE_MIN : ARGON2_MIN;
    const records = new Map<string, WrapRecord>();
    let ignored = 0;
    for (const r of await options.storage.loadWrapRecords()) {
      if (recordValid(r, floor) && !records.has(r.id)) records.set(r.id, r);
      else ignored++;
    }
    return new Keyring(options, records, ignored);
  }

  /**
   * Creates a new vault: a fresh VK, the recovery wrap and, if a passphrase is given, the
   * passphrase wrap. Returns the keyring unlocked and the recovery code, which is never
   * available again (show it once). Refuses if the storage already holds wrap records.
   */
  static async create(options: KeyringCreateOptions): Promise<{ keyring: Keyring; recoveryCode: string }> {
    if (options.passphrase !== undefined) checkPassphrase(options.passphrase);
    if ((await options.storage.loadWrapRecords()).length > 0) throw new KeyringError('already-exists', 'a vault already exists');
    await options.storage.saveFailures({ count: 0, lastAt: 0 });
    const { passphrase, ...rest } = options;
    const keyring = new Keyring(rest, new Map(), 0);
    const vk = options.random(KEY_LEN);
    if (vk.length !== KEY_LEN) throw new RangeError('random source returned the wrong length');
    const saved: string[] = [];
    try {
      if (passphrase !== undefined) {
        const record = await keyring.passphraseRecord(passphrase, vk);
        await keyring.put(record);
        saved.push(record.id);
      }
      const { record, code } = keyring.recoveryRecord(vk);
      await keyring.put(record);
      saved.push(record.id);
      keyring.install(vk);
      return { keyring, recoveryCode: code };
    } catch (error) {
      wipe(vk);
      for (const id of saved) await options.storage.deleteWrapRecord(id).catch(() => undefined);
      throw error;
    }
  }

  // ── State and keys ──

  get isUnlocked(): boolean {
    return this.keys !== null;
  }

  /**
   * RK (§1): the key of every stored value. The buffer itself, not a copy: do not keep it, it is
   * zeroed by `lock()`. Throws `VaultLockedError` while locked.
   */
  recordKey(): Uint8Array {
    return this.unlocked().rk;
  }

  /** IK (§1): the key of the pseudonymous index fields. Same rules as `recordKey`. */
  indexKey(): Uint8Array {
    return this.unlocked().ik;
  }

  /** Wipes VK, RK, IK and any pending passkey salt, then tells the `onLock` listeners. */
  lock(): void {
    this.epoch++;
    const keys = this.keys;
    this.keys = null;
    if (keys !== null) wipe(keys.vk, keys.rk, keys.ik);
    this.pendingPrfSalt = null;
    if (keys === null) return;
    for (const listener of this.lockListeners) {
      try {
        listener();
      } catch {
        // A listener's failure must not stop the others from wiping their state.
      }
    }
  }

  /** Called after each lock, so the vault can wipe what it decrypted (§1.5). Returns an unsubscribe. */
  onLock(listener: () => void): () => void {
    this.lockListeners.add(listener);
    return () => this.lockListeners.delete(listener);
  }

  /** The unlock methods, without anything secret. */
  listMethods(): MethodInfo[] {
    const order: Record<WrapKind, number> = { passphrase: 0, passkey: 1, recovery: 2 };
    return [...this.records.values()]
      .sort((a, b) => order[a.kind] - order[b.kind] || a.createdAt - b.createdAt)
      .map((r) => ({
        id: r.id,
        kind: r.kind,
        createdAt: r.createdAt,
        ...(r.label !== undefined ? { label: r.label } : {}),
        ...(r.kind === 'passkey' && r.credentialId !== undefined ? { credentialId: r.credentialId, prfSalt: r.salt.slice() } : {}),
      }));
  }

  // ── Unlock ──

  /** §1.2 with the delay of §1.5: a 'wait' answer means nothing was tried. */
  unlockWithPassphrase(passphrase: string): Promise<UnlockResult> {
    return this.serial(async () => {
      const record = this.records.get(PASSPHRASE_ID);
      if (record === undefined) return failed('no-such-method');
      if (typeof passphrase !== 'string' || passphrase.length === 0) return failed('malformed');
      const attempt = await this.tryPassphrase(record, passphrase);
      if (attempt.ok) this.install(attempt.vk);
      return attempt.result;
    });
  }

  /** §1.3. `prfOutput` is zeroed before this returns, whatever the outcome. */
  unlockWithPrf(credentialIdB64: string, prfOutput: Uint8Array): Promise<UnlockResult> {
    const prf = prfOutput.slice();
    wipe(prfOutput);
    return this.serial(async () => {
      try {
        if (prf.length !== PRF_OUTPUT_LEN || typeof credentialIdB64 !== 'string' || !CREDENTIAL_ID.test(credentialIdB64)) return failed('malformed');
        const record = this.records.get(passkeyId(credentialIdB64));
        if (record === undefined) return failed('no-such-method');
        return await this.finishUnlock(this.openRecord(record, derivePrfKek(prf, record.salt)));
      } finally {
        wipe(prf);
      }
    });
  }

  /** §1.4. A code that does not parse costs nothing and says which group looks wrong. */
  unlockWithRecoveryCode(code: string): Promise<UnlockResult> {
    return this.serial(async () => {
      const record = this.records.get(RECOVERY_ID);
      if (record === undefined) return failed('no-such-method');
      const parsed = parseRecoveryCode(typeof code === 'string' ? code : '');
      if (!parsed.ok) {
        return { ok: false, reason: 'malformed', retryAfterMs: 0, problem: parsed.problem, ...(parsed.group !== undefined ? { group: parsed.group } : {}) };
      }
      return await this.finishUnlock(this.openRecord(record, deriveRecoveryKek(parsed.bytes, record.salt)));
    });
  }

  // ── Manage (wrap records only; VK and the data never change) ──

  /** Sets a passphrase on a vault that has none. Requires unlocked. */
  setPassphrase(passphrase: string): Promise<void> {
    return this.serial(async () => {
      const vk = this.vkCopy();
      try {
        checkPassphrase(passphrase);
        if (this.records.has(PASSPHRASE_ID)) throw new KeyringError('duplicate', 'a passphrase is already set');
        const record = await this.passphraseRecord(passphrase, vk.bytes);
        this.assertEpoch(vk.epoch);
        await this.put(record);
      } finally {
        wipe(vk.bytes);
      }
    });
  }

  /**
   * Replaces the passphrase. Requires unlocked **and** the current passphrase, which goes through
   * the same failure count and delay as an unlock (so an unlocked session cannot be used to
   * brute-force it). Returns like an unlock; on success the old passphrase no longer works.
   */
  changePassphrase(oldPassphrase: string, newPassphrase: string): Promise<UnlockResult> {
    return this.serial(async () => {
      const vk = this.vkCopy();
      try {
        checkPassphrase(newPassphrase);
        const record = this.records.get(PASSPHRASE_ID);
        if (record === undefined) return failed('no-such-method');
        if (typeof oldPassphrase !== 'string' || oldPassphrase.length === 0) return failed('malformed');
        const attempt = await this.tryPassphrase(record, oldPassphrase);
        if (!attempt.ok) return attempt.result;
        const same = equalBytes(attempt.vk, vk.bytes);
        wipe(attempt.vk);
        if (!same) return failed('wrong');
        const next = await this.passphraseRecord(newPassphrase, vk.bytes);
        this.assertEpoch(vk.epoch);
        await this.put(next);
        return { ok: true };
      } finally {
        wipe(vk.bytes);
      }
    });
  }

  /**
   * First step of adding a passkey: a fresh 32-byte PRF salt for the main thread to pass as
   * `prf.eval.first` (§1.3). The keyring keeps it until `addPasskey` or `lock`. Requires unlocked.
   */
  preparePasskey(): Uint8Array {
    this.unlocked();
    const salt = this.random(HKDF_SALT_LEN);
    this.pendingPrfSalt = salt;
    return salt.slice();
  }

  /**
   * Second step: wraps VK for the passkey whose PRF output (with the salt of `preparePasskey`) is
   * `prfOutput`, which is zeroed before this returns. Returns the new method's id.
   */
  addPasskey(credentialIdB64: string, prfOutput: Uint8Array, label: string): Promise<string> {
    const prf = prfOutput.slice();
    wipe(prfOutput);
    return this.serial(async () => {
      const vk = this.vkCopy();
      try {
        if (prf.length !== PRF_OUTPUT_LEN) throw new KeyringError('malformed', 'a PRF output is 32 bytes');
        if (typeof credentialIdB64 !== 'string' || !CREDENTIAL_ID.test(credentialIdB64)) throw new KeyringError('malformed', 'not a base64 credential id');
        const clean = cleanLabel(label);
        const salt = this.pendingPrfSalt;
        if (salt === null) throw new KeyringError('no-pending-passkey', 'call preparePasskey first');
        const id = passkeyId(credentialIdB64);
        if (this.records.has(id)) throw new KeyringError('duplicate', 'this passkey is already registered');
        this.pendingPrfSalt = null;
        const record = this.wrap('passkey', id, { alg: 'hkdf-sha256', info: PRF_INFO }, salt, derivePrfKek(prf, salt), vk.bytes, {
          label: clean,
          credentialId: credentialIdB64,
        });
        await this.put(record);
        return id;
      } finally {
        wipe(prf, vk.bytes);
      }
    });
  }

  /** Removes a passphrase or passkey wrap. Requires unlocked; see the module notes for refusals. */
  removeMethod(id: string): Promise<void> {
    return this.serial(async () => {
      this.unlocked();
      const record = this.records.get(id);
      if (record === undefined) throw new KeyringError('no-such-method', 'no such unlock method');
      if (record.kind === 'recovery') throw new KeyringError('recovery-not-removable', 'the recovery code can be replaced, not removed');
      const daily = [...this.records.values()].filter((r) => r.kind !== 'recovery');
      if (daily.length <= 1) throw new KeyringError('last-method', 'the last passphrase or passkey cannot be removed');
      await this.storage.deleteWrapRecord(id);
      this.records.delete(id);
    });
  }

  /** Replaces the recovery wrap; the old code stops working. Returns the new code (show it once). */
  regenerateRecoveryCode(): Promise<string> {
    return this.serial(async () => {
      const vk = this.vkCopy();
      try {
        const { record, code } = this.recoveryRecord(vk.bytes);
        await this.put(record);
        return code;
      } finally {
        wipe(vk.bytes);
      }
    });
  }

  // ── Internals ──

  private unlocked(): UnlockedKeys {
    if (this.keys === null) throw new VaultLockedError();
    return this.keys;
  }

  /** A copy of VK for a managing operation, so a `lock()` during its awaits cannot zero it under us. */
  private vkCopy(): { bytes: Uint8Array; epoch: number } {
    return { bytes: this.unlocked().vk.slice(), epoch: this.epoch };
  }

  private assertEpoch(epoch: number): void {
    if (epoch !== this.epoch || this.keys === null) throw new VaultLockedError();
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private install(vk: Uint8Array): void {
    if (this.keys !== null) {
      if (equalBytes(this.keys.vk, vk)) {
        wipe(vk);
        return;
      }
      this.lock();
    }
    const { recordKey, indexKey } = deriveVaultKeys(vk);
    this.keys = { vk, rk: recordKey, ik: indexKey };
  }

  private async put(record: WrapRecord): Promise<void> {
    await this.storage.saveWrapRecord(record);
    this.records.set(record.id, record);
  }

  /** Opens a wrap with `kek` (wiped here); the VK on success, null if it does not authenticate. */
  private openRecord(record: WrapRecord, kek: Uint8Array): Uint8Array | null {
    try {
      const vk = xaeadOpen(kek, record.nonce, record.wrapped, wrapAd(record.kind, record.id));
      if (vk.length !== KEY_LEN) {
        wipe(vk);
        return null;
      }
      return vk;
    } catch {
      return null;
    } finally {
      wipe(kek);
    }
  }

  /** Installs the VK of a non-passphrase unlock and resets the passphrase failure count. */
  private async finishUnlock(vk: Uint8Array | null): Promise<UnlockResult> {
    if (vk === null) return failed('wrong');
    this.install(vk);
    await this.resetFailures();
    return { ok: true };
  }

  private async resetFailures(): Promise<void> {
    const f = await this.storage.loadFailures();
    if (f.count !== 0) await this.storage.saveFailures({ count: 0, lastAt: 0 });
  }

  /**
   * One counted passphrase attempt under the §1.5 policy. On success returns VK (not installed)
   * and has reset the count; otherwise the result to hand back.
   */
  private async tryPassphrase(
    record: WrapRecord,
    passphrase: string,
  ): Promise<{ ok: true; vk: Uint8Array; result: UnlockResult } | { ok: false; result: UnlockResult }> {
    if (record.kdf.alg !== 'argon2id') return { ok: false, result: failed('malformed') };
    const now = this.now();
    const before = await this.storage.loadFailures();
    const count = Number.isInteger(before.count) && before.count > 0 ? before.count : 0;
    const delay = failureDelayMs(count);
    const readyAt = before.lastAt + delay;
    if (delay > 0 && now < readyAt) {
      // A clock set back never makes the wait longer than the policy's delay.
      return { ok: false, result: failed('wait', Math.min(delay, readyAt - now)) };
    }
    // Counted before trying: a worker killed mid-derivation does not get a free guess.
    const counted = count + 1;
    await this.storage.saveFailures({ count: counted, lastAt: now });
    const kek = await deriveArgon2Kek(passphraseBytes(passphrase), record.salt, record.kdf);
    const vk = this.openRecord(record, kek);
    if (vk === null) {
      if (counted > FREE_ATTEMPTS) this.report({ type: 'passphrase-failure', count: counted, at: now });
      return { ok: false, result: failed('wrong', failureDelayMs(counted)) };
    }
    await this.storage.saveFailures({ count: 0, lastAt: 0 });
    return { ok: true, vk, result: { ok: true } };
  }

  private report(event: KeyringSecurityEvent): void {
    try {
      this.options.onSecurityEvent?.(event);
    } catch {
      // Reporting must not change the answer of the attempt.
    }
  }

  private async argon2Params(): Promise<Argon2Params> {
    if (this.options.unsafeArgon2ForTests !== undefined) return this.options.unsafeArgon2ForTests;
    const calibration = await (this.options.calibrate ?? (() => calibrateArgon2(500, this.now)))();
    return atLeastMinimum(calibration.params);
  }

  private async passphraseRecord(passphrase: string, vk: Uint8Array): Promise<WrapRecord> {
    const params = await this.argon2Params();
    const salt = this.random(ARGON2_SALT_LEN);
    const kek = await deriveArgon2Kek(passphraseBytes(passphrase), salt, params);
    return this.wrap('passphrase', PASSPHRASE_ID, { alg: 'argon2id', m: params.m, t: params.t, p: 1 }, salt, kek, vk);
  }

  private recoveryRecord(vk: Uint8Array): { record: WrapRecord; code: string } {
    const bits = generateRecoveryBytes(this.random);
    const code = formatRecoveryCode(bits);
    const salt = this.random(HKDF_SALT_LEN);
    const record = this.wrap('recovery', RECOVERY_ID, { alg: 'hkdf-sha256', info: RECOVERY_INFO }, salt, deriveRecoveryKek(bits, salt), vk);
    return { record, code };
  }

  /** Seals VK under `kek` (wiped here) into a wrap record (§1.1). */
  private wrap(
    kind: WrapKind,
    id: string,
    kdf: KdfDescriptor,
    salt: Uint8Array,
    kek: Uint8Array,
    vk: Uint8Array,
    extra: { label?: string; credentialId?: string } = {},
  ): WrapRecord {
    try {
      const nonce = this.random(XNONCE_LEN);
      const wrapped = xaeadSeal(kek, nonce, vk, wrapAd(kind, id));
      return { id, kind, kdf, salt, nonce, wrapped, createdAt: this.now(), ...extra };
    } finally {
      wipe(kek);
    }
  }
}

// ── In-memory storage ───────────────────────────────────────────────────────────────────────────

/** `KeyringStorage` in memory, for tests and for a session without IndexedDB. Stores copies. */
export class MemoryKeyringStorage implements KeyringStorage {
  readonly records = new Map<string, WrapRecord>();
  failures: FailureState = { count: 0, lastAt: 0 };

  loadWrapRecords(): Promise<WrapRecord[]> {
    return Promise.resolve([...this.records.values()].map((r) => structuredClone(r)));
  }

  saveWrapRecord(record: WrapRecord): Promise<void> {
    this.records.set(record.id, structuredClone(record));
    return Promise.resolve();
  }

  deleteWrapRecord(id: string): Promise<void> {
    this.records.delete(id);
    return Promise.resolve();
  }

  loadFailures(): Promise<FailureState> {
    return Promise.resolve({ ...this.failures });
  }

  saveFailures(failures: FailureState): Promise<void> {
    this.failures = { count: failures.count, lastAt: failures.lastAt };
    return Promise.resolve();
  }
}

// ── Auto-lock (§1.5) ────────────────────────────────────────────────────────────────────────────

/** Runs `fn` after `ms`; returns a function that cancels it. */
export type Schedule = (ms: number, fn: () => void) => () => void;

export const AUTO_LOCK_DEFAULT_MS = 5 * 60_000;
export const AUTO_LOCK_MIN_MS = 60_000;
export const AUTO_LOCK_MAX_MS = 60 * 60_000;

export interface AutoLockOptions {
  /** Default 5 minutes; 1 to 60 minutes. */
  readonly timeoutMs?: number;
  readonly now: Clock;
  readonly schedule: Schedule;
}

function checkTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms < AUTO_LOCK_MIN_MS || ms > AUTO_LOCK_MAX_MS) throw new RangeError('auto-lock is 1 to 60 minutes');
  return ms;
}

/**
 * Locks the keyring after `timeoutMs` without `touch()` (§1.5). Call `touch()` on each use and
 * right after an unlock; while the keyring is locked no timer is kept. One timer at a time: a
 * touch only records the time, and the timer, when it fires early, re-arms for the remainder.
 */
export class AutoLock {
  private timeout: number;
  private lastUse = 0;
  private cancel: (() => void) | null = null;
  private readonly now: Clock;
  private readonly schedule: Schedule;

  constructor(
    private readonly keyring: Pick<Keyring, 'lock' | 'isUnlocked'>,
    options: AutoLockOptions,
  ) {
    this.timeout = checkTimeout(options.timeoutMs ?? AUTO_LOCK_DEFAULT_MS);
    this.now = options.now;
    this.schedule = options.schedule;
  }

  get timeoutMs(): number {
    return this.timeout;
  }

  /** Records a use; starts the timer if the keyring is unlocked and none is running. */
  touch(): void {
    if (!this.keyring.isUnlocked) {
      this.stop();
      return;
    }
    this.lastUse = this.now();
    if (this.cancel === null) this.arm(this.timeout);
  }

  /** Changes the timeout (1 to 60 minutes), counted from the last use. */
  setTimeout(ms: number): void {
    this.timeout = checkTimeout(ms);
    if (this.cancel === null) return;
    this.stop();
    this.arm(Math.max(0, this.lastUse + this.timeout - this.now()));
  }

  /** Cancels the timer (e.g. after a manual lock). */
  stop(): void {
    this.cancel?.();
    this.cancel = null;
  }

  private arm(ms: number): void {
    this.cancel = this.schedule(ms, () => this.fire());
  }

  private fire(): void {
    this.cancel = null;
    if (!this.keyring.isUnlocked) return;
    const remaining = this.lastUse + this.timeout - this.now();
    if (remaining <= 0) this.keyring.lock();
    else this.arm(remaining);
  }
}
