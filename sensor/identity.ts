/**
 * A sensor's identity as made at manufacture (docs/protocol.md §1.4, §3, §6): device id, the
 * X25519 static key and Ed25519 signing key, the certificate the manufacturer CA signed, and the
 * passcode printed on the device. Also the manufacturer CA itself, for `npm run ca`.
 */
import { fromHex, toHex } from '../src/core/bytes.js';
import { deviceIdHex, issueCertificate } from '../src/core/certificate.js';
import { ed25519KeyPair, ed25519PublicKey, x25519KeyPair, x25519PublicKey, type KeyPair, type Random } from '../src/core/primitives.js';
import { formatSetupCode, generatePasscode, qrPayload } from '../src/core/setup-code.js';

export interface ManufacturerCa {
  readonly name: string;
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface DeviceIdentity {
  readonly deviceId: Uint8Array;
  readonly model: string;
  readonly serial: string;
  readonly staticKey: KeyPair;
  readonly signingKey: KeyPair;
  readonly certificate: Uint8Array;
  /** 8 digits (§3.1); printed with its check digit as the setup code. */
  readonly passcode: string;
}

export function createManufacturerCa(name: string, random: Random): ManufacturerCa {
  const { secretKey, publicKey } = ed25519KeyPair(random);
  return { name, secretKey, publicKey };
}

export interface ManufactureOptions {
  readonly ca: ManufacturerCa;
  readonly random: Random;
  readonly nowMs: number;
  readonly model?: string;
  readonly serial?: string;
  /** Certificate validity in days from now (default ten years). */
  readonly validDays?: number;
  /** Start of validity, for tests of not-yet-valid certificates (default now). */
  readonly notBeforeMs?: number;
}

export function manufactureDevice(options: ManufactureOptions): DeviceIdentity {
  const { ca, random, nowMs } = options;
  const deviceId = random(8);
  const staticKey = x25519KeyPair(random);
  const signingKey = ed25519KeyPair(random);
  const model = options.model ?? 'VL-M1 multiparameter';
  const serial = options.serial ?? `VL${deviceIdHex(deviceId).slice(-8)}`;
  const notBefore = Math.floor((options.notBeforeMs ?? nowMs) / 1000);
  const notAfter = Math.floor(nowMs / 1000) + (options.validDays ?? 3650) * 86_400;
  const certificate = issueCertificate(ca.secretKey, {
    deviceId,
    model,
    serial,
    staticKey: staticKey.publicKey,
    signingKey: signingKey.publicKey,
    notBefore,
    notAfter,
  }).bytes;
  return { deviceId, model, serial, staticKey, signingKey, certificate, passcode: generatePasscode(random) };
}

/** What is printed on the device's label. */
export function deviceLabel(identity: DeviceIdentity): { setupCode: string; qr: string; name: string } {
  return {
    setupCode: formatSetupCode(identity.passcode),
    qr: qrPayload(identity.deviceId, identity.passcode),
    name: advertisedName(identity.deviceId),
  };
}

/** §2.1: "Vitalock" and the last four hex digits of the device id. */
export function advertisedName(deviceId: Uint8Array): string {
  return `Vitalock ${deviceIdHex(deviceId).slice(-4)}`;
}

// ── JSON files (the simulator's "flash memory"; a real device keeps these in secure storage) ──

export interface DeviceIdentityJson {
  deviceId: string;
  model: string;
  serial: string;
  staticSecretKey: string;
  signingSecretKey: string;
  certificate: string;
  passcode: string;
}

export function identityToJson(identity: DeviceIdentity): DeviceIdentityJson {
  return {
    deviceId: deviceIdHex(identity.deviceId),
    model: identity.model,
    serial: identity.serial,
    staticSecretKey: toHex(identity.staticKey.secretKey),
    signingSecretKey: toHex(identity.signingKey.secretKey),
    certificate: toHex(identity.certificate),
    passcode: identity.passcode,
  };
}

export function identityFromJson(json: DeviceIdentityJson): DeviceIdentity {
  const staticSecret = fromHex(json.staticSecretKey);
  const signingSecret = fromHex(json.signingSecretKey);
  return {
    deviceId: fromHex(json.deviceId),
    model: json.model,
    serial: json.serial,
    staticKey: { secretKey: staticSecret, publicKey: x25519PublicKey(staticSecret) },
    signingKey: { secretKey: signingSecret, publicKey: ed25519PublicKey(signingSecret) },
    certificate: fromHex(json.certificate),
    passcode: json.passcode,
  };
}

export interface ManufacturerCaJson {
  name: string;
  secretKey: string;
  publicKey: string;
}

export function caToJson(ca: ManufacturerCa): ManufacturerCaJson {
  return { name: ca.name, secretKey: toHex(ca.secretKey), publicKey: toHex(ca.publicKey) };
}

export function caFromJson(json: ManufacturerCaJson): ManufacturerCa {
  const secretKey = fromHex(json.secretKey);
  return { name: json.name, secretKey, publicKey: ed25519PublicKey(secretKey) };
}
