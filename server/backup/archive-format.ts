/**
 * The encrypted backup archive (issue 5 §5, §6), a stream of sealed frames:
 *
 *   header  = "VLBACKUP" ‖ version u8 (1) ‖ mode u8 (1 master key, 2 passphrase) ‖ salt (16)
 *             ‖ Argon2id m u32 ‖ t u32 ‖ p u8   (zeros in master-key mode)
 *   frame   = length u32 ‖ nonce (24) ‖ XChaCha20-Poly1305(key, nonce, body, AD)
 *   AD      = header ‖ frame index u64 ‖ final u8
 *   body    = kind u8 (1 rows, 2 manifest) ‖ UTF-8 JSON
 *
 * The key is HKDF(master-derived backup key, salt) or Argon2id(passphrase, salt). Binding the
 * header, the index and the final flag into every frame means a changed header, a reordered,
 * dropped or altered frame, or a cut-off archive (no final manifest frame) all fail to open.
 */
import { randomBytes } from 'node:crypto';
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { concatBytes, utf8 } from '../../src/core/bytes.js';
import { hkdfSha256, xaeadOpen, xaeadSeal, XNONCE_LEN } from '../../src/core/primitives.js';

export class BackupError extends Error {
  override readonly name = 'BackupError';
}

const MAGIC = utf8('VLBACKUP');
export const HEADER_LEN = MAGIC.length + 2 + 16 + 9;
export const MAX_FRAME = 16 * 1024 * 1024;
export const FrameKind = { Rows: 1, Manifest: 2 } as const;

export type KeySource = { readonly mode: 'master'; readonly backupKey: Uint8Array } | { readonly mode: 'passphrase'; readonly passphrase: string };

/** OWASP's Argon2id minimum (19 MiB, t = 2, p = 1). */
export const ARGON2 = { m: 19_456, t: 2, p: 1 } as const;

export interface ArchiveHeader {
  readonly bytes: Uint8Array;
  readonly mode: 'master' | 'passphrase';
  readonly salt: Uint8Array;
  readonly argon2: { m: number; t: number; p: number };
}

export function newHeader(mode: 'master' | 'passphrase'): ArchiveHeader {
  const salt = new Uint8Array(randomBytes(16));
  const params = mode === 'passphrase' ? ARGON2 : { m: 0, t: 0, p: 0 };
  const bytes = new Uint8Array(HEADER_LEN);
  bytes.set(MAGIC, 0);
  const view = new DataView(bytes.buffer);
  view.setUint8(8, 1);
  view.setUint8(9, mode === 'master' ? 1 : 2);
  bytes.set(salt, 10);
  view.setUint32(26, params.m);
  view.setUint32(30, params.t);
  view.setUint8(34, params.p);
  return { bytes, mode, salt, argon2: { ...params } };
}

export function parseHeader(bytes: Uint8Array): ArchiveHeader {
  if (bytes.length !== HEADER_LEN || !MAGIC.every((b, i) => bytes[i] === b)) throw new BackupError('not a Vitalock backup archive');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(8) !== 1) throw new BackupError('unsupported backup archive version');
  const modeByte = view.getUint8(9);
  if (modeByte !== 1 && modeByte !== 2) throw new BackupError('unknown backup key mode');
  const argon2 = { m: view.getUint32(26), t: view.getUint32(30), p: view.getUint8(34) };
  if (modeByte === 2 && (argon2.m < 8 || argon2.m > 1 << 22 || argon2.t < 1 || argon2.t > 20 || argon2.p < 1 || argon2.p > 8)) throw new BackupError('backup archive has implausible key parameters');
  return { bytes: bytes.slice(), mode: modeByte === 1 ? 'master' : 'passphrase', salt: bytes.slice(10, 26), argon2 };
}

export async function archiveKey(header: ArchiveHeader, source: KeySource): Promise<Uint8Array> {
  if (source.mode !== header.mode) throw new BackupError(header.mode === 'passphrase' ? 'this archive needs its passphrase (VITALOCK_BACKUP_PASSPHRASE)' : 'this archive was made with the master key, not a passphrase');
  if (source.mode === 'master') return hkdfSha256(source.backupKey, header.salt, utf8('vitalock/backup/v1'), 32);
  return argon2idAsync(utf8(source.passphrase), header.salt, { ...header.argon2, dkLen: 32 });
}

function frameAd(header: ArchiveHeader, index: number, final: boolean): Uint8Array {
  const tail = new Uint8Array(9);
  new DataView(tail.buffer).setBigUint64(0, BigInt(index));
  tail[8] = final ? 1 : 0;
  return concatBytes(header.bytes, tail);
}

export function sealFrame(key: Uint8Array, header: ArchiveHeader, index: number, kind: number, json: string): Uint8Array {
  const body = concatBytes(new Uint8Array([kind]), utf8(json));
  const nonce = randomBytes(XNONCE_LEN);
  const sealed = concatBytes(nonce, xaeadSeal(key, nonce, body, frameAd(header, index, kind === FrameKind.Manifest)));
  if (sealed.length > MAX_FRAME) throw new BackupError('backup frame too large');
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, sealed.length);
  return concatBytes(len, sealed);
}

/** Opens frame `index`; tries the non-final AD, then the final one (only the manifest is final). */
export function openFrame(key: Uint8Array, header: ArchiveHeader, index: number, sealed: Uint8Array): { kind: number; json: string; final: boolean } {
  for (const final of [false, true]) {
    try {
      const body = xaeadOpen(key, sealed.subarray(0, XNONCE_LEN), sealed.subarray(XNONCE_LEN), frameAd(header, index, final));
      const kind = body[0] ?? 0;
      if ((kind === FrameKind.Manifest) !== final) throw new BackupError(`backup frame ${index} is malformed`);
      return { kind, json: new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(1)), final };
    } catch (e) {
      if (e instanceof BackupError) throw e;
    }
  }
  throw new BackupError(`backup frame ${index} failed authentication: wrong key, or the archive was altered or reordered`);
}
