/**
 * Tests of the keyring (docs/vault.md §1.1–§1.5): create and unlock by each method, the wrong
 * passphrase delay, managing methods without touching VK, lock, auto-lock, the AD binding of
 * wrap records, and Argon2 calibration.
 *
 * Argon2 cost: every keyring here uses `unsafeArgon2ForTests` (m = 64 KiB, t = 1) so a passphrase
 * attempt takes about a millisecond, and calibration runs on an injected cost model — except the
 * one test marked REAL, which calibrates and derives at the real minimum (19 MiB, t = 2).
 */
import { describe, expect, it } from 'vitest';
import { argon2id } from '@noble/hashes/argon2.js';
import { isAllZero, utf8 } from '../../src/core/bytes.js';
import { hkdfSha256, xaeadOpen } from '../../src/core/primitives.js';
import {
  AUTO_LOCK_DEFAULT_MS,
  AutoLock,
  Keyring,
  KeyringError,
  MemoryKeyringStorage,
  PASSPHRASE_ID,
  RECOVERY_ID,
  VaultLockedError,
  failureDelayMs,
  passkeyId,
  wrapAd,
} from '../../workers/vault/keyring.js';
import type { KeyringOptions, KeyringSecurityEvent, UnlockResult, WrapRecord } from '../../workers/vault/keyring.js';
import { ARGON2_MIN, calibrateArgon2, argon2Probe } from '../../workers/vault/kdf.js';
import type { Argon2Params } from '../../workers/vault/kdf.js';
import { parseRecoveryCode } from '../../workers/vault/recovery-code.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const WEAK: Argon2Params = { m: 64, t: 1, p: 1 };
const PASS = 'correct horse battery staple';
const CRED_A = 'QUFBQUFBQUFBQUFBQUFBQUFBQUE';
const CRED_B = 'QkJCQkJCQkJCQkJCQkJCQkJCQkI';

function prf(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

interface World {
  storage: MemoryKeyringStorage;
  options: KeyringOptions;
  events: KeyringSecurityEvent[];
  advance(ms: number): void;
  now(): number;
}

function world(seed: string): World {
  const storage = new MemoryKeyringStorage();
  let time = 1_700_000_000_000;
  const events: KeyringSecurityEvent[] = [];
  return {
    storage,
    events,
    advance: (ms) => {
      time += ms;
    },
    now: () => time,
    options: { storage, random: deterministicRandom(seed), now: () => time, unsafeArgon2ForTests: WEAK, onSecurityEvent: (e) => events.push(e) },
  };
}

/** `passphrase: null` creates a vault with the recovery code only. */
async function created(seed: string, passphrase: string | null = PASS): Promise<World & { keyring: Keyring; recoveryCode: string }> {
  const w = world(seed);
  const { keyring, recoveryCode } = await Keyring.create({ ...w.options, ...(passphrase !== null ? { passphrase } : {}) });
  return { ...w, keyring, recoveryCode };
}

/** A fresh keyring over the same storage, as after a worker restart: locked. */
function reopen(w: World): Promise<Keyring> {
  return Keyring.open(w.options);
}

async function addPasskey(keyring: Keyring, credentialId: string, output: Uint8Array, label = 'Phone'): Promise<Uint8Array> {
  const salt = keyring.preparePasskey();
  await keyring.addPasskey(credentialId, output.slice(), label);
  return salt;
}

const wrong = (retryAfterMs: number): UnlockResult => ({ ok: false, reason: 'wrong', retryAfterMs });

describe('create and unlock (§1.1–§1.4)', () => {
  it('creates a vault unlocked, with a passphrase wrap and a recovery wrap, and shows the code once', async () => {
    const { keyring, recoveryCode, storage } = await created('create');
    expect(keyring.isUnlocked).toBe(true);
    expect(parseRecoveryCode(recoveryCode).ok).toBe(true);
    expect(keyring.listMethods().map((m) => [m.id, m.kind])).toEqual([
      [PASSPHRASE_ID, 'passphrase'],
      [RECOVERY_ID, 'recovery'],
    ]);
    expect([...storage.records.keys()].sort()).toEqual([PASSPHRASE_ID, RECOVERY_ID]);
    expect(keyring.recordKey().length).toBe(32);
    expect(keyring.indexKey().length).toBe(32);
    expect(keyring.recordKey()).not.toEqual(keyring.indexKey());
  });

  it('creates a vault with the recovery code only when no passphrase is given', async () => {
    const { keyring } = await created('recovery-only', null);
    expect(keyring.listMethods().map((m) => m.kind)).toEqual(['recovery']);
    expect(await keyring.unlockWithPassphrase(PASS)).toEqual({ ok: false, reason: 'no-such-method', retryAfterMs: 0 });
  });

  it('refuses to create over an existing vault, and an empty passphrase', async () => {
    const w = await created('twice');
    await expect(Keyring.create({ ...w.options, passphrase: 'other' })).rejects.toMatchObject({ name: 'KeyringError', code: 'already-exists' });
    const fresh = world('empty');
    await expect(Keyring.create({ ...fresh.options, passphrase: '' })).rejects.toBeInstanceOf(KeyringError);
    expect(fresh.storage.records.size).toBe(0);
  });

  it('unlocks with the passphrase after a restart, to the same keys', async () => {
    const w = await created('passphrase');
    const rk = w.keyring.recordKey().slice();
    const ik = w.keyring.indexKey().slice();
    const k = await reopen(w);
    expect(k.isUnlocked).toBe(false);
    expect(await k.unlockWithPassphrase(PASS)).toEqual({ ok: true });
    expect(k.recordKey()).toEqual(rk);
    expect(k.indexKey()).toEqual(ik);
  });

  it('normalises the passphrase with NFKC', async () => {
    const w = await created('nfkc', 'cafe\u0301 \uFB01le'); // "café" with a combining accent, the "fi" ligature
    const k = await reopen(w);
    expect(await k.unlockWithPassphrase('caf\u00e9 file')).toEqual({ ok: true });
  });

  it('unlocks with a passkey PRF output and zeroes it', async () => {
    const w = await created('prf');
    const rk = w.keyring.recordKey().slice();
    await addPasskey(w.keyring, CRED_A, prf(0xa1), 'Laptop');
    const k = await reopen(w);
    const output = prf(0xa1);
    expect(await k.unlockWithPrf(CRED_A, output)).toEqual({ ok: true });
    expect(isAllZero(output)).toBe(true);
    expect(k.recordKey()).toEqual(rk);
  });

  it('unlocks with the recovery code as typed (any case, spaces, aliases)', async () => {
    const w = await created('recovery');
    const rk = w.keyring.recordKey().slice();
    const k = await reopen(w);
    const typed = w.recoveryCode.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
    expect(await k.unlockWithRecoveryCode(typed)).toEqual({ ok: true });
    expect(k.recordKey()).toEqual(rk);
  });

  it('answers malformed without trying, with the group of a mistyped recovery code', async () => {
    const w = await created('malformed');
    const k = await reopen(w);
    const groups = w.recoveryCode.split('-');
    const g = groups[3] as string;
    groups[3] = g.slice(0, 2) + (g[2] === 'A' ? 'B' : 'A') + g.slice(3);
    expect(await k.unlockWithRecoveryCode(groups.join('-'))).toEqual({ ok: false, reason: 'malformed', retryAfterMs: 0, problem: 'check', group: 4 });
    expect(await k.unlockWithRecoveryCode('1234')).toMatchObject({ ok: false, reason: 'malformed', problem: 'length' });
    expect(await k.unlockWithPassphrase('')).toEqual({ ok: false, reason: 'malformed', retryAfterMs: 0 });
    const short = new Uint8Array(16).fill(9);
    expect(await k.unlockWithPrf(CRED_A, short)).toEqual({ ok: false, reason: 'malformed', retryAfterMs: 0 });
    expect(isAllZero(short)).toBe(true);
    expect(await k.unlockWithPrf('not base64!', prf(1))).toEqual({ ok: false, reason: 'malformed', retryAfterMs: 0 });
    expect(w.storage.failures.count).toBe(0);
    expect(k.isUnlocked).toBe(false);
  });

  it('answers no-such-method for an unknown passkey, and wrong for a wrong PRF output or recovery code', async () => {
    const w = await created('unknown');
    await addPasskey(w.keyring, CRED_A, prf(0xa1));
    const k = await reopen(w);
    const output = prf(0xa1);
    expect(await k.unlockWithPrf(CRED_B, output)).toEqual({ ok: false, reason: 'no-such-method', retryAfterMs: 0 });
    expect(isAllZero(output)).toBe(true);
    expect(await k.unlockWithPrf(CRED_A, prf(0xa2))).toEqual(wrong(0));
    const other = (await created('another vault')).recoveryCode;
    expect(await k.unlockWithRecoveryCode(other)).toEqual(wrong(0));
    expect(k.isUnlocked).toBe(false);
  });

  it('follows §1.1–§1.4 exactly: an independent derivation opens the stored wraps', async () => {
    const w = await created('spec', 'pass phrase');
    const rk = w.keyring.recordKey();
    const recovery = w.storage.records.get(RECOVERY_ID) as WrapRecord;
    const bits = parseRecoveryCode(w.recoveryCode);
    if (!bits.ok) throw new Error('unreachable');
    const recoveryKek = hkdfSha256(bits.bytes, recovery.salt, utf8('VITALOCK-VAULT-RECOVERY-1'), 32);
    const ad = new Uint8Array([...utf8('VITALOCK-VAULT-WRAP-1'), ...utf8('recovery'), ...utf8('recovery')]);
    expect(wrapAd('recovery', RECOVERY_ID)).toEqual(ad);
    const vk = xaeadOpen(recoveryKek, recovery.nonce, recovery.wrapped, ad);
    expect(hkdfSha256(vk, undefined, utf8('VITALOCK-VAULT-RECORDS-1'), 32)).toEqual(rk);
    expect(hkdfSha256(vk, undefined, utf8('VITALOCK-VAULT-INDEX-1'), 32)).toEqual(w.keyring.indexKey());

    const pass = w.storage.records.get(PASSPHRASE_ID) as WrapRecord;
    expect(pass.kdf).toEqual({ alg: 'argon2id', m: WEAK.m, t: WEAK.t, p: 1 });
    expect(pass.salt.length).toBe(16);
    const passKek = argon2id(utf8('pass phrase'), pass.salt, { m: WEAK.m, t: WEAK.t, p: 1, dkLen: 32 });
    expect(xaeadOpen(passKek, pass.nonce, pass.wrapped, wrapAd('passphrase', PASSPHRASE_ID))).toEqual(vk);

    const salt = await addPasskey(w.keyring, CRED_A, prf(0x77));
    const pk = w.storage.records.get(passkeyId(CRED_A)) as WrapRecord;
    expect(pk.salt).toEqual(salt);
    expect(pk.credentialId).toBe(CRED_A);
    const prfKek = hkdfSha256(prf(0x77), salt, utf8('VITALOCK-VAULT-PRF-1'), 32);
    expect(xaeadOpen(prfKek, pk.nonce, pk.wrapped, wrapAd('passkey', passkeyId(CRED_A)))).toEqual(vk);
  });
});

describe('AD binding (§1.1)', () => {
  it('a wrap record moved to another id or kind does not open', async () => {
    const w = await created('ad');
    await addPasskey(w.keyring, CRED_A, prf(0xaa));
    await addPasskey(w.keyring, CRED_B, prf(0xbb));
    const a = w.storage.records.get(passkeyId(CRED_A)) as WrapRecord;
    // Passkey A's wrap presented as B's: B's credential with A's PRF output and A's salt.
    await w.storage.saveWrapRecord({ ...a, id: passkeyId(CRED_B), credentialId: CRED_B });
    const k = await reopen(w);
    expect(await k.unlockWithPrf(CRED_B, prf(0xaa))).toEqual(wrong(0));
    expect(await k.unlockWithPrf(CRED_A, prf(0xaa))).toEqual({ ok: true });

  });

  it('ignores records that are malformed or ask for absurd Argon2 parameters', async () => {
    const w = await created('corrupt');
    const pass = w.storage.records.get(PASSPHRASE_ID) as WrapRecord;
    await w.storage.saveWrapRecord({ ...pass, kdf: { alg: 'argon2id', m: 4 * 1024 * 1024, t: 1, p: 1 } });
    const k = await reopen(w);
    expect(k.ignoredRecords).toBe(1);
    expect(await k.unlockWithPassphrase(PASS)).toEqual({ ok: false, reason: 'no-such-method', retryAfterMs: 0 });
    // Without the test option, the test's weak parameters are below the minimum: not accepted.
    const { unsafeArgon2ForTests: _weak, ...strict } = (await created('strict')).options;
    expect((await Keyring.open(strict)).ignoredRecords).toBe(1);
  });
});

describe('failed passphrase attempts (§1.5)', () => {
  it('answers wrong with a growing wait after the third failure, enforces it, and persists the count', async () => {
    const w = await created('delay');
    const k = await reopen(w);
    expect(await k.unlockWithPassphrase('nope 1')).toEqual(wrong(0));
    expect(await k.unlockWithPassphrase('nope 2')).toEqual(wrong(0));
    expect(await k.unlockWithPassphrase('nope 3')).toEqual(wrong(1000));
    expect(w.events).toEqual([]);

    // Too early: not tried, not counted, even with the right passphrase.
    w.advance(400);
    expect(await k.unlockWithPassphrase(PASS)).toEqual({ ok: false, reason: 'wait', retryAfterMs: 600 });
    expect(k.isUnlocked).toBe(false);
    expect(w.storage.failures.count).toBe(3);

    w.advance(600);
    expect(await k.unlockWithPassphrase('nope 4')).toEqual(wrong(2000));
    expect(w.events).toEqual([{ type: 'passphrase-failure', count: 4, at: w.now() }]);

    // A restarted worker keeps the count and the wait.
    const restarted = await reopen(w);
    w.advance(1999);
    expect(await restarted.unlockWithPassphrase(PASS)).toEqual({ ok: false, reason: 'wait', retryAfterMs: 1 });
    w.advance(1);
    expect(await restarted.unlockWithPassphrase('nope 5')).toEqual(wrong(4000));
    expect(w.events.map((e) => e.count)).toEqual([4, 5]);
  });

  it('caps the wait at 5 minutes, and a success resets the count', async () => {
    expect([0, 1, 2, 3, 4, 5, 10, 11, 12, 1000].map(failureDelayMs)).toEqual([0, 0, 0, 1000, 2000, 4000, 128_000, 256_000, 300_000, 300_000]);
    const w = await created('cap');
    w.storage.failures = { count: 40, lastAt: w.now() };
    const k = await reopen(w);
    expect(await k.unlockWithPassphrase(PASS)).toEqual({ ok: false, reason: 'wait', retryAfterMs: 300_000 });
    w.advance(300_000);
    expect(await k.unlockWithPassphrase('nope')).toEqual(wrong(300_000));
    w.advance(300_000);
    expect(await k.unlockWithPassphrase(PASS)).toEqual({ ok: true });
    expect(w.storage.failures).toEqual({ count: 0, lastAt: 0 });
    k.lock();
    expect(await k.unlockWithPassphrase('nope')).toEqual(wrong(0));
  });

  it('does not make a clock set back wait longer than the policy says', async () => {
    const w = await created('clock');
    w.storage.failures = { count: 3, lastAt: w.now() + 3_600_000 };
    const k = await reopen(w);
    expect(await k.unlockWithPassphrase(PASS)).toEqual({ ok: false, reason: 'wait', retryAfterMs: 1000 });
  });

  it('a success by another method resets the count', async () => {
    const w = await created('reset-other');
    const k = await reopen(w);
    for (let i = 0; i < 3; i++) await k.unlockWithPassphrase('nope');
    expect(w.storage.failures.count).toBe(3);
    expect(await k.unlockWithRecoveryCode(w.recoveryCode)).toEqual({ ok: true });
    expect(w.storage.failures.count).toBe(0);
  });

  it('counts the attempt before deriving, and serialises concurrent attempts', async () => {
    const w = await created('serial');
    const k = await reopen(w);
    const seen: number[] = [];
    const load = w.storage.loadFailures.bind(w.storage);
    w.storage.loadFailures = async () => {
      const f = await load();
      seen.push(f.count);
      return f;
    };
    const results = await Promise.all([k.unlockWithPassphrase('a'), k.unlockWithPassphrase('b'), k.unlockWithPassphrase('c'), k.unlockWithPassphrase('d')]);
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['wrong', 'wrong', 'wrong', 'wait']);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(w.storage.failures.count).toBe(3);
  });
});

describe('managing methods without re-encrypting (§1.1)', () => {
  it('changes the passphrase: same VK, old one refused, new one works', async () => {
    const w = await created('change');
    const rk = w.keyring.recordKey().slice();
    const before = w.storage.records.get(PASSPHRASE_ID) as WrapRecord;
    expect(await w.keyring.changePassphrase(PASS, 'new passphrase')).toEqual({ ok: true });
    const after = w.storage.records.get(PASSPHRASE_ID) as WrapRecord;
    expect(after.salt).not.toEqual(before.salt);
    expect(w.storage.records.get(RECOVERY_ID)).toBeDefined();

    const k = await reopen(w);
    expect(await k.unlockWithPassphrase(PASS)).toEqual(wrong(0));
    expect(await k.unlockWithPassphrase('new passphrase')).toEqual({ ok: true });
    expect(k.recordKey()).toEqual(rk);
    k.lock();
    expect(await k.unlockWithRecoveryCode(w.recoveryCode)).toEqual({ ok: true });
    expect(k.recordKey()).toEqual(rk);
  });

  it('needs the current passphrase (counted like an unlock) and an unlocked vault', async () => {
    const w = await created('change-wrong');
    expect(await w.keyring.changePassphrase('guess', 'new')).toEqual(wrong(0));
    expect(w.storage.failures.count).toBe(1);
    await expect(w.keyring.changePassphrase(PASS, '')).rejects.toMatchObject({ code: 'malformed' });
    const k = await reopen(w);
    await expect(k.changePassphrase(PASS, 'new')).rejects.toBeInstanceOf(VaultLockedError);
    expect(await k.unlockWithPassphrase(PASS)).toEqual({ ok: true });
  });

  it('refuses a change when the passphrase wrap holds another vault key (a planted record)', async () => {
    const a = await created('planted-a');
    const b = await created('planted-b');
    await a.storage.saveWrapRecord(b.storage.records.get(PASSPHRASE_ID) as WrapRecord);
    const k = await reopen(a);
    expect(await k.unlockWithRecoveryCode(a.recoveryCode)).toEqual({ ok: true });
    expect(await k.changePassphrase(PASS, 'new')).toEqual(wrong(0));
    expect(a.storage.records.get(PASSPHRASE_ID)).toEqual(b.storage.records.get(PASSPHRASE_ID));
  });

  it('sets a passphrase on a vault that has none', async () => {
    const w = await created('set', null);
    await w.keyring.setPassphrase('first passphrase');
    await expect(w.keyring.setPassphrase('again')).rejects.toMatchObject({ code: 'duplicate' });
    const k = await reopen(w);
    expect(await k.unlockWithPassphrase('first passphrase')).toEqual({ ok: true });
  });

  it('adds and removes passkeys, listing nothing secret', async () => {
    const w = await created('passkeys');
    const rk = w.keyring.recordKey().slice();
    const output = prf(0x11);
    const salt = w.keyring.preparePasskey();
    expect(salt.length).toBe(32);
    const id = await w.keyring.addPasskey(CRED_A, output, '  Phone ');
    expect(isAllZero(output)).toBe(true);
    expect(id).toBe(passkeyId(CRED_A));
    await addPasskey(w.keyring, CRED_B, prf(0x22), 'Key');
    const listed = w.keyring.listMethods();
    expect(listed.map((m) => [m.kind, m.label, m.credentialId])).toEqual([
      ['passphrase', undefined, undefined],
      ['passkey', 'Phone', CRED_A],
      ['passkey', 'Key', CRED_B],
      ['recovery', undefined, undefined],
    ]);
    expect(listed[1]?.prfSalt).toEqual(salt);
    expect(listed[1]?.createdAt).toBe(w.now());
    for (const m of listed) expect(Object.keys(m).sort()).not.toContain('wrapped');

    await w.keyring.removeMethod(passkeyId(CRED_A));
    expect(w.storage.records.has(passkeyId(CRED_A))).toBe(false);
    const k = await reopen(w);
    expect(await k.unlockWithPrf(CRED_A, prf(0x11))).toEqual({ ok: false, reason: 'no-such-method', retryAfterMs: 0 });
    expect(await k.unlockWithPrf(CRED_B, prf(0x22))).toEqual({ ok: true });
    expect(k.recordKey()).toEqual(rk);
  });

  it('refuses a passkey without a prepared salt, twice the same credential, or bad input', async () => {
    const w = await created('passkey-refusals');
    await expect(w.keyring.addPasskey(CRED_A, prf(1), 'x')).rejects.toMatchObject({ code: 'no-pending-passkey' });
    await addPasskey(w.keyring, CRED_A, prf(1));
    w.keyring.preparePasskey();
    await expect(w.keyring.addPasskey(CRED_A, prf(2), 'x')).rejects.toMatchObject({ code: 'duplicate' });
    await expect(w.keyring.addPasskey(CRED_B, new Uint8Array(31), 'x')).rejects.toMatchObject({ code: 'malformed' });
    await expect(w.keyring.addPasskey(CRED_B, prf(2), ' ')).rejects.toMatchObject({ code: 'malformed' });
    await expect(w.keyring.addPasskey('bad id!', prf(2), 'x')).rejects.toMatchObject({ code: 'malformed' });
  });

  it('cannot remove the last passphrase or passkey, nor the recovery code', async () => {
    const w = await created('last');
    await expect(w.keyring.removeMethod(PASSPHRASE_ID)).rejects.toMatchObject({ name: 'KeyringError', code: 'last-method' });
    await expect(w.keyring.removeMethod(RECOVERY_ID)).rejects.toMatchObject({ code: 'recovery-not-removable' });
    await expect(w.keyring.removeMethod('passkey:nothing')).rejects.toMatchObject({ code: 'no-such-method' });
    await addPasskey(w.keyring, CRED_A, prf(3));
    await w.keyring.removeMethod(PASSPHRASE_ID);
    await expect(w.keyring.removeMethod(passkeyId(CRED_A))).rejects.toMatchObject({ code: 'last-method' });
    expect(w.keyring.listMethods().map((m) => m.kind)).toEqual(['passkey', 'recovery']);
  });

  it('regenerating the recovery code invalidates the old one', async () => {
    const w = await created('regen');
    const rk = w.keyring.recordKey().slice();
    const fresh = await w.keyring.regenerateRecoveryCode();
    expect(fresh).not.toBe(w.recoveryCode);
    expect(w.storage.records.size).toBe(2);
    const k = await reopen(w);
    expect(await k.unlockWithRecoveryCode(w.recoveryCode)).toEqual(wrong(0));
    expect(await k.unlockWithRecoveryCode(fresh)).toEqual({ ok: true });
    expect(k.recordKey()).toEqual(rk);
  });

  it('every managing operation requires an unlocked vault', async () => {
    const w = await created('locked-manage');
    w.keyring.lock();
    await expect(w.keyring.regenerateRecoveryCode()).rejects.toBeInstanceOf(VaultLockedError);
    await expect(w.keyring.removeMethod(PASSPHRASE_ID)).rejects.toBeInstanceOf(VaultLockedError);
    await expect(w.keyring.setPassphrase('x')).rejects.toBeInstanceOf(VaultLockedError);
    expect(() => w.keyring.preparePasskey()).toThrow(VaultLockedError);
    await expect(w.keyring.addPasskey(CRED_A, prf(1), 'x')).rejects.toBeInstanceOf(VaultLockedError);
    expect(w.storage.records.size).toBe(2);
  });

  it('a lock during a passphrase change aborts it without writing', async () => {
    const w = await created('lock-during-change');
    const before = w.storage.records.get(PASSPHRASE_ID);
    // The first storage write of the attempt (the failure count) waits until the lock.
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (started = resolve));
    const save = w.storage.saveFailures.bind(w.storage);
    let calls = 0;
    w.storage.saveFailures = async (f) => {
      if (calls++ === 0) {
        started();
        await blocked;
      }
      await save(f);
    };
    const change = w.keyring.changePassphrase(PASS, 'new');
    await reached;
    w.keyring.lock();
    release();
    await expect(change).rejects.toBeInstanceOf(VaultLockedError);
    expect(w.storage.records.get(PASSPHRASE_ID)).toEqual(before);
  });
});

describe('lock (§1.5)', () => {
  it('wipes the keys: recordKey and indexKey throw, the old buffers are zero', async () => {
    const { keyring } = await created('lock');
    const rk = keyring.recordKey();
    const ik = keyring.indexKey();
    expect(isAllZero(rk)).toBe(false);
    let told = 0;
    keyring.onLock(() => told++);
    keyring.lock();
    expect(keyring.isUnlocked).toBe(false);
    expect(isAllZero(rk)).toBe(true);
    expect(isAllZero(ik)).toBe(true);
    expect(() => keyring.recordKey()).toThrow(VaultLockedError);
    expect(() => keyring.indexKey()).toThrow(VaultLockedError);
    expect(told).toBe(1);
    keyring.lock();
    expect(told).toBe(1);
  });

  it('error messages carry no secrets', async () => {
    const secret = 'my very secret passphrase';
    const w = await created('messages', secret);
    const messages: string[] = [];
    for (const run of [() => w.keyring.changePassphrase(secret, ''), () => w.keyring.addPasskey(CRED_A, prf(1), 'x'), () => w.keyring.removeMethod(RECOVERY_ID)]) {
      await run().catch((e: Error) => messages.push(e.message));
    }
    w.keyring.lock();
    await w.keyring.changePassphrase(secret, 'x').catch((e: Error) => messages.push(e.message));
    expect(messages.length).toBe(4);
    for (const m of messages) {
      expect(m).not.toContain(secret);
      expect(m).not.toContain(w.recoveryCode.slice(0, 5));
    }
  });
});

describe('AutoLock (§1.5)', () => {
  function scheduler() {
    const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
    let time = 0;
    return {
      now: () => time,
      schedule: (ms: number, fn: () => void) => {
        const t = { at: time + ms, fn, cancelled: false };
        timers.push(t);
        return () => {
          t.cancelled = true;
        };
      },
      pending: () => timers.filter((t) => !t.cancelled).length,
      advance(ms: number) {
        const end = time + ms;
        for (;;) {
          const due = timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
          if (due === undefined) break;
          due.cancelled = true;
          time = due.at;
          due.fn();
        }
        time = end;
      },
    };
  }

  it('locks after the timeout without use, and each use pushes it back', async () => {
    const { keyring } = await created('autolock');
    const s = scheduler();
    const auto = new AutoLock(keyring, { now: s.now, schedule: s.schedule });
    expect(auto.timeoutMs).toBe(AUTO_LOCK_DEFAULT_MS);
    auto.touch();
    s.advance(4 * 60_000);
    auto.touch();
    auto.touch();
    expect(s.pending()).toBe(1);
    s.advance(4 * 60_000);
    expect(keyring.isUnlocked).toBe(true);
    s.advance(60_000 - 1);
    expect(keyring.isUnlocked).toBe(true);
    s.advance(1);
    expect(keyring.isUnlocked).toBe(false);
    expect(s.pending()).toBe(0);
    auto.touch();
    expect(s.pending()).toBe(0);
  });

  it('takes a timeout of 1 to 60 minutes, counted from the last use', async () => {
    const { keyring } = await created('autolock-set');
    const s = scheduler();
    expect(() => new AutoLock(keyring, { now: s.now, schedule: s.schedule, timeoutMs: 59_999 })).toThrow(RangeError);
    const auto = new AutoLock(keyring, { now: s.now, schedule: s.schedule, timeoutMs: 60 * 60_000 });
    expect(() => auto.setTimeout(60 * 60_000 + 1)).toThrow(RangeError);
    auto.touch();
    s.advance(90_000);
    auto.setTimeout(60_000);
    expect(keyring.isUnlocked).toBe(true);
    s.advance(0);
    expect(keyring.isUnlocked).toBe(false);

    const again = await created('autolock-set-2');
    const s2 = scheduler();
    const auto2 = new AutoLock(again.keyring, { now: s2.now, schedule: s2.schedule, timeoutMs: 60_000 });
    auto2.touch();
    auto2.setTimeout(10 * 60_000);
    s2.advance(9 * 60_000);
    expect(again.keyring.isUnlocked).toBe(true);
    auto2.stop();
    s2.advance(60 * 60_000);
    expect(again.keyring.isUnlocked).toBe(true);
  });
});

describe('Argon2 calibration (§1.2)', () => {
  /** A device where one derivation costs `k` ms per MiB·pass. */
  const model = (kPerMibPass: number) => (p: Argon2Params) => Promise.resolve((p.m / 1024) * p.t * kPerMibPass);

  it('never goes below 19 MiB / t = 2, even when the minimum is slower than the target', async () => {
    for (const target of [1, 50, 500]) {
      const { params, ms } = await calibrateArgon2(target, () => 0, { probe: model(20) });
      expect(params.m).toBeGreaterThanOrEqual(19456);
      expect(params.t).toBeGreaterThanOrEqual(2);
      expect(params.p).toBe(1);
      expect(params).toEqual(ARGON2_MIN);
      expect(ms).toBeGreaterThan(0);
    }
  });

  it('raises t first, then m, to about the target, and more cost for a higher target', async () => {
    const fast = model(2); // the minimum takes 76 ms
    const at500 = await calibrateArgon2(500, () => 0, { probe: fast });
    expect(at500).toEqual({ params: { m: 62 * 1024, t: 4, p: 1 }, ms: 496 });
    const at250 = await calibrateArgon2(250, () => 0, { probe: fast });
    expect(at250).toEqual({ params: { m: 31 * 1024, t: 4, p: 1 }, ms: 248 });
    expect(at250.params.m * at250.params.t).toBeLessThan(at500.params.m * at500.params.t);
    const slowDevice = await calibrateArgon2(500, () => 0, { probe: model(8) }); // minimum: 304 ms
    expect(slowDevice).toEqual({ params: { m: 19456, t: 3, p: 1 }, ms: 456 });
    const capped = await calibrateArgon2(100_000, () => 0, { probe: fast });
    expect(capped.params).toEqual({ m: 64 * 1024, t: 4, p: 1 });
  });

  it('keeps the closest result below the target when the device is noisy', async () => {
    let n = 0;
    const noisy = (p: Argon2Params) => Promise.resolve((p.m / 1024) * p.t * 2 * (n++ === 1 ? 3 : 1));
    const { params, ms } = await calibrateArgon2(500, () => 0, { probe: noisy });
    expect(ms).toBeLessThanOrEqual(550);
    expect(params.m).toBeGreaterThanOrEqual(19456);
    expect(params.t).toBeGreaterThanOrEqual(2);
  });

  it('REAL: calibrates, wraps and unlocks at the real minimum (19 MiB, t = 2), never below it', async () => {
    const clock = () => performance.now();
    const calibration = await calibrateArgon2(1, clock, { probe: argon2Probe(clock) });
    expect(calibration.params).toEqual(ARGON2_MIN);
    expect(calibration.ms).toBeGreaterThan(0);
    const w = world('real');
    const options: KeyringOptions = { storage: w.storage, random: w.options.random, now: w.now };
    // A calibration answering less than the minimum is raised to it.
    const { keyring } = await Keyring.create({ ...options, passphrase: PASS, calibrate: () => Promise.resolve({ params: { m: 1024, t: 1, p: 1 }, ms: 1 }) });
    expect((w.storage.records.get(PASSPHRASE_ID) as WrapRecord).kdf).toEqual({ alg: 'argon2id', ...ARGON2_MIN });
    const rk = keyring.recordKey().slice();
    const k = await Keyring.open(options);
    expect(await k.unlockWithPassphrase(PASS)).toEqual({ ok: true });
    expect(k.recordKey()).toEqual(rk);
  }, 30_000);
});
