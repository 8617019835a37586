/**
 * Record hash chain and signed checkpoints (docs/protocol.md §8.4).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, utf8 } from '../../src/core/bytes.js';
import {
  chainNext,
  chainStart,
  CHECKPOINT_INTERVAL,
  RecordChain,
  signCheckpoint,
  verifyChain,
  verifyCheckpoint,
} from '../../src/core/checkpoint.js';
import type { Checkpoint } from '../../src/core/checkpoint.js';
import { ed25519KeyPair, sign } from '../../src/core/primitives.js';
import { encodeRecordBytes, MDC } from '../../src/core/readings.js';
import type { ReadingRecord } from '../../src/core/readings.js';
import { deterministicRandom } from '../support/deterministic-random.js';

const random = deterministicRandom('checkpoint.test');
const deviceId = fromHex('0123456789ABCDEF');
const device = ed25519KeyPair(random);
const other = ed25519KeyPair(random);

/** Node's SHA-256, independent of the code under test. */
const nodeSha256 = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(createHash('sha256').update(concatBytes(...parts)).digest());

function record(seq: number): ReadingRecord {
  return {
    seq,
    timeMs: 1_700_000_000_000 + seq * 1000,
    code: MDC.ECG_HEART_RATE,
    unit: MDC.DIM_BEAT_PER_MIN,
    flags: seq % 7 === 0 ? 1 : 0,
    value: { kind: 1, value: { mantissa: 60 + (seq % 40), exponent: 0 } },
  };
}

/** Records 1..n, their chain and the checkpoint over them, as the sensor would produce them. */
function produce(n: number): { records: Uint8Array[]; checkpoint: Checkpoint } {
  const chain = new RecordChain(deviceId);
  const records: Uint8Array[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const bytes = encodeRecordBytes(record(seq));
    records.push(bytes);
    chain.append(bytes);
  }
  return { records, checkpoint: { seq: n, head: chain.head, signature: signCheckpoint(device.secretKey, deviceId, n, chain.head) } };
}

describe('chain (§8.4)', () => {
  it('head_0 = SHA-256("VITALOCK-CHAIN-1" ‖ device id)', () => {
    expect(chainStart(deviceId)).toEqual(nodeSha256(utf8('VITALOCK-CHAIN-1'), deviceId));
  });

  it('head_n = SHA-256(head_(n−1) ‖ u16 length ‖ record_n)', () => {
    const h0 = chainStart(deviceId);
    const r = encodeRecordBytes(record(1));
    expect(r.length).toBe(26);
    expect(chainNext(h0, r)).toEqual(nodeSha256(h0, Uint8Array.of(0, 26), r));
  });

  it('RecordChain tracks head and seq', () => {
    const chain = new RecordChain(deviceId);
    expect(chain.seq).toBe(0);
    expect(chain.head).toEqual(chainStart(deviceId));
    let head = chainStart(deviceId);
    for (let seq = 1; seq <= 5; seq++) {
      const bytes = encodeRecordBytes(record(seq));
      head = chainNext(head, bytes);
      expect(chain.append(bytes)).toEqual(head);
    }
    expect(chain.seq).toBe(5);
    expect(chain.head).toEqual(head);
    // The head handed out is a copy.
    chain.head.fill(0);
    expect(chain.head).toEqual(head);
  });

  it('refuses malformed inputs', () => {
    expect(() => chainStart(new Uint8Array(7))).toThrow(RangeError);
    expect(() => chainNext(new Uint8Array(31), Uint8Array.of(1))).toThrow(RangeError);
    expect(() => chainNext(new Uint8Array(32), new Uint8Array(0))).toThrow(RangeError);
    expect(() => chainNext(new Uint8Array(32), new Uint8Array(65536))).toThrow(RangeError);
  });

  it('the device id separates chains', () => {
    expect(chainStart(fromHex('0123456789ABCDEE'))).not.toEqual(chainStart(deviceId));
  });
});

describe('checkpoints', () => {
  it('signature = Ed25519(key, "VITALOCK-CHECKPOINT-1" ‖ device id ‖ seq u32 ‖ head)', () => {
    const { checkpoint } = produce(CHECKPOINT_INTERVAL);
    expect(checkpoint.signature.length).toBe(64);
    expect(verifyCheckpoint(device.publicKey, deviceId, checkpoint)).toBe(true);
    // Ed25519 is deterministic: the same signature from the primitives directly.
    const message = concatBytes(utf8('VITALOCK-CHECKPOINT-1'), deviceId, Uint8Array.of(0, 0, 0, 100), checkpoint.head);
    expect(checkpoint.signature).toEqual(sign(device.secretKey, message));
  });

  it('a wrong key, device id, seq, head or signature fails; malformed ones give false, not exceptions', () => {
    const { checkpoint } = produce(3);
    expect(verifyCheckpoint(other.publicKey, deviceId, checkpoint)).toBe(false);
    expect(verifyCheckpoint(device.publicKey, fromHex('0123456789ABCDEE'), checkpoint)).toBe(false);
    expect(verifyCheckpoint(device.publicKey, deviceId, { ...checkpoint, seq: 4 })).toBe(false);
    const head = checkpoint.head.slice();
    head[0] = (head[0] as number) ^ 1;
    expect(verifyCheckpoint(device.publicKey, deviceId, { ...checkpoint, head })).toBe(false);
    const signature = checkpoint.signature.slice();
    signature[63] = (signature[63] as number) ^ 0x40;
    expect(verifyCheckpoint(device.publicKey, deviceId, { ...checkpoint, signature })).toBe(false);
    expect(verifyCheckpoint(device.publicKey, deviceId, { ...checkpoint, seq: 0 })).toBe(false);
    expect(verifyCheckpoint(device.publicKey, deviceId, { ...checkpoint, head: head.subarray(1) })).toBe(false);
    expect(verifyCheckpoint(device.publicKey.subarray(1), deviceId, checkpoint)).toBe(false);
    expect(verifyCheckpoint(device.publicKey, new Uint8Array(9), checkpoint)).toBe(false);
  });

  it('signCheckpoint refuses out-of-range input', () => {
    expect(() => signCheckpoint(device.secretKey, deviceId, 0, new Uint8Array(32))).toThrow(RangeError);
    expect(() => signCheckpoint(device.secretKey, deviceId, 2 ** 32, new Uint8Array(32))).toThrow(RangeError);
    expect(() => signCheckpoint(device.secretKey, deviceId, 1, new Uint8Array(33))).toThrow(RangeError);
  });
});

describe('verifyChain', () => {
  const { records, checkpoint } = produce(250);

  it('accepts records 1..n exactly as produced', () => {
    expect(verifyChain(deviceId, records, checkpoint, device.publicKey)).toBe(true);
    const at100 = produce(100);
    expect(verifyChain(deviceId, records.slice(0, 100), at100.checkpoint, device.publicKey)).toBe(true);
  });

  it('an altered record (any byte of a few records) fails', () => {
    for (const i of [0, 1, 99, 249]) {
      const bytes = records[i] as Uint8Array;
      for (let at = 0; at < bytes.length; at++) {
        const altered = records.slice();
        const copy = bytes.slice();
        copy[at] = (copy[at] as number) ^ 0x01;
        altered[i] = copy;
        expect(verifyChain(deviceId, altered, checkpoint, device.publicKey)).toBe(false);
      }
    }
  });

  it('a removed, added, duplicated or reordered record fails', () => {
    const removed = records.filter((_, i) => i !== 120);
    expect(verifyChain(deviceId, removed, checkpoint, device.publicKey)).toBe(false);
    expect(verifyChain(deviceId, [...records, encodeRecordBytes(record(251))], checkpoint, device.publicKey)).toBe(false);
    const duplicated = records.slice();
    duplicated[121] = records[120] as Uint8Array;
    expect(verifyChain(deviceId, duplicated, checkpoint, device.publicKey)).toBe(false);
    const reordered = records.slice();
    [reordered[10], reordered[11]] = [records[11] as Uint8Array, records[10] as Uint8Array];
    expect(verifyChain(deviceId, reordered, checkpoint, device.publicKey)).toBe(false);
    expect(verifyChain(deviceId, [], checkpoint, device.publicKey)).toBe(false);
  });

  it('a wrong key or device id fails', () => {
    expect(verifyChain(deviceId, records, checkpoint, other.publicKey)).toBe(false);
    expect(verifyChain(fromHex('0123456789ABCDEE'), records, checkpoint, device.publicKey)).toBe(false);
  });

  it('a relay cannot re-sign: a consistent chain signed by another key fails', () => {
    const forgedHead = checkpoint.head;
    const forged = { ...checkpoint, signature: signCheckpoint(other.secretKey, deviceId, 250, forgedHead) };
    expect(verifyChain(deviceId, records, forged, device.publicKey)).toBe(false);
  });

  it('records that do not decode, or whose seq is not their position, fail even if the device signed them', () => {
    const chain = new RecordChain(deviceId);
    const junk = [Uint8Array.of(1, 2, 3)];
    chain.append(junk[0] as Uint8Array);
    const cp = { seq: 1, head: chain.head, signature: signCheckpoint(device.secretKey, deviceId, 1, chain.head) };
    expect(verifyCheckpoint(device.publicKey, deviceId, cp)).toBe(true);
    expect(verifyChain(deviceId, junk, cp, device.publicKey)).toBe(false);

    const wrongSeq = [encodeRecordBytes(record(2))];
    const chain2 = new RecordChain(deviceId);
    chain2.append(wrongSeq[0] as Uint8Array);
    const cp2 = { seq: 1, head: chain2.head, signature: signCheckpoint(device.secretKey, deviceId, 1, chain2.head) };
    expect(verifyChain(deviceId, wrongSeq, cp2, device.publicKey)).toBe(false);
  });
});
