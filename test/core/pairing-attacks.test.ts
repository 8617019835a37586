/**
 * Attacks on pairing and reconnection (docs/threat-model.md): brute force, offline dictionary,
 * passive recording, forged devices, impostor hubs and parallel sessions.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, utf8 } from '../../src/core/bytes.js';
import { deviceIdHex, issueCertificate } from '../../src/core/certificate.js';
import { cpaceStart, pairingChannelIdentifier } from '../../src/core/cpace.js';
import { MessageKind } from '../../src/core/framing.js';
import { HubChannel, type HubEvent } from '../../src/core/hub-channel.js';
import { createHandshake } from '../../src/core/noise/handshake.js';
import { SID_LEN } from '../../src/core/pairing.js';
import { aeadOpen, aeadSeal, hkdfSha256, noiseNonce, sha256, x25519KeyPair, type KeyPair } from '../../src/core/primitives.js';
import { MDC } from '../../src/core/readings.js';
import { FAIL_MESSAGE, SensorChannel, type SensorEvent, type SensorPolicy } from '../../src/core/sensor-channel.js';
import { issueRevocationList, type TrustStore } from '../../src/core/trust-store.js';
import { FIRST_LOCKOUT_MS, FREE_ATTEMPTS } from '../../sensor/pairing-policy.js';
import { manufactureDevice, createManufacturerCa, type DeviceIdentity } from '../../sensor/identity.js';
import type { Measurement } from '../../sensor/record-store.js';
import { deterministicRandom } from '../support/deterministic-random.js';
import { manufacturedSensor, pairInWorld } from '../support/fixtures.js';
import { makeWorld, type World } from '../support/world.js';
import { TestHub } from '../support/test-hub.js';

const NOW = Date.UTC(2026, 10, 28, 8, 0, 0);

/** A wire recorder between a HubChannel and a SensorChannel, run to completion by hand. */
function shuttle(hub: HubChannel, sensor: SensorChannel, first: HubEvent[], nowMs = NOW) {
  const wire: { from: 'hub' | 'sensor'; bytes: Uint8Array }[] = [];
  const hubEvents: HubEvent[] = [];
  const sensorEvents: SensorEvent[] = [];
  let toSensor = first;
  for (let round = 0; round < 10 && toSensor.length > 0; round++) {
    const toHub: Uint8Array[] = [];
    for (const e of toSensor) {
      hubEvents.push(e);
      if (e.type !== 'send') continue;
      wire.push({ from: 'hub', bytes: e.message });
      for (const se of sensor.receive(e.message, nowMs)) {
        sensorEvents.push(se);
        if (se.type === 'send') toHub.push(se.message);
        if (se.type === 'open') toHub.push(sensor.send({ type: 'status-req' }, nowMs)!);
      }
    }
    toSensor = [];
    for (const m of toHub) {
      wire.push({ from: 'sensor', bytes: m });
      toSensor.push(...hub.receive(m, nowMs));
    }
  }
  for (const e of toSensor) hubEvents.push(e);
  return { wire, hubEvents, sensorEvents };
}

interface Bench {
  readonly identity: DeviceIdentity;
  readonly trustStore: TrustStore;
  readonly hubKey: KeyPair;
  readonly random: ReturnType<typeof deterministicRandom>;
}

/** A sensor, its trust store and one hub key from `seed`; hub and sensor go on drawing from the same `random`. */
function bench(seed: string): Bench {
  const random = deterministicRandom(seed);
  const { identity, trustStore } = manufacturedSensor(random, NOW);
  return { identity, trustStore, hubKey: x25519KeyPair(random), random };
}

function policyAllowing(prs: Uint8Array | undefined, log: string[] = []): SensorPolicy {
  return {
    beginPairingAttempt: () => prs,
    pairingAttemptFailed: () => log.push('failed'),
    paired: () => log.push('paired'),
    bondedHubKeys: () => [],
    reconnected: () => log.push('reconnected'),
  };
}

function channels(b: Bench, sensorPrs: Uint8Array | undefined, log: string[] = []) {
  const hub = new HubChannel({ identity: b.hubKey, trustStore: b.trustStore, random: b.random, hubLabel: 'Ward 3 tablet' });
  const sensor = new SensorChannel({
    identity: b.identity.staticKey,
    certificate: b.identity.certificate,
    random: b.random,
    policy: policyAllowing(sensorPrs, log),
  });
  return { hub, sensor };
}

const prs = (code: string) => utf8(code);

describe('a failed pairing looks the same whatever went wrong (§4.6)', () => {
  it('wrong code, refused attempt (window closed, locked out, busy) and right code differ only where the keys do', () => {
    const b = bench('sameness');
    const right = b.identity.passcode;
    const wrong = right === '24681357' ? '13572468' : '24681357';
    const cases = {
      wrongCode: { hubCode: wrong, sensorPrs: prs(right) },
      refused: { hubCode: right, sensorPrs: undefined },
    };
    const outcomes = Object.entries(cases).map(([name, c]) => {
      const log: string[] = [];
      const { hub, sensor } = channels(b, c.sensorPrs, log);
      const run = shuttle(hub, sensor, hub.pair(prs(c.hubCode), NOW));
      return { name, run, log };
    });
    for (const { run, log } of outcomes) {
      // Same message sequence and sizes on the wire: PAIR_1, PAIR_2, PAIR_3, FAIL.
      expect(run.wire.map((m) => [m.from, m.bytes[0], m.bytes.length])).toEqual([
        ['hub', MessageKind.Pair1, 97],
        ['sensor', MessageKind.Pair2, outcomes[0]!.run.wire[1]!.bytes.length],
        ['hub', MessageKind.Pair3, outcomes[0]!.run.wire[2]!.bytes.length],
        ['sensor', MessageKind.Fail, 1],
      ]);
      expect(equalBytes(run.wire[3]!.bytes, FAIL_MESSAGE)).toBe(true);
      // The hub learns one thing only: pairing failed.
      expect(run.hubEvents.filter((e) => e.type === 'failed')).toEqual([{ type: 'failed', failure: { kind: 'pairing-failed' } }]);
      expect(run.hubEvents.some((e) => e.type === 'bonded')).toBe(false);
      expect(log).not.toContain('paired');
    }
    // Only a real attempt counts towards the lockout; a refusal does not extend it.
    expect(outcomes.find((o) => o.name === 'wrongCode')!.log).toEqual(['failed']);
    expect(outcomes.find((o) => o.name === 'refused')!.log).toEqual([]);

    // And the right code with an allowing sensor succeeds over the same path.
    const log: string[] = [];
    const { hub, sensor } = channels(b, prs(right), log);
    const ok = shuttle(hub, sensor, hub.pair(prs(right), NOW));
    expect(ok.hubEvents.some((e) => e.type === 'bonded')).toBe(true);
    expect(log).toEqual(['paired']);
  });

  it('after the attempt limit the lockout grows, refuses even the right code, and ends', () => {
    const world = makeWorld({ seed: 'lockout' });
    const { sim, hub, device, identity } = world;
    device.policy.openWindow(sim.now());
    const wrong = identity.passcode === '24681357' ? '13572468' : '24681357';
    const attempt = (code: string): 'bonded' | 'failed' => {
      world.connect();
      const before = hub.failures.length;
      hub.pair(code);
      sim.run(sim.now() + 3_000, () => hub.isOpen || hub.failures.length > before);
      return hub.isOpen ? 'bonded' : 'failed';
    };
    // Keep the window open throughout: the lockout, not the window, is under test.
    const reopen = () => device.policy.openWindow(sim.now());
    const lockouts: number[] = [];
    device.onEvent((e) => {
      if (e.type === 'pairing-failed' && e.lockedUntilMs > 0) lockouts.push(e.lockedUntilMs - sim.now());
    });
    for (let i = 0; i < FREE_ATTEMPTS; i++) {
      reopen();
      expect(attempt(wrong)).toBe('failed');
    }
    // Each lockout as the sensor set it, measured from the failure that caused it.
    expect(lockouts).toEqual([FIRST_LOCKOUT_MS]);
    // The right code is refused during the lockout, exactly as a wrong one, and does not extend it.
    reopen();
    expect(attempt(identity.passcode)).toBe('failed');
    expect(device.bonds.size).toBe(0);
    expect(lockouts).toEqual([FIRST_LOCKOUT_MS]);
    // After it, each further wrong code doubles the lockout.
    sim.advance(FIRST_LOCKOUT_MS);
    reopen();
    expect(attempt(wrong)).toBe('failed');
    sim.advance(lockouts[1]!);
    reopen();
    expect(attempt(wrong)).toBe('failed');
    expect(lockouts).toEqual([FIRST_LOCKOUT_MS, 2 * FIRST_LOCKOUT_MS, 4 * FIRST_LOCKOUT_MS]);
    // Once it has passed, the right code pairs and the count resets.
    sim.advance(lockouts[2]!);
    reopen();
    expect(attempt(identity.passcode)).toBe('bonded');
    expect(device.policy.failures).toBe(0);
  });

  it('pairing is refused outside the window (and the window closes after 120 s)', () => {
    const world = makeWorld({ seed: 'window' });
    const { sim, hub, device, identity } = world;
    device.policy.openWindow(sim.now());
    sim.advance(121_000);
    world.connect();
    hub.pair(identity.passcode);
    sim.run(sim.now() + 3_000, () => hub.isOpen || hub.failures.length > 0);
    expect(hub.failures).toEqual([{ kind: 'pairing-failed' }]);
    expect(device.bonds.size).toBe(0);
  });
});

describe('the passcode alone opens nothing', () => {
  it('a recorded pairing plus the right passcode, without the ephemeral secrets, opens no message', () => {
    const b = bench('passive');
    const { hub, sensor } = channels(b, prs(b.identity.passcode));
    const run = shuttle(hub, sensor, hub.pair(prs(b.identity.passcode), NOW));
    expect(run.hubEvents.some((e) => e.type === 'bonded')).toBe(true);
    // A reading, sealed by the sensor, recorded by the eavesdropper.
    const reading = sensor.send({ type: 'ack', upTo: 424242 }, NOW)!;
    const pair1 = run.wire[0]!.bytes;
    const pair2 = run.wire[1]!.bytes;
    const sid = pair1.subarray(1, 1 + SID_LEN);
    const ya = pair1.subarray(1 + SID_LEN, 1 + SID_LEN + 32);
    const yb = pair2.subarray(1, 33);

    // The eavesdropper's best use of the passcode: run CPace with it against the recorded shares,
    // in both roles, with scalars of its own, and try every key it can derive on every message.
    const candidatePsks: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) {
      const guess = cpaceStart({ prs: prs(b.identity.passcode), ci: pairingChannelIdentifier(), sid, ad: utf8('sensor'), random: b.random });
      candidatePsks.push(guess.finish(ya, utf8('hub'), 'responder').subarray(0, 32));
      const guessA = cpaceStart({ prs: prs(b.identity.passcode), ci: pairingChannelIdentifier(), sid, ad: utf8('hub'), random: b.random });
      candidatePsks.push(guessA.finish(yb, utf8('sensor'), 'initiator').subarray(0, 32));
    }
    candidatePsks.push(sha256(prs(b.identity.passcode)));
    const opens = (key: Uint8Array): boolean => {
      try {
        aeadOpen(key, noiseNonce(0n), reading.subarray(9), reading.subarray(0, 9));
        return true;
      } catch {
        return false;
      }
    };
    for (const psk of candidatePsks) {
      expect(opens(psk)).toBe(false);
      for (const info of ['', 'hub', 'sensor']) expect(opens(hkdfSha256(psk, sid, utf8(info), 32))).toBe(false);
    }
    // And nothing of the plaintext (the certificate, the hub label) appears in clear on the wire.
    const wireBytes = concatBytes(...run.wire.map((m) => m.bytes));
    expect(indexOf(wireBytes, b.identity.certificate.subarray(0, 40))).toBe(-1);
    expect(indexOf(wireBytes, utf8('Ward 3 tablet'))).toBe(-1);

    // The naive design — keys derived from the passcode — falls to the same eavesdropper.
    const naiveKey = hkdfSha256(sha256(prs(b.identity.passcode)), sid, utf8('sensor'), 32);
    const naiveFrame = new TextEncoder().encode('HR 72');
    const sealed = aeadSeal(naiveKey, noiseNonce(0n), naiveFrame, new Uint8Array(0));
    expect(aeadOpen(hkdfSha256(sha256(prs(b.identity.passcode)), sid, utf8('sensor'), 32), noiseNonce(0n), sealed, new Uint8Array(0))).toEqual(naiveFrame);
  });

  it('a fake sensor gets one guess per attempt: PAIR_3 cannot be tested offline against other codes (a passcode-derived PSK could)', () => {
    const b = bench('dictionary');
    const trueCode = b.identity.passcode;
    // Candidate codes the attacker will test offline, the true one among them.
    const candidates = [trueCode, ...Array.from({ length: 300 }, (_, i) => String(10_000_000 + i * 7919).padStart(8, '0'))];
    const attackerGuess = '31415926';
    // The attacker owns a genuine sensor (keys and certificate extracted from it).
    const attacker = b.identity;
    const e = x25519KeyPair(b.random);
    const ybScalar = b.random(32);

    /** Runs the hub against the attacker up to PAIR_3; returns what the attacker recorded. */
    const runAgainstHub = (psk: (sid: Uint8Array, ya: Uint8Array) => { share: Uint8Array; psk: Uint8Array }, hubSide: 'cpace' | 'naive') => {
      let pair1: Uint8Array;
      let hubHandshake: ReturnType<typeof createHandshake> | undefined;
      let hub: HubChannel | undefined;
      if (hubSide === 'cpace') {
        hub = new HubChannel({ identity: b.hubKey, trustStore: b.trustStore, random: b.random, hubLabel: 'hub' });
        pair1 = (hub.pair(prs(trueCode), NOW)[0] as { message: Uint8Array }).message;
      } else {
        const sid = b.random(SID_LEN);
        hubHandshake = createHandshake({ pattern: 'XXpsk3', initiator: true, prologue: concatBytes(utf8('VITALOCK-XXpsk3-1'), sid), s: b.hubKey, psk: sha256(prs(trueCode)), random: b.random });
        pair1 = concatBytes(Uint8Array.of(1), sid, new Uint8Array(32), hubHandshake.writeMessage());
      }
      const sid = pair1.subarray(1, 1 + SID_LEN);
      const ya = pair1.subarray(1 + SID_LEN, 1 + SID_LEN + 32);
      const noise1 = pair1.subarray(1 + SID_LEN + 32);
      const respond = (candidatePsk: Uint8Array | undefined) => {
        const hs = createHandshake({ pattern: 'XXpsk3', initiator: false, prologue: concatBytes(utf8('VITALOCK-XXpsk3-1'), sid), s: attacker.staticKey, e, random: b.random });
        hs.readMessage(noise1);
        if (candidatePsk) hs.setPsk(candidatePsk);
        return hs;
      };
      const { share, psk: attackerPsk } = psk(sid, ya);
      const hs = respond(attackerPsk);
      const noise2 = hs.writeMessage(attacker.certificate);
      let pair3: Uint8Array;
      if (hub) {
        const out = hub.receive(concatBytes(Uint8Array.of(MessageKind.Pair2), share, noise2), NOW);
        pair3 = (out.find((x) => x.type === 'send') as { message: Uint8Array }).message;
      } else {
        hubHandshake!.readMessage(noise2);
        pair3 = concatBytes(Uint8Array.of(MessageKind.Pair3), hubHandshake!.writeMessage(Uint8Array.of(0)));
      }
      /** Offline: does this candidate PSK open PAIR_3? */
      const opensPair3 = (candidatePsk: Uint8Array): boolean => {
        const trial = respond(candidatePsk);
        trial.writeMessage(attacker.certificate);
        try {
          trial.readMessage(pair3.subarray(1));
          return true;
        } catch {
          return false;
        }
      };
      return { sid, ya, share, opensPair3 };
    };

    // Against Vitalock (CPace): the attacker committed to one guess in Yb.
    const cpace = runAgainstHub(
      (sid, ya) => {
        const ex = cpaceStart({ prs: prs(attackerGuess), ci: pairingChannelIdentifier(), sid, ad: utf8('sensor'), random: b.random, scalar: ybScalar });
        return { share: ex.share, psk: ex.finish(ya, utf8('hub'), 'responder').subarray(0, 32) };
      },
      'cpace',
    );
    const cpaceHits = candidates.filter((code) => {
      const ex = cpaceStart({ prs: prs(code), ci: pairingChannelIdentifier(), sid: cpace.sid, ad: utf8('sensor'), random: b.random, scalar: ybScalar });
      return cpace.opensPair3(ex.finish(cpace.ya, utf8('hub'), 'responder').subarray(0, 32));
    });
    expect(cpaceHits).toEqual([]);

    // Against the naive design (psk = SHA-256(passcode)): the same attacker finds the code offline.
    const naive = runAgainstHub(() => ({ share: new Uint8Array(32), psk: sha256(prs(attackerGuess)) }), 'naive');
    const naiveHits = candidates.filter((code) => naive.opensPair3(sha256(prs(code))));
    expect(naiveHits).toEqual([trueCode]);
  });
});

describe('forged and untrusted sensors are refused with the reason (§6.3)', () => {
  const cases: { name: string; reason: string; make: (ca: ReturnType<typeof createManufacturerCa>, random: ReturnType<typeof deterministicRandom>, now: number) => DeviceIdentity }[] = [
    {
      name: 'signed by an unknown manufacturer',
      reason: 'unknown-issuer',
      make: (_ca, random, now) => manufactureDevice({ ca: createManufacturerCa('Counterfeit Ltd', random), random, nowMs: now }),
    },
    {
      name: 'forged: claims the trusted issuer, signed by another key',
      reason: 'bad-signature',
      make: (ca, random, now) => {
        const genuine = manufactureDevice({ ca, random, nowMs: now });
        const forger = createManufacturerCa('Forger', random);
        const forged = issueCertificate(forger.secretKey, {
          deviceId: genuine.deviceId,
          model: genuine.model,
          serial: genuine.serial,
          staticKey: genuine.staticKey.publicKey,
          signingKey: genuine.signingKey.publicKey,
          notBefore: Math.floor(now / 1000),
          notAfter: Math.floor(now / 1000) + 86_400,
        }).bytes;
        // Put the trusted CA's key id in place of the forger's (bytes 1..8 of the body).
        const realKeyId = genuine.certificate.subarray(1, 9);
        forged.set(realKeyId, 1);
        return { ...genuine, certificate: forged };
      },
    },
    {
      name: 'expired',
      reason: 'expired',
      make: (ca, random, now) => manufactureDevice({ ca, random, nowMs: now - 20 * 86_400_000, validDays: 10 }),
    },
    {
      name: 'not yet valid',
      reason: 'not-yet-valid',
      make: (ca, random, now) => manufactureDevice({ ca, random, nowMs: now + 86_400_000, notBeforeMs: now + 86_400_000 }),
    },
    {
      name: 'whose certificate names another static key',
      reason: 'key-mismatch',
      make: (ca, random, now) => {
        const a = manufactureDevice({ ca, random, nowMs: now });
        const b = manufactureDevice({ ca, random, nowMs: now });
        return { ...a, certificate: b.certificate };
      },
    },
  ];
  for (const c of cases) {
    it(`a sensor ${c.name} → ${c.reason}`, () => {
      const world = makeWorld({ seed: `cert-${c.reason}`, identity: c.make });
      const { sim, hub, device, identity } = world;
      device.policy.openWindow(sim.now());
      world.connect();
      hub.pair(identity.passcode);
      sim.run(sim.now() + 3_000, () => hub.failures.length > 0 || hub.isOpen);
      expect(hub.failures).toEqual([{ kind: 'certificate', reason: c.reason }]);
      expect(hub.bonds.size).toBe(0);
      expect(device.bonds.size).toBe(0);
    });
  }

  it('a revoked sensor → revoked', () => {
    const world = makeWorld({ seed: 'cert-revoked' });
    const { sim, hub, device, identity, ca, trustStore } = world;
    trustStore.applyRevocationList(issueRevocationList(ca.secretKey, { issuedAt: Math.floor(sim.now() / 1000), deviceIds: [identity.deviceId] }));
    device.policy.openWindow(sim.now());
    world.connect();
    hub.pair(identity.passcode);
    sim.run(sim.now() + 3_000, () => hub.failures.length > 0 || hub.isOpen);
    expect(hub.failures).toEqual([{ kind: 'certificate', reason: 'revoked' }]);
  });

  it('a QR code for one sensor does not pair another → device-mismatch', () => {
    const world = makeWorld({ seed: 'cert-qr' });
    const { sim, hub, device, identity } = world;
    device.policy.openWindow(sim.now());
    world.connect();
    hub.pair(identity.passcode, new Uint8Array(8).fill(7));
    sim.run(sim.now() + 3_000, () => hub.failures.length > 0 || hub.isOpen);
    expect(hub.failures).toEqual([{ kind: 'certificate', reason: 'device-mismatch' }]);
  });
});

describe('impostor hubs and parallel sessions', () => {
  function pairedWorld(seed: string): World {
    const world = makeWorld({ seed, storeCapacity: 50_000 });
    pairInWorld(world, 3_000);
    return world;
  }

  it('a hub that is not bonded cannot complete KK, even knowing the sensor’s public key', () => {
    const world = pairedWorld('impostor-kk');
    const { sim, device, identity, trustStore } = world;
    const impostor = new TestHub({ sim, random: deterministicRandom('impostor'), trustStore });
    const connection = device.connect();
    const fragmentsToImpostor: Uint8Array[] = [];
    connection.onFragmentReady(() => {
      for (let f = connection.takeFragment(); f; f = connection.takeFragment()) fragmentsToImpostor.push(f);
    });
    impostor.attach((f) => connection.receiveFragment(f));
    impostor.reconnect({ ...world.hub.bonds.get(deviceIdHex(identity.deviceId))!, staticKey: identity.staticKey.publicKey });
    for (const f of fragmentsToImpostor) impostor.receiveFragment(f);
    expect(impostor.failures).toEqual([{ kind: 'reconnect-failed' }]);
    expect(impostor.isOpen).toBe(false);
    expect(connection.isOpen).toBe(false);
  });

  it('a second, parallel connection (pairing attempts and a replayed KK_1) does not disturb the open session', () => {
    const world = pairedWorld('parallel');
    const { sim, hub, device, identity } = world;
    const bond = hub.bonds.get(deviceIdHex(identity.deviceId))!;
    // The real hub reconnects with KK; record its KK_1 as it goes by.
    const recorded: Uint8Array[] = [];
    const { link } = world.connect({}, 3);
    const originalWrite = link.write.bind(link);
    link.write = (f: Uint8Array) => {
      recorded.push(f);
      originalWrite(f);
    };
    hub.attach((f) => link.write(f));
    hub.reconnect(bond);
    expect(sim.run(sim.now() + 3_000, () => hub.isOpen)).toBe(true);
    const kk1Fragments = recorded.filter((f) => f[3] === MessageKind.Kk1);
    expect(kk1Fragments.length).toBeGreaterThan(0);

    // An attacker connects in parallel: tries to pair (window closed), then replays the KK_1.
    const attackerConn = device.connect();
    const attackerHub = new HubChannel({ identity: x25519KeyPair(world.random), trustStore: world.trustStore, random: world.random, hubLabel: 'x' });
    const pairAttempt = attackerHub.pair(prs(identity.passcode), sim.now());
    for (const e of pairAttempt) if (e.type === 'send') attackerConn.receiveFragment(concatBytes(Uint8Array.of(0, 0, 1), e.message));
    for (const f of kk1Fragments) attackerConn.receiveFragment(f);
    while (attackerConn.takeFragment()) {
      /* the attacker reads what it gets; none of it opens */
    }

    // Meanwhile the real session streams 5 000 readings, all arriving.
    const measurements: Measurement[] = Array.from({ length: 5_000 }, (_, i) => ({
      timeMs: sim.now() + i,
      code: MDC.PULS_OXIM_SAT_O2,
      unit: MDC.DIM_PERCENT,
      flags: 0,
      value: { kind: 1, value: { mantissa: 90 + (i % 10), exponent: 0 } },
    })) as Measurement[];
    device.record(measurements);
    sim.every(50, () => hub.tick());
    expect(sim.run(sim.now() + 60_000, () => hub.stored.size === 5_000 && device.store.held === 0)).toBe(true);
    expect(device.bonds.size).toBe(1);
  });
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
