import { describe, expect, it } from 'vitest';
import { BluetoothLinkError, linkErrorMessage, toLinkError, type LinkErrorKind } from '../../../src/app/bluetooth/errors.js';

/** What Chromium throws, by name and text. */
const dom = (name: string, message = '') => Object.assign(new Error(message), { name });

describe('Bluetooth errors in plain words', () => {
  it('maps the chooser outcomes', () => {
    expect(toLinkError(dom('NotFoundError', 'User cancelled the requestDevice() chooser.'), 'request').kind).toBe('chooser-cancelled');
    expect(toLinkError(dom('NotFoundError', 'Bluetooth adapter not available.'), 'request').kind).toBe('bluetooth-unavailable');
    expect(toLinkError(dom('SecurityError', 'Must be handling a user gesture'), 'request').kind).toBe('not-allowed');
  });

  it('maps connection and operation failures', () => {
    expect(toLinkError(dom('NetworkError', 'Connection attempt failed.'), 'connect').kind).toBe('out-of-range');
    expect(toLinkError(dom('NotFoundError', 'No Services matching UUID found in Device.'), 'connect').kind).toBe('gatt-failed');
    expect(toLinkError(dom('NotSupportedError'), 'connect').kind).toBe('gatt-failed');
    expect(toLinkError(dom('NetworkError', 'GATT Server is disconnected.'), 'operation').kind).toBe('not-connected');
    expect(toLinkError(dom('InvalidStateError'), 'operation').kind).toBe('not-connected');
    expect(toLinkError(dom('NotSupportedError', 'GATT operation failed for unknown reason.'), 'operation').kind).toBe('gatt-failed');
    expect(toLinkError('not even an error', 'connect').kind).toBe('gatt-failed');
  });

  it('keeps a typed error as it is, with the DOMException name for diagnostics only', () => {
    const e = new BluetoothLinkError('connect-timeout');
    expect(toLinkError(e, 'connect')).toBe(e);
    const mapped = toLinkError(dom('NetworkError', 'secret-looking text 1234'), 'connect');
    expect(mapped.domName).toBe('NetworkError');
    expect(mapped.message).not.toContain('1234');
  });

  it('every message says what to do, in a sentence, without jargon', () => {
    const kinds: LinkErrorKind[] = ['chooser-cancelled', 'bluetooth-unavailable', 'unsupported', 'not-allowed', 'connect-timeout', 'gatt-failed', 'out-of-range', 'not-connected'];
    for (const kind of kinds) {
      const text = linkErrorMessage(kind);
      expect(text).toMatch(/^[A-Z].*\.$/);
      expect(text).not.toMatch(/GATT|DOMException|NotFoundError|undefined/);
      expect(new BluetoothLinkError(kind).message).toBe(text);
    }
  });
});
