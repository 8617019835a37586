/**
 * Transport frames, limits and replay protection (docs/protocol.md §7).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { ProtocolError } from '../../src/core/errors.js';
import type { ProtocolErrorCode } from '../../src/core/errors.js';
import { MAX_MESSAGE } from '../../src/core/framing.js';
import { aeadOpen, aeadSeal, noiseNonce } from '../../src/core/primitives.js';
import { WINDOW_SIZE } from '../../src/core/replay-window.js';
import {
  MAX_PLAINTEXT,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_MS,
  TransportSession,
} from '../../src/core/transport.js';
import type { TransportSessionOptions } from '../../src/core/transport.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('transport.test');
const T0 = 1_700_000_000_000;

/** Split() keys: the hub sends with k1 and receives with k2; the sensor the reverse (§7.1). */
function pair(extra: Partial<Pick<TransportSessionOptions, 'initialSendCounter'>> = {}): {
  hub: TransportSession;
  sensor: TransportSession;
  k1: Uint8Array;
  k2: Uint8Array;
} {
  const k1 = random(32);
  const k2 = random(32);
  const hub = new TransportSession({ sendKey: k1, receiveKey: k2, createdAtMs: T0, ...extra });
  const sensor = new TransportSession({ sendKey: k2, receiveKey: k1, createdAtMs: T0, ...extra });
  return { hub, sensor, k1, k2 };
}

function codeOf(fn: () => unknown): ProtocolErrorCode | 'no-error' | 'other' {
  try {
    fn();
    return 'no-error';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : 'other';
  }
}

/** The session still works in both directions after whatever the test did to it. */
function stillWorks(a: TransportSession, b: TransportSession, now = T0): void {
  const m = random(20);
  expect(b.open(a.seal(m, now), now)).toEqual(m);
  expect(a.open(b.seal(m, now), now)).toEqual(m);
}

describe('constants (§7.2, §7.3)', () => {
  it('match the spec', () => {
    expect(REKEY_AFTER_MESSAGES).toBe(1_048_576);
    expect(REJECT_AFTER_MESSAGES).toBe(1_048_576 + 65_536);
    expect(REKEY_AFTER_MS).toBe(3_600_000);
    expect(REJECT_AFTER_MS).toBe(3_900_000);
    expect(MAX_PLAINTEXT).toBe(4071);
  });
});

describe('seal / open', () => {
  it('round trips in both directions', () => {
    const { hub, sensor } = pair();
    for (let i = 0; i < 10; i++) {
      const m = random(i * 7);
      expect(sensor.open(hub.seal(m, T0), T0)).toEqual(m);
      expect(hub.open(sensor.seal(m, T0), T0)).toEqual(m);
    }
    expect(hub.sent).toBe(10);
    expect(sensor.received).toBe(10);
  });

  it('frame = 0x10 ‖ counter u64 BE ‖ ChaCha20-Poly1305(nonce = 0⁴ ‖ counter LE, ad = header)', () => {
    const { hub, k1 } = pair({ initialSendCounter: 0x000f_1234 });
    const plaintext = random(32);
    const frame = hub.seal(plaintext, T0);
    expect(frame.length).toBe(9 + 32 + 16);
    expect(toHex(frame.subarray(0, 9))).toBe('1000000000000f1234');
    // Independently, with the primitives the spec names.
    const opened = aeadOpen(k1, noiseNonce(0x000f_1234n), frame.subarray(9), frame.subarray(0, 9));
    expect(opened).toEqual(plaintext);
    expect(toHex(noiseNonce(0x000f_1234n))).toBe('0000000034120f0000000000');
    const again = aeadSeal(k1, noiseNonce(0x000f_1235n), plaintext, Uint8Array.of(0x10, 0, 0, 0, 0, 0, 0x0f, 0x12, 0x35));
    expect(toHex(hub.seal(plaintext, T0).subarray(9))).toBe(toHex(again));
  });

  it('counters start at 0 and increase by one per frame', () => {
    const { hub } = pair();
    for (let i = 0; i < 3; i++) expect(toHex(hub.seal(new Uint8Array(0), T0).subarray(0, 9))).toBe(`10000000000000000${i}`);
  });

  it('empty and MAX_PLAINTEXT plaintexts; a frame never exceeds MAX_MESSAGE', () => {
    const { hub, sensor } = pair();
    expect(sensor.open(hub.seal(new Uint8Array(0), T0), T0)).toEqual(new Uint8Array(0));
    const big = random(MAX_PLAINTEXT);
    const frame = hub.seal(big, T0);
    expect(frame.length).toBe(MAX_MESSAGE);
    expect(sensor.open(frame, T0)).toEqual(big);
    expect(codeOf(() => hub.seal(new Uint8Array(MAX_PLAINTEXT + 1), T0))).toBe('limit');
    expect(hub.sent).toBe(2); // the refused plaintext used no counter
  });

  it('copies the keys: the caller may wipe its own', () => {
    const { hub, sensor, k1, k2 } = pair();
    k1.fill(0);
    k2.fill(0);
    stillWorks(hub, sensor);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new TransportSession({ sendKey: new Uint8Array(31), receiveKey: new Uint8Array(32), createdAtMs: 0 })).toThrow(RangeError);
    expect(() => new TransportSession({ sendKey: new Uint8Array(32), receiveKey: new Uint8Array(33), createdAtMs: 0 })).toThrow(RangeError);
  });
});

describe('rejected frames leave the session unchanged', () => {
  it('a replayed frame', () => {
    const { hub, sensor } = pair();
    const frame = hub.seal(random(10), T0);
    sensor.open(frame, T0);
    expect(codeOf(() => sensor.open(frame, T0))).toBe('replay');
    expect(codeOf(() => sensor.open(frame, T0))).toBe('replay');
    stillWorks(hub, sensor);
  });

  it('reordered frames within the window are accepted once each', () => {
    const { hub, sensor } = pair();
    const frames = Array.from({ length: 8 }, (_, i) => hub.seal(Uint8Array.of(i), T0));
    for (const i of [5, 0, 7, 2, 1, 6, 3, 4]) expect(sensor.open(frames[i] as Uint8Array, T0)).toEqual(Uint8Array.of(i));
    for (const f of frames) expect(codeOf(() => sensor.open(f, T0))).toBe('replay');
    expect(sensor.received).toBe(8);
  });

  it('a frame more than WINDOW_SIZE behind the newest is rejected; exactly WINDOW_SIZE behind is accepted', () => {
    const { hub, sensor } = pair();
    const frames = Array.from({ length: WINDOW_SIZE + 2 }, () => hub.seal(Uint8Array.of(1), T0));
    sensor.open(frames[WINDOW_SIZE + 1] as Uint8Array, T0); // counter 2017
    expect(codeOf(() => sensor.open(frames[0] as Uint8Array, T0))).toBe('replay'); // 2017 behind
    expect(sensor.open(frames[1] as Uint8Array, T0)).toEqual(Uint8Array.of(1)); // 2016 behind
    stillWorks(hub, sensor);
  });

  it('every truncation', () => {
    const { hub, sensor } = pair();
    const frame = hub.seal(random(32), T0);
    for (let n = 0; n < frame.length; n++) {
      expect(codeOf(() => sensor.open(frame.subarray(0, n), T0))).toBe('auth-failed');
    }
    expect(sensor.received).toBe(0);
    expect(sensor.open(frame, T0).length).toBe(32);
  });

  it('a bit flipped at every byte position (kind, counter, ciphertext, tag)', () => {
    const { hub, sensor } = pair({ initialSendCounter: 5 });
    const frame = hub.seal(random(32), T0);
    for (let i = 0; i < frame.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = frame.slice();
        bad[i] = (bad[i] as number) ^ bit;
        const code = codeOf(() => sensor.open(bad, T0));
        // High counter bytes push the counter past the limit (`limit`); everything else fails
        // authentication.
        expect(['auth-failed', 'limit']).toContain(code);
      }
    }
    // Nothing moved: no counter was recorded, and the genuine frame still opens.
    expect(sensor.received).toBe(0);
    expect(sensor.open(frame, T0).length).toBe(32);
    stillWorks(hub, sensor);
  });

  it('a forged frame with a high counter does not advance the window', () => {
    const { hub, sensor } = pair();
    const frame0 = hub.seal(Uint8Array.of(0), T0);
    const forged = hub.seal(Uint8Array.of(1), T0);
    forged[8] = 0xff; // counter 255, tag no longer valid
    forged[7] = 0x0f; // counter 0x0fff: far ahead
    expect(codeOf(() => sensor.open(forged, T0))).toBe('auth-failed');
    expect(sensor.open(frame0, T0)).toEqual(Uint8Array.of(0));
  });

  it("a reflected frame (a side's own frame fed back to it) fails: it is the other direction's key", () => {
    const { hub, sensor } = pair();
    const own = hub.seal(random(16), T0);
    expect(codeOf(() => hub.open(own, T0))).toBe('auth-failed');
    const sensorOwn = sensor.seal(random(16), T0);
    expect(codeOf(() => sensor.open(sensorOwn, T0))).toBe('auth-failed');
    expect(sensor.open(own, T0).length).toBe(16);
    stillWorks(hub, sensor);
  });

  it('a frame of another kind, or longer than MAX_MESSAGE', () => {
    const { hub, sensor } = pair();
    const frame = hub.seal(random(16), T0);
    const otherKind = frame.slice();
    otherKind[0] = 0x04;
    expect(codeOf(() => sensor.open(otherKind, T0))).toBe('auth-failed');
    expect(codeOf(() => sensor.open(new Uint8Array(MAX_MESSAGE + 1).fill(0x10, 0, 1), T0))).toBe('limit');
    expect(sensor.open(frame, T0).length).toBe(16);
  });

  it('a frame from another session (other keys) fails', () => {
    const a = pair();
    const b = pair();
    expect(codeOf(() => b.sensor.open(a.hub.seal(random(8), T0), T0))).toBe('auth-failed');
    stillWorks(b.hub, b.sensor);
  });

  it('property: arbitrary bytes never throw anything but ProtocolError and change nothing', () => {
    const { hub, sensor } = pair();
    const valid = hub.seal(Uint8Array.of(9), T0);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
            const bad = valid.slice();
            bad[i] = (bad[i] as number) ^ x;
            return bad;
          }),
        ),
        (bytes) => {
          try {
            sensor.open(bytes, T0);
            throw new Error('a forged frame opened');
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
          expect(sensor.received).toBe(0);
        },
      ),
      { numRuns: 1000 },
    );
    expect(sensor.open(valid, T0)).toEqual(Uint8Array.of(9));
  });
});

describe('limits (§7.3)', () => {
  it('sends counters up to REJECT_AFTER_MESSAGES − 1, then refuses (session-expired)', () => {
    const { hub, sensor } = pair({ initialSendCounter: REJECT_AFTER_MESSAGES - 2 });
    expect(hub.isExpired(T0)).toBe(false);
    const a = hub.seal(Uint8Array.of(1), T0);
    const b = hub.seal(Uint8Array.of(2), T0);
    expect(hub.sent).toBe(REJECT_AFTER_MESSAGES);
    expect(hub.isExpired(T0)).toBe(true);
    expect(codeOf(() => hub.seal(Uint8Array.of(3), T0))).toBe('session-expired');
    // The peer accepts the last legal counter.
    expect(sensor.open(a, T0)).toEqual(Uint8Array.of(1));
    expect(sensor.open(b, T0)).toEqual(Uint8Array.of(2));
  });

  it('refuses a correctly authenticated frame whose counter is REJECT_AFTER_MESSAGES or more (limit)', () => {
    const { sensor, k1 } = pair();
    for (const counter of [BigInt(REJECT_AFTER_MESSAGES), 2n ** 32n, 2n ** 64n - 1n]) {
      const header = new Uint8Array(9);
      header[0] = 0x10;
      new DataView(header.buffer).setBigUint64(1, counter);
      const ct = aeadSeal(k1, noiseNonce(counter), Uint8Array.of(7), header);
      const frame = new Uint8Array(9 + ct.length);
      frame.set(header);
      frame.set(ct, 9);
      expect(codeOf(() => sensor.open(frame, T0))).toBe('limit');
    }
    expect(sensor.received).toBe(0);
  });

  it('needsRekey after REKEY_AFTER_MESSAGES sent', () => {
    const { hub } = pair({ initialSendCounter: REKEY_AFTER_MESSAGES - 1 });
    expect(hub.needsRekey(T0)).toBe(false);
    hub.seal(new Uint8Array(0), T0);
    expect(hub.needsRekey(T0)).toBe(true);
    expect(hub.isExpired(T0)).toBe(false);
  });

  it('needsRekey once the peer has sent REKEY_AFTER_MESSAGES (the hub rekeys for the sensor)', () => {
    const { hub, sensor } = pair({ initialSendCounter: REKEY_AFTER_MESSAGES - 2 });
    hub.open(sensor.seal(Uint8Array.of(1), T0), T0);
    expect(hub.needsRekey(T0)).toBe(false);
    hub.open(sensor.seal(Uint8Array.of(1), T0), T0);
    expect(hub.received).toBe(REKEY_AFTER_MESSAGES);
    expect(hub.needsRekey(T0)).toBe(true);
  });

  it('needsRekey and isExpired by age', () => {
    const { hub, sensor } = pair();
    expect(hub.needsRekey(T0 + REKEY_AFTER_MS - 1)).toBe(false);
    expect(hub.needsRekey(T0 + REKEY_AFTER_MS)).toBe(true);
    expect(hub.isExpired(T0 + REKEY_AFTER_MS)).toBe(false);
    // Between rekey and reject the session still works.
    stillWorks(hub, sensor, T0 + REJECT_AFTER_MS - 1);
    expect(hub.isExpired(T0 + REJECT_AFTER_MS - 1)).toBe(false);
    expect(hub.isExpired(T0 + REJECT_AFTER_MS)).toBe(true);
    const frame = hub.seal(Uint8Array.of(1), T0 + REJECT_AFTER_MS - 1);
    expect(codeOf(() => sensor.open(frame, T0 + REJECT_AFTER_MS))).toBe('session-expired');
    expect(codeOf(() => hub.seal(Uint8Array.of(1), T0 + REJECT_AFTER_MS))).toBe('session-expired');
    // Same time, still valid: the refused open changed nothing.
    expect(sensor.open(frame, T0 + REJECT_AFTER_MS - 1)).toEqual(Uint8Array.of(1));
  });

  it('destroy wipes the keys and ends the session', () => {
    const { hub, sensor } = pair();
    const frame = sensor.seal(Uint8Array.of(1), T0);
    hub.destroy();
    const keys = hub as unknown as { sendKey: Uint8Array; receiveKey: Uint8Array };
    expect(keys.sendKey.every((b) => b === 0)).toBe(true);
    expect(keys.receiveKey.every((b) => b === 0)).toBe(true);
    expect(hub.isExpired(T0)).toBe(true);
    expect(codeOf(() => hub.seal(Uint8Array.of(1), T0))).toBe('session-expired');
    expect(codeOf(() => hub.open(frame, T0))).toBe('session-expired');
    hub.destroy(); // idempotent
  });
});
