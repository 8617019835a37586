/**
 * GATT fragmentation, reassembly and envelope (docs/protocol.md §2.2, §2.3).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, ProtocolError } from '../../src/core/errors.js';
import {
  chunkSizeForMtu,
  FRAGMENT_HEADER_LEN,
  Fragmenter,
  MAX_MESSAGE,
  MessageKind,
  messageKind,
  REASSEMBLY_TIMEOUT_MS,
  Reassembler,
} from '../../src/core/framing.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('framing.test');

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function frag(seq: number, index: number, count: number, chunk: Uint8Array | number[]): Uint8Array {
  return Uint8Array.of(seq, index, count, ...chunk);
}

/** Pushes every fragment at time `t`; returns the messages completed, in order. */
function pushAll(r: Reassembler, fragments: readonly Uint8Array[], t = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fragments) {
    const m = r.push(f, t);
    if (m !== undefined) out.push(m);
  }
  return out;
}

describe('chunkSizeForMtu', () => {
  it('is ATT_MTU − 6 (ATT header and fragment header)', () => {
    expect(chunkSizeForMtu(23)).toBe(17);
    expect(chunkSizeForMtu(185)).toBe(179);
    expect(chunkSizeForMtu(247)).toBe(241);
    expect(chunkSizeForMtu(517)).toBe(511);
  });

  it('refuses an MTU below the ATT minimum of 23', () => {
    expect(() => chunkSizeForMtu(22)).toThrow(RangeError);
    expect(() => chunkSizeForMtu(0)).toThrow(RangeError);
    expect(() => chunkSizeForMtu(23.5)).toThrow(RangeError);
    expect(() => chunkSizeForMtu(Number.NaN)).toThrow(RangeError);
  });

  it('caps the chunk at MAX_MESSAGE, and at the minimum MTU a MAX_MESSAGE message needs ≤ 255 fragments', () => {
    expect(chunkSizeForMtu(65535)).toBe(MAX_MESSAGE);
    expect(Math.ceil(MAX_MESSAGE / chunkSizeForMtu(23))).toBe(241);
  });
});

describe('Fragmenter', () => {
  it('splits into equal chunks with a shorter last one and the §2.2 header', () => {
    const f = new Fragmenter(17);
    const message = random(40);
    const fragments = f.fragment(message);
    expect(fragments.map((x) => x.length)).toEqual([20, 20, 9]);
    expect(fragments.map((x) => Array.from(x.subarray(0, 3)))).toEqual([
      [0, 0, 3],
      [0, 1, 3],
      [0, 2, 3],
    ]);
    expect(fragments[2]?.subarray(3)).toEqual(message.subarray(34));
  });

  it('increments seq per message, mod 256', () => {
    const f = new Fragmenter(20);
    for (let i = 0; i < 600; i++) {
      expect(f.fragment(Uint8Array.of(1))[0]?.[0]).toBe(i % 256);
    }
  });

  it('throws limit for an empty or oversize message, without using a seq', () => {
    const f = new Fragmenter(17);
    for (const size of [0, MAX_MESSAGE + 1]) {
      const err = (() => {
        try {
          f.fragment(new Uint8Array(size));
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe('limit');
    }
    expect(f.nextSeq).toBe(0);
    expect(f.fragment(new Uint8Array(MAX_MESSAGE)).length).toBe(241);
  });

  it('throws limit when a message would need more than 255 fragments', () => {
    const f = new Fragmenter(1);
    expect(f.fragment(new Uint8Array(255)).length).toBe(255);
    expect(() => f.fragment(new Uint8Array(256))).toThrow(ProtocolError);
  });

  it('refuses a chunk size outside 1..MAX_MESSAGE', () => {
    expect(() => new Fragmenter(0)).toThrow(RangeError);
    expect(() => new Fragmenter(MAX_MESSAGE + 1)).toThrow(RangeError);
  });
});

describe('round trip', () => {
  for (const mtu of [23, 185, 247, 517]) {
    it(`every size 1..${MAX_MESSAGE} at ATT MTU ${mtu}`, () => {
      const chunk = chunkSizeForMtu(mtu);
      const f = new Fragmenter(chunk);
      const r = new Reassembler();
      const source = random(MAX_MESSAGE);
      let failures = 0;
      let fragmentsSent = 0;
      for (let size = 1; size <= MAX_MESSAGE; size++) {
        const message = source.subarray(0, size);
        const fragments = f.fragment(message);
        fragmentsSent += fragments.length;
        if (fragments.length !== Math.ceil(size / chunk)) failures++;
        if (fragments.some((x) => x.length > mtu - 3)) failures++;
        const out = pushAll(r, fragments, size);
        if (out.length !== 1 || !sameBytes(out[0], message)) failures++;
      }
      expect(failures).toBe(0);
      expect(r.stats).toEqual({ completed: MAX_MESSAGE, dropped: 0 });
      expect(fragmentsSent).toBeGreaterThan(MAX_MESSAGE);
    });
  }

  it('returns a copy: the reassembly buffer is reused, delivered messages are not touched', () => {
    const f = new Fragmenter(17);
    const r = new Reassembler();
    const a = random(100);
    const b = random(100);
    const outA = pushAll(r, f.fragment(a))[0];
    pushAll(r, f.fragment(b));
    expect(outA).toEqual(a);
  });
});

describe('Reassembler: lost, duplicated, reordered fragments', () => {
  const chunk = 17;
  const setup = (): { f: Fragmenter; r: Reassembler; messages: Uint8Array[]; fragments: Uint8Array[][] } => {
    const f = new Fragmenter(chunk);
    const r = new Reassembler();
    const messages = [random(50), random(60), random(70)];
    return { f, r, messages, fragments: messages.map((m) => f.fragment(m)) };
  };

  it('a lost middle fragment loses that message only', () => {
    const { r, messages, fragments } = setup();
    const [a, b, c] = fragments as [Uint8Array[], Uint8Array[], Uint8Array[]];
    const out = pushAll(r, [...a, b[0] as Uint8Array, b[2] as Uint8Array, ...b.slice(3), ...c]);
    expect(out).toEqual([messages[0], messages[2]]);
  });

  it('a lost first or last fragment loses that message only', () => {
    const { r, messages, fragments } = setup();
    const [a, b, c] = fragments as [Uint8Array[], Uint8Array[], Uint8Array[]];
    expect(pushAll(r, [...a.slice(1), ...b, ...c.slice(0, -1)])).toEqual([messages[1]]);
    expect(r.pendingBytes).toBeGreaterThan(0);
  });

  it('a duplicated fragment discards the message (index not the next expected) and nothing wrong is delivered', () => {
    const { r, messages, fragments } = setup();
    const [a, b, c] = fragments as [Uint8Array[], Uint8Array[], Uint8Array[]];
    const dupB = [b[0], b[1], b[1], ...b.slice(2)] as Uint8Array[];
    expect(pushAll(r, [...a, ...dupB, ...c])).toEqual([messages[0], messages[2]]);
  });

  it('a duplicated first fragment restarts the same message, which then completes', () => {
    const { r, messages, fragments } = setup();
    const [a] = fragments as [Uint8Array[]];
    expect(pushAll(r, [a[0] as Uint8Array, ...a])).toEqual([messages[0]]);
  });

  it('reordered fragments lose the message', () => {
    const { r, messages, fragments } = setup();
    const [a, b, c] = fragments as [Uint8Array[], Uint8Array[], Uint8Array[]];
    const swapped = [b[0], b[2], b[1], ...b.slice(3)] as Uint8Array[];
    expect(pushAll(r, [...a, ...swapped, ...c])).toEqual([messages[0], messages[2]]);
  });

  it('a fragment of another message (other seq) discards the one in progress', () => {
    const { r, messages, fragments } = setup();
    const [a, b, c] = fragments as [Uint8Array[], Uint8Array[], Uint8Array[]];
    // b interrupted by c's second fragment, then c complete.
    expect(pushAll(r, [...a, b[0] as Uint8Array, c[1] as Uint8Array, ...b.slice(1), ...c])).toEqual([
      messages[0],
      messages[2],
    ]);
  });

  it('a fragment with another count or a wrong chunk size discards the message in progress', () => {
    const r = new Reassembler();
    const full = new Array<number>(17).fill(7);
    expect(r.push(frag(1, 0, 3, full), 0)).toBeUndefined();
    expect(r.push(frag(1, 1, 4, full), 0)).toBeUndefined(); // count differs
    expect(r.pendingBytes).toBe(0);
    expect(r.push(frag(2, 0, 3, full), 0)).toBeUndefined();
    expect(r.push(frag(2, 1, 3, full.slice(1)), 0)).toBeUndefined(); // short middle chunk
    expect(r.pendingBytes).toBe(0);
    expect(r.push(frag(3, 0, 2, full), 0)).toBeUndefined();
    expect(r.push(frag(3, 1, 2, [...full, 1]), 0)).toBeUndefined(); // last chunk longer than the first
    expect(r.pendingBytes).toBe(0);
    expect(r.push(frag(4, 0, 2, full), 0)).toBeUndefined();
    expect(r.push(frag(4, 1, 2, [9]), 0)).toEqual(Uint8Array.of(...full, 9));
    expect(r.stats).toEqual({ completed: 1, dropped: 6 });
  });

  it('drops a non-zero index with nothing in progress, and malformed fragments, without throwing', () => {
    const r = new Reassembler();
    expect(r.push(frag(0, 1, 2, [1]), 0)).toBeUndefined();
    expect(r.push(Uint8Array.of(0), 0)).toBeUndefined();
    expect(r.push(Uint8Array.of(0, 0, 1), 0)).toBeUndefined(); // empty chunk
    expect(r.push(frag(0, 0, 0, [1]), 0)).toBeUndefined(); // count 0
    expect(r.push(frag(0, 5, 5, [1]), 0)).toBeUndefined(); // index ≥ count
    expect(r.stats).toEqual({ completed: 0, dropped: 5 });
    expect(r.push(frag(0, 0, 1, [42]), 0)).toEqual(Uint8Array.of(42));
  });

  it('ignores a zero-length value (an empty read of `data`) without touching the message in progress', () => {
    const r = new Reassembler();
    r.push(frag(0, 0, 2, [1, 2]), 0);
    expect(r.push(new Uint8Array(0), 0)).toBeUndefined();
    expect(r.push(frag(0, 1, 2, [3]), 0)).toEqual(Uint8Array.of(1, 2, 3));
    expect(r.stats).toEqual({ completed: 1, dropped: 0 });
  });
});

describe('Reassembler: timeout', () => {
  const parts = (): Uint8Array[] => new Fragmenter(17).fragment(new Uint8Array(40).fill(5));

  it(`completes at exactly ${REASSEMBLY_TIMEOUT_MS} ms after the first fragment`, () => {
    const r = new Reassembler();
    const [a, b, c] = parts() as [Uint8Array, Uint8Array, Uint8Array];
    r.push(a, 1000);
    r.push(b, 3000);
    expect(r.push(c, 1000 + REASSEMBLY_TIMEOUT_MS)).toEqual(new Uint8Array(40).fill(5));
  });

  it('discards a message still in progress after the timeout; a late fragment cannot complete it', () => {
    const r = new Reassembler();
    const [a, b, c] = parts() as [Uint8Array, Uint8Array, Uint8Array];
    r.push(a, 1000);
    r.push(b, 3000);
    expect(r.push(c, 1000 + REASSEMBLY_TIMEOUT_MS + 1)).toBeUndefined();
    expect(r.stats).toEqual({ completed: 0, dropped: 3 });
    expect(r.pendingBytes).toBe(0);
  });

  it('a new message after the timeout is reassembled normally', () => {
    const r = new Reassembler({ timeoutMs: 100 });
    const f = new Fragmenter(17);
    const first = f.fragment(new Uint8Array(40));
    r.push(first[0] as Uint8Array, 0);
    const second = f.fragment(new Uint8Array(30).fill(1));
    expect(pushAll(r, second, 500)).toEqual([new Uint8Array(30).fill(1)]);
  });
});

describe('Reassembler: oversize and endless messages', () => {
  it('discards at the first fragment a message whose count × chunk cannot fit MAX_MESSAGE', () => {
    const r = new Reassembler();
    // 255 fragments of 17 bytes: even the shortest such message (254 × 17 + 1 = 4319) is too long.
    expect(r.push(frag(0, 0, 255, new Array<number>(17).fill(0)), 0)).toBeUndefined();
    expect(r.pendingBytes).toBe(0);
    expect(r.stats.dropped).toBe(1);
    // A single fragment larger than MAX_MESSAGE.
    expect(r.push(new Uint8Array(FRAGMENT_HEADER_LEN + MAX_MESSAGE + 1).fill(0, 0, 3).fill(1, 2, 3), 0)).toBeUndefined();
    expect(r.stats.dropped).toBe(2);
  });

  it('discards a message as soon as its length exceeds MAX_MESSAGE', () => {
    const r = new Reassembler();
    // 241 × 17 can carry up to 4097 bytes; the shortest (4081) fits, so it starts...
    const chunk = new Array<number>(17).fill(3);
    for (let i = 0; i < 240; i++) r.push(frag(9, i, 241, chunk), 0);
    expect(r.pendingBytes).toBe(240 * 17);
    // ...and a last chunk that would make it 4097 bytes discards it.
    expect(r.push(frag(9, 240, 241, chunk), 0)).toBeUndefined();
    expect(r.stats).toEqual({ completed: 0, dropped: 241 });
    // 4096 exactly is fine.
    for (let i = 0; i < 240; i++) r.push(frag(10, i, 241, chunk), 0);
    expect(r.push(frag(10, 240, 241, chunk.slice(1)), 0)?.length).toBe(MAX_MESSAGE);
  });

  it('honours a smaller maxMessage', () => {
    const r = new Reassembler({ maxMessage: 30 });
    expect(pushAll(r, new Fragmenter(17).fragment(new Uint8Array(31)))).toEqual([]);
    expect(pushAll(r, new Fragmenter(17).fragment(new Uint8Array(30)))).toHaveLength(1);
  });

  it('a peer that keeps sending fragments of a message that never ends stays bounded and gets nothing through', () => {
    const r = new Reassembler();
    const chunk = new Array<number>(16).fill(0xaa);
    let maxPending = 0;
    let t = 0;
    // count 255 × 16 bytes fits MAX_MESSAGE, but the last fragment never comes: the index wraps
    // to 0 (restarting), skips ahead, or the sender just keeps dripping.
    for (let i = 0; i < 100_000; i++) {
      const index = i % 254; // never 254, the last
      const out = r.push(frag(7, index, 255, chunk), t);
      if (out !== undefined) throw new Error('delivered a message that never ended');
      maxPending = Math.max(maxPending, r.pendingBytes);
      t += 1;
    }
    expect(maxPending).toBeLessThanOrEqual(MAX_MESSAGE);
    expect(r.stats.completed).toBe(0);
    // Every fragment not still pending was dropped.
    expect(r.stats.dropped + r.pendingBytes / 16).toBe(100_000);
  });

  it('a slow drip is cut by the timeout even if it would complete', () => {
    const r = new Reassembler();
    const fragments = new Fragmenter(17).fragment(new Uint8Array(4096));
    const out = fragments.map((f, i) => r.push(f, i * 100)); // 241 fragments over 24 s
    expect(out.every((m) => m === undefined)).toBe(true);
    expect(r.stats.completed).toBe(0);
  });
});

describe('Reassembler: properties', () => {
  it('arbitrary byte strings never throw, memory stays bounded, and the stats add up', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 60 }), fc.nat(20_000)), { maxLength: 200 }),
        fc.integer({ min: 1, max: MAX_MESSAGE }),
        (pushes, maxMessage) => {
          const r = new Reassembler({ maxMessage });
          let nonEmpty = 0;
          let completedFragments = 0;
          for (const [bytes, t] of pushes) {
            if (bytes.length > 0) nonEmpty++;
            const out = r.push(bytes, t);
            if (out !== undefined) {
              completedFragments += bytes[2] as number; // the count of the message it completed
              expect(out.length).toBeLessThanOrEqual(maxMessage);
            }
            expect(r.pendingBytes).toBeLessThanOrEqual(maxMessage);
          }
          r.reset(); // what was pending is now dropped
          expect(r.pendingBytes).toBe(0);
          expect(completedFragments + r.stats.dropped).toBe(nonEmpty);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('whatever is lost, duplicated or reordered, every delivered message is one that was sent', () => {
    const op = fc.oneof(
      fc.constant<'keep'>('keep'),
      fc.constant<'drop'>('drop'),
      fc.constant<'dup'>('dup'),
      fc.constant<'swap'>('swap'),
    );
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(23, 40, 185),
        fc.array(op, { minLength: 1, maxLength: 50 }),
        (messages, mtu, ops) => {
          const f = new Fragmenter(chunkSizeForMtu(mtu));
          const stream = messages.flatMap((m) => f.fragment(m));
          // Apply the channel's misbehaviour, cycling through `ops`.
          const received: Uint8Array[] = [];
          for (let i = 0; i < stream.length; i++) {
            const action = ops[i % ops.length];
            const fragment = stream[i] as Uint8Array;
            if (action === 'drop') continue;
            if (action === 'dup') received.push(fragment, fragment);
            else if (action === 'swap' && i + 1 < stream.length) {
              received.push(stream[i + 1] as Uint8Array, fragment);
              i++;
            } else received.push(fragment);
          }
          const r = new Reassembler();
          const out = pushAll(r, received);
          const sent = new Set(messages.map((m) => Array.from(m).join(',')));
          for (const m of out) expect(sent.has(Array.from(m).join(','))).toBe(true);
          // (Order and uniqueness are not this layer's job: swapped or duplicated single-fragment
          // messages arrive swapped or twice; the transport's counter and window sort that out.)
          if (ops.every((o) => o === 'keep')) expect(out.length).toBe(messages.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('envelope (§2.3)', () => {
  it('names every kind of the table', () => {
    for (const kind of Object.values(MessageKind)) expect(messageKind(Uint8Array.of(kind, 1, 2))).toBe(kind);
    expect(MessageKind).toEqual({ Pair1: 1, Pair2: 2, Pair3: 3, Kk1: 4, Kk2: 5, Transport: 0x10, Fail: 0x7f });
  });

  it('rejects any other kind, and an empty message, as unknown-type', () => {
    const known = new Set<number>(Object.values(MessageKind));
    for (let k = 0; k < 256; k++) {
      if (known.has(k)) continue;
      expect(() => messageKind(Uint8Array.of(k))).toThrow(DecodeError);
    }
    try {
      messageKind(new Uint8Array(0));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).code).toBe('unknown-type');
    }
  });
});
