/**
 * Typed errors of the Bluetooth adapter, each with a message a patient or a nurse can act on.
 * Messages are fixed strings: no device data, nothing secret, safe to show and to log.
 *
 * `toLinkError` maps what Web Bluetooth throws (DOMException names; Chromium's texts only where the
 * name is ambiguous) onto these kinds, so the screens never see a raw DOMException.
 */
export type LinkErrorKind =
  /** The user closed the device chooser without picking a sensor (NotFoundError). */
  | 'chooser-cancelled'
  /** Bluetooth is switched off, or this device has no Bluetooth adapter. */
  | 'bluetooth-unavailable'
  /** No Web Bluetooth in this browser (iOS Safari, Firefox) or page. */
  | 'unsupported'
  /** The page may not use Bluetooth (permissions policy, or not a secure context). */
  | 'not-allowed'
  /** Connecting (or discovering the service) took longer than the connect timeout. */
  | 'connect-timeout'
  /** The sensor connected but its GATT service misbehaved (missing, or an operation failed). */
  | 'gatt-failed'
  /** The sensor could not be reached: out of range, switched off, or the link dropped. */
  | 'out-of-range'
  /** A write on a link that is not connected right now. */
  | 'not-connected';

const MESSAGES: Record<LinkErrorKind, string> = {
  'chooser-cancelled': 'No sensor was chosen. To add one, tap “Add sensor” again and pick the sensor whose name starts with “Vitalock”.',
  'bluetooth-unavailable': 'Bluetooth is off, or this device has no Bluetooth. Turn Bluetooth on in the device settings, then try again.',
  unsupported: 'This browser cannot connect to Bluetooth sensors. Use Chrome or Edge on Android, Windows, macOS or ChromeOS to connect them; history and export still work here.',
  'not-allowed': 'This page is not allowed to use Bluetooth. Open Vitalock directly (not inside another site), over https, and try again.',
  'connect-timeout': 'The sensor did not answer in time. Move closer to it, check that it is switched on, then try again.',
  'gatt-failed': 'The sensor’s Bluetooth connection did not work. Switch the sensor off and on again, then try again.',
  'out-of-range': 'The sensor cannot be reached: it is out of range or switched off. Bring it closer; Vitalock reconnects by itself.',
  'not-connected': 'The sensor is not connected right now; Vitalock is reconnecting to it.',
};

export class BluetoothLinkError extends Error {
  override readonly name = 'BluetoothLinkError';
  constructor(
    readonly kind: LinkErrorKind,
    /** The DOMException name behind it, for diagnostics (never shown as the message). */
    readonly domName?: string,
  ) {
    super(MESSAGES[kind]);
  }
}

/** The plain-language message of a kind (for state reasons that are not thrown). */
export function linkErrorMessage(kind: LinkErrorKind): string {
  return MESSAGES[kind];
}

export type LinkPhase = 'request' | 'connect' | 'operation';

/**
 * What a Web Bluetooth failure means, by where it happened:
 * - `request` (requestDevice): NotFoundError is the chooser cancelled — or, with "adapter" in its
 *   text, no adapter (Chromium reports both with that one name); SecurityError is not allowed.
 * - `connect` (gatt.connect, discovery, startNotifications): NetworkError / AbortError mean the
 *   sensor was not reached; anything else is a GATT failure (no Vitalock service, no CCCD…).
 * - `operation` (a read or write on a connected link): NetworkError means the link dropped.
 */
export function toLinkError(err: unknown, phase: LinkPhase): BluetoothLinkError {
  if (err instanceof BluetoothLinkError) return err;
  const name = typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : 'Error';
  const text = typeof err === 'object' && err !== null && 'message' in err ? String((err as { message: unknown }).message) : '';
  if (name === 'SecurityError') return new BluetoothLinkError('not-allowed', name);
  switch (phase) {
    case 'request':
      if (name === 'NotFoundError') return new BluetoothLinkError(/adapter/i.test(text) ? 'bluetooth-unavailable' : 'chooser-cancelled', name);
      if (name === 'NotAllowedError') return new BluetoothLinkError('not-allowed', name);
      return new BluetoothLinkError('bluetooth-unavailable', name);
    case 'connect':
      if (name === 'NetworkError' || name === 'AbortError') return new BluetoothLinkError('out-of-range', name);
      return new BluetoothLinkError('gatt-failed', name);
    case 'operation':
      if (name === 'NetworkError' || name === 'InvalidStateError') return new BluetoothLinkError('not-connected', name);
      return new BluetoothLinkError('gatt-failed', name);
  }
}
