/**
 * The screens' live picture (src/app/model/sensor-board.ts): newest value per vital, bounded
 * trends in time order, the ECG trace, session state and battery from the worker's batches.
 */
import { describe, expect, it } from 'vitest';
import { MDC } from '../../src/core/readings.js';
import { appendPoint, ECG_WINDOW_MS, SensorBoard, TREND_WINDOW_MS, type Series } from '../../src/app/model/sensor-board.js';
import type { ReadingView, ViewBatch } from '../../workers/vault/pipeline.js';

const ID = '0123456789ABCDEF';
const hr = (seq: number, timeMs: number, value: string): ReadingView => ({ sensor: ID, seq, timeMs, code: MDC.ECG_HEART_RATE, label: 'Heart rate', unit: '/min', value, questionable: false });
const batch = (readings: ReadingView[], sensors: ViewBatch['sensors'] = []): ViewBatch => ({ readings, sensors, storageFull: false, count: readings.length });

describe('SensorBoard', () => {
  it('keeps the newest value of each vital, even when an older one arrives later (backfill)', () => {
    const board = new SensorBoard();
    board.apply(batch([hr(2, 2_000, '70')]));
    board.apply(batch([hr(1, 1_000, '65')]));
    const card = board.cards.get(ID)!;
    expect(card.latest.get(MDC.ECG_HEART_RATE)?.value).toBe('70');
    expect(card.trends.get(MDC.ECG_HEART_RATE)).toEqual({ t: [1, 2], v: [65, 70] });
    expect(card.lastReadingMs).toBe(2_000);
    expect(board.version).toBe(2);
  });

  it('session state, failure and battery come from the sensors of a batch; a closed link goes offline', () => {
    const board = new SensorBoard();
    board.apply(batch([], [{ link: 'l1', sensor: ID, state: 'open', stored: 10, battery: 87, tamper: false }]));
    expect(board.cards.get(ID)).toMatchObject({ link: 'l1', session: 'open', battery: 87, stored: 10 });
    board.apply(batch([], [{ link: 'l1', sensor: ID, state: 'failed', failure: { kind: 'timeout' }, stored: 10 }]));
    expect(board.cards.get(ID)).toMatchObject({ session: 'failed', failure: { kind: 'timeout' } });
    board.linkClosed('l1');
    expect(board.cards.get(ID)?.link).toBeUndefined();
    expect(board.cards.get(ID)?.session).toBe('closed');
    expect(board.links.has('l1')).toBe(false);
  });

  it('a pairing link without a sensor yet is tracked by link only', () => {
    const board = new SensorBoard();
    board.apply(batch([], [{ link: 'l2', state: 'pairing', stored: 0 }]));
    expect(board.links.get('l2')?.state).toBe('pairing');
    expect(board.cards.size).toBe(0);
  });

  it('blood pressure trends on its systolic value; the ECG goes to the trace, sample by sample', () => {
    const board = new SensorBoard();
    const bp: ReadingView = { sensor: ID, seq: 1, timeMs: 10_000, code: MDC.PRESS_BLD_NONINV, label: 'Blood pressure', unit: 'mm[Hg]', value: '118/76', questionable: false };
    const ecg: ReadingView = { sensor: ID, seq: 2, timeMs: 10_000, code: MDC.ECG_ELEC_POTL_II, label: 'ECG', unit: 'mV', value: '3 samples', questionable: false, samples: [0.1, 0.2, 0.3], sampleIntervalUs: 4_000 };
    board.apply(batch([bp, ecg]));
    const card = board.cards.get(ID)!;
    expect(card.trends.get(MDC.PRESS_BLD_NONINV)?.v).toEqual([118]);
    expect(card.ecg.v).toEqual([0.1, 0.2, 0.3]);
    expect(card.ecg.t).toEqual([10, 10.004, 10.008]);
    expect(card.latest.has(MDC.ECG_ELEC_POTL_II)).toBe(false);
  });

  it('trends and the trace stay within their windows', () => {
    const board = new SensorBoard();
    for (let i = 0; i < 2_000; i++) board.apply(batch([hr(i + 1, i * 1_000, '70')]));
    const t = board.cards.get(ID)!.trends.get(MDC.ECG_HEART_RATE)!.t;
    expect((t[t.length - 1] as number) - (t[0] as number)).toBeLessThanOrEqual(TREND_WINDOW_MS / 1000);
    const samples = Array.from({ length: 250 }, () => 0);
    for (let i = 0; i < 20; i++) {
      board.apply(batch([{ sensor: ID, seq: 5000 + i, timeMs: i * 1000, code: MDC.ECG_ELEC_POTL_II, label: 'ECG', unit: 'mV', value: '', questionable: false, samples, sampleIntervalUs: 4_000 }]));
    }
    const ecg = board.cards.get(ID)!.ecg.t;
    expect((ecg[ecg.length - 1] as number) - (ecg[0] as number)).toBeLessThanOrEqual(ECG_WINDOW_MS / 1000);
  });

  it('forgetting removes the card', () => {
    const board = new SensorBoard();
    board.apply(batch([hr(1, 1, '60')]));
    board.remove(ID.toLowerCase());
    expect(board.cards.size).toBe(0);
  });
});

describe('appendPoint', () => {
  it('inserts out-of-order points in place and caps the count', () => {
    const s: Series = { t: [], v: [] };
    for (const t of [1, 3, 2, 5, 4]) appendPoint(s, t, t * 10, 100, 4);
    expect(s).toEqual({ t: [2, 3, 4, 5], v: [20, 30, 40, 50] });
  });
});
