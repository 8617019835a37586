/**
 * State machine and negative tests of the Noise handshakes (docs/protocol.md §4 XXpsk3, §5 KK):
 * whatever an attacker changes in a handshake message must be rejected with the one generic
 * error and end the handshake; caller mistakes must be refused with bad-state.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, isAllZero, toHex, utf8 } from '../../src/core/bytes.js';
import { ProtocolError } from '../../src/core/errors.js';
import { CipherState, MAX_NONCE } from '../../src/core/noise/cipher-state.js';
import { createHandshake, MAX_NOISE_MESSAGE } from '../../src/core/noise/handshake.js';
import type { Handshake, NoisePattern } from '../../src/core/noise/handshake.js';
import { noiseHkdf } from '../../src/core/noise/symmetric-state.js';
import { hkdfSha256, sha256, x25519KeyPair } from '../../src/core/primitives.js';
import type { KeyPair, Random } from '../../src/core/primitives.js';

/** Deterministic generator that remembers every buffer it handed out (to check wiping). */
function seededRandom(label: string): Random & { outputs: Uint8Array[] } {
  let counter = 0;
  const outputs: Uint8Array[] = [];
  const random = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 32) {
      out.set(sha256(utf8(`${label}/${counter++}`)).subarray(0, Math.min(32, n - i)), i);
    }
    outputs.push(out);
    return out;
  };
  return Object.assign(random, { outputs });
}

const hub = x25519KeyPair(seededRandom('hub static'));
const sensor = x25519KeyPair(seededRandom('sensor static'));
const stranger = x25519KeyPair(seededRandom('stranger static'));
const PSK = sha256(utf8('psk'));
const OTHER_PSK = sha256(utf8('other psk'));
const PROLOGUE = utf8('VITALOCK-test');
const PAYLOAD = utf8('hello');

interface PeerOptions {
  initiatorPsk?: Uint8Array;
  responderPsk?: Uint8Array;
  initiatorS?: KeyPair;
  initiatorRs?: Uint8Array;
  responderRs?: Uint8Array;
  initiatorSeed?: string;
}

interface Peers {
  initiator: Handshake;
  responder: Handshake;
  initiatorRandom: ReturnType<typeof seededRandom>;
  responderRandom: ReturnType<typeof seededRandom>;
}

function peers(pattern: NoisePattern, o: PeerOptions = {}): Peers {
  const initiatorRandom = seededRandom(o.initiatorSeed ?? 'initiator e');
  const responderRandom = seededRandom('responder e');
  const kk = pattern === 'KK';
  const initiator = createHandshake({
    pattern,
    initiator: true,
    prologue: PROLOGUE,
    s: o.initiatorS ?? hub,
    rs: kk ? (o.initiatorRs ?? sensor.publicKey) : undefined,
    psk: kk ? undefined : (o.initiatorPsk ?? PSK),
    random: initiatorRandom,
  });
  const responder = createHandshake({
    pattern,
    initiator: false,
    prologue: PROLOGUE,
    s: sensor,
    rs: kk ? (o.responderRs ?? hub.publicKey) : undefined,
    psk: kk ? undefined : (o.responderPsk ?? PSK),
    random: responderRandom,
  });
  return { initiator, responder, initiatorRandom, responderRandom };
}

const LENGTH: Record<NoisePattern, number> = { XXpsk3: 3, KK: 2 };

function ends(p: Peers, i: number): [Handshake, Handshake] {
  return i % 2 === 0 ? [p.initiator, p.responder] : [p.responder, p.initiator];
}

/** Runs messages 0..count-1 of the handshake normally. */
function runUpTo(p: Peers, count: number): void {
  for (let i = 0; i < count; i++) {
    const [sender, receiver] = ends(p, i);
    expect(toHex(receiver.readMessage(sender.writeMessage(PAYLOAD)))).toBe(toHex(PAYLOAD));
  }
}

function expectProtocolError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).code).toBe(code);
}

const PATTERNS: NoisePattern[] = ['XXpsk3', 'KK'];

describe('CipherState', () => {
  const key = sha256(utf8('k'));
  const ad = utf8('ad');

  it('round-trips and advances the nonce on both sides', () => {
    const a = new CipherState(key);
    const b = new CipherState(key);
    for (let i = 0; i < 3; i++) {
      expect(toHex(b.decryptWithAd(ad, a.encryptWithAd(ad, PAYLOAD)))).toBe(toHex(PAYLOAD));
    }
    expect(a.nonce).toBe(3n);
    expect(b.nonce).toBe(3n);
  });

  it('does not advance the nonce when decryption fails', () => {
    const a = new CipherState(key);
    const b = new CipherState(key);
    const ct = a.encryptWithAd(ad, PAYLOAD);
    const forged = ct.slice();
    forged[0] = (forged[0] as number) ^ 1;
    expectProtocolError(() => b.decryptWithAd(ad, forged), 'auth-failed');
    expectProtocolError(() => b.decryptWithAd(utf8('other ad'), ct), 'auth-failed');
    expect(b.nonce).toBe(0n);
    expect(toHex(b.decryptWithAd(ad, ct))).toBe(toHex(PAYLOAD));
  });

  it('refuses the reserved nonce 2^64-1', () => {
    const a = new CipherState(key);
    const b = new CipherState(key);
    a.setNonce(MAX_NONCE - 1n);
    b.setNonce(MAX_NONCE - 1n);
    expect(toHex(b.decryptWithAd(ad, a.encryptWithAd(ad, PAYLOAD)))).toBe(toHex(PAYLOAD));
    expect(a.nonce).toBe(MAX_NONCE);
    expectProtocolError(() => a.encryptWithAd(ad, PAYLOAD), 'session-expired');
    expectProtocolError(() => b.decryptWithAd(ad, new Uint8Array(32)), 'session-expired');
    expect(() => a.setNonce(MAX_NONCE + 1n)).toThrow(RangeError);
  });

  it('rekeys both sides to the same new key', () => {
    const a = new CipherState(key);
    const b = new CipherState(key);
    const before = a.key;
    a.rekey();
    b.rekey();
    expect(equalBytes(a.key, before)).toBe(false);
    expect(toHex(a.key)).toBe(toHex(b.key));
    expect(toHex(b.decryptWithAd(ad, a.encryptWithAd(ad, PAYLOAD)))).toBe(toHex(PAYLOAD));
  });

  it('passes data through without a key, and exposes only a copy of the key', () => {
    const empty = new CipherState();
    expect(empty.hasKey()).toBe(false);
    expect(toHex(empty.encryptWithAd(ad, PAYLOAD))).toBe(toHex(PAYLOAD));
    expectProtocolError(() => empty.key, 'bad-state');
    const c = new CipherState(key);
    c.key.fill(0);
    expect(toHex(c.key)).toBe(toHex(key));
  });
});

describe('Noise HKDF (§4.3)', () => {
  it('equals RFC 5869 HKDF with salt = ck and empty info', () => {
    const ck = sha256(utf8('ck'));
    const ikm = sha256(utf8('ikm'));
    const rfc = hkdfSha256(ikm, ck, new Uint8Array(0), 96);
    expect(toHex(concatBytes(...noiseHkdf(ck, ikm, 3)))).toBe(toHex(rfc));
    expect(toHex(concatBytes(...noiseHkdf(ck, ikm, 2)))).toBe(toHex(rfc.subarray(0, 64)));
    expect(toHex(concatBytes(...noiseHkdf(ck, new Uint8Array(0), 2)))).toBe(
      toHex(hkdfSha256(new Uint8Array(0), ck, new Uint8Array(0), 64)),
    );
  });
});

describe('Noise handshakes: success', () => {
  it('XXpsk3 with the psk set late, as in pairing (§4.3)', () => {
    const i = createHandshake({ pattern: 'XXpsk3', initiator: true, prologue: PROLOGUE, s: hub, random: seededRandom('a') });
    const r = createHandshake({ pattern: 'XXpsk3', initiator: false, prologue: PROLOGUE, s: sensor, random: seededRandom('b') });
    expect(i.status).toBe('write-1');
    expect(r.status).toBe('read-1');
    expect(r.readMessage(i.writeMessage())).toHaveLength(0);
    r.setPsk(PSK);
    const certificate = utf8('certificate');
    expect(toHex(i.readMessage(r.writeMessage(certificate)))).toBe(toHex(certificate));
    expect(toHex(i.remoteStatic ?? new Uint8Array(0))).toBe(toHex(sensor.publicKey));
    expect(r.remoteStatic).toBeUndefined();
    i.setPsk(PSK);
    expect(toHex(r.readMessage(i.writeMessage(PAYLOAD)))).toBe(toHex(PAYLOAD));
    expect(toHex(r.remoteStatic ?? new Uint8Array(0))).toBe(toHex(hub.publicKey));
    expect(i.isComplete && r.isComplete).toBe(true);
    expect(toHex(i.handshakeHash)).toBe(toHex(r.handshakeHash));

    const ic = i.split();
    const rc = r.split();
    expect(i.status).toBe('split');
    const ad = new Uint8Array(0);
    expect(toHex(rc.receive.decryptWithAd(ad, ic.send.encryptWithAd(ad, PAYLOAD)))).toBe(toHex(PAYLOAD));
    expect(toHex(ic.receive.decryptWithAd(ad, rc.send.encryptWithAd(ad, PAYLOAD)))).toBe(toHex(PAYLOAD));
    expect(equalBytes(ic.send.key, ic.receive.key)).toBe(false);
  });

  it('message lengths match docs/protocol.md (empty payloads)', () => {
    const xx = peers('XXpsk3');
    const xxLengths = [0, 1, 2].map((n) => {
      const [sender, receiver] = ends(xx, n);
      const m = sender.writeMessage();
      receiver.readMessage(m);
      return m.length;
    });
    // psk mode mixes e into the key, so message 1 already carries a 16-byte tag.
    expect(xxLengths).toEqual([48, 96, 64]);
    const kk = peers('KK');
    const kkLengths = [0, 1].map((n) => {
      const [sender, receiver] = ends(kk, n);
      const m = sender.writeMessage();
      receiver.readMessage(m);
      return m.length;
    });
    expect(kkLengths).toEqual([48, 48]);
  });

  it('KK: the sensor finds the calling hub by trying each bond (§5)', () => {
    const p = peers('KK');
    const kk1 = p.initiator.writeMessage();
    const bonds = [stranger.publicKey, hub.publicKey];
    let found: { index: number; hs: Handshake } | undefined;
    bonds.forEach((rs, index) => {
      if (found) return;
      const hs = createHandshake({ pattern: 'KK', initiator: false, prologue: PROLOGUE, s: sensor, rs, random: seededRandom('r') });
      try {
        hs.readMessage(kk1);
        found = { index, hs };
      } catch (err) {
        expect((err as ProtocolError).code).toBe('auth-failed');
        expect(hs.status).toBe('failed');
      }
    });
    expect(found?.index).toBe(1);
    p.initiator.readMessage(found?.hs.writeMessage() ?? new Uint8Array(0));
    expect(toHex(p.initiator.handshakeHash)).toBe(toHex(found?.hs.handshakeHash ?? new Uint8Array(0)));
  });
});

describe('Noise handshakes: state', () => {
  for (const pattern of PATTERNS) {
    it(`${pattern}: writing on the peer's turn throws bad-state and changes nothing`, () => {
      const p = peers(pattern);
      expectProtocolError(() => p.responder.writeMessage(PAYLOAD), 'bad-state');
      expect(p.responder.status).toBe('read-1');
      const m1 = p.initiator.writeMessage(PAYLOAD);
      expectProtocolError(() => p.initiator.writeMessage(PAYLOAD), 'bad-state');
      expect(p.initiator.status).toBe('read-2');
      p.responder.readMessage(m1);
      // The handshake still completes after the refused calls.
      for (let i = 1; i < LENGTH[pattern]; i++) {
        const [sender, receiver] = ends(p, i);
        receiver.readMessage(sender.writeMessage(PAYLOAD));
      }
      expect(p.initiator.isComplete && p.responder.isComplete).toBe(true);
    });

    it(`${pattern}: reading on its own turn throws bad-state and fails the handshake`, () => {
      const p = peers(pattern);
      expectProtocolError(() => p.initiator.readMessage(new Uint8Array(48)), 'bad-state');
      expect(p.initiator.status).toBe('failed');
      expectProtocolError(() => p.initiator.writeMessage(PAYLOAD), 'bad-state');
    });

    it(`${pattern}: split and handshakeHash before completion, and split twice, throw bad-state`, () => {
      const p = peers(pattern);
      expectProtocolError(() => p.initiator.split(), 'bad-state');
      expectProtocolError(() => p.initiator.handshakeHash, 'bad-state');
      runUpTo(p, LENGTH[pattern] - 1);
      expectProtocolError(() => p.initiator.split(), 'bad-state');
      expectProtocolError(() => p.responder.split(), 'bad-state');
      const [sender, receiver] = ends(p, LENGTH[pattern] - 1);
      receiver.readMessage(sender.writeMessage(PAYLOAD));
      p.initiator.split();
      expectProtocolError(() => p.initiator.split(), 'bad-state');
      expect(p.initiator.handshakeHash).toHaveLength(32);
      expectProtocolError(() => p.initiator.writeMessage(PAYLOAD), 'bad-state');
      expectProtocolError(() => p.responder.readMessage(new Uint8Array(64)), 'bad-state');
      expect(p.responder.status).toBe('complete');
    });

    it(`${pattern}: ephemeral secret and ck wiped after split, caller's static key untouched`, () => {
      const p = peers(pattern);
      const staticBefore = toHex(hub.secretKey);
      runUpTo(p, LENGTH[pattern]);
      p.initiator.split();
      p.responder.split();
      for (const r of [p.initiatorRandom, p.responderRandom]) {
        expect(r.outputs).toHaveLength(1);
        expect(isAllZero(r.outputs[0] as Uint8Array)).toBe(true);
      }
      expect(toHex(hub.secretKey)).toBe(staticBefore);
    });

    it(`${pattern}: ephemeral secret wiped after a failure`, () => {
      const p = peers(pattern);
      const m1 = p.initiator.writeMessage(PAYLOAD);
      m1[m1.length - 1] = (m1[m1.length - 1] as number) ^ 1;
      expectProtocolError(() => p.responder.readMessage(m1), 'auth-failed');
      p.initiator.destroy();
      expect(p.initiator.status).toBe('failed');
      expect(isAllZero(p.initiatorRandom.outputs[0] as Uint8Array)).toBe(true);
    });

    it(`${pattern}: a payload over the Noise limit is refused with limit and changes nothing`, () => {
      const p = peers(pattern);
      expectProtocolError(() => p.initiator.writeMessage(new Uint8Array(MAX_NOISE_MESSAGE)), 'limit');
      expect(p.initiator.status).toBe('write-1');
      expect(p.initiatorRandom.outputs).toHaveLength(0);
      runUpTo(p, LENGTH[pattern]);
    });
  }

  it('XXpsk3: writing message 3 without a psk throws bad-state and can then continue', () => {
    const i = createHandshake({ pattern: 'XXpsk3', initiator: true, prologue: PROLOGUE, s: hub, random: seededRandom('a') });
    const r = createHandshake({ pattern: 'XXpsk3', initiator: false, prologue: PROLOGUE, s: sensor, psk: PSK, random: seededRandom('b') });
    r.readMessage(i.writeMessage());
    i.readMessage(r.writeMessage());
    expectProtocolError(() => i.writeMessage(), 'bad-state');
    expect(i.status).toBe('write-3');
    i.setPsk(PSK);
    r.readMessage(i.writeMessage());
    expect(toHex(i.handshakeHash)).toBe(toHex(r.handshakeHash));
  });

  it('XXpsk3: reading message 3 without a psk throws bad-state and fails the handshake', () => {
    const i = createHandshake({ pattern: 'XXpsk3', initiator: true, prologue: PROLOGUE, s: hub, psk: PSK, random: seededRandom('a') });
    const r = createHandshake({ pattern: 'XXpsk3', initiator: false, prologue: PROLOGUE, s: sensor, random: seededRandom('b') });
    r.readMessage(i.writeMessage());
    i.readMessage(r.writeMessage());
    const m3 = i.writeMessage();
    expectProtocolError(() => r.readMessage(m3), 'bad-state');
    expect(r.status).toBe('failed');
    expectProtocolError(() => r.setPsk(PSK), 'bad-state');
  });

  it('setPsk and option checks', () => {
    const kk = peers('KK');
    expectProtocolError(() => kk.initiator.setPsk(PSK), 'bad-state');
    const xx = peers('XXpsk3');
    expectProtocolError(() => xx.initiator.setPsk(PSK), 'bad-state'); // already set at creation
    runUpTo(xx, 3);
    expectProtocolError(() => xx.responder.setPsk(PSK), 'bad-state');
    const late = createHandshake({ pattern: 'XXpsk3', initiator: true, prologue: PROLOGUE, s: hub, random: seededRandom('a') });
    expect(() => late.setPsk(new Uint8Array(31))).toThrow(RangeError);
    const base = { initiator: true, prologue: PROLOGUE, s: hub, random: seededRandom('a') };
    expect(() => createHandshake({ ...base, pattern: 'KK' })).toThrow(RangeError);
    expect(() => createHandshake({ ...base, pattern: 'KK', rs: sensor.publicKey, psk: PSK })).toThrow(RangeError);
    expect(() => createHandshake({ ...base, pattern: 'XXpsk3', rs: sensor.publicKey })).toThrow(RangeError);
  });
});

describe('Noise handshakes: attacks', () => {
  for (const pattern of PATTERNS) {
    for (let index = 0; index < LENGTH[pattern]; index++) {
      it(`${pattern}: message ${index + 1} of a wrong length is rejected`, () => {
        const reference = peers(pattern);
        runUpTo(reference, index);
        const good = ends(reference, index)[0].writeMessage(new Uint8Array(0));
        const variants = [
          new Uint8Array(0),
          good.subarray(0, good.length - 1),
          good.subarray(0, 32),
          concatBytes(good, new Uint8Array(1)),
          concatBytes(good, new Uint8Array(MAX_NOISE_MESSAGE + 1 - good.length)),
        ];
        for (const bad of variants) {
          const p = peers(pattern);
          runUpTo(p, index);
          const [sender, receiver] = ends(p, index);
          expect(toHex(sender.writeMessage(new Uint8Array(0)))).toBe(toHex(good));
          expectProtocolError(() => receiver.readMessage(bad), 'auth-failed');
          expect(receiver.status).toBe('failed');
          expect(receiver.remoteStatic).toBeUndefined();
          // No retry on the same state, even with the genuine message.
          expectProtocolError(() => receiver.readMessage(good), 'bad-state');
        }
      });

      it(`${pattern}: a bit flipped anywhere in message ${index + 1} is rejected and fails the handshake`, () => {
        const reference = peers(pattern);
        runUpTo(reference, index);
        const good = ends(reference, index)[0].writeMessage(PAYLOAD);
        for (let pos = 0; pos < good.length; pos++) {
          const p = peers(pattern);
          runUpTo(p, index);
          const [sender, receiver] = ends(p, index);
          const message = sender.writeMessage(PAYLOAD);
          // pos % 8 walks every bit position, and at byte 31 flips bit 255 of the ephemeral
          // key, which X25519 ignores: only the transcript hash catches that one.
          message[pos] = (message[pos] as number) ^ (1 << (pos % 8));
          expectProtocolError(() => receiver.readMessage(message), 'auth-failed');
          expect(receiver.status).toBe('failed');
          expectProtocolError(() => receiver.readMessage(good), 'bad-state');
        }
      });
    }

    it(`${pattern}: message 2 replayed to a different initiator fails`, () => {
      const a = peers(pattern);
      const b = peers(pattern, { initiatorSeed: 'another initiator e' });
      a.responder.readMessage(a.initiator.writeMessage(PAYLOAD));
      b.initiator.writeMessage(PAYLOAD);
      const m2 = a.responder.writeMessage(PAYLOAD);
      expectProtocolError(() => b.initiator.readMessage(m2), 'auth-failed');
      expect(b.initiator.status).toBe('failed');
      expect(toHex(a.initiator.readMessage(m2))).toBe(toHex(PAYLOAD));
    });

    it(`${pattern}: a low-order remote ephemeral is refused`, () => {
      // The attacker writes a well-formed message 1 whose `e` is the all-zero point (the fixed-e
      // option lets the test do what an attacker's own Noise code would).
      const attacker = createHandshake({
        pattern,
        initiator: true,
        prologue: PROLOGUE,
        s: hub,
        rs: pattern === 'KK' ? sensor.publicKey : undefined,
        psk: pattern === 'KK' ? undefined : PSK,
        random: seededRandom('unused'),
        e: { publicKey: new Uint8Array(32), secretKey: sha256(utf8('attacker e')) },
      });
      const m1 = attacker.writeMessage(PAYLOAD);
      const p = peers(pattern);
      if (pattern === 'KK') {
        // es runs while reading message 1.
        expectProtocolError(() => p.responder.readMessage(m1), 'auth-failed');
      } else {
        // XXpsk3 message 1 has no DH (its tag only binds e), so ee catches it when writing message 2.
        expect(toHex(p.responder.readMessage(m1))).toBe(toHex(PAYLOAD));
        expectProtocolError(() => p.responder.writeMessage(PAYLOAD), 'auth-failed');
      }
      expect(p.responder.status).toBe('failed');
    });
  }

  it('XXpsk3: different psks fail at message 3 on the responder', () => {
    const p = peers('XXpsk3', { responderPsk: OTHER_PSK });
    runUpTo(p, 2);
    const m3 = p.initiator.writeMessage(PAYLOAD);
    expect(p.initiator.isComplete).toBe(true);
    expectProtocolError(() => p.responder.readMessage(m3), 'auth-failed');
    expect(p.responder.status).toBe('failed');
    expect(p.responder.remoteStatic).toBeUndefined();
  });

  it('KK: an initiator with the wrong responder static key fails at message 1', () => {
    const p = peers('KK', { initiatorRs: stranger.publicKey });
    const m1 = p.initiator.writeMessage(PAYLOAD);
    expectProtocolError(() => p.responder.readMessage(m1), 'auth-failed');
    expect(p.responder.status).toBe('failed');
  });

  it("KK: an initiator whose static key is not the responder's rs fails at message 1", () => {
    const p = peers('KK', { initiatorS: stranger });
    const m1 = p.initiator.writeMessage(PAYLOAD);
    expectProtocolError(() => p.responder.readMessage(m1), 'auth-failed');
    expect(p.responder.status).toBe('failed');
  });
});
