import { describe, expect, it } from 'vitest';
import { BACKFILL_RETRY_MS, RecordLedger } from '../../src/core/record-ledger.js';

describe('hub record ledger (§8.3)', () => {
  it('accepts each seq once, and acknowledges only what is committed without a gap', () => {
    const l = new RecordLedger();
    expect([1, 2, 3, 2, 1].map((s) => l.accept(s))).toEqual([true, true, true, false, false]);
    expect(l.ackDue()).toBeUndefined();
    l.committed([2, 3]);
    expect(l.ackDue()).toBeUndefined(); // 1 is not committed yet
    l.committed([1]);
    expect(l.ackDue()).toBe(3);
    expect(l.ackDue()).toBeUndefined();
    expect(l.accept(3)).toBe(false);
  });

  it('asks for a backfill from the first gap, at most once per retry interval', () => {
    const l = new RecordLedger(10);
    expect(l.accept(11)).toBe(true);
    expect(l.backfillDue(0)).toBeUndefined();
    l.accept(14);
    l.committed([11, 14]);
    expect(l.ackDue()).toBe(11);
    expect(l.hasGap).toBe(true);
    expect(l.backfillDue(1_000)).toBe(12);
    expect(l.backfillDue(1_500)).toBeUndefined();
    expect(l.backfillDue(1_000 + BACKFILL_RETRY_MS)).toBe(12);
    l.accept(12);
    l.accept(13);
    l.committed([12, 13]);
    expect(l.ackDue()).toBe(14);
    expect(l.hasGap).toBe(false);
  });

  it('a failed storage write is forgotten, so the resent records are accepted again', () => {
    const l = new RecordLedger();
    l.accept(1);
    l.accept(2);
    l.rollback([1, 2]);
    expect(l.accept(1)).toBe(true);
    expect(l.accept(2)).toBe(true);
  });

  it('skips records the sensor no longer holds, keeping what was committed above them', () => {
    const l = new RecordLedger(5);
    l.accept(9);
    l.committed([9]);
    expect(l.skipTo(7)).toBe(2); // 6 and 7 never arrived
    expect(l.contiguous).toBe(7);
    l.accept(8);
    l.committed([8]);
    expect(l.contiguous).toBe(9);
    expect(l.skipTo(3)).toBe(0);
  });

  it('repeats the last ACK after a reconnect (the sensor may have missed it)', () => {
    const l = new RecordLedger();
    l.accept(1);
    l.committed([1]);
    expect(l.ackDue()).toBe(1);
    l.resetConnection();
    expect(l.ackDue()).toBe(1);
  });
});
