import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../../src/app/bluetooth/timers.js';
import { ManualTimers } from './manual-timers.js';

class Timeout extends Error {}

describe('withTimeout (the connect timeout: real stacks hang)', () => {
  it('passes a result that arrives in time, and cancels its timer', async () => {
    const timers = new ManualTimers();
    await expect(withTimeout(Promise.resolve('connected'), 15_000, timers, () => new Timeout())).resolves.toBe('connected');
    expect(timers.scheduled).toBe(0);
  });

  it('passes a failure that arrives in time', async () => {
    const timers = new ManualTimers();
    await expect(withTimeout(Promise.reject(new Error('NetworkError')), 15_000, timers, () => new Timeout())).rejects.toThrow('NetworkError');
  });

  it('a hung operation: rejects with the timeout error at the deadline, aborts, and ignores a late result', async () => {
    const timers = new ManualTimers();
    let finish!: (v: string) => void;
    const hung = new Promise<string>((r) => (finish = r));
    let aborted = 0;
    const guarded = withTimeout(hung, 15_000, timers, () => new Timeout(), () => aborted++);
    timers.advance(14_999);
    expect(aborted).toBe(0);
    timers.advance(1);
    await expect(guarded).rejects.toBeInstanceOf(Timeout);
    expect(aborted).toBe(1);
    finish('too late');
    await Promise.resolve();
    expect(aborted).toBe(1);
  });
});
