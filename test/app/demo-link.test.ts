/**
 * Demo mode's link vocabulary (src/core/demo-link.ts): the simulator root's public key is the
 * one its public seed derives, and both parsers accept exactly the messages of the link and
 * refuse anything else with a DecodeError (fuzzed).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { DEMO_CA_PUBLIC_KEY_HEX, DEMO_CA_SEED, parsePageToSimulator, parseSimulatorToPage } from '../../src/core/demo-link.js';
import { DecodeError } from '../../src/core/errors.js';
import { ed25519PublicKey, sha256 } from '../../src/core/primitives.js';

const LABEL = { deviceId: '0123456789ABCDEF', name: 'Vitalock CDEF', model: 'VL-SIM', serial: 'VL89ABCDEF', setupCode: '1234-5678-9', qr: 'VL1:0123456789ABCDEF:123456789', profile: 'adult-resting' };

describe('the Vitalock Simulator root', () => {
  it('its public key is derived from the public seed', () => {
    expect(toHex(ed25519PublicKey(sha256(utf8(DEMO_CA_SEED))))).toBe(DEMO_CA_PUBLIC_KEY_HEX);
  });
});

describe('page → simulator', () => {
  it('accepts each message of the link', () => {
    const fragment = new Uint8Array([1, 2, 3]);
    expect(parsePageToSimulator({ type: 'add', request: 1, profile: 'desaturating' })).toEqual({ type: 'add', request: 1, profile: 'desaturating' });
    expect(parsePageToSimulator({ type: 'list', request: 2 })).toEqual({ type: 'list', request: 2 });
    expect(parsePageToSimulator({ type: 'connect', conn: 'c1', deviceId: LABEL.deviceId, attMtu: 247 })).toMatchObject({ attMtu: 247 });
    expect(parsePageToSimulator({ type: 'connect', conn: 'c1', deviceId: LABEL.deviceId, attMtu: 5 })).toMatchObject({ attMtu: 23 });
    expect(parsePageToSimulator({ type: 'write', conn: 'c1', fragment })).toEqual({ type: 'write', conn: 'c1', fragment });
    expect(parsePageToSimulator({ type: 'disconnect', conn: 'c1' })).toEqual({ type: 'disconnect', conn: 'c1' });
    expect(parsePageToSimulator({ type: 'remove', deviceId: LABEL.deviceId })).toEqual({ type: 'remove', deviceId: LABEL.deviceId });
  });

  it.each([
    null,
    [],
    'add',
    { type: 'nope' },
    { type: 'add', request: -1, profile: 'adult-resting' },
    { type: 'add', request: 1, profile: 'zombie' },
    { type: 'connect', conn: 'c', deviceId: 'lowercase00000000', attMtu: 247 },
    { type: 'connect', conn: 'c', deviceId: LABEL.deviceId, attMtu: 9999 },
    { type: 'write', conn: 'c', fragment: [1, 2] },
    { type: 'write', conn: 'c', fragment: new Uint8Array(0) },
    { type: 'write', conn: 'c', fragment: new Uint8Array(513) },
    { type: 'disconnect', conn: '' },
  ])('refuses %j', (message) => {
    expect(() => parsePageToSimulator(message)).toThrow(DecodeError);
  });
});

describe('simulator → page', () => {
  it('accepts each message of the link', () => {
    expect(parseSimulatorToPage({ type: 'sensors', request: 3, sensors: [LABEL] })).toEqual({ type: 'sensors', request: 3, sensors: [LABEL] });
    expect(parseSimulatorToPage({ type: 'connected', conn: 'c1' })).toEqual({ type: 'connected', conn: 'c1' });
    const f = new Uint8Array([9]);
    expect(parseSimulatorToPage({ type: 'notify', conn: 'c1', fragments: [f], sentAtMs: 5 })).toEqual({ type: 'notify', conn: 'c1', fragments: [f], sentAtMs: 5 });
    expect(parseSimulatorToPage({ type: 'disconnected', conn: 'c1', reason: 'unbonded' })).toMatchObject({ reason: 'unbonded' });
    expect(parseSimulatorToPage({ type: 'failed', request: 4, message: 'no' })).toMatchObject({ request: 4 });
  });

  it('refuses a label with a bad device id, an empty notify, a negative time', () => {
    expect(() => parseSimulatorToPage({ type: 'sensors', request: 1, sensors: [{ ...LABEL, deviceId: 'XYZ' }] })).toThrow(DecodeError);
    expect(() => parseSimulatorToPage({ type: 'notify', conn: 'c', fragments: [], sentAtMs: 1 })).toThrow(DecodeError);
    expect(() => parseSimulatorToPage({ type: 'notify', conn: 'c', fragments: [new Uint8Array(1)], sentAtMs: -1 })).toThrow(DecodeError);
  });
});

describe('fuzz: anything in, a message or a DecodeError out', () => {
  const anything = fc.oneof(
    fc.anything(),
    fc.record({ type: fc.constantFrom('add', 'list', 'connect', 'write', 'disconnect', 'remove', 'sensors', 'connected', 'notify', 'disconnected', 'failed'), request: fc.anything(), conn: fc.anything(), deviceId: fc.anything(), attMtu: fc.anything(), fragment: fc.oneof(fc.anything(), fc.uint8Array()), fragments: fc.anything(), sensors: fc.anything(), profile: fc.anything(), sentAtMs: fc.anything(), reason: fc.anything(), message: fc.anything() }, { requiredKeys: ['type'] }),
  );
  for (const [name, parse] of [
    ['page → simulator', parsePageToSimulator],
    ['simulator → page', parseSimulatorToPage],
  ] as const) {
    it(name, () => {
      fc.assert(
        fc.property(anything, (input) => {
          try {
            const m = parse(input);
            expect(typeof m.type).toBe('string');
          } catch (err) {
            expect(err).toBeInstanceOf(DecodeError);
          }
        }),
        { numRuns: 2_000 },
      );
    });
  }
});
