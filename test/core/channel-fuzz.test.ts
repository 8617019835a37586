/**
 * Property tests of the channel state machines against arbitrary input (docs/protocol.md §2.3,
 * §4–§7): whatever bytes arrive, in any state, `receive` never throws, yields only the documented
 * events (and, per state, only the ones that state can produce), creates no session or bond, and
 * the genuine conversation still completes — or an open session still works — afterwards.
 *
 * Inputs are random bytes, random bytes behind each envelope kind (with bodies of the lengths the
 * decoders check for), bit flips and truncations of genuine messages, and verbatim replays of
 * earlier or reflected messages. The honest transcripts come from fixed seeds, so a peer rebuilt
 * from the same seed reproduces them byte for byte and the continuation can be checked exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { equalBytes, toHex, utf8 } from '../../src/core/bytes.js';
import { chunkSizeForMtu, FRAGMENT_HEADER_LEN, Fragmenter, MessageKind } from '../../src/core/framing.js';
import { HubChannel, type HubEvent } from '../../src/core/hub-channel.js';
import type { HubOutput } from '../../src/core/hub-session.js';
import type { AppMessage } from '../../src/core/messages.js';
import { HANDSHAKE_TIMEOUT_MS, type SecurityEvent } from '../../src/core/pairing.js';
import { MDC } from '../../src/core/readings.js';
import { SensorChannel, type SensorEvent } from '../../src/core/sensor-channel.js';
import type { Measurement } from '../../sensor/record-store.js';
import { deterministicRandom } from '../support/deterministic-random.js';
import { channelFixture, recordingPolicy, seal, sendOf, sessionRig, type RecordingPolicy, type SessionRig } from '../support/fixtures.js';

const NOW = Date.UTC(2026, 10, 28, 8, 0, 0);
const AFTER_TIMEOUT = NOW + HANDSHAKE_TIMEOUT_MS + 1;
const HUB_LABEL = 'Ward 3 tablet';
/** Runs per property: handshake states rebuild their peers for every run (tens of ms each). */
const RUNS = 200;
const HANDSHAKE_RUNS = 120;

// ── the fixture and the honest transcripts ─────────────────────────────────────────────────────

const fx = channelFixture('fuzz/fixture', NOW);

function newHub(seed: string): HubChannel {
  return new HubChannel({ identity: fx.hubKey, trustStore: fx.trustStore, random: deterministicRandom(`hub/${seed}`), hubLabel: HUB_LABEL });
}

function newSensor(seed: string, policy: RecordingPolicy = recordingPolicy(fx)): SensorChannel {
  return new SensorChannel({ identity: fx.identity.staticKey, certificate: fx.identity.certificate, random: deterministicRandom(`sensor/${seed}`), policy });
}

const STATUS: AppMessage = {
  type: 'status',
  battery: 64,
  flags: { tamper: false, clockNotSet: false, storageNearlyFull: false },
  held: 0,
  lastSeq: 0,
  deviceTimeMs: NOW,
};

interface Transcripts {
  readonly pair1: Uint8Array;
  readonly pair2: Uint8Array;
  readonly pair3: Uint8Array;
  /** The sensor's first frame after pairing (confirms it, §4.4). */
  readonly pairStatus: Uint8Array;
  readonly kk1: Uint8Array;
  readonly kk2: Uint8Array;
  readonly kkStatus: Uint8Array;
  /** A hub frame on the KK session. */
  readonly kkHubFrame: Uint8Array;
  /** A KK_2 of another, earlier reconnection. */
  readonly oldKk2: Uint8Array;
}

let transcripts: Transcripts | undefined;

function honest(): Transcripts {
  if (transcripts) return transcripts;
  const hub = newHub('pair');
  const sensor = newSensor('pair');
  const pair1 = sendOf(hub.pair(utf8(fx.identity.passcode), NOW));
  const pair2 = sendOf(sensor.receive(pair1, NOW));
  const pair3 = sendOf(hub.receive(pair2, NOW));
  expect(sensor.receive(pair3, NOW).map((e) => e.type)).toEqual(['open']);
  const pairStatus = seal(sensor, STATUS, NOW);
  expect(hub.receive(pairStatus, NOW).map((e) => e.type)).toEqual(['bonded', 'open', 'app']);

  const kkHub = newHub('kk');
  const kkSensor = newSensor('kk');
  const kk1 = sendOf(kkHub.reconnect(fx.identity.staticKey.publicKey, NOW));
  const kk2 = sendOf(kkSensor.receive(kk1, NOW));
  expect(kkHub.receive(kk2, NOW)).toEqual([{ type: 'open', rekeyed: false }]);
  const kkStatus = seal(kkSensor, STATUS, NOW);
  const kkHubFrame = sendOf(kkHub.send({ type: 'ack', upTo: 5 }, NOW));

  const oldHub = newHub('kk-old');
  const oldKk2 = sendOf(newSensor('kk-old').receive(sendOf(oldHub.reconnect(fx.identity.staticKey.publicKey, NOW)), NOW));
  transcripts = { pair1, pair2, pair3, pairStatus, kk1, kk2, kkStatus, kkHubFrame, oldKk2 };
  return transcripts;
}

// ── arbitrary input ─────────────────────────────────────────────────────────────────────────────

type Input =
  | { readonly tag: 'raw'; readonly bytes: Uint8Array }
  | { readonly tag: 'kind'; readonly kind: number; readonly body: Uint8Array }
  | { readonly tag: 'flip'; readonly source: number; readonly at: number; readonly bit: number }
  | { readonly tag: 'cut'; readonly source: number; readonly length: number }
  | { readonly tag: 'replay'; readonly source: number };

/** Every envelope kind, and a few that are none. */
const KINDS = [
  MessageKind.Pair1,
  MessageKind.Pair2,
  MessageKind.Pair3,
  MessageKind.Kk1,
  MessageKind.Kk2,
  MessageKind.Transport,
  MessageKind.Fail,
  0x00,
  0x06,
  0x11,
  0x80,
  0xff,
];
/** Body lengths the decoders check for: KK (48), PAIR_1 (96), frames (≥ 24), PAIR_3 and PAIR_2 sizes. */
const BODY_LENGTHS = [0, 8, 24, 25, 32, 48, 64, 78, 96, 200, 313];

const bodyArb = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc.constantFrom(...BODY_LENGTHS).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
);

const inputArb: fc.Arbitrary<Input> = fc.oneof(
  fc.record({ tag: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 400 }) }),
  fc.record({ tag: fc.constant('kind' as const), kind: fc.constantFrom(...KINDS), body: bodyArb }),
  fc.record({ tag: fc.constant('flip' as const), source: fc.nat(), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ tag: fc.constant('cut' as const), source: fc.nat(), length: fc.nat() }),
  fc.record({ tag: fc.constant('replay' as const), source: fc.nat() }),
);

const inputsArb = fc.array(inputArb, { minLength: 1, maxLength: 8 });

interface Sources {
  /** Genuine messages to flip bits in and truncate (the copies are never genuine). */
  readonly mutable: readonly Uint8Array[];
  /** Messages that may be delivered verbatim in this state (earlier, reflected, or stale ones). */
  readonly replayable: readonly Uint8Array[];
}

function materialize(input: Input, sources: Sources): Uint8Array {
  const pick = (list: readonly Uint8Array[], i: number): Uint8Array => list[i % list.length] as Uint8Array;
  switch (input.tag) {
    case 'raw':
      return input.bytes;
    case 'kind':
      return Uint8Array.of(input.kind, ...input.body);
    case 'flip': {
      const out = pick(sources.mutable, input.source).slice();
      const at = input.at % out.length;
      out[at] = (out[at] as number) ^ (1 << input.bit);
      return out;
    }
    case 'cut': {
      const source = pick(sources.mutable, input.source);
      return source.slice(0, input.length % source.length);
    }
    case 'replay':
      return pick(sources.replayable, input.source).slice();
  }
}

const SECURITY_EVENTS: readonly SecurityEvent[] = ['frame-rejected', 'replay-rejected', 'malformed-message', 'unexpected-message'];
const HUB_EVENT_TYPES: readonly HubEvent['type'][] = ['send', 'bonded', 'open', 'app', 'failed', 'security'];
const SENSOR_EVENT_TYPES: readonly SensorEvent['type'][] = ['send', 'open', 'app', 'handshake-failed', 'security'];

function describeEvent(e: HubEvent | SensorEvent): string {
  switch (e.type) {
    case 'send':
      return `send(kind ${e.message[0]}, ${e.message.length} B)`;
    case 'security':
      return `security(${e.event})`;
    case 'failed':
      return `failed(${e.failure.kind})`;
    default:
      return e.type;
  }
}

/** Feeds every input, returning all events; a throw out of `receive` fails with the input shown. */
function feed<E extends HubEvent | SensorEvent>(
  receive: (message: Uint8Array) => readonly E[],
  inputs: readonly Input[],
  sources: Sources,
  documented: readonly E['type'][],
  allowed: (e: E) => boolean,
): E[] {
  const all: E[] = [];
  for (const input of inputs) {
    const bytes = materialize(input, sources);
    let events: readonly E[];
    try {
      events = receive(bytes);
    } catch (err) {
      throw new Error(`receive threw ${String(err)} on ${toHex(bytes)}`, { cause: err });
    }
    for (const e of events) {
      expect(documented).toContain(e.type);
      if (e.type === 'security') expect(SECURITY_EVENTS).toContain(e.event);
      if (!allowed(e)) throw new Error(`event ${describeEvent(e)} not allowed here, on input ${toHex(bytes)}`);
    }
    all.push(...events);
  }
  return all;
}

const isSecurity = (e: HubEvent | SensorEvent, ...events: SecurityEvent[]): boolean =>
  e.type === 'security' && (events.length === 0 || events.includes(e.event));

/** Keeps one instance across runs, and builds a new one after any failure (so shrinking starts clean). */
function shared<T>(make: () => T): (run: (t: T) => void) => void {
  let current: T | undefined;
  return (run) => {
    current ??= make();
    try {
      run(current);
    } catch (err) {
      current = undefined;
      throw err;
    }
  };
}

interface OpenPeers {
  readonly hub: HubChannel;
  readonly sensor: SensorChannel;
  readonly kk1: Uint8Array;
  readonly kk2: Uint8Array;
}

let openCount = 0;

function openPeers(): OpenPeers {
  const seed = `open-${openCount++}`;
  const hub = newHub(seed);
  const sensor = newSensor(seed);
  const kk1 = sendOf(hub.reconnect(fx.identity.staticKey.publicKey, NOW));
  const kk2 = sendOf(sensor.receive(kk1, NOW));
  expect(hub.receive(kk2, NOW)).toEqual([{ type: 'open', rekeyed: false }]);
  expect(hub.receive(seal(sensor, STATUS, NOW), NOW).map((e) => e.type)).toEqual(['app']);
  return { hub, sensor, kk1, kk2 };
}

function appOf(events: readonly (HubEvent | SensorEvent)[]): AppMessage | undefined {
  const e = events.find((x) => x.type === 'app');
  return e?.type === 'app' ? e.message : undefined;
}

const FAIL = Uint8Array.of(MessageKind.Fail);

// ── HubChannel ──────────────────────────────────────────────────────────────────────────────────

describe('HubChannel.receive under arbitrary input', () => {
  it('idle: everything is an unexpected message; nothing changes (its first PAIR_1 is still the one it would have sent)', () => {
    const h = honest();
    const sources: Sources = { mutable: [h.pair2, h.kk2, h.pairStatus], replayable: [h.pair2, h.kk2, h.pairStatus, FAIL, h.pair1, h.kk1] };
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const hub = newHub('pair');
        feed((m) => hub.receive(m, NOW), inputs, sources, HUB_EVENT_TYPES, (e) => isSecurity(e, 'unexpected-message'));
        expect(hub.state).toBe('idle');
        expect(equalBytes(sendOf(hub.pair(utf8(fx.identity.passcode), NOW)), h.pair1)).toBe(true);
      }),
      { numRuns: RUNS, seed: 11 },
    );
  });

  it('pairing (after pair()): only unexpected-message, pairing-failed, or a PAIR_3 for a PAIR_2 altered undetectably; then the genuine pairing completes, or nothing bonds', () => {
    const h = honest();
    const sources: Sources = { mutable: [h.pair2, h.pair2, h.kk2, h.pairStatus], replayable: [h.pair1, h.kk2, h.oldKk2, h.pairStatus, h.pair3] };
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const hub = newHub('pair');
        expect(equalBytes(sendOf(hub.pair(utf8(fx.identity.passcode), NOW)), h.pair1)).toBe(true);
        // (Once it has read an undetectably altered PAIR_2 it is confirming, and frames are refused.)
        const events = feed((m) => hub.receive(m, NOW), inputs, sources, HUB_EVENT_TYPES, (e) =>
          isSecurity(e, 'unexpected-message', 'frame-rejected', 'replay-rejected') ||
          (e.type === 'failed' && e.failure.kind === 'pairing-failed') ||
          (e.type === 'send' && e.message[0] === MessageKind.Pair3),
        );
        if (hub.state === 'pairing') {
          expect(events.some((e) => e.type === 'send' || e.type === 'failed')).toBe(false);
          expect(equalBytes(sendOf(hub.receive(h.pair2, NOW)), h.pair3)).toBe(true);
          expect(hub.receive(h.pairStatus, NOW).map((e) => e.type)).toEqual(['bonded', 'open', 'app']);
        } else if (hub.state === 'confirming') {
          // It read an altered PAIR_2 (e.g. another Yb): its keys are not the sensor's.
          expect(hub.receive(h.pairStatus, NOW)).toEqual([{ type: 'security', event: 'frame-rejected' }]);
          expect(hub.receive(FAIL, NOW)).toEqual([{ type: 'failed', failure: { kind: 'pairing-failed' } }]);
        } else {
          expect(hub.state).toBe('failed');
          expect(hub.receive(h.pair2, NOW)).toEqual([{ type: 'security', event: 'unexpected-message' }]);
        }
      }),
      { numRuns: HANDSHAKE_RUNS, seed: 12 },
    );
  });

  it('confirming (PAIR_3 sent): nothing bonds until the sensor’s genuine first frame, which still bonds afterwards', () => {
    const h = honest();
    const sources: Sources = { mutable: [h.pairStatus, h.pairStatus, h.pair2, h.kkStatus], replayable: [h.pair1, h.pair2, h.pair3, h.kk2, h.kkStatus] };
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const hub = newHub('pair');
        hub.pair(utf8(fx.identity.passcode), NOW);
        expect(equalBytes(sendOf(hub.receive(h.pair2, NOW)), h.pair3)).toBe(true);
        expect(hub.state).toBe('confirming');
        feed((m) => hub.receive(m, NOW), inputs, sources, HUB_EVENT_TYPES, (e) =>
          isSecurity(e, 'unexpected-message', 'frame-rejected', 'replay-rejected') || (e.type === 'failed' && e.failure.kind === 'pairing-failed'),
        );
        if (hub.state === 'confirming') expect(hub.receive(h.pairStatus, NOW).map((e) => e.type)).toEqual(['bonded', 'open', 'app']);
        else expect(hub.state).toBe('failed');
      }),
      { numRuns: HANDSHAKE_RUNS, seed: 13 },
    );
  });

  it('reconnecting (KK_1 sent): only unexpected-message or reconnect-failed; then the genuine KK_2 still opens the session', () => {
    const h = honest();
    const sources: Sources = { mutable: [h.kk2, h.kk2, h.kkStatus, h.kk1], replayable: [h.kk1, h.oldKk2, h.pair2, h.kkStatus, h.pairStatus] };
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const hub = newHub('kk');
        expect(equalBytes(sendOf(hub.reconnect(fx.identity.staticKey.publicKey, NOW)), h.kk1)).toBe(true);
        feed((m) => hub.receive(m, NOW), inputs, sources, HUB_EVENT_TYPES, (e) =>
          isSecurity(e, 'unexpected-message') || (e.type === 'failed' && e.failure.kind === 'reconnect-failed'),
        );
        if (hub.state === 'reconnecting') {
          expect(hub.receive(h.kk2, NOW)).toEqual([{ type: 'open', rekeyed: false }]);
          expect(appOf(hub.receive(h.kkStatus, NOW))).toMatchObject({ type: 'status' });
        } else {
          expect(hub.state).toBe('failed');
        }
      }),
      { numRuns: RUNS, seed: 14 },
    );
  });

  it('open: only security events; the held-back genuine frame and fresh frames both ways still open', () => {
    const h = honest();
    const withPeers = shared(openPeers);
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        withPeers((p) => {
          const delivered = seal(p.sensor, { ...STATUS, held: 1 } as AppMessage, NOW);
          expect(appOf(p.hub.receive(delivered, NOW))).toMatchObject({ type: 'status', held: 1 });
          const held = seal(p.sensor, { ...STATUS, held: 2 } as AppMessage, NOW);
          const own = sendOf(p.hub.send({ type: 'ack', upTo: 1 }, NOW));
          const sources: Sources = {
            mutable: [held, held, own, delivered],
            replayable: [delivered, own, p.kk1, p.kk2, h.kk2, h.pair2, FAIL, h.kkStatus],
          };
          feed((m) => p.hub.receive(m, NOW), inputs, sources, HUB_EVENT_TYPES, (e) =>
            isSecurity(e, 'unexpected-message', 'frame-rejected', 'replay-rejected'),
          );
          expect(p.hub.state).toBe('open');
          expect(appOf(p.hub.receive(held, NOW))).toMatchObject({ type: 'status', held: 2 });
          expect(appOf(p.sensor.receive(own, NOW))).toEqual({ type: 'ack', upTo: 1 });
          expect(appOf(p.hub.receive(seal(p.sensor, { ...STATUS, held: 3 } as AppMessage, NOW), NOW))).toMatchObject({ held: 3 });
          expect(appOf(p.sensor.receive(sendOf(p.hub.send({ type: 'ack', upTo: 3 }, NOW)), NOW))).toEqual({ type: 'ack', upTo: 3 });
        });
      }),
      { numRuns: RUNS, seed: 15 },
    );
  });
});

// ── SensorChannel ───────────────────────────────────────────────────────────────────────────────

describe('SensorChannel.receive under arbitrary input', () => {
  it('idle: answers only with PAIR_2 or FAIL, opens nothing, bonds nothing; a genuine KK_1 still opens a session afterwards', () => {
    const h = honest();
    const sources: Sources = { mutable: [h.pair1, h.kk1, h.kk1, h.pair3, h.kkHubFrame], replayable: [h.pair3, h.kkHubFrame, h.kk2, h.pair2, FAIL] };
    let run = 0;
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const policy = recordingPolicy(fx);
        const sensor = newSensor(`idle-${run++}`, policy);
        feed((m) => sensor.receive(m, NOW), inputs, sources, SENSOR_EVENT_TYPES, (e) =>
          isSecurity(e, 'unexpected-message') ||
          e.type === 'handshake-failed' ||
          (e.type === 'send' && (e.message[0] === MessageKind.Pair2 || equalBytes(e.message, FAIL))),
        );
        expect(policy.calls.filter((c) => c === 'paired' || c === 'reconnected')).toEqual([]);
        expect(['idle', 'pairing']).toContain(sensor.state);
        // A pairing started by an altered PAIR_1 (one the sensor cannot tell apart) times out.
        if (sensor.state === 'pairing') expect(sensor.tick(AFTER_TIMEOUT).map((e) => e.type)).toEqual(['send', 'handshake-failed']);
        expect(sensor.state).toBe('idle');
        const answer = sensor.receive(h.kk1, AFTER_TIMEOUT);
        expect(answer.map((e) => e.type)).toEqual(['send', 'open']);
        expect(sendOf(answer)[0]).toBe(MessageKind.Kk2);
        expect(policy.calls.filter((c) => c === 'reconnected')).toEqual(['reconnected']);
      }),
      { numRuns: HANDSHAKE_RUNS, seed: 21 },
    );
  });

  it('pairing (PAIR_2 sent): opens nothing while fuzzed; if nothing disturbed the handshake the genuine PAIR_3 still completes it, otherwise it bonds nothing', () => {
    const h = honest();
    // (No verbatim KK_1: once a disturbed pairing has sent the sensor back to idle, a genuine KK_1
    // rightly opens a session.)
    const sources: Sources = { mutable: [h.pair3, h.pair3, h.pair1, h.kk1, h.kkHubFrame], replayable: [h.pair2, h.pair1, h.kkHubFrame, FAIL, h.kk2] };
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const policy = recordingPolicy(fx);
        const sensor = newSensor('pair', policy);
        expect(equalBytes(sendOf(sensor.receive(h.pair1, NOW)), h.pair2)).toBe(true);
        const events = feed((m) => sensor.receive(m, NOW), inputs, sources, SENSOR_EVENT_TYPES, (e) =>
          isSecurity(e, 'unexpected-message') ||
          e.type === 'handshake-failed' ||
          (e.type === 'send' && (e.message[0] === MessageKind.Pair2 || equalBytes(e.message, FAIL))),
        );
        expect(policy.calls).not.toContain('paired');
        const intact = sensor.state === 'pairing' && !events.some((e) => e.type === 'send' || e.type === 'handshake-failed');
        const final = sensor.receive(h.pair3, NOW);
        if (intact) {
          expect(final.map((e) => e.type)).toEqual(['open']);
          expect(policy.calls.filter((c) => c === 'paired')).toEqual(['paired']);
        } else {
          expect(final.some((e) => e.type === 'open')).toBe(false);
          expect(policy.calls).not.toContain('paired');
        }
      }),
      { numRuns: HANDSHAKE_RUNS, seed: 22 },
    );
  });

  it('open: only security events (and a KK_2 for a replayed KK_1); the held-back genuine frame and fresh frames both ways still open', () => {
    const h = honest();
    const withPeers = shared(openPeers);
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        withPeers((p) => {
          const delivered = sendOf(p.hub.send({ type: 'ack', upTo: 1 }, NOW));
          expect(appOf(p.sensor.receive(delivered, NOW))).toEqual({ type: 'ack', upTo: 1 });
          const held = sendOf(p.hub.send({ type: 'ack', upTo: 2 }, NOW));
          const own = seal(p.sensor, STATUS, NOW);
          const sources: Sources = {
            mutable: [held, held, own, delivered, p.kk1],
            replayable: [delivered, own, p.kk1, p.kk2, h.pair1, h.pair3, h.kk1, FAIL, h.kkHubFrame],
          };
          feed((m) => p.sensor.receive(m, NOW), inputs, sources, SENSOR_EVENT_TYPES, (e) =>
            e.type === 'security' || (e.type === 'send' && e.message[0] === MessageKind.Kk2),
          );
          expect(p.sensor.state).toBe('open');
          expect(appOf(p.sensor.receive(held, NOW))).toEqual({ type: 'ack', upTo: 2 });
          expect(appOf(p.hub.receive(own, NOW))).toMatchObject({ type: 'status' });
          expect(appOf(p.sensor.receive(sendOf(p.hub.send({ type: 'ack', upTo: 3 }, NOW)), NOW))).toEqual({ type: 'ack', upTo: 3 });
          expect(appOf(p.hub.receive(seal(p.sensor, { ...STATUS, held: 4 } as AppMessage, NOW), NOW))).toMatchObject({ held: 4 });
        });
      }),
      { numRuns: RUNS, seed: 23 },
    );
  });
});

// ── HubSession.receiveFragment ──────────────────────────────────────────────────────────────────

const MTU = 247;
const CHUNK = chunkSizeForMtu(MTU);

let rigCount = 0;

/** A fresh session rig on the fixture's sensor and hub, with its own randomness. */
function openRig(): SessionRig {
  return sessionRig({
    identity: fx.identity,
    trustStore: fx.trustStore,
    hubKey: fx.hubKey,
    random: deterministicRandom(`fuzz/rig-${rigCount++}`),
    nowMs: NOW,
    storeCapacity: 100_000,
    attMtu: MTU,
    hubLabel: HUB_LABEL,
  });
}

type FragmentInput =
  | { readonly tag: 'raw'; readonly bytes: Uint8Array }
  | { readonly tag: 'header'; readonly seq: number; readonly index: number; readonly count: number; readonly chunk: Uint8Array }
  | { readonly tag: 'message'; readonly input: Input }
  | { readonly tag: 'flip'; readonly at: number; readonly bit: number };

const fragmentInputArb: fc.Arbitrary<FragmentInput> = fc.oneof(
  fc.record({ tag: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 260 }) }),
  fc.record({
    tag: fc.constant('header' as const),
    seq: fc.integer({ min: 0, max: 255 }),
    index: fc.oneof(fc.constantFrom(0, 1, 2, 254), fc.integer({ min: 0, max: 255 })),
    count: fc.oneof(fc.constantFrom(0, 1, 2, 3, 255), fc.integer({ min: 0, max: 255 })),
    chunk: fc.uint8Array({ maxLength: CHUNK + 2 }),
  }),
  fc.record({ tag: fc.constant('message' as const), input: inputArb }),
  fc.record({ tag: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
);

function measurement(i: number): Measurement {
  return { timeMs: NOW + i, code: MDC.ECG_HEART_RATE, unit: MDC.DIM_BEAT_PER_MIN, flags: 0, value: { kind: 1, value: { mantissa: 60 + (i % 50), exponent: 0 } } } as Measurement;
}

describe('HubSession.receiveFragment under arbitrary fragments', () => {
  it('an open session: only security outputs, never a throw; the held-back genuine fragment and the session (both ways) still work', () => {
    const h = honest();
    const withRig = shared(openRig);
    const garbageFragmenter = new Fragmenter(CHUNK);
    fc.assert(
      fc.property(fc.array(fragmentInputArb, { minLength: 1, maxLength: 12 }), (inputs) => {
        withRig((r) => {
          // A genuine STATUS from the sensor, held back while the fuzz goes in.
          r.apply(r.hub.send({ type: 'status-req' }, NOW));
          const held = r.connection.takeFragment();
          expect(held).toBeDefined();
          expect(r.connection.takeFragment()).toBeUndefined();
          const genuine = held as Uint8Array;
          const sources: Sources = { mutable: [genuine.subarray(FRAGMENT_HEADER_LEN)], replayable: [h.kk2, h.pair2, h.kkStatus, FAIL] };
          const before = r.outputs.length;
          for (const input of inputs) {
            const fragments: Uint8Array[] = [];
            switch (input.tag) {
              case 'raw':
                fragments.push(input.bytes);
                break;
              case 'header':
                fragments.push(Uint8Array.of(input.seq, input.index, input.count, ...input.chunk));
                break;
              case 'message': {
                const message = materialize(input.input, sources);
                if (message.length > 0) fragments.push(...garbageFragmenter.fragment(message));
                break;
              }
              case 'flip': {
                // Any byte but the fragment's seq, which is not authenticated: a copy with another
                // seq is the genuine message, rightly accepted.
                const copy = genuine.slice();
                const at = 1 + (input.at % (copy.length - 1));
                copy[at] = (copy[at] as number) ^ (1 << input.bit);
                fragments.push(copy);
                break;
              }
            }
            for (const f of fragments) {
              let outs: HubOutput[];
              try {
                outs = r.hub.receiveFragment(f, NOW);
              } catch (err) {
                throw new Error(`receiveFragment threw ${String(err)} on ${toHex(f)}`, { cause: err });
              }
              for (const o of outs) {
                if (o.type !== 'security') throw new Error(`output ${o.type} on ${toHex(f)}`);
                expect(SECURITY_EVENTS).toContain(o.event);
              }
              r.apply(outs);
            }
          }
          expect(r.outputs.slice(before).every((o) => o.type === 'security')).toBe(true);
          expect(r.hub.isOpen).toBe(true);
          // The held fragment still opens (its counter was not burnt by an altered copy).
          const statuses = r.outputs.filter((o) => o.type === 'status').length;
          r.apply(r.hub.receiveFragment(genuine, NOW));
          expect(r.outputs.filter((o) => o.type === 'status').length).toBe(statuses + 1);
          // And readings flow and are acknowledged.
          const first = r.device.store.lastSeq + 1;
          r.device.record([measurement(first), measurement(first + 1)]);
          r.settle();
          expect(r.stored.has(first) && r.stored.has(first + 1)).toBe(true);
          expect(r.device.store.held).toBe(0);
        });
      }),
      { numRuns: RUNS, seed: 31 },
    );
  });
});
