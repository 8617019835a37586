/**
 * The data folder of `npm run ca` and `npm run sensor` (default `.vitalock/` in the working
 * directory, `--dir` or `$VITALOCK_DIR` to move it): where each file lives, reading and
 * validating it, writing it atomically (secrets with mode 0600), and the manufacturer's
 * operations on it — create the CA, issue a device, revoke one (docs/protocol.md §3, §6).
 *
 * ```
 * <dir>/ca.json                    the manufacturer CA: its secret key, the devices it issued, the ids it revoked (0600)
 * <dir>/trust-store.json           the roots a hub trusts: name and Ed25519 public key (hex)
 * <dir>/revocations.bin            the CA's signed revocation list (§6.2)
 * <dir>/devices/<DEVICEID>.json    a device as manufactured: keys, certificate, passcode (0600)
 * <dir>/devices/<DEVICEID>.state.json   the device's flash: the hubs it is bonded with (0600)
 * <dir>/hub.json                   the demo hub: its static key and the sensors it is bonded with (0600)
 * ```
 *
 * Also the one error type both CLIs throw (`CliError`, with the exit code) and their small
 * argument parser, so the two commands report problems the same way.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fromHex, toHex, utf8 } from '../src/core/bytes.js';
import { decodeCertificate, deviceIdHex, keyId, type DeviceCertificate } from '../src/core/certificate.js';
import type { SensorBond } from '../src/core/hub-channel.js';
import { x25519KeyPair, x25519PublicKey, type KeyPair, type Random } from '../src/core/primitives.js';
import { isTrivialPasscode } from '../src/core/setup-code.js';
import { decodeRevocationList, issueRevocationList, TrustStore, type TrustedRoot } from '../src/core/trust-store.js';
import type { StoreCounters } from './record-store.js';
import type { HubBond } from './bond-list.js';
import {
  caFromJson,
  createManufacturerCa,
  identityFromJson,
  identityToJson,
  manufactureDevice,
  type DeviceIdentity,
  type ManufacturerCa,
} from './identity.js';

// ── Errors and arguments ────────────────────────────────────────────────────────────────────────

/** Exit code 2: the command line is wrong. */
export const EXIT_USAGE = 2;
/** Exit code 1: the command was understood but could not be done. */
export const EXIT_FAILURE = 1;

/** A problem to tell the user in plain words (never a stack trace), with the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

export type OptionSpec = Readonly<Record<string, 'string' | 'boolean'>>;

/** Parsed command line: options by name (without the dashes) and the positional arguments. */
export class Args {
  constructor(
    private readonly values: ReadonlyMap<string, string | true>,
    readonly positionals: readonly string[],
  ) {}

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  flag(name: string): boolean {
    return this.values.get(name) === true;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
}

/**
 * `--name value`, `--name=value`, boolean `--flag`, `-h` for `--help`, and `--` to end options.
 * Unknown options, missing values and values given to a flag are usage errors that name the
 * option and point to `help`.
 */
export function parseArgs(argv: readonly string[], spec: OptionSpec, helpHint: string): Args {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      values.set('help', true);
      continue;
    }
    if (!arg.startsWith('--') || arg.length === 2) {
      if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) throw usageError(`Unknown option ${arg}. ${helpHint}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const type = name === 'help' ? 'boolean' : spec[name];
    if (type === undefined) throw usageError(`Unknown option --${name}. ${helpHint}`);
    if (type === 'boolean') {
      if (eq !== -1) throw usageError(`--${name} takes no value (found "${arg}"). ${helpHint}`);
      values.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      }
    }
    if (value === undefined || value === '') throw usageError(`--${name} needs a value. ${helpHint}`);
    if (values.has(name)) throw usageError(`--${name} is given twice. ${helpHint}`);
    values.set(name, value);
  }
  return new Args(values, positionals);
}

/** 16 hex digits (any case, spaces or dashes allowed) → the canonical upper-case form (§1.4). */
export function parseDeviceId(text: string, helpHint: string): string {
  const clean = text.replace(/[\s\-:]/g, '');
  if (!/^[0-9a-fA-F]{16}$/.test(clean)) {
    throw usageError(
      `"${text}" is not a device id: a device id is 16 hexadecimal digits, such as 0123456789ABCDEF. ${helpHint}`,
    );
  }
  return clean.toUpperCase();
}

// ── Paths ───────────────────────────────────────────────────────────────────────────────────────

export const DEFAULT_DIR = '.vitalock';

/** `--dir`, else `$VITALOCK_DIR`, else `.vitalock` in the working directory; absolute. */
export function resolveDataDir(option: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const chosen = option ?? (env['VITALOCK_DIR'] !== undefined && env['VITALOCK_DIR'] !== '' ? env['VITALOCK_DIR'] : DEFAULT_DIR);
  return resolve(cwd, chosen);
}

export interface DataPaths {
  readonly dir: string;
  readonly ca: string;
  readonly trustStore: string;
  readonly revocations: string;
  readonly devices: string;
  readonly hub: string;
  device(id: string): string;
  deviceState(id: string): string;
}

export function dataPaths(dir: string): DataPaths {
  const devices = join(dir, 'devices');
  return {
    dir,
    ca: join(dir, 'ca.json'),
    trustStore: join(dir, 'trust-store.json'),
    revocations: join(dir, 'revocations.bin'),
    devices,
    hub: join(dir, 'hub.json'),
    device: (id) => join(devices, `${id}.json`),
    deviceState: (id) => join(devices, `${id}.state.json`),
  };
}

// ── Reading and writing ─────────────────────────────────────────────────────────────────────────

function systemMessage(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ENOSPC') return 'the disk is full';
  if (code === 'EROFS') return 'the file system is read-only';
  return error instanceof Error ? error.message : String(error);
}

/** The parsed JSON of a file, or undefined when the file does not exist. */
export function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`Cannot read ${path}: ${systemMessage(error)}.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`${path} is not valid JSON (was it edited by hand?). Fix it, or move it away to start afresh.`);
  }
}

/**
 * Writes through a temporary file and a rename, so a crash never leaves half a file; `secret`
 * files get mode 0600 (the folder is created 0700).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, secret: boolean): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, data, { mode: secret ? 0o600 : 0o644 });
    chmodSync(temporary, secret ? 0o600 : 0o644);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new CliError(`Cannot write ${path}: ${systemMessage(error)}.`);
  }
}

export function writeJson(path: string, value: unknown, secret: boolean): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, secret);
}

/** Field access on parsed JSON that names the file and the field when something is wrong. */
class Fields {
  constructor(
    private readonly path: string,
    private readonly value: unknown,
    private readonly where = '',
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail('', 'is not an object');
  }

  fail(field: string, problem: string): never {
    const name = `${this.where}${field}`;
    throw new CliError(
      `${this.path} is damaged or not a Vitalock file: ${name === '' ? 'the content' : `"${name}"`} ${problem}. ` +
        'Fix it, or move it away to start afresh.',
    );
  }

  private get(field: string): unknown {
    return (this.value as Record<string, unknown>)[field];
  }

  has(field: string): boolean {
    return this.get(field) !== undefined;
  }

  string(field: string): string {
    const v = this.get(field);
    if (typeof v !== 'string' || v === '') this.fail(field, 'should be a non-empty text');
    return v;
  }

  hex(field: string, bytes?: number): string {
    const v = this.string(field);
    if (!/^[0-9a-fA-F]*$/.test(v) || v.length % 2 !== 0) this.fail(field, 'should be hexadecimal');
    if (bytes !== undefined && v.length !== 2 * bytes) this.fail(field, `should be ${bytes} bytes (${2 * bytes} hex digits)`);
    return v;
  }

  integer(field: string): number {
    const v = this.get(field);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(field, 'should be a whole number');
    return v;
  }

  array(field: string): unknown[] {
    const v = this.get(field);
    if (!Array.isArray(v)) this.fail(field, 'should be a list');
    return v;
  }

  objects(field: string): Fields[] {
    return this.array(field).map((item, i) => new Fields(this.path, item, `${this.where}${field}[${i}].`));
  }

  version(expected: number): void {
    if (this.get('version') !== expected) this.fail('version', `should be ${expected} (this file is from another version of Vitalock)`);
  }
}

// ── The manufacturer CA (ca.json) ───────────────────────────────────────────────────────────────

export const DEFAULT_CA_NAME = 'Vitalock Medical';

/** What the CA remembers about each device it issued (its ledger). */
export interface IssuedDevice {
  /** 16 upper-case hex digits. */
  readonly deviceId: string;
  readonly model: string;
  readonly serial: string;
  /** Unix seconds. */
  readonly notBefore: number;
  /** Unix seconds. */
  readonly notAfter: number;
  /** ISO time of issue. */
  readonly issuedAt: string;
}

export interface CaFile {
  readonly version: 1;
  readonly name: string;
  readonly publicKey: string;
  readonly secretKey: string;
  readonly keyId: string;
  readonly createdAt: string;
  readonly issued: readonly IssuedDevice[];
  /** Revoked device ids (upper-case hex), in the order revoked. */
  readonly revoked: readonly string[];
  /** Issue time (Unix s) of the last revocation list, so the next is always newer (§6.2). */
  readonly revocationListIssuedAt: number;
}

export interface CaState {
  readonly file: CaFile;
  readonly ca: ManufacturerCa;
}

export function loadCa(paths: DataPaths): CaState | undefined {
  const json = readJson(paths.ca);
  if (json === undefined) return undefined;
  const f = new Fields(paths.ca, json);
  f.version(1);
  const file: CaFile = {
    version: 1,
    name: f.string('name'),
    publicKey: f.hex('publicKey', 32),
    secretKey: f.hex('secretKey', 32),
    keyId: f.hex('keyId', 8),
    createdAt: f.string('createdAt'),
    issued: f.objects('issued').map((d) => ({
      deviceId: deviceIdField(d, 'deviceId'),
      model: d.string('model'),
      serial: d.string('serial'),
      notBefore: d.integer('notBefore'),
      notAfter: d.integer('notAfter'),
      issuedAt: d.string('issuedAt'),
    })),
    revoked: f.array('revoked').map((id, i) =>
      typeof id === 'string' && /^[0-9A-F]{16}$/.test(id) ? id : f.fail(`revoked[${i}]`, 'should be a device id (16 upper-case hex digits)'),
    ),
    revocationListIssuedAt: f.has('revocationListIssuedAt') ? f.integer('revocationListIssuedAt') : 0,
  };
  const ca = caFromJson({ name: file.name, secretKey: file.secretKey, publicKey: file.publicKey });
  if (toHex(ca.publicKey) !== file.publicKey.toLowerCase()) f.fail('publicKey', 'does not belong to the secret key');
  return { file, ca };
}

function deviceIdField(f: Fields, field: string): string {
  const v = f.string(field);
  if (!/^[0-9A-F]{16}$/.test(v)) f.fail(field, 'should be a device id (16 upper-case hex digits)');
  return v;
}

export function saveCa(paths: DataPaths, file: CaFile): void {
  writeJson(paths.ca, file, true);
}

/** The CA's key id (§1.4), as hex. */
export function caKeyIdHex(ca: ManufacturerCa): string {
  return toHex(keyId(ca.publicKey));
}

/** The CA, or the plain-language error that says how to make one. */
export function requireCa(paths: DataPaths): CaState {
  const state = loadCa(paths);
  if (state === undefined) {
    throw new CliError(`There is no manufacturer CA in ${paths.dir}. Run \`npm run ca -- init\` first.`);
  }
  return state;
}

export interface CreateCaOptions {
  readonly name: string;
  readonly random: Random;
  readonly nowMs: number;
}

/**
 * Creates the CA and the trust store that trusts it. Replaces any previous CA: its revocation
 * list goes too (a hub would refuse a list from an untrusted issuer anyway).
 */
export function createCa(paths: DataPaths, options: CreateCaOptions): CaState {
  const ca = createManufacturerCa(options.name, options.random);
  const file: CaFile = {
    version: 1,
    name: ca.name,
    publicKey: toHex(ca.publicKey),
    secretKey: toHex(ca.secretKey),
    keyId: caKeyIdHex(ca),
    createdAt: new Date(options.nowMs).toISOString(),
    issued: [],
    revoked: [],
    revocationListIssuedAt: 0,
  };
  saveCa(paths, file);
  saveTrustStore(paths, [{ name: ca.name, publicKey: ca.publicKey }]);
  rmSync(paths.revocations, { force: true });
  return { file, ca };
}

/** A manufacturer name: shown to users by the hub; 1..64 characters, no control characters. */
export function checkCaName(name: string): string | undefined {
  const trimmed = name.trim();
  if (trimmed === '') return 'the name is empty';
  if ([...trimmed].length > 64) return 'the name is longer than 64 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return 'the name contains control characters';
  return undefined;
}

/** Model and serial go in the certificate (§6.1): 1..32 bytes of UTF-8, printable. */
export function checkCertificateText(text: string): string | undefined {
  if (text.trim() === '') return 'it is empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'it contains control characters';
  if (/[\uD800-\uDFFF]/u.test(text)) return 'it is not well-formed text';
  const length = utf8(text).length;
  if (length > 32) return `it is ${length} bytes long in UTF-8; the certificate allows at most 32`;
  return undefined;
}

export interface IssueOptions {
  readonly random: Random;
  readonly nowMs: number;
  readonly model?: string;
  readonly serial?: string;
  readonly validDays?: number;
}

/** Manufactures a device, writes its file, and records it in the CA's ledger. */
export function issueDevice(paths: DataPaths, state: CaState, options: IssueOptions): { identity: DeviceIdentity; entry: IssuedDevice; state: CaState } {
  const identity = manufactureDevice({
    ca: state.ca,
    random: options.random,
    nowMs: options.nowMs,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.serial !== undefined ? { serial: options.serial } : {}),
    ...(options.validDays !== undefined ? { validDays: options.validDays } : {}),
  });
  const certificate = decodeCertificate(identity.certificate);
  const id = deviceIdHex(identity.deviceId);
  const entry: IssuedDevice = {
    deviceId: id,
    model: identity.model,
    serial: identity.serial,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    issuedAt: new Date(options.nowMs).toISOString(),
  };
  saveDevice(paths, identity);
  const file: CaFile = { ...state.file, issued: [...state.file.issued, entry] };
  saveCa(paths, file);
  return { identity, entry, state: { file, ca: state.ca } };
}

/**
 * Adds a device to the CA's revocation list and writes the newly signed list (§6.2). The list's
 * issue time is always later than the previous one's, so a hub never ignores it as "not newer".
 */
export function revokeDevice(paths: DataPaths, state: CaState, id: string, nowMs: number): { state: CaState; issuedAt: number; count: number } {
  const revoked = state.file.revoked.includes(id) ? state.file.revoked : [...state.file.revoked, id];
  const issuedAt = Math.max(Math.floor(nowMs / 1000), state.file.revocationListIssuedAt + 1);
  const list = issueRevocationList(state.ca.secretKey, { issuedAt, deviceIds: revoked.map((r) => fromHex(r)) });
  writeFileAtomic(paths.revocations, list, false);
  const file: CaFile = { ...state.file, revoked, revocationListIssuedAt: issuedAt };
  saveCa(paths, file);
  return { state: { file, ca: state.ca }, issuedAt, count: revoked.length };
}

export type DeviceStatus = 'valid' | 'revoked' | 'expired' | 'not yet valid';

export function deviceStatus(entry: Pick<IssuedDevice, 'deviceId' | 'notBefore' | 'notAfter'>, revoked: readonly string[], nowMs: number): DeviceStatus {
  if (revoked.includes(entry.deviceId)) return 'revoked';
  const nowS = Math.floor(nowMs / 1000);
  if (nowS > entry.notAfter) return 'expired';
  if (nowS < entry.notBefore) return 'not yet valid';
  return 'valid';
}

// ── Trust store (trust-store.json, revocations.bin) ─────────────────────────────────────────────

export function saveTrustStore(paths: DataPaths, roots: readonly TrustedRoot[]): void {
  writeJson(paths.trustStore, { version: 1, roots: roots.map((r) => ({ name: r.name, publicKey: toHex(r.publicKey) })) }, false);
}

export function loadTrustedRoots(paths: DataPaths): TrustedRoot[] | undefined {
  const json = readJson(paths.trustStore);
  if (json === undefined) return undefined;
  const f = new Fields(paths.trustStore, json);
  f.version(1);
  const roots = f.objects('roots').map((r) => ({ name: r.string('name'), publicKey: fromHex(r.hex('publicKey', 32)) }));
  if (roots.length === 0) f.fail('roots', 'is empty');
  return roots;
}

export interface LoadedTrustStore {
  readonly trustStore: TrustStore;
  readonly roots: readonly TrustedRoot[];
  /** Why revocations.bin was not applied, if it exists and was refused. */
  readonly revocationProblem?: string;
  /** Number of ids the applied list revokes. */
  readonly revokedCount: number;
}

/** The hub's trust store: the roots of trust-store.json with revocations.bin applied. */
export function loadTrustStore(paths: DataPaths, nowMs: number): LoadedTrustStore {
  const roots = loadTrustedRoots(paths);
  if (roots === undefined) {
    throw new CliError(`There is no trust store (${paths.trustStore}). Run \`npm run ca -- init\` first.`);
  }
  let trustStore: TrustStore;
  try {
    trustStore = new TrustStore(roots);
  } catch (error) {
    throw new CliError(`${paths.trustStore} cannot be used: ${systemMessage(error)}.`);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(paths.revocations);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { trustStore, roots, revokedCount: 0 };
    return { trustStore, roots, revokedCount: 0, revocationProblem: `cannot read it (${systemMessage(error)})` };
  }
  try {
    const list = new Uint8Array(bytes);
    trustStore.applyRevocationList(list, nowMs);
    return { trustStore, roots, revokedCount: decodeRevocationList(list).deviceIds.length };
  } catch (error) {
    return { trustStore, roots, revokedCount: 0, revocationProblem: systemMessage(error) };
  }
}

// ── Devices (devices/<DEVICEID>.json, devices/<DEVICEID>.state.json) ────────────────────────────

export function saveDevice(paths: DataPaths, identity: DeviceIdentity): void {
  writeJson(paths.device(deviceIdHex(identity.deviceId)), { version: 1, ...identityToJson(identity) }, true);
}

/** The device's identity, checked for consistency (the keys match the certificate). */
export function loadDevice(paths: DataPaths, id: string): { identity: DeviceIdentity; certificate: DeviceCertificate } | undefined {
  const path = paths.device(id);
  const json = readJson(path);
  if (json === undefined) return undefined;
  const f = new Fields(path, json);
  f.version(1);
  const passcode = f.string('passcode');
  if (!/^[0-9]{8}$/.test(passcode) || isTrivialPasscode(passcode)) f.fail('passcode', 'should be 8 digits, not a trivial code');
  const identity = identityFromJson({
    deviceId: f.hex('deviceId', 8),
    model: f.string('model'),
    serial: f.string('serial'),
    staticSecretKey: f.hex('staticSecretKey', 32),
    signingSecretKey: f.hex('signingSecretKey', 32),
    certificate: f.hex('certificate'),
    passcode,
  });
  let certificate: DeviceCertificate;
  try {
    certificate = decodeCertificate(identity.certificate);
  } catch {
    return f.fail('certificate', 'does not decode');
  }
  if (deviceIdHex(identity.deviceId) !== id) f.fail('deviceId', `does not match the file name (${id})`);
  if (deviceIdHex(certificate.deviceId) !== id) f.fail('certificate', 'is for another device');
  if (toHex(certificate.staticKey) !== toHex(identity.staticKey.publicKey)) f.fail('staticSecretKey', 'does not match the certificate');
  if (toHex(certificate.signingKey) !== toHex(identity.signingKey.publicKey)) f.fail('signingSecretKey', 'does not match the certificate');
  return { identity, certificate };
}

/** Device ids with a device file, sorted. */
export function listDeviceFiles(paths: DataPaths): string[] {
  if (!existsSync(paths.devices)) return [];
  let names: string[];
  try {
    names = readdirSync(paths.devices);
  } catch (error) {
    throw new CliError(`Cannot read ${paths.devices}: ${systemMessage(error)}.`);
  }
  return names
    .map((n) => /^([0-9A-F]{16})\.json$/.exec(n)?.[1])
    .filter((id): id is string => id !== undefined)
    .sort();
}

/** The hubs the device is bonded with (its "flash"), most recently used first. */
export function loadDeviceBonds(paths: DataPaths, id: string): HubBond[] {
  const path = paths.deviceState(id);
  const json = readJson(path);
  if (json === undefined) return [];
  const f = new Fields(path, json);
  f.version(1);
  return f.objects('bonds').map((b) => ({
    hubStatic: fromHex(b.hex('hubStatic', 32)),
    hubLabel: b.string('hubLabel'),
    bondedAtMs: b.integer('bondedAtMs'),
    lastUsedMs: b.integer('lastUsedMs'),
  }));
}

/** The device's record counters (its "flash"): sequence numbers are never reused (§8.2). */
export function loadDeviceCounters(paths: DataPaths, id: string): StoreCounters | undefined {
  const path = paths.deviceState(id);
  const json = readJson(path);
  if (json === undefined || typeof json !== 'object' || json === null || !('lastSeq' in json)) return undefined;
  const f = new Fields(path, json);
  return { lastSeq: f.integer('lastSeq'), chainHead: fromHex(f.hex('chainHead', 32)) };
}

export function saveDeviceState(paths: DataPaths, id: string, bonds: readonly HubBond[], counters: StoreCounters): void {
  writeJson(
    paths.deviceState(id),
    {
      version: 1,
      bonds: bonds.map((b) => ({ hubStatic: toHex(b.hubStatic), hubLabel: b.hubLabel, bondedAtMs: b.bondedAtMs, lastUsedMs: b.lastUsedMs })),
      lastSeq: counters.lastSeq,
      chainHead: toHex(counters.chainHead),
    },
    true,
  );
}

// ── The demo hub (hub.json) ─────────────────────────────────────────────────────────────────────

export interface HubState {
  readonly label: string;
  readonly identity: KeyPair;
  /** By device id (upper-case hex). */
  readonly bonds: Map<string, SensorBond>;
}

export function loadHub(paths: DataPaths): HubState | undefined {
  const json = readJson(paths.hub);
  if (json === undefined) return undefined;
  const f = new Fields(paths.hub, json);
  f.version(1);
  const secretKey = fromHex(f.hex('staticSecretKey', 32));
  const bonds = new Map<string, SensorBond>();
  for (const b of f.objects('bonds')) {
    const bond: SensorBond = {
      deviceId: fromHex(b.hex('deviceId', 8)),
      staticKey: fromHex(b.hex('staticKey', 32)),
      certificate: fromHex(b.hex('certificate')),
      manufacturer: b.string('manufacturer'),
      model: b.string('model'),
      serial: b.string('serial'),
      notAfter: b.integer('notAfter'),
      hubLabel: b.string('hubLabel'),
    };
    bonds.set(deviceIdHex(bond.deviceId), bond);
  }
  return { label: f.string('label'), identity: { secretKey, publicKey: x25519PublicKey(secretKey) }, bonds };
}

export function createHub(label: string, random: Random): HubState {
  return { label, identity: x25519KeyPair(random), bonds: new Map() };
}

export function saveHub(paths: DataPaths, hub: HubState): void {
  writeJson(
    paths.hub,
    {
      version: 1,
      label: hub.label,
      staticSecretKey: toHex(hub.identity.secretKey),
      bonds: [...hub.bonds.values()].map((b) => ({
        deviceId: deviceIdHex(b.deviceId),
        staticKey: toHex(b.staticKey),
        certificate: toHex(b.certificate),
        manufacturer: b.manufacturer,
        model: b.model,
        serial: b.serial,
        notAfter: b.notAfter,
        hubLabel: b.hubLabel,
      })),
    },
    true,
  );
}

// ── Formatting shared by both CLIs ──────────────────────────────────────────────────────────────

/** A Unix-seconds time as a UTC date and time, e.g. "2036-11-25 08:00 UTC". */
export function formatUnixSeconds(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Whole numbers grouped by thousands with spaces: 1 234 567. */
export function groupDigits(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}
