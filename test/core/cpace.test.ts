/**
 * CPace (CPACE-X25519-SHA512, draft-irtf-cfrg-cpace; docs/protocol.md §4.2).
 *
 * - The draft's own test vectors (shared folder, key "G_25519" and "X25519_points"): g, Ya, Yb, K,
 *   ISK_IR, ISK_SY, sid_output_ir/oc, and the low-order / non-canonical points.
 * - The string-utility vectors printed in the draft's appendix (always run: no file needed).
 * - Properties of the run as Vitalock uses it (hub = initiator, sensor = responder).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { equalBytes, fromHex, toHex, utf8 } from '../../src/core/bytes.js';
import {
  CPACE_ISK_LEN,
  cpaceDeriveIsk,
  cpaceGenerator,
  cpaceScalarMultVfy,
  cpaceSidOutput,
  cpaceStart,
  generatorString,
  lexicographicallyLarger,
  lvCat,
  oCat,
  pairingChannelIdentifier,
  prependLen,
  transcriptIr,
  transcriptOc,
} from '../../src/core/cpace.js';
import type { CpaceExchange, CpaceStartOptions } from '../../src/core/cpace.js';
import { ProtocolError } from '../../src/core/errors.js';
import type { Random } from '../../src/core/primitives.js';
import { readVectorFile, vectorsDir } from '../support/vectors.js';

const noRandom: Random = () => {
  throw new Error('randomness not expected in this test');
};

/** A `Random` that hands out the given 32-byte scalar (a copy per call). */
function scalarRandom(scalar: Uint8Array): Random {
  return (n) => {
    if (n !== scalar.length) throw new Error(`unexpected random(${n})`);
    return scalar.slice();
  };
}

function expectProtocolError(fn: () => unknown, code: ProtocolError['code']): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(code);
}

/** RFC 7748 decodeScalar25519: the scalar X25519 actually uses. */
function clamp(k: Uint8Array): Uint8Array {
  const c = k.slice();
  c[0] = (c[0] as number) & 248;
  c[31] = ((c[31] as number) & 127) | 64;
  return c;
}

// ── Draft vectors (shared folder) ───────────────────────────────────────────────────────────────

interface G25519Vectors {
  readonly PRS: string;
  readonly CI: string;
  readonly sid: string;
  readonly g: string;
  readonly ya: string;
  readonly ADa: string;
  readonly Ya: string;
  readonly yb: string;
  readonly ADb: string;
  readonly Yb: string;
  readonly K: string;
  readonly ISK_IR: string;
  readonly ISK_SY: string;
  readonly sid_output_ir: string;
  readonly sid_output_oc: string;
}

/**
 * The draft's appendix "Test vectors for G_X25519.scalar_mult_vfy: low order points": with this
 * scalar s, u0..u5 and u7 (JSON "Invalid Y0".."Invalid Y5", "Invalid Y7") give the neutral element
 * and MUST abort; u6, u8..ub have bit 255 set and are only "invalid" for an implementation that
 * forgets to clear it — a correct one returns these q values. These results are printed in the
 * draft, not in testvectors.json.
 */
const LOW_ORDER_SCALAR = 'af46e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449aff';
const MUST_ABORT = ['Invalid Y0', 'Invalid Y1', 'Invalid Y2', 'Invalid Y3', 'Invalid Y4', 'Invalid Y5', 'Invalid Y7'];
const NON_CANONICAL_RESULTS: Readonly<Record<string, string>> = {
  'Invalid Y6': 'd8e2c776bbacd510d09fd9278b7edcd25fc5ae9adfba3b6e040e8d3b71b21806',
  'Invalid Y8': 'c85c655ebe8be44ba9c0ffde69f2fe10194458d137f09bbff725ce58803cdb38',
  'Invalid Y9': 'db64dafa9b8fdd136914e61461935fe92aa372cb056314e1231bc4ec12417456',
  'Invalid Y10': 'e062dcd5376d58297be2618c7498f55baa07d7e03184e8aada20bca28888bf7a',
  'Invalid Y11': '993c6ad11c4c29da9a56f7691fd0ff8d732e49de6250b6c2e80003ff4629a175',
};

const dir = vectorsDir();
const vectorText = dir === undefined ? undefined : readVectorFile('cpace/testvectors.json');
const skipReason = dir === undefined
  ? 'vectors folder not found (set VITALOCK_VECTORS or provide ../shared/vectors)'
  : 'cpace/testvectors.json not found in the vectors folder';
if (vectorText === undefined) console.log(`CPace vector suite skipped: ${skipReason}`);
const vectorSuite = vectorText === undefined ? describe.skip : describe;

vectorSuite(vectorText === undefined ? `CPace draft vectors (skipped: ${skipReason})` : 'CPace draft vectors (G_25519)', () => {
  const all = JSON.parse(vectorText ?? '{}') as { G_25519: G25519Vectors; X25519_points: Record<string, string> };
  const v = all.G_25519;
  const h = (key: keyof G25519Vectors): Uint8Array => fromHex(v[key]);
  const hex = (key: keyof G25519Vectors): string => v[key].toLowerCase();

  function startA(extra: Partial<CpaceStartOptions> = {}): CpaceExchange {
    return cpaceStart({ prs: h('PRS'), ci: h('CI'), sid: h('sid'), ad: h('ADa'), random: scalarRandom(h('ya')), ...extra });
  }
  function startB(extra: Partial<CpaceStartOptions> = {}): CpaceExchange {
    return cpaceStart({ prs: h('PRS'), ci: h('CI'), sid: h('sid'), ad: h('ADb'), random: noRandom, scalar: h('yb'), ...extra });
  }

  it('calculate_generator gives g', () => {
    expect(toHex(cpaceGenerator(h('PRS'), h('CI'), h('sid')))).toBe(hex('g'));
  });

  it('Ya and Yb from the fixed scalars', () => {
    expect(toHex(startA().share)).toBe(hex('Ya'));
    expect(toHex(startB().share)).toBe(hex('Yb'));
  });

  it('K = scalar_mult_vfy(ya, Yb) = scalar_mult_vfy(yb, Ya)', () => {
    expect(toHex(cpaceScalarMultVfy(h('ya'), h('Yb')))).toBe(hex('K'));
    expect(toHex(cpaceScalarMultVfy(h('yb'), h('Ya')))).toBe(hex('K'));
  });

  it('ISK_IR through finish() on both sides', () => {
    const a = startA();
    const b = startB();
    expect(toHex(a.finish(b.share, h('ADb'), 'initiator'))).toBe(hex('ISK_IR'));
    expect(toHex(b.finish(a.share, h('ADa'), 'responder'))).toBe(hex('ISK_IR'));
  });

  it('ISK_SY (transcript_oc) through finish() in symmetric mode and through the helpers', () => {
    const a = startA({ mode: 'symmetric' });
    const b = startB({ mode: 'symmetric' });
    expect(toHex(a.finish(b.share, h('ADb'), 'initiator'))).toBe(hex('ISK_SY'));
    expect(toHex(b.finish(a.share, h('ADa'), 'responder'))).toBe(hex('ISK_SY'));
    const t = transcriptOc(h('Ya'), h('ADa'), h('Yb'), h('ADb'));
    expect(toHex(cpaceDeriveIsk(h('sid'), h('K'), t))).toBe(hex('ISK_SY'));
    // Ordered concatenation does not depend on who is called A.
    expect(toHex(transcriptOc(h('Yb'), h('ADb'), h('Ya'), h('ADa')))).toBe(toHex(t));
  });

  it('ISK_IR through the helpers, and the transcript printed in the draft', () => {
    const t = transcriptIr(h('Ya'), h('ADa'), h('Yb'), h('ADb'));
    expect(toHex(t)).toBe(`20${hex('Ya')}03${hex('ADa')}20${hex('Yb')}03${hex('ADb')}`);
    expect(toHex(cpaceDeriveIsk(h('sid'), h('K'), t))).toBe(hex('ISK_IR'));
  });

  it('sid_output for both transcripts', () => {
    expect(toHex(cpaceSidOutput(transcriptIr(h('Ya'), h('ADa'), h('Yb'), h('ADb'))))).toBe(hex('sid_output_ir'));
    expect(toHex(cpaceSidOutput(transcriptOc(h('Ya'), h('ADa'), h('Yb'), h('ADb'))))).toBe(hex('sid_output_oc'));
  });

  it('the points list is the one the draft describes', () => {
    expect(Object.keys(all.X25519_points).sort()).toEqual([...MUST_ABORT, ...Object.keys(NON_CANONICAL_RESULTS)].sort());
  });

  it.each(MUST_ABORT)('%s (low order) is rejected by the receive path in both roles', (name) => {
    const point = fromHex(all.X25519_points[name] ?? '');
    expect(point.length).toBe(32);
    expectProtocolError(() => cpaceScalarMultVfy(fromHex(LOW_ORDER_SCALAR), point), 'auth-failed');
    expectProtocolError(() => startA().finish(point, h('ADb'), 'initiator'), 'auth-failed');
    expectProtocolError(() => startB().finish(point, h('ADa'), 'responder'), 'auth-failed');
  });

  it.each(Object.keys(NON_CANONICAL_RESULTS))('%s (bit 255 set, not low order once cleared) gives the draft result', (name) => {
    const point = fromHex(all.X25519_points[name] ?? '');
    expect(toHex(cpaceScalarMultVfy(fromHex(LOW_ORDER_SCALAR), point))).toBe(NON_CANONICAL_RESULTS[name]);
    expect(startA().finish(point, h('ADb'), 'initiator')).toHaveLength(CPACE_ISK_LEN);
  });
});

// ── Appendix string-utility vectors (no file needed) ────────────────────────────────────────────

describe('CPace string utilities (draft appendix vectors)', () => {
  const range = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);

  it('prepend_len (LEB128)', () => {
    expect(toHex(prependLen(new Uint8Array(0)))).toBe('00');
    expect(toHex(prependLen(utf8('1234')))).toBe('0431323334');
    expect(toHex(prependLen(range(127)).subarray(0, 2))).toBe('7f00');
    expect(prependLen(range(127))).toHaveLength(128);
    expect(toHex(prependLen(range(128)).subarray(0, 3))).toBe('800100');
    expect(prependLen(range(128))).toHaveLength(130);
    expect(toHex(prependLen(new Uint8Array(300)).subarray(0, 2))).toBe('ac02');
  });

  it('lv_cat', () => {
    expect(toHex(lvCat(utf8('1234'), utf8('5'), new Uint8Array(0), utf8('678')))).toBe('043132333401350003363738');
  });

  it('lexicographic order and o_cat', () => {
    const b = (...x: number[]): Uint8Array => Uint8Array.from(x);
    expect(lexicographicallyLarger(b(0), b(0, 0))).toBe(false);
    expect(lexicographicallyLarger(b(1), b(0, 0))).toBe(true);
    expect(lexicographicallyLarger(b(0, 0), b(0))).toBe(true);
    expect(lexicographicallyLarger(b(0, 0), b(1))).toBe(false);
    expect(lexicographicallyLarger(b(0, 1), b(1))).toBe(false);
    expect(lexicographicallyLarger(utf8('ABCD'), utf8('BCD'))).toBe(false);
    expect(toHex(oCat(utf8('ABCD'), utf8('BCD')))).toBe('6f6342434441424344');
    expect(toHex(oCat(utf8('BCD'), utf8('ABCDE')))).toBe('6f634243444142434445');
  });

  it('transcript_ir and transcript_oc', () => {
    const [pA, pB] = [utf8('PartyA'), utf8('PartyB')];
    expect(toHex(transcriptIr(utf8('123'), pA, utf8('234'), pB))).toBe('03313233065061727479410332333406506172747942');
    expect(toHex(transcriptIr(utf8('3456'), pA, utf8('2345'), pB))).toBe('043334353606506172747941043233343506506172747942');
    expect(toHex(transcriptOc(utf8('123'), pA, utf8('234'), pB))).toBe('6f6303323334065061727479420331323306506172747941');
    expect(toHex(transcriptOc(utf8('3456'), pA, utf8('2345'), pB))).toBe('6f63043334353606506172747941043233343506506172747942');
  });

  it('generator_string of the X25519 vector (170 bytes, ZPAD 109)', () => {
    const ci = fromHex('0b415f696e69746961746f720b425f726573706f6e646572');
    const sid = fromHex('7e4b4791d6a8ef019b936c79fb7f2c57');
    const s = generatorString(utf8('Password'), ci, sid);
    expect(s).toHaveLength(170);
    expect(toHex(s)).toBe(
      '0843506163653235350850617373776f72646d' + '00'.repeat(109) + '180b415f696e69746961746f720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f2c57',
    );
  });

  it('DSI, PRS and the zero padding fill exactly the first 128-byte block', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (prs) => {
        const s = generatorString(prs, new Uint8Array(0), new Uint8Array(0));
        const head = 9 + prependLen(prs).length; // prepend_len("CPace255") is 9 bytes
        const zpad = Math.max(0, 128 - 1 - head);
        const zpadField = prependLen(new Uint8Array(zpad)).length;
        if (zpad > 0) expect(head + zpadField).toBe(128);
        expect(s).toHaveLength(head + zpadField + 2);
      }),
    );
  });
});

// ── Properties of a Vitalock pairing run ────────────────────────────────────────────────────────

const HUB_AD = utf8('hub');
const SENSOR_AD = utf8('sensor');
const passcode = fc.integer({ min: 0, max: 99_999_999 }).map((n) => String(n).padStart(8, '0'));
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const sid16 = fc.uint8Array({ minLength: 16, maxLength: 16 });

interface Run {
  readonly hubIsk: Uint8Array;
  readonly sensorIsk: Uint8Array;
  readonly hubShare: Uint8Array;
  readonly sensorShare: Uint8Array;
}

function pair(hubCode: string, sensorCode: string, sid: Uint8Array, ya: Uint8Array, yb: Uint8Array): Run {
  const ci = pairingChannelIdentifier();
  const hub = cpaceStart({ prs: utf8(hubCode), ci, sid, ad: HUB_AD, random: scalarRandom(ya) });
  const sensor = cpaceStart({ prs: utf8(sensorCode), ci, sid, ad: SENSOR_AD, random: scalarRandom(yb) });
  return {
    hubShare: hub.share,
    sensorShare: sensor.share,
    hubIsk: hub.finish(sensor.share, SENSOR_AD, 'initiator'),
    sensorIsk: sensor.finish(hub.share, HUB_AD, 'responder'),
  };
}

describe('CPace pairing properties', () => {
  it('CI is lv_cat("VITALOCK-PAIR-1")', () => {
    expect(toHex(pairingChannelIdentifier())).toBe('0f' + toHex(utf8('VITALOCK-PAIR-1')));
  });

  it('hub and sensor with the same passcode derive the same 64-byte ISK', () => {
    fc.assert(
      fc.property(passcode, sid16, bytes32, bytes32, (code, sid, ya, yb) => {
        const r = pair(code, code, sid, ya, yb);
        expect(r.hubIsk).toHaveLength(CPACE_ISK_LEN);
        expect(toHex(r.hubIsk)).toBe(toHex(r.sensorIsk));
      }),
      { numRuns: 25 },
    );
  });

  it('different passcodes give different ISKs (and neither side notices before key confirmation)', () => {
    fc.assert(
      fc.property(passcode, passcode, sid16, bytes32, bytes32, (c1, c2, sid, ya, yb) => {
        fc.pre(c1 !== c2);
        const r = pair(c1, c2, sid, ya, yb);
        expect(r.hubIsk).toHaveLength(CPACE_ISK_LEN);
        expect(r.sensorIsk).toHaveLength(CPACE_ISK_LEN);
        expect(equalBytes(r.hubIsk, r.sensorIsk)).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it('a different sid or a swapped AD gives a different ISK', () => {
    const code = '12345678';
    const [ya, yb] = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    const base = pair(code, code, new Uint8Array(16), ya, yb);
    const otherSid = pair(code, code, new Uint8Array(16).fill(9), ya, yb);
    expect(equalBytes(base.hubIsk, otherSid.hubIsk)).toBe(false);
    const ci = pairingChannelIdentifier();
    const sensor = cpaceStart({ prs: utf8(code), ci, sid: new Uint8Array(16), ad: SENSOR_AD, random: scalarRandom(yb) });
    expect(equalBytes(sensor.finish(base.hubShare, utf8('hub2'), 'responder'), base.hubIsk)).toBe(false);
  });

  it('ISK depends on the ephemeral scalars: knowing the passcode and the transcript is not enough', () => {
    fc.assert(
      fc.property(passcode, sid16, bytes32, bytes32, bytes32, (code, sid, ya, yb, guess) => {
        // X25519 only uses the clamped scalar; a guess equal to ya after clamping is ya.
        fc.pre(!equalBytes(clamp(guess), clamp(ya)) && !equalBytes(clamp(guess), clamp(yb)));
        const honest = pair(code, code, sid, ya, yb);
        // The eavesdropper knows PRS, CI, sid, Ya, Yb, ADa, ADb but not ya / yb: any other scalar
        // on either side of the DH gives a different K, hence a different ISK.
        const transcript = transcriptIr(honest.hubShare, HUB_AD, honest.sensorShare, SENSOR_AD);
        const kHubSide = cpaceScalarMultVfy(guess, honest.sensorShare);
        const kSensorSide = cpaceScalarMultVfy(guess, honest.hubShare);
        expect(equalBytes(cpaceDeriveIsk(sid, kHubSide, transcript), honest.hubIsk)).toBe(false);
        expect(equalBytes(cpaceDeriveIsk(sid, kSensorSide, transcript), honest.hubIsk)).toBe(false);
        // Re-running the hub with the same passcode but a fresh scalar gives another key too.
        const hub2 = cpaceStart({ prs: utf8(code), ci: pairingChannelIdentifier(), sid, ad: HUB_AD, random: scalarRandom(guess) });
        expect(equalBytes(hub2.finish(honest.sensorShare, SENSOR_AD, 'initiator'), honest.hubIsk)).toBe(false);
      }),
      { numRuns: 20 },
    );
  });

  it('finish() with an arbitrary peer share returns 64 bytes or throws ProtocolError(auth-failed)', () => {
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ].map(fromHex);
    const peerShare = fc.oneof(bytes32, fc.constantFrom(...lowOrder), fc.uint8Array({ maxLength: 64 }));
    const role = fc.constantFrom('initiator' as const, 'responder' as const);
    fc.assert(
      fc.property(peerShare, fc.uint8Array({ maxLength: 40 }), role, bytes32, (share, ad, r, scalar) => {
        // A fresh session per case: finish is single-use.
        const s = cpaceStart({ prs: utf8('00000000'), ci: pairingChannelIdentifier(), sid: new Uint8Array(16), ad: HUB_AD, random: noRandom, scalar });
        try {
          const isk = s.finish(share, ad, r);
          expect(isk).toBeInstanceOf(Uint8Array);
          expect(isk).toHaveLength(CPACE_ISK_LEN);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          expect((e as ProtocolError).code).toBe('auth-failed');
        }
      }),
      { numRuns: 60 },
    );
  });

  it('finish() is single-use: a second call throws bad-state, after success or failure', () => {
    const start = (): CpaceExchange =>
      cpaceStart({ prs: utf8('12345678'), ci: pairingChannelIdentifier(), sid: new Uint8Array(16), ad: HUB_AD, random: scalarRandom(new Uint8Array(32).fill(3)) });
    const peer = cpaceStart({ prs: utf8('12345678'), ci: pairingChannelIdentifier(), sid: new Uint8Array(16), ad: SENSOR_AD, random: scalarRandom(new Uint8Array(32).fill(4)) });
    const ok = start();
    ok.finish(peer.share, SENSOR_AD, 'initiator');
    expectProtocolError(() => ok.finish(peer.share, SENSOR_AD, 'initiator'), 'bad-state');
    const failed = start();
    expectProtocolError(() => failed.finish(new Uint8Array(32), SENSOR_AD, 'initiator'), 'auth-failed');
    expectProtocolError(() => failed.finish(peer.share, SENSOR_AD, 'initiator'), 'bad-state');
    const abandoned = start();
    abandoned.destroy();
    abandoned.destroy();
    expectProtocolError(() => abandoned.finish(peer.share, SENSOR_AD, 'initiator'), 'bad-state');
  });

  it('the sampled scalar is wiped by finish() and destroy(); a caller-supplied scalar is copied, not wiped', () => {
    let sampled: Uint8Array | undefined;
    const random: Random = (n) => {
      sampled = new Uint8Array(n).fill(5);
      return sampled;
    };
    const ci = pairingChannelIdentifier();
    const hub = cpaceStart({ prs: utf8('87654321'), ci, sid: new Uint8Array(16), ad: HUB_AD, random });
    const fixed = new Uint8Array(32).fill(6);
    const sensor = cpaceStart({ prs: utf8('87654321'), ci, sid: new Uint8Array(16), ad: SENSOR_AD, random: noRandom, scalar: fixed });
    hub.finish(sensor.share, SENSOR_AD, 'initiator');
    expect(sampled?.every((b) => b === 0)).toBe(true);
    sensor.finish(hub.share, HUB_AD, 'responder');
    expect(fixed.every((b) => b === 6)).toBe(true);
    const abandoned = cpaceStart({ prs: utf8('87654321'), ci, sid: new Uint8Array(16), ad: HUB_AD, random });
    expect(sampled?.every((b) => b === 5)).toBe(true);
    abandoned.destroy();
    expect(sampled?.every((b) => b === 0)).toBe(true);
  });

  it('the psk for Noise is ISK[0..32] and both sides agree on it', () => {
    const r = pair('00112233', '00112233', new Uint8Array(16).fill(0xaa), new Uint8Array(32).fill(0x11), new Uint8Array(32).fill(0x22));
    expect(toHex(r.hubIsk.subarray(0, 32))).toBe(toHex(r.sensorIsk.subarray(0, 32)));
  });
});
