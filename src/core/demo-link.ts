/**
 * Demo mode's in-page link (docs/protocol.md §2.1, played over `postMessage` instead of GATT):
 * the messages between the app's page and the simulated reference sensors, which run in their
 * own dedicated worker (`sensor/browser/demo-sensor.worker.ts`). The page may not import sensor
 * code and the sensor may not import the app, so the shared vocabulary lives here, pure.
 *
 * The link only moves the same opaque fragments a GATT connection would: `write` is a write to
 * the sensor's `control` characteristic, `notify` a batch of `data` notifications. Everything
 * secret happens in the vault worker and in the simulated sensor, exactly as with hardware.
 *
 * Also here: the "Vitalock Simulator" manufacturer root. Its Ed25519 key is derived from a fixed,
 * PUBLIC seed (`DEMO_CA_SEED`), so anyone can mint a certificate under it: the app trusts it only
 * in demo mode, and shows every sensor it signed as "Simulated — not a medical device".
 */
import { DecodeError } from './errors.js';

/** The simulator's manufacturer name: the trust store shows it as the sensor's manufacturer. */
export const DEMO_CA_NAME = 'Vitalock Simulator';
/** Public on purpose. The CA secret key is SHA-256 of its UTF-8 bytes. */
export const DEMO_CA_SEED =
  'Vitalock Simulator demo CA, version 1. This seed is public on purpose: sensors it signs are simulations, not medical devices.';
/**
 * Ed25519 public key of `DEMO_CA_SEED` (hex). A constant, so the page needs no curve code to
 * trust it; `test/app/demo-link.test.ts` checks it against the derivation.
 */
export const DEMO_CA_PUBLIC_KEY_HEX = '235936ca2f9551aa370789cf9ec6673f052da6893b0756de76eaf8e46baed45e';
/** What every simulated sensor says about itself on screen. */
export const DEMO_DISCLAIMER = 'Simulated — not a medical device';

export type DemoProfile = 'adult-resting' | 'adult-febrile' | 'desaturating';
const PROFILES: readonly DemoProfile[] = ['adult-resting', 'adult-febrile', 'desaturating'];

/** The label printed on a simulated sensor, shown on screen so the user can type its code. */
export interface DemoSensorLabel {
  /** Device id, 16 upper-case hex digits. */
  readonly deviceId: string;
  /** Advertised name, "Vitalock XXXX". */
  readonly name: string;
  readonly model: string;
  readonly serial: string;
  /** `DDDD-DDDD-C` (§3.2). */
  readonly setupCode: string;
  /** The QR payload (§3.3). */
  readonly qr: string;
  readonly profile: DemoProfile;
}

/** Page → simulator. `request` numbers let the page match answers to questions. */
export type PageToSimulator =
  /** Manufactures a new simulated sensor, powers it on and opens its pairing window. */
  | { readonly type: 'add'; readonly request: number; readonly profile: DemoProfile }
  /** Lists the simulated sensors kept from earlier visits (powering them on). */
  | { readonly type: 'list'; readonly request: number }
  /** A central connects to sensor `deviceId`; `conn` names this connection. */
  | { readonly type: 'connect'; readonly conn: string; readonly deviceId: string; readonly attMtu: number }
  /** A write to `control` on connection `conn`. */
  | { readonly type: 'write'; readonly conn: string; readonly fragment: Uint8Array }
  | { readonly type: 'disconnect'; readonly conn: string }
  /** Throws a simulated sensor away (after the app forgot it). */
  | { readonly type: 'remove'; readonly deviceId: string };

/** Simulator → page. */
export type SimulatorToPage =
  | { readonly type: 'sensors'; readonly request: number; readonly sensors: readonly DemoSensorLabel[] }
  | { readonly type: 'connected'; readonly conn: string }
  /** Notifications on `data`, in order; `sentAtMs` is the sender's wall clock when posted. */
  | { readonly type: 'notify'; readonly conn: string; readonly fragments: readonly Uint8Array[]; readonly sentAtMs: number }
  /** The sensor ended the connection (it was unbonded, removed, or does not exist). */
  | { readonly type: 'disconnected'; readonly conn: string; readonly reason: string }
  | { readonly type: 'failed'; readonly request: number; readonly message: string };

/** Limits that keep a confused or hostile message from costing much. */
const MAX_TEXT = 200;
const MAX_FRAGMENT = 512;
const MAX_FRAGMENTS = 4_096;
const MAX_SENSORS = 64;

type Fields = Record<string, unknown>;

function fail(what: string): never {
  throw new DecodeError('malformed', `demo link: ${what}`);
}

function record(value: unknown): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('not a message');
  return value as Fields;
}

function text(m: Fields, key: string): string {
  const v = m[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT) fail(`bad ${key}`);
  return v;
}

function count(m: Fields, key: string, max: number): number {
  const v = m[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) fail(`bad ${key}`);
  return v;
}

function time(m: Fields, key: string): number {
  const v = m[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`bad ${key}`);
  return v;
}

function bytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0 || value.length > MAX_FRAGMENT) fail(`bad ${what}`);
  return value;
}

function deviceId(m: Fields): string {
  const id = text(m, 'deviceId');
  if (!/^[0-9A-F]{16}$/.test(id)) fail('bad deviceId');
  return id;
}

function profile(value: unknown): DemoProfile {
  if (!PROFILES.includes(value as DemoProfile)) fail('bad profile');
  return value as DemoProfile;
}

function label(value: unknown): DemoSensorLabel {
  const m = record(value);
  return {
    deviceId: deviceId(m),
    name: text(m, 'name'),
    model: text(m, 'model'),
    serial: text(m, 'serial'),
    setupCode: text(m, 'setupCode'),
    qr: text(m, 'qr'),
    profile: profile(m.profile),
  };
}

/** Checks a message the simulator received; throws `DecodeError` on anything else. */
export function parsePageToSimulator(data: unknown): PageToSimulator {
  const m = record(data);
  switch (m.type) {
    case 'add':
      return { type: 'add', request: count(m, 'request', Number.MAX_SAFE_INTEGER), profile: profile(m.profile) };
    case 'list':
      return { type: 'list', request: count(m, 'request', Number.MAX_SAFE_INTEGER) };
    case 'connect':
      return { type: 'connect', conn: text(m, 'conn'), deviceId: deviceId(m), attMtu: Math.max(23, count(m, 'attMtu', 517)) };
    case 'write':
      return { type: 'write', conn: text(m, 'conn'), fragment: bytes(m.fragment, 'fragment') };
    case 'disconnect':
      return { type: 'disconnect', conn: text(m, 'conn') };
    case 'remove':
      return { type: 'remove', deviceId: deviceId(m) };
    default:
      return fail('unknown type');
  }
}

/** Checks a message the page received from the simulator; throws `DecodeError` on anything else. */
export function parseSimulatorToPage(data: unknown): SimulatorToPage {
  const m = record(data);
  switch (m.type) {
    case 'sensors': {
      const list = m.sensors;
      if (!Array.isArray(list) || list.length > MAX_SENSORS) fail('bad sensors');
      return { type: 'sensors', request: count(m, 'request', Number.MAX_SAFE_INTEGER), sensors: list.map(label) };
    }
    case 'connected':
      return { type: 'connected', conn: text(m, 'conn') };
    case 'notify': {
      const list = m.fragments;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_FRAGMENTS) fail('bad fragments');
      return { type: 'notify', conn: text(m, 'conn'), fragments: list.map((f) => bytes(f, 'fragment')), sentAtMs: time(m, 'sentAtMs') };
    }
    case 'disconnected':
      return { type: 'disconnected', conn: text(m, 'conn'), reason: text(m, 'reason') };
    case 'failed':
      return { type: 'failed', request: count(m, 'request', Number.MAX_SAFE_INTEGER), message: text(m, 'message') };
    default:
      return fail('unknown type');
  }
}
