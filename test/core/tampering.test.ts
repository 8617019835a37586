/**
 * Tampered handshake and transport messages (docs/protocol.md §4–§7): replayed, reordered,
 * truncated, reflected and bit-flipped messages are rejected, create no bond, throw nothing out of
 * `receive`, and leave an open session working.
 *
 * Most tests drive `HubChannel` and `SensorChannel` directly, shuttling every envelope message by
 * hand (`converse`) so any one of them can be changed on its way. Each side draws from its own
 * `deterministicRandom`, so two conversations built from the same seeds put the same bytes on the
 * wire: a test records the honest transcript once, then replays it with one message altered.
 * The world (`makeWorld`) is used where timing and streaming matter (replays during a live
 * stream, rekeying).
 */
import { describe, expect, it } from 'vitest';
import { equalBytes, utf8 } from '../../src/core/bytes.js';
import { MessageKind } from '../../src/core/framing.js';
import { HubChannel, type HubEvent, type HubFailure } from '../../src/core/hub-channel.js';
import type { AppMessage } from '../../src/core/messages.js';
import { acceptReconnect, HANDSHAKE_TIMEOUT_MS, HubReconnect, type SessionKeys } from '../../src/core/pairing.js';
import { SensorChannel, type SensorEvent } from '../../src/core/sensor-channel.js';
import { REJECT_AFTER_MS, REKEY_AFTER_MS, TransportSession } from '../../src/core/transport.js';
import type { DeviceEvent } from '../../sensor/device.js';
import { deterministicRandom } from '../support/deterministic-random.js';
import {
  channelFixture,
  heartRates,
  pairInWorld,
  reconnectInWorld,
  recordingPolicy,
  seal,
  sendOf,
  type ChannelFixture,
  type RecordingPolicy,
} from '../support/fixtures.js';
import { makeWorld } from '../support/world.js';

const NOW = Date.UTC(2026, 10, 28, 8, 0, 0);
const HUB_LABEL = 'Ward 3 tablet';
const AFTER_TIMEOUT = NOW + HANDSHAKE_TIMEOUT_MS + 1;

// ── fixtures ────────────────────────────────────────────────────────────────────────────────────

interface Peers {
  readonly hub: HubChannel;
  readonly sensor: SensorChannel;
  readonly policy: RecordingPolicy;
}

/** A hub and a sensor; the same `run` name gives the same randomness, hence the same messages. */
function peers(fx: ChannelFixture, run: string): Peers {
  const policy = recordingPolicy(fx);
  return {
    hub: new HubChannel({ identity: fx.hubKey, trustStore: fx.trustStore, random: deterministicRandom(`hub/${run}`), hubLabel: HUB_LABEL }),
    sensor: new SensorChannel({
      identity: fx.identity.staticKey,
      certificate: fx.identity.certificate,
      random: deterministicRandom(`sensor/${run}`),
      policy,
    }),
    policy,
  };
}

const STATUS: AppMessage = {
  type: 'status',
  battery: 87,
  flags: { tamper: false, clockNotSet: true, storageNearlyFull: false },
  held: 3,
  lastSeq: 3,
  deviceTimeMs: NOW,
};

// ── the wire ────────────────────────────────────────────────────────────────────────────────────

interface WireMessage {
  readonly from: 'hub' | 'sensor';
  readonly bytes: Uint8Array;
}

interface Transcript {
  /** Every message offered to the wire, before the interceptor. */
  readonly offered: WireMessage[];
  /** What was delivered (after the interceptor). */
  readonly delivered: WireMessage[];
  readonly hubEvents: HubEvent[];
  readonly sensorEvents: SensorEvent[];
  /** Anything `receive` threw (it must never throw). */
  readonly thrown: unknown[];
}

/** Changes (or drops, with `undefined`) the `index`-th message offered to the wire. */
type Intercept = (message: WireMessage, index: number) => Uint8Array | undefined;

/**
 * Delivers the hub's `first` events and everything that follows, one message at a time, until
 * nothing is in flight. Like the device (§8.1), the sensor sends STATUS as soon as a session opens.
 */
function converse(p: Peers, first: readonly HubEvent[], intercept?: Intercept, nowMs = NOW): Transcript {
  const t: Transcript = { offered: [], delivered: [], hubEvents: [], sensorEvents: [], thrown: [] };
  const queue: WireMessage[] = [];
  const fromHub = (events: readonly HubEvent[]): void => {
    for (const e of events) {
      t.hubEvents.push(e);
      if (e.type === 'send') queue.push({ from: 'hub', bytes: e.message });
    }
  };
  const fromSensor = (events: readonly SensorEvent[]): void => {
    for (const e of events) {
      t.sensorEvents.push(e);
      if (e.type === 'send') queue.push({ from: 'sensor', bytes: e.message });
      if (e.type === 'open') queue.push({ from: 'sensor', bytes: seal(p.sensor, STATUS, nowMs) });
    }
  };
  fromHub(first);
  for (let n = 0; n < 32; n++) {
    const next = queue.shift();
    if (next === undefined) return t;
    const index = t.offered.length;
    t.offered.push(next);
    const bytes = intercept ? intercept(next, index) : next.bytes;
    if (bytes === undefined) continue;
    t.delivered.push({ from: next.from, bytes });
    try {
      if (next.from === 'hub') fromSensor(p.sensor.receive(bytes, nowMs));
      else fromHub(p.hub.receive(bytes, nowMs));
    } catch (err) {
      t.thrown.push(err);
    }
  }
  throw new Error('conversation did not settle');
}

/** Replaces the message at `at` with `replacement`. */
function at(index: number, replacement: Uint8Array): Intercept {
  return (m, i) => (i === index ? replacement : m.bytes);
}

function flip(bytes: Uint8Array, index: number, bit: number): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] as number) ^ (1 << bit);
  return out;
}

/** Truncated lengths to try: empty, one byte, the header-ish sizes, half, and one short. */
function truncations(length: number): number[] {
  return [...new Set([0, 1, 2, 9, 17, 24, 33, Math.floor(length / 2), length - 17, length - 16, length - 1])]
    .filter((n) => n >= 0 && n < length)
    .sort((a, b) => a - b);
}

/** An altered copy of a message, and what was done to it. */
interface Variant {
  readonly label: string;
  readonly bytes: Uint8Array;
}

/** The message cut to each of `truncations(bytes.length)`. */
function truncated(bytes: Uint8Array): Variant[] {
  return truncations(bytes.length).map((n) => ({ label: `truncated to ${n}`, bytes: bytes.slice(0, n) }));
}

/** Every byte position, one bit each (bit = position mod 8); every bit of the kind byte. */
function bitFlips(bytes: Uint8Array): Variant[] {
  const out: Variant[] = [];
  for (let bit = 0; bit < 8; bit++) out.push({ label: `byte 0 bit ${bit}`, bytes: flip(bytes, 0, bit) });
  for (let i = 1; i < bytes.length; i++) out.push({ label: `byte ${i} bit ${i % 8}`, bytes: flip(bytes, i, i % 8) });
  return out;
}

/** X25519 ignores the top bit of a u-coordinate (RFC 7748 §5): flipping it must still be caught. */
function highBitFlips(bytes: Uint8Array, keyOffsets: readonly number[]): Variant[] {
  return keyOffsets.map((offset) => ({ label: `key at ${offset}: top bit`, bytes: flip(bytes, offset + 31, 7) }));
}

function kinds(t: Transcript): string[] {
  return t.offered.map((m) => `${m.from}:${m.bytes[0]}`);
}

function opensOn(sensor: SensorChannel, frame: Uint8Array): AppMessage | undefined {
  const events = sensor.receive(frame, NOW);
  const app = events.find((e) => e.type === 'app');
  return app?.type === 'app' ? app.message : undefined;
}

function opensOnHub(hub: HubChannel, frame: Uint8Array): AppMessage | undefined {
  const events = hub.receive(frame, NOW);
  const app = events.find((e) => e.type === 'app');
  return app?.type === 'app' ? app.message : undefined;
}

// ── outcome of a tampered handshake ─────────────────────────────────────────────────────────────

type HandshakeKind = 'pairing' | 'reconnect';

/**
 * What is wrong with a handshake that should have been refused; empty when it was. Runs both
 * sides' timers past HANDSHAKE_TIMEOUT_MS when the altered message was ignored (e.g. its kind
 * byte changed): the handshake must then end in a timeout, never in a session.
 */
function refusalProblems(p: Peers, t: Transcript, handshake: HandshakeKind, kindIntact: boolean): string[] {
  const problems: string[] = [];
  if (t.thrown.length > 0) problems.push(`threw ${String(t.thrown[0])}`);
  const failedNow = t.hubEvents.some((e) => e.type === 'failed');
  const sensorFailNow = t.sensorEvents.some((e) => e.type === 'handshake-failed');
  // A message that kept its kind is read, so the refusal is immediate: the hub fails or the sensor answers FAIL.
  if (kindIntact && !failedNow && !sensorFailNow) problems.push(`not refused at once (wire ${kinds(t).join(' ')})`);
  const late: HubEvent[] = [...p.hub.tick(AFTER_TIMEOUT)];
  const sensorLate = p.sensor.tick(AFTER_TIMEOUT);
  for (const e of sensorLate) if (e.type === 'send') late.push(...p.hub.receive(e.message, AFTER_TIMEOUT));
  const hubEvents = [...t.hubEvents, ...late];
  if (hubEvents.some((e) => e.type === 'bonded')) problems.push('hub bonded');
  if (hubEvents.some((e) => e.type === 'open')) problems.push('hub opened a session');
  if (hubEvents.some((e) => e.type === 'app')) problems.push('hub delivered an app message');
  if (p.hub.state !== 'failed') problems.push(`hub state ${p.hub.state}`);
  const allowed: HubFailure['kind'][] = handshake === 'pairing' ? ['pairing-failed', 'timeout'] : ['reconnect-failed', 'timeout'];
  for (const e of hubEvents) {
    if (e.type === 'failed' && !allowed.includes(e.failure.kind)) problems.push(`hub failure ${e.failure.kind}`);
  }
  if (p.policy.count('paired') !== 0) problems.push('sensor policy paired() called');
  return problems;
}

// ── tests ───────────────────────────────────────────────────────────────────────────────────────

describe('tampered handshake messages are refused, create no bond and throw nothing', () => {
  const fx = channelFixture('fixture/handshake-tamper', NOW);

  /** The hub's first events of the handshake: PAIR_1, or KK_1. */
  function start(p: Peers, handshake: HandshakeKind): readonly HubEvent[] {
    return handshake === 'pairing' ? p.hub.pair(utf8(fx.identity.passcode), NOW) : p.hub.reconnect(fx.identity.staticKey.publicKey, NOW);
  }

  /** The honest pairing, recorded: PAIR_1, PAIR_2, PAIR_3, STATUS. */
  function honestPairing(run: string): { p: Peers; t: Transcript } {
    const p = peers(fx, run);
    return { p, t: converse(p, start(p, 'pairing')) };
  }

  /** The honest reconnection, recorded: KK_1, KK_2, STATUS. */
  function honestReconnect(run: string): { p: Peers; t: Transcript } {
    const p = peers(fx, run);
    return { p, t: converse(p, start(p, 'reconnect')) };
  }

  /**
   * Runs the handshake once per case, on the honest run's seed ('pair' or 'kk'), with wire message
   * `index` replaced by the case's bytes; returns every refusal problem and whatever `more` reports
   * (`false` for none), each labelled with its case.
   */
  function tamperedProblems(
    handshake: HandshakeKind,
    index: number,
    honest: Uint8Array,
    cases: readonly Variant[],
    more: (p: Peers, t: Transcript, intact: boolean) => (string | false)[] = () => [],
  ): string[] {
    const problems: string[] = [];
    for (const c of cases) {
      const p = peers(fx, handshake === 'pairing' ? 'pair' : 'kk');
      const t = converse(p, start(p, handshake), at(index, c.bytes));
      const intact = c.bytes.length > 0 && c.bytes[0] === honest[0];
      for (const problem of refusalProblems(p, t, handshake, intact)) problems.push(`${c.label}: ${problem}`);
      for (const problem of more(p, t, intact)) if (problem !== false) problems.push(`${c.label}: ${problem}`);
    }
    return problems;
  }

  it('the untampered handshakes succeed and are reproducible (the baseline the other tests alter)', () => {
    const a = honestPairing('pair');
    expect(a.t.offered.map((m) => [m.from, m.bytes[0]])).toEqual([
      ['hub', MessageKind.Pair1],
      ['sensor', MessageKind.Pair2],
      ['hub', MessageKind.Pair3],
      ['sensor', MessageKind.Transport],
    ]);
    expect(a.t.hubEvents.map((e) => e.type)).toEqual(['send', 'send', 'bonded', 'open', 'app']);
    expect(a.p.policy.count('paired')).toBe(1);
    expect(a.t.thrown).toEqual([]);
    const b = honestPairing('pair');
    expect(b.t.offered.every((m, i) => equalBytes(m.bytes, a.t.offered[i]!.bytes))).toBe(true);

    const k = honestReconnect('kk');
    expect(k.t.offered.map((m) => [m.from, m.bytes[0]])).toEqual([
      ['hub', MessageKind.Kk1],
      ['sensor', MessageKind.Kk2],
      ['sensor', MessageKind.Transport],
    ]);
    expect(k.t.hubEvents.map((e) => e.type)).toEqual(['send', 'open', 'app']);
    expect(k.p.policy.count('reconnected')).toBe(1);
  });

  it('PAIR_1 with any single bit flipped, or truncated, fails the pairing', () => {
    const honest = honestPairing('pair').t.offered[0]!.bytes;
    expect(honest.length).toBe(97);
    // sid 1..16, Ya 17..48, e 49..80, tag 81..96.
    const cases = [...bitFlips(honest), ...highBitFlips(honest, [17, 49]), ...truncated(honest)];
    const problems = tamperedProblems('pairing', 0, honest, cases);
    expect(problems).toEqual([]);
  });

  it('PAIR_2 with any single bit flipped, or truncated, fails the pairing', () => {
    const honest = honestPairing('pair');
    const pair1 = honest.t.offered[0]!.bytes;
    const pair2 = honest.t.offered[1]!.bytes;
    // Yb 1..32, e 33..64, encrypted s 65..112, encrypted certificate after.
    const cases = [...bitFlips(pair2), ...highBitFlips(pair2, [1, 33]), ...truncated(pair2)];
    const problems: string[] = [];
    for (const c of cases) {
      // Only the hub reads PAIR_2; a sensor (same seed, so the same PAIR_2) is brought in only
      // when the hub goes on to send PAIR_3, which happens when the tampering cannot be seen
      // before the PSK is in use (e.g. in Yb).
      const p = peers(fx, 'pair');
      const t: Transcript = { offered: [], delivered: [], hubEvents: [...p.hub.pair(utf8(fx.identity.passcode), NOW)], sensorEvents: [], thrown: [] };
      expect(equalBytes(sendOf(t.hubEvents), pair1)).toBe(true);
      try {
        const events = p.hub.receive(c.bytes, NOW);
        t.hubEvents.push(...events);
        const pair3 = events.find((e) => e.type === 'send');
        if (pair3?.type === 'send') {
          t.sensorEvents.push(...p.sensor.receive(pair1, NOW));
          const answer = p.sensor.receive(pair3.message, NOW);
          t.sensorEvents.push(...answer);
          for (const e of answer) {
            if (e.type === 'send') t.hubEvents.push(...p.hub.receive(e.message, NOW));
            if (e.type === 'open') t.hubEvents.push(...p.hub.receive(seal(p.sensor, STATUS, NOW), NOW));
          }
        }
      } catch (err) {
        t.thrown.push(err);
      }
      const intact = c.bytes.length > 0 && c.bytes[0] === pair2[0];
      for (const problem of refusalProblems(p, t, 'pairing', intact)) problems.push(`${c.label}: ${problem}`);
    }
    expect(problems).toEqual([]);
  });

  it('PAIR_3 with any single bit flipped, or truncated, fails the pairing: the sensor answers FAIL', () => {
    const honest = honestPairing('pair').t.offered[2]!.bytes;
    const cases = [...bitFlips(honest), ...truncated(honest)];
    const problems = tamperedProblems('pairing', 2, honest, cases, (_p, t, intact) => [
      intact && !t.offered.some((m) => m.from === 'sensor' && m.bytes.length === 1 && m.bytes[0] === MessageKind.Fail) && 'the sensor did not answer FAIL',
      t.sensorEvents.some((e) => e.type === 'open') && 'the sensor opened a session',
    ]);
    expect(problems).toEqual([]);
  });

  it('KK_1 with any single bit flipped, or truncated, fails the reconnection: the sensor answers FAIL and opens nothing', () => {
    const honest = honestReconnect('kk').t.offered[0]!.bytes;
    expect(honest.length).toBe(49);
    const cases = [...bitFlips(honest), ...highBitFlips(honest, [1]), ...truncated(honest)];
    const problems = tamperedProblems('reconnect', 0, honest, cases, (p, t) => [
      t.sensorEvents.some((e) => e.type === 'open') && 'the sensor opened a session',
      p.policy.count('reconnected') !== 0 && 'sensor policy reconnected() called',
      p.sensor.state !== 'idle' && `sensor state ${p.sensor.state}`,
    ]);
    expect(problems).toEqual([]);
  });

  it('KK_2 with any single bit flipped, or truncated, fails the reconnection on the hub', () => {
    const honest = honestReconnect('kk').t.offered[1]!.bytes;
    const cases = [...bitFlips(honest), ...highBitFlips(honest, [1]), ...truncated(honest)];
    const problems = tamperedProblems('reconnect', 1, honest, cases);
    expect(problems).toEqual([]);
  });
});

describe('replayed handshake messages', () => {
  const fx = channelFixture('fixture/handshake-replay', NOW);

  it('a PAIR_3 recorded from an earlier successful pairing fails a new pairing: FAIL, no bond', () => {
    const earlier = peers(fx, 'earlier');
    const recorded = converse(earlier, earlier.hub.pair(utf8(fx.identity.passcode), NOW));
    expect(recorded.hubEvents.some((e) => e.type === 'bonded')).toBe(true);
    const oldPair1 = recorded.offered[0]!.bytes;
    const oldPair3 = recorded.offered[2]!.bytes;

    // A new pairing with a real hub, the attacker swapping in the old PAIR_3.
    const p = peers(fx, 'later');
    const t = converse(p, p.hub.pair(utf8(fx.identity.passcode), NOW), at(2, oldPair3));
    expect(t.thrown).toEqual([]);
    expect(t.offered.map((m) => m.bytes[0])).toEqual([MessageKind.Pair1, MessageKind.Pair2, MessageKind.Pair3, MessageKind.Fail]);
    expect(t.hubEvents.filter((e) => e.type === 'failed')).toEqual([{ type: 'failed', failure: { kind: 'pairing-failed' } }]);
    expect(t.hubEvents.some((e) => e.type === 'bonded')).toBe(false);
    expect(p.policy.count('paired')).toBe(0);
    expect(p.policy.count('pairingAttemptFailed')).toBe(1);

    // The attacker alone: the old PAIR_1 then the old PAIR_3, on a fresh connection.
    const q = peers(fx, 'replayer');
    const answer = q.sensor.receive(oldPair1, NOW);
    expect(answer.map((e) => e.type)).toEqual(['send']);
    expect(sendOf(answer)[0]).toBe(MessageKind.Pair2);
    expect(q.sensor.receive(oldPair3, NOW).map((e) => e.type)).toEqual(['send', 'handshake-failed']);
    expect(q.sensor.state).toBe('idle');
    expect(q.policy.count('paired')).toBe(0);
  });

  it('a KK_2 recorded from an earlier reconnection fails a new reconnection (reconnect-failed)', () => {
    const earlier = peers(fx, 'earlier-kk');
    const recorded = converse(earlier, earlier.hub.reconnect(fx.identity.staticKey.publicKey, NOW));
    expect(recorded.hubEvents.some((e) => e.type === 'open')).toBe(true);
    const oldKk2 = recorded.offered[1]!.bytes;

    const hub = new HubChannel({ identity: fx.hubKey, trustStore: fx.trustStore, random: deterministicRandom('hub/new'), hubLabel: HUB_LABEL });
    hub.reconnect(fx.identity.staticKey.publicKey, NOW);
    expect(hub.receive(oldKk2, NOW)).toEqual([{ type: 'failed', failure: { kind: 'reconnect-failed' } }]);
    expect(hub.state).toBe('failed');
  });

  it('a KK_1 recorded earlier and replayed to the sensor while a session is open: the open session keeps working both ways', () => {
    const earlier = peers(fx, 'kk-old');
    const oldKk1 = converse(earlier, earlier.hub.reconnect(fx.identity.staticKey.publicKey, NOW)).offered[0]!.bytes;

    const p = peers(fx, 'kk-live');
    const t = converse(p, p.hub.reconnect(fx.identity.staticKey.publicKey, NOW));
    expect(p.hub.state).toBe('open');
    const replayAnswer = p.sensor.receive(oldKk1, NOW);
    // The sensor answers the (authentic, but stale) KK_1, without switching to its keys.
    expect(replayAnswer.map((e) => e.type)).toEqual(['send']);
    expect(sendOf(replayAnswer)[0]).toBe(MessageKind.Kk2);
    expect(p.sensor.state).toBe('open');
    // Its KK_2 reaches the hub, which is not rekeying: ignored.
    expect(p.hub.receive(sendOf(replayAnswer), NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.hub.state).toBe('open');
    // Both directions still work, several frames each way.
    for (let i = 1; i <= 5; i++) {
      expect(opensOnHub(p.hub, seal(p.sensor, { ...STATUS, held: i } as AppMessage, NOW))).toMatchObject({ type: 'status', held: i });
      expect(opensOn(p.sensor, sendOf(p.hub.send({ type: 'ack', upTo: i }, NOW)))).toEqual({ type: 'ack', upTo: i });
    }
    expect(t.thrown).toEqual([]);
  });

  it('a KK_1 replayed on a new connection gets a KK_2, but the replayer can open nothing the sensor sends', () => {
    // The original reconnection, at the level of the handshake objects so its keys can be kept.
    const hubRandom = deterministicRandom('kk-original/hub');
    const sensorRandom = deterministicRandom('kk-original/sensor');
    const sensorStatic = fx.identity.staticKey.publicKey;
    const original = new HubReconnect(fx.hubKey, sensorStatic, hubRandom);
    const kk1 = original.start();
    const accepted = acceptReconnect(fx.identity.staticKey, [fx.hubKey.publicKey], kk1, sensorRandom);
    const sensorKeys = copyKeys(accepted.keys);
    const hubKeys = copyKeys(original.consumeKk2(accepted.kk2));
    // Sanity: the original keys do open the original session's frames.
    const originalFrame = new TransportSession({ ...sensorKeys, createdAtMs: NOW }).seal(Uint8Array.of(6), NOW);
    expect(new TransportSession({ ...hubKeys, createdAtMs: NOW }).open(originalFrame, NOW)).toEqual(Uint8Array.of(6));

    // Later, on a new connection, the attacker replays KK_1.
    const policy = recordingPolicy(fx);
    const sensor = new SensorChannel({ identity: fx.identity.staticKey, certificate: fx.identity.certificate, random: deterministicRandom('kk-replayed/sensor'), policy });
    const answer = sensor.receive(kk1, NOW);
    expect(answer.map((e) => e.type)).toEqual(['send', 'open']);
    const kk2 = sendOf(answer);
    expect(kk2[0]).toBe(MessageKind.Kk2);
    const frames = [seal(sensor, STATUS, NOW), seal(sensor, { type: 'error', code: 3 }, NOW), seal(sensor, STATUS, NOW)];

    // Every key the replayer could try: the old session's (as if it had them all), its handshake
    // hashes, every public value on the wire, the zero key.
    const candidates: Uint8Array[] = [
      hubKeys.sendKey,
      hubKeys.receiveKey,
      sensorKeys.sendKey,
      sensorKeys.receiveKey,
      hubKeys.handshakeHash,
      new Uint8Array(32),
      kk1.subarray(1, 33),
      accepted.kk2.subarray(1, 33),
      kk2.subarray(1, 33),
      fx.hubKey.publicKey,
      sensorStatic,
    ];
    for (const frame of frames) {
      for (const key of candidates) {
        const session = new TransportSession({ sendKey: key, receiveKey: key, createdAtMs: NOW });
        expect(() => session.open(frame, NOW)).toThrow();
      }
    }
    // Even with the hub's static key, a new KK initiator (a new ephemeral) cannot read this KK_2.
    const withHubStatic = new HubReconnect(fx.hubKey, sensorStatic, deterministicRandom('replayer'));
    withHubStatic.start();
    expect(() => withHubStatic.consumeKk2(kk2)).toThrow();
  });
});

describe('reordered messages: delivered before the handshake they belong to', () => {
  const fx = channelFixture('fixture/reorder', NOW);

  it('PAIR_3 before PAIR_1 is ignored by the sensor, and the pairing that follows still succeeds', () => {
    const recorded = peers(fx, 'pair');
    const pair3 = converse(recorded, recorded.hub.pair(utf8(fx.identity.passcode), NOW)).offered[2]!.bytes;
    const p = peers(fx, 'pair');
    expect(p.sensor.receive(pair3, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.sensor.state).toBe('idle');
    expect(p.policy.calls).toEqual([]);
    const t = converse(p, p.hub.pair(utf8(fx.identity.passcode), NOW));
    expect(t.hubEvents.some((e) => e.type === 'bonded')).toBe(true);
    expect(p.policy.count('paired')).toBe(1);
  });

  it('KK_2 before KK_1, and KK_2 during pairing, are ignored by the hub, and the handshake that follows still succeeds', () => {
    const recorded = peers(fx, 'kk');
    const kk2 = converse(recorded, recorded.hub.reconnect(fx.identity.staticKey.publicKey, NOW)).offered[1]!.bytes;

    const p = peers(fx, 'kk');
    expect(p.hub.receive(kk2, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.hub.state).toBe('idle');
    const t = converse(p, p.hub.reconnect(fx.identity.staticKey.publicKey, NOW));
    expect(t.hubEvents.map((e) => e.type)).toEqual(['send', 'open', 'app']);

    const q = peers(fx, 'pair-with-stray-kk2');
    const first = q.hub.pair(utf8(fx.identity.passcode), NOW);
    expect(q.hub.receive(kk2, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(q.hub.state).toBe('pairing');
    expect(converse(q, first).hubEvents.some((e) => e.type === 'bonded')).toBe(true);
  });

  it('TRANSPORT frames before any handshake are ignored by both sides, and the handshake that follows still succeeds', () => {
    const recorded = peers(fx, 'kk');
    const r = converse(recorded, recorded.hub.reconnect(fx.identity.staticKey.publicKey, NOW));
    const sensorFrame = r.offered[2]!.bytes;
    const hubFrame = sendOf(recorded.hub.send({ type: 'ack', upTo: 1 }, NOW));

    const p = peers(fx, 'kk');
    expect(p.sensor.receive(hubFrame, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.hub.receive(sensorFrame, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    const kk1 = p.hub.reconnect(fx.identity.staticKey.publicKey, NOW);
    // In `reconnecting` too.
    expect(p.hub.receive(sensorFrame, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.hub.state).toBe('reconnecting');
    expect(p.sensor.state).toBe('idle');
    const t = converse(p, kk1);
    expect(t.hubEvents.map((e) => e.type)).toEqual(['send', 'open', 'app']);

    // And during pairing: the hub in `pairing`, the sensor waiting for PAIR_3.
    const q = peers(fx, 'pair');
    const pair1 = q.hub.pair(utf8(fx.identity.passcode), NOW);
    expect(q.hub.receive(sensorFrame, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    const pair2 = q.sensor.receive(sendOf(pair1), NOW);
    expect(q.sensor.receive(hubFrame, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(q.sensor.state).toBe('pairing');
    const pair3 = q.hub.receive(sendOf(pair2), NOW);
    expect(q.sensor.receive(sendOf(pair3), NOW).map((e) => e.type)).toEqual(['open']);
    const confirm = q.hub.receive(seal(q.sensor, STATUS, NOW), NOW);
    expect(confirm.map((e) => e.type)).toEqual(['bonded', 'open', 'app']);
  });
});

describe('reflected messages: a side fed its own messages', () => {
  const fx = channelFixture('fixture/reflect', NOW);

  it('the hub’s own PAIR_1, PAIR_3, KK_1 and frames fed back to it are rejected, and its handshakes and session go on', () => {
    // PAIR_1 back to the hub while pairing, PAIR_3 back while confirming.
    const p = peers(fx, 'pair');
    const pair1 = sendOf(p.hub.pair(utf8(fx.identity.passcode), NOW));
    expect(p.hub.receive(pair1, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.hub.state).toBe('pairing');
    const pair2 = sendOf(p.sensor.receive(pair1, NOW));
    const pair3 = sendOf(p.hub.receive(pair2, NOW));
    expect(p.hub.state).toBe('confirming');
    expect(p.hub.receive(pair3, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.hub.receive(pair1, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.sensor.receive(pair3, NOW).map((e) => e.type)).toEqual(['open']);
    expect(p.hub.receive(seal(p.sensor, STATUS, NOW), NOW).map((e) => e.type)).toEqual(['bonded', 'open', 'app']);

    // KK_1 back to the hub while reconnecting.
    const q = peers(fx, 'kk');
    const kk1 = q.hub.reconnect(fx.identity.staticKey.publicKey, NOW);
    expect(q.hub.receive(sendOf(kk1), NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(q.hub.state).toBe('reconnecting');
    expect(converse(q, kk1).hubEvents.map((e) => e.type)).toEqual(['send', 'open', 'app']);

    // The hub's own frames back to the hub on the open session, and its KK_1 when it rekeys.
    // (The hub's counter 0 is one its receive window has already seen — the sensor's STATUS — so
    // the window, checked before the AEAD (§7.4), may name the reflection a replay.)
    const own = sendOf(q.hub.send({ type: 'ack', upTo: 7 }, NOW));
    expect(q.hub.receive(own, NOW)).toEqual([{ type: 'security', event: expect.stringMatching(/^(frame|replay)-rejected$/) }]);
    const own2 = sendOf(q.hub.send({ type: 'ack', upTo: 7 }, NOW));
    expect(q.hub.receive(own2, NOW)).toEqual([{ type: 'security', event: 'frame-rejected' }]);
    expect(q.hub.receive(sendOf(kk1), NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(opensOn(q.sensor, own)).toEqual({ type: 'ack', upTo: 7 });
    expect(opensOn(q.sensor, own2)).toEqual({ type: 'ack', upTo: 7 });
    const rekeyAt = NOW + REKEY_AFTER_MS;
    const rekeyKk1 = sendOf(q.hub.tick(rekeyAt));
    expect(rekeyKk1[0]).toBe(MessageKind.Kk1);
    expect(q.hub.receive(rekeyKk1, rekeyAt)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    const kk2 = sendOf(q.sensor.receive(rekeyKk1, rekeyAt));
    expect(q.hub.receive(kk2, rekeyAt)).toEqual([{ type: 'open', rekeyed: true }]);
    expect(opensOnHub(q.hub, seal(q.sensor, STATUS, rekeyAt))).toMatchObject({ type: 'status' });
    expect(opensOn(q.sensor, sendOf(q.hub.send({ type: 'ack', upTo: 8 }, rekeyAt)))).toEqual({ type: 'ack', upTo: 8 });
  });

  it('the sensor’s own PAIR_2, KK_2, FAIL and frames fed back to it are rejected, and its handshake and session go on', () => {
    const p = peers(fx, 'pair');
    const pair1 = sendOf(p.hub.pair(utf8(fx.identity.passcode), NOW));
    const pair2 = sendOf(p.sensor.receive(pair1, NOW));
    expect(p.sensor.receive(pair2, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(p.sensor.state).toBe('pairing');
    const pair3 = sendOf(p.hub.receive(pair2, NOW));
    expect(p.sensor.receive(pair3, NOW).map((e) => e.type)).toEqual(['open']);
    expect(p.hub.receive(seal(p.sensor, STATUS, NOW), NOW).map((e) => e.type)).toEqual(['bonded', 'open', 'app']);

    const q = peers(fx, 'kk');
    const kk1 = sendOf(q.hub.reconnect(fx.identity.staticKey.publicKey, NOW));
    const kk2 = sendOf(q.sensor.receive(kk1, NOW));
    expect(q.hub.receive(kk2, NOW)).toEqual([{ type: 'open', rekeyed: false }]);
    const own = seal(q.sensor, STATUS, NOW);
    expect(q.sensor.receive(own, NOW)).toEqual([{ type: 'security', event: 'frame-rejected' }]);
    expect(q.sensor.receive(kk2, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(q.sensor.receive(Uint8Array.of(MessageKind.Fail), NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(q.sensor.receive(pair2, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
    expect(q.sensor.state).toBe('open');
    expect(opensOnHub(q.hub, own)).toMatchObject({ type: 'status' });
    expect(opensOn(q.sensor, sendOf(q.hub.send({ type: 'ack', upTo: 1 }, NOW)))).toEqual({ type: 'ack', upTo: 1 });
  });

  it('a PAIR_1 replayed to the sensor while a session is open does not tear the session down', () => {
    // Any PAIR_1 — recorded, or garbage of the right kind — reaches `onPair1`, which drops the
    // open session ("starts that connection over"); the hub is not told and its frames go dark.
    const recorded = peers(fx, 'pair');
    const oldPair1 = sendOf(recorded.hub.pair(utf8(fx.identity.passcode), NOW));
    const p = peers(fx, 'kk');
    converse(p, p.hub.reconnect(fx.identity.staticKey.publicKey, NOW));
    expect(p.sensor.state).toBe('open');
    p.sensor.receive(oldPair1, NOW);
    expect(p.sensor.state).toBe('open');
    expect(opensOn(p.sensor, sendOf(p.hub.send({ type: 'ack', upTo: 1 }, NOW)))).toEqual({ type: 'ack', upTo: 1 });
  });
});

describe('transport frames on an open session (§7.4)', () => {
  const fx = channelFixture('fixture/transport', NOW);

  function openPeers(run: string): Peers {
    const p = peers(fx, run);
    const t = converse(p, p.hub.reconnect(fx.identity.staticKey.publicKey, NOW));
    expect(t.hubEvents.map((e) => e.type)).toEqual(['send', 'open', 'app']);
    return p;
  }

  const rejections = new Set(['frame-rejected', 'replay-rejected', 'unexpected-message']);

  /** Problems with one altered frame's outcome: it must come out as exactly one security event. */
  function rejectionProblems(label: string, receive: () => readonly (HubEvent | SensorEvent)[]): string[] {
    let events: readonly (HubEvent | SensorEvent)[];
    try {
      events = receive();
    } catch (err) {
      return [`${label}: threw ${String(err)}`];
    }
    const only = events.length === 1 ? events[0] : undefined;
    return only?.type === 'security' && rejections.has(only.event) ? [] : [`${label}: ${JSON.stringify(events.map((e) => e.type))}`];
  }

  it('a replayed frame is rejected as a replay, in both directions', () => {
    const p = openPeers('replay');
    const toSensor = sendOf(p.hub.send({ type: 'ack', upTo: 1 }, NOW));
    expect(opensOn(p.sensor, toSensor)).toEqual({ type: 'ack', upTo: 1 });
    expect(p.sensor.receive(toSensor, NOW)).toEqual([{ type: 'security', event: 'replay-rejected' }]);
    const toHub = seal(p.sensor, STATUS, NOW);
    expect(opensOnHub(p.hub, toHub)).toMatchObject({ type: 'status' });
    expect(p.hub.receive(toHub, NOW)).toEqual([{ type: 'security', event: 'replay-rejected' }]);
    // Replays change nothing: the next frames still open.
    expect(p.hub.receive(seal(p.sensor, STATUS, NOW), NOW).map((e) => e.type)).toEqual(['app']);
    expect(opensOn(p.sensor, sendOf(p.hub.send({ type: 'ack', upTo: 2 }, NOW)))).toEqual({ type: 'ack', upTo: 2 });
  });

  it('a frame with any single bit flipped, or truncated, or extended, is rejected; the genuine frame still opens afterwards, and so do fresh ones', () => {
    const p = openPeers('flip');
    // Give each side's window something to remember first.
    expect(opensOn(p.sensor, sendOf(p.hub.send({ type: 'ack', upTo: 1 }, NOW)))).toEqual({ type: 'ack', upTo: 1 });
    expect(opensOnHub(p.hub, seal(p.sensor, STATUS, NOW))).toMatchObject({ type: 'status' });

    const toSensor = sendOf(p.hub.send({ type: 'backfill', from: 42 }, NOW));
    const toHub = seal(p.sensor, { ...STATUS, held: 42 } as AppMessage, NOW);
    const problems: string[] = [];
    const variants = (frame: Uint8Array) => [
      ...bitFlips(frame),
      ...truncated(frame),
      { label: 'one byte appended', bytes: Uint8Array.of(...frame, 0) },
      // Counters far ahead (if the window moved before the AEAD, the genuine frame would be "too old").
      ...[2 ** 12, 2 ** 19, 2 ** 20 + 2 ** 16 - 1].map((c) => ({ label: `counter ${c}`, bytes: withCounter(frame, c) })),
    ];
    for (const v of variants(toSensor)) problems.push(...rejectionProblems(`to sensor, ${v.label}`, () => p.sensor.receive(v.bytes, NOW)));
    for (const v of variants(toHub)) problems.push(...rejectionProblems(`to hub, ${v.label}`, () => p.hub.receive(v.bytes, NOW)));
    expect(problems).toEqual([]);
    expect(p.hub.state).toBe('open');
    expect(p.sensor.state).toBe('open');

    // The genuine frames, held back until now, still open: window and keys are untouched.
    expect(opensOn(p.sensor, toSensor)).toEqual({ type: 'backfill', from: 42 });
    expect(opensOnHub(p.hub, toHub)).toMatchObject({ type: 'status', held: 42 });
    // And fresh messages in each direction.
    expect(opensOn(p.sensor, sendOf(p.hub.send({ type: 'ack', upTo: 43 }, NOW)))).toEqual({ type: 'ack', upTo: 43 });
    expect(opensOnHub(p.hub, seal(p.sensor, { ...STATUS, held: 43 } as AppMessage, NOW))).toMatchObject({ type: 'status', held: 43 });
  });

  it('a rekey (hub tick past REKEY_AFTER_MS) keeps frames flowing; frames sealed just before it are still accepted', () => {
    const p = openPeers('rekey');
    expect(p.hub.tick(NOW + REKEY_AFTER_MS - 1)).toEqual([]);
    const t = NOW + REKEY_AFTER_MS;
    // Sealed under the old keys, still in flight when the rekey starts.
    const oldToHub = [seal(p.sensor, { ...STATUS, held: 101 } as AppMessage, t), seal(p.sensor, { ...STATUS, held: 102 } as AppMessage, t)];
    const oldToSensor = sendOf(p.hub.send({ type: 'ack', upTo: 100 }, t));

    const kk1 = sendOf(p.hub.tick(t));
    expect(kk1[0]).toBe(MessageKind.Kk1);
    const answer = p.sensor.receive(kk1, t);
    // Unconfirmed: the sensor answers but keeps sending on the old keys.
    expect(answer.map((e) => e.type)).toEqual(['send']);
    oldToHub.push(seal(p.sensor, { ...STATUS, held: 103 } as AppMessage, t));
    expect(p.hub.receive(sendOf(answer), t)).toEqual([{ type: 'open', rekeyed: true }]);

    // The hub has switched; the old-key stragglers still open (previous session kept).
    expect(oldToHub.map((f) => opensOnHub(p.hub, f))).toMatchObject([{ held: 101 }, { held: 102 }, { held: 103 }]);
    // The hub's first frame on the new keys confirms the rekey to the sensor.
    const confirm = p.sensor.receive(sendOf(p.hub.send({ type: 'status-req' }, t)), t);
    expect(confirm.map((e) => e.type)).toEqual(['open', 'app']);
    expect(confirm[0]).toMatchObject({ type: 'open', rekeyed: true });
    // The hub's old-key frame sealed before the rekey still opens on the sensor.
    expect(opensOn(p.sensor, oldToSensor)).toEqual({ type: 'ack', upTo: 100 });
    // New keys both ways from now on; the old ones are gone once a new-key frame has arrived.
    const fresh = seal(p.sensor, { ...STATUS, held: 104 } as AppMessage, t);
    expect(opensOnHub(p.hub, fresh)).toMatchObject({ held: 104 });
    expect(p.hub.receive(fresh, t)).toEqual([{ type: 'security', event: 'replay-rejected' }]);
    expect(opensOn(p.sensor, sendOf(p.hub.send({ type: 'ack', upTo: 104 }, t)))).toEqual({ type: 'ack', upTo: 104 });
    // The next rekey is due an hour after this one, not before.
    expect(p.hub.tick(t + REKEY_AFTER_MS - 1)).toEqual([]);
  });
});

// ── in a world: replays during a live stream, rekeying a stream ───────────────────────────────

/** First fragments of the messages of `kind` seen going to the sensor (each fits one fragment here). */
function fragmentsOfKind(fragments: readonly Uint8Array[], kind: number): Uint8Array[] {
  return fragments.filter((f) => f[1] === 0 && f[3] === kind);
}

describe('in a world', () => {
  it('a KK_1 replayed mid-stream does not switch the sensor’s keys: every reading still arrives, acks still flow, a real rekey still works', () => {
    const world = makeWorld({ seed: 'tamper-kk1-replay', storeCapacity: 20_000 });
    const { sim, hub, device } = world;
    const bond = pairInWorld(world);

    // An earlier reconnection, recorded by an eavesdropper.
    const first = world.connect();
    const heard: Uint8Array[] = [];
    first.link.tap = (direction, f) => {
      if (direction === 'toSensor') heard.push(f);
    };
    hub.reconnect(bond);
    expect(sim.run(sim.now() + 5_000, () => hub.isOpen)).toBe(true);
    const kk1 = fragmentsOfKind(heard, MessageKind.Kk1);
    expect(kk1).toHaveLength(1);

    // The live session.
    const { connection } = reconnectInWorld(world, bond);
    const opened = hub.opened;
    const security = hub.security.length;
    const t0 = sim.now();
    device.record(heartRates(0, 300, t0));
    sim.run(sim.now() + 20);
    for (const f of kk1) connection.receiveFragment(f);
    device.record(heartRates(300, 300, t0));
    expect(sim.run(sim.now() + 30_000, () => hub.stored.size === 600 && device.store.held === 0)).toBe(true);
    // The sensor's answer to the replay reached the hub and was ignored; nothing else was rejected.
    expect(hub.security.slice(security)).toEqual(['unexpected-message']);
    expect(hub.opened).toBe(opened);
    expect(hub.failures).toEqual([]);
    const statuses = hub.statuses.length;
    hub.send({ type: 'status-req' });
    expect(sim.run(sim.now() + 1_000, () => hub.statuses.length > statuses)).toBe(true);

    // A genuine rekey afterwards replaces the replay's pending keys and the stream goes on.
    sim.advance(REKEY_AFTER_MS);
    hub.tick();
    device.record(heartRates(600, 300, t0));
    expect(sim.run(sim.now() + 30_000, () => hub.opened === opened + 1 && hub.stored.size === 900 && device.store.held === 0)).toBe(true);
    device.record(heartRates(900, 100, t0));
    expect(sim.run(sim.now() + 30_000, () => hub.stored.size === 1000 && device.store.held === 0)).toBe(true);
    expect(hub.opened).toBe(opened + 1);
    expect(hub.security.slice(security)).toEqual(['unexpected-message']);
    expect(hub.failures).toEqual([]);
  });

  it('a rekey mid-stream loses nothing: old-key frames that cross the KK_2 are accepted, none is rejected', () => {
    const world = makeWorld({ seed: 'tamper-rekey', storeCapacity: 20_000 });
    const { sim, hub, device } = world;
    const bond = pairInWorld(world);
    const { link } = reconnectInWorld(world, bond, { minDelayMs: 2, maxDelayMs: 6 }, 5);
    const deviceEvents: DeviceEvent[] = [];
    device.onEvent((e) => deviceEvents.push(e));

    sim.advance(REKEY_AFTER_MS - 100);
    // Count the sensor's frames that go out after its KK_2 and before it switches keys: they are
    // sealed under the old keys and reach a hub that has already switched.
    let phase: 'before' | 'crossing' | 'after' = 'before';
    let crossing = 0;
    link.tap = (direction, f) => {
      if (direction !== 'toHub' || f[1] !== 0) return;
      if (f[3] === MessageKind.Kk2) phase = 'crossing';
      else if (f[3] === MessageKind.Transport && phase === 'crossing') crossing++;
    };
    device.onEvent((e) => {
      if (e.type === 'connected' && e.rekeyed) phase = 'after';
    });
    const t0 = sim.now();
    let made = 0;
    sim.every(1, () => {
      device.record(heartRates(made, 2, t0));
      made += 2;
      return made < 600;
    });
    sim.every(5, () => {
      hub.tick();
      return made < 600;
    });
    expect(sim.run(sim.now() + 60_000, () => made === 600 && hub.stored.size === 600 && device.store.held === 0)).toBe(true);
    expect(deviceEvents.filter((e) => e.type === 'connected')).toEqual([{ type: 'connected', paired: false, rekeyed: true }]);
    expect(phase).toBe('after');
    expect(crossing).toBeGreaterThan(0);
    expect(hub.security).toEqual([]);
    expect(hub.failures).toEqual([]);
  });

  it('a session the hub fails to rekey (its KK_1 dropped) expires on the sensor without an exception; records are kept for backfill', () => {
    const world = makeWorld({ seed: 'tamper-expiry', storeCapacity: 20_000 });
    const { sim, hub, device } = world;
    const bond = pairInWorld(world);
    const { link, connection } = reconnectInWorld(world, bond);

    sim.advance(REKEY_AFTER_MS);
    link.faults = { drop: 1 };
    hub.tick();
    link.faults = {};
    sim.advance(HANDSHAKE_TIMEOUT_MS + 1);
    hub.tick();
    expect(hub.failures).toEqual([{ kind: 'timeout' }]);
    // The link is still up; the sensor's session outlives REJECT_AFTER_MS.
    sim.advance(REJECT_AFTER_MS - REKEY_AFTER_MS);
    // More readings than one READINGS message holds, and past a checkpoint (every 100): the
    // sensor's stream loop meets the expired session more than once.
    expect(() => device.record(heartRates(0, 500, sim.now()))).not.toThrow();
    expect(() => device.record(heartRates(500, 10, sim.now()))).not.toThrow();
    expect(() => connection.receiveFragment(Uint8Array.of(0, 0, 1, MessageKind.Transport, 1, 2, 3))).not.toThrow();
    expect(() => sim.run(sim.now() + 1_000)).not.toThrow();
    expect(device.store.held).toBe(510);
    // A new connection backfills them.
    world.connect();
    hub.reconnect(bond);
    expect(sim.run(sim.now() + 10_000, () => hub.stored.size === 510 && device.store.held === 0)).toBe(true);
  });
});

// ── small helpers ───────────────────────────────────────────────────────────────────────────────

function copyKeys(keys: SessionKeys): SessionKeys {
  return { sendKey: keys.sendKey.slice(), receiveKey: keys.receiveKey.slice(), handshakeHash: keys.handshakeHash.slice() };
}

/** The frame with its counter (bytes 1..8, big-endian) replaced. */
function withCounter(frame: Uint8Array, counter: number): Uint8Array {
  const out = frame.slice();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(1, BigInt(counter));
  return out;
}
