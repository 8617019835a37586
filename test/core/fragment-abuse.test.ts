/**
 * Fragment abuse (docs/protocol.md §2.1, §2.2): a peer that announces messages over MAX_MESSAGE,
 * sends fragments of messages that never complete, or floods single-fragment garbage. Both
 * receivers — the sensor's connection (`SensorConnection.receiveFragment`) and the hub
 * (`HubSession.receiveFragment`) — must stay bounded (one message in progress, at most
 * MAX_MESSAGE bytes), deliver nothing, throw nothing, and let the real session go on at once.
 *
 * The two ends are wired by hand here (no lossy link): hub writes go straight to the sensor's
 * connection, and `settle` moves the sensor's queued fragments to the hub until both are quiet.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { chunkSizeForMtu, FRAGMENT_HEADER_LEN, MAX_MESSAGE, MessageKind, Reassembler, REASSEMBLY_TIMEOUT_MS } from '../../src/core/framing.js';
import type { HubOutput } from '../../src/core/hub-session.js';
import { deterministicRandom } from '../support/deterministic-random.js';
import { heartRates, manufacturedSensor, sessionRig, type SessionRig } from '../support/fixtures.js';
import { seededUnit } from '../support/sim.js';

const START = Date.UTC(2026, 10, 28, 8, 0, 0);
const MTU = 247;
const CHUNK = chunkSizeForMtu(MTU);
/** §2.1: the sensor's data queue holds at most 64 fragments. */
const DATA_QUEUE_LIMIT = 64;

/** A rig on a sensor and hub key of their own, all from `seed`: paired, open and bonded. */
function rig(seed: string): SessionRig {
  const random = deterministicRandom(seed);
  const { identity, trustStore } = manufacturedSensor(random, START);
  const r = sessionRig({ identity, trustStore, random, nowMs: START, storeCapacity: 50_000, attMtu: MTU });
  expect(r.connection.isOpen).toBe(true);
  expect(r.outputs.some((o) => o.type === 'bonded')).toBe(true);
  return r;
}

/** The one Reassembler an object holds (a private field: found by type, not by name). */
function reassemblerOf(owner: object): Reassembler {
  const found = Object.values(owner).filter((v): v is Reassembler => v instanceof Reassembler);
  expect(found).toHaveLength(1);
  return found[0] as Reassembler;
}

function fragment(seq: number, index: number, count: number, chunk: Uint8Array | number, fill = 0xa5): Uint8Array {
  const body = typeof chunk === 'number' ? new Uint8Array(chunk).fill(fill) : chunk;
  const out = new Uint8Array(FRAGMENT_HEADER_LEN + body.length);
  out[0] = seq & 0xff;
  out[1] = index;
  out[2] = count;
  out.set(body, FRAGMENT_HEADER_LEN);
  return out;
}

/** The real session still works both ways: a hub request answered, readings stored and acknowledged. */
function expectSessionWorks(r: SessionRig, readings: number): void {
  const before = r.outputs.filter((o) => o.type === 'status').length;
  r.apply(r.hub.send({ type: 'status-req' }, r.clock.now));
  r.settle();
  expect(r.outputs.filter((o) => o.type === 'status').length).toBe(before + 1);
  const first = r.device.store.lastSeq + 1;
  r.device.record(heartRates(first, readings, r.clock.now));
  r.settle();
  for (let seq = first; seq < first + readings; seq++) expect(r.stored.has(seq)).toBe(true);
  expect(r.device.store.held).toBe(0);
}

/** `gc()` when the runtime lets us have it (V8: --expose-gc set at run time). */
function garbageCollector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** One receiving end under abuse. */
interface Side {
  readonly name: string;
  readonly reassembler: Reassembler;
  /** Feeds one fragment; returns whatever the receiver produced in response (must be nothing). */
  push(fragment: Uint8Array): readonly unknown[];
}

function sides(r: SessionRig): Side[] {
  return [
    {
      name: 'sensor',
      reassembler: reassemblerOf(r.connection),
      push: (f) => {
        r.connection.receiveFragment(f);
        const out: Uint8Array[] = [];
        for (let g = r.connection.takeFragment(); g !== undefined; g = r.connection.takeFragment()) out.push(g);
        return out;
      },
    },
    { name: 'hub', reassembler: reassemblerOf(r.hub), push: (f) => r.hub.receiveFragment(f, r.clock.now) },
  ];
}

/** Pushes every fragment into a receiver; returns how many, the peak pending bytes, and any response. */
function abuse(side: Side, fragments: Iterable<Uint8Array>): { pushed: number; peak: number; responses: unknown[] } {
  let pushed = 0;
  let peak = 0;
  const responses: unknown[] = [];
  for (const f of fragments) {
    responses.push(...side.push(f));
    pushed++;
    peak = Math.max(peak, side.reassembler.pendingBytes);
  }
  return { pushed, peak, responses };
}

describe('oversized messages', () => {
  it('a first fragment announcing more than MAX_MESSAGE is dropped at once, and so is everything after it', () => {
    const r = rig('oversize-announce');
    for (const side of sides(r)) {
      const { completed, dropped } = { ...side.reassembler.stats };
      // 255 × 241-byte chunks: at least 254 × 241 + 1 = 61 215 bytes, far over 4 096.
      const announced = function* () {
        yield fragment(9, 0, 255, CHUNK);
        for (let i = 1; i < 255; i++) yield fragment(9, i, 255, CHUNK);
      };
      const result = abuse(side, announced());
      expect(result.responses, side.name).toEqual([]);
      expect(result.peak, side.name).toBe(0);
      expect(side.reassembler.stats.completed, side.name).toBe(completed);
      expect(side.reassembler.stats.dropped - dropped, side.name).toBe(255);
      // A single fragment larger than MAX_MESSAGE (only the API can carry one; GATT cannot).
      expect(abuse(side, [fragment(10, 0, 1, MAX_MESSAGE + 1)]).responses, side.name).toEqual([]);
      expect(side.reassembler.stats.completed, side.name).toBe(completed);
    }
    expectSessionWorks(r, 50);
  });

  it('a message that grows past MAX_MESSAGE fragment by fragment is discarded when its last fragment would overflow', () => {
    const r = rig('oversize-grow');
    for (const side of sides(r)) {
      const { completed } = { ...side.reassembler.stats };
      // 241 chunks of 17 bytes: the first fragment's lower bound (240 × 17 + 1 = 4 081) fits, but a
      // full last chunk makes 4 097.
      const growing = function* () {
        for (let i = 0; i < 241; i++) yield fragment(77, i, 241, 17, i);
      };
      const result = abuse(side, growing());
      expect(result.responses, side.name).toEqual([]);
      expect(result.peak, side.name).toBeLessThanOrEqual(MAX_MESSAGE);
      expect(result.peak, side.name).toBe(240 * 17);
      expect(side.reassembler.pendingBytes, side.name).toBe(0);
      expect(side.reassembler.stats.completed, side.name).toBe(completed);
    }
    expectSessionWorks(r, 50);
  });
});

describe('messages that never complete', () => {
  it('thousands of fragments over every seq value, restarting, skipping, repeating and mismatching: one message in progress at most, nothing delivered', () => {
    const r = rig('endless');
    const gc = garbageCollector();
    for (const side of sides(r)) {
      const { completed, dropped } = { ...side.reassembler.stats };
      const unit = seededUnit(side.name === 'hub' ? 7 : 8);
      const chunk = new Uint8Array(16).fill(0x5a);
      const TOTAL = 20_000;
      const endless = function* () {
        let seq = 0;
        for (let n = 0; n < TOTAL; ) {
          // A message of 255 fragments that always stops short of its last one.
          seq = (seq + 1) & 0xff;
          const stopAt = 1 + Math.floor(unit() * 253);
          yield fragment(seq, 0, 255, chunk);
          n++;
          for (let i = 1; i <= stopAt && n < TOTAL; i++, n++) {
            const roll = unit();
            if (roll < 0.01) yield fragment(seq, i, 255, chunk.subarray(0, 15)); // short non-last chunk
            else if (roll < 0.02) yield fragment(seq ^ 1, i, 255, chunk); // another seq
            else if (roll < 0.03) yield fragment(seq, i, 254, chunk); // another count
            else if (roll < 0.04) yield fragment(seq, i + 1, 255, chunk); // a skipped index
            else if (roll < 0.05) yield fragment(seq, i - 1, 255, chunk); // a repeated index
            else yield fragment(seq, i, 255, chunk);
          }
        }
      };
      gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const result = abuse(side, endless());
      gc?.();
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      expect(result.pushed, side.name).toBe(TOTAL);
      expect(result.responses, side.name).toEqual([]);
      expect(result.peak, side.name).toBeLessThanOrEqual(MAX_MESSAGE);
      expect(side.reassembler.pendingBytes, side.name).toBeLessThanOrEqual(254 * 16);
      expect(side.reassembler.stats.completed, side.name).toBe(completed);
      // Every fragment is dropped or part of the one message still in progress.
      expect(side.reassembler.stats.dropped - dropped + side.reassembler.pendingBytes / 16, side.name).toBe(TOTAL);
      // 20 000 fragments pushed (320 kB of chunks): the receiver keeps none of them.
      if (gc) expect(heapGrowth, side.name).toBeLessThan(1_000_000);
    }
    expectSessionWorks(r, 50);
  });

  it('a message kept in progress past REASSEMBLY_TIMEOUT_MS is discarded: a late continuation completes nothing', () => {
    const r = rig('slow-loris');
    for (const side of sides(r)) {
      const { completed } = { ...side.reassembler.stats };
      expect(abuse(side, [fragment(3, 0, 2, 40)]).responses).toEqual([]);
      expect(side.reassembler.pendingBytes, side.name).toBe(40);
      r.clock.now += REASSEMBLY_TIMEOUT_MS + 1;
      expect(abuse(side, [fragment(3, 1, 2, 10)]).responses, side.name).toEqual([]);
      expect(side.reassembler.pendingBytes, side.name).toBe(0);
      expect(side.reassembler.stats.completed, side.name).toBe(completed);
    }
    expectSessionWorks(r, 20);
  });
});

describe('single-fragment garbage', () => {
  it('thousands of complete one-fragment messages of random kinds and bytes: rejected, no reply, the session unharmed', () => {
    const r = rig('garbage');
    const unit = seededUnit(99);
    const byte = () => Math.floor(unit() * 256);
    // Kinds biased towards the ones that reach a state machine. PAIR_1 is left out: on an open
    // sensor session any PAIR_1 starts the connection over (see tampering.test.ts, "a PAIR_1
    // replayed to the sensor while a session is open does not tear the session down").
    const kinds = [MessageKind.Pair2, MessageKind.Pair3, MessageKind.Kk1, MessageKind.Kk2, MessageKind.Transport, MessageKind.Fail, 0x00, 0x11, 0xff];
    const lengths = [1, 9, 24, 25, 49, 97, 120, CHUNK];
    const garbage = function* (n: number) {
      for (let i = 0; i < n; i++) {
        const length = lengths[Math.floor(unit() * lengths.length)] as number;
        const body = Uint8Array.from({ length }, byte);
        if (unit() < 0.8) body[0] = kinds[Math.floor(unit() * kinds.length)] as number;
        if (body[0] === MessageKind.Pair1) body[0] = 0;
        yield fragment(byte(), 0, 1, body);
      }
    };
    const outputsBefore = r.outputs.length;
    for (const side of sides(r)) {
      const { completed } = { ...side.reassembler.stats };
      const result = abuse(side, garbage(3_000));
      // Each is a whole message (so it reaches the channel), and each is refused without a reply:
      // the sensor queues nothing, the hub reports only security events.
      expect(side.reassembler.stats.completed - completed, side.name).toBe(3_000);
      if (side.name === 'sensor') expect(result.responses).toEqual([]);
      else expect(new Set((result.responses as HubOutput[]).map((o) => o.type))).toEqual(new Set(['security']));
    }
    expect(r.outputs.slice(outputsBefore).filter((o) => o.type !== 'security')).toEqual([]);
    expectSessionWorks(r, 50);
  });

  it('a peer that writes hundreds of bad handshakes and never reads: the sensor’s data queue stays within its 64 fragments', () => {
    // §2.1: "The sensor's queue is bounded (64 fragments)". A new connection (no session) answers
    // every KK_1 that does not authenticate with FAIL; a peer that never reads must not make it
    // queue without limit.
    const r = rig('never-reads');
    const attacker = r.device.connect(MTU);
    const unit = seededUnit(5);
    for (let i = 0; i < 4 * DATA_QUEUE_LIMIT; i++) {
      const kk1 = Uint8Array.from({ length: 49 }, () => Math.floor(unit() * 256));
      kk1[0] = MessageKind.Kk1;
      attacker.receiveFragment(fragment(i, 0, 1, kk1));
    }
    expect(attacker.queuedFragments).toBeLessThanOrEqual(DATA_QUEUE_LIMIT);
    attacker.disconnect();
    expectSessionWorks(r, 20);
  });
});
