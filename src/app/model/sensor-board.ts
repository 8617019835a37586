/**
 * The live picture of every sensor, built from the vault worker's view batches (docs/vault.md
 * §3.1): the newest value of each vital, short trends for the charts, the ECG trace, battery and
 * the state of the secure session. Pure: batches and the time come in, nothing goes out but this
 * state, so it is unit-tested without a browser.
 *
 * Bounded whatever the rate: trends keep `TREND_WINDOW_MS`, the ECG `ECG_WINDOW_MS`.
 */
import type { HubFailure } from '../../core/hub-channel.js';
import type { LinkState as SessionState, ReadingView, SensorView, ViewBatch } from '../../../workers/vault/pipeline.js';
import { ECG_CODE, primaryNumber } from './vital-signs.js';

export const TREND_WINDOW_MS = 15 * 60_000;
export const ECG_WINDOW_MS = 6_000;
/** Hard caps, whatever the timestamps say. */
const TREND_MAX_POINTS = 2_000;
const ECG_MAX_POINTS = 2_500;

export interface Series {
  /** Seconds since the epoch (what uPlot wants on its x axis). */
  readonly t: number[];
  readonly v: number[];
}

export interface SensorCard {
  readonly deviceId: string;
  /** The link the sensor is on now, if any. */
  link?: string;
  session?: SessionState;
  failure?: HubFailure;
  battery?: number;
  tamper?: boolean;
  readonly latest: Map<number, ReadingView>;
  /** Device time of the newest reading. */
  lastReadingMs?: number;
  readonly trends: Map<number, Series>;
  readonly ecg: Series;
  /** Readings stored since the app started. */
  stored: number;
}

export class SensorBoard {
  readonly cards = new Map<string, SensorCard>();
  /** Every link the worker reports, bonded or not (pairing in progress). */
  readonly links = new Map<string, SensorView>();
  storageFull = false;
  /** Monotonic counter, bumped by every change (cheap change detection for the screens). */
  version = 0;

  card(deviceId: string): SensorCard {
    const id = deviceId.toUpperCase();
    let card = this.cards.get(id);
    if (card === undefined) {
      card = { deviceId: id, latest: new Map(), trends: new Map(), ecg: { t: [], v: [] }, stored: 0 };
      this.cards.set(id, card);
    }
    return card;
  }

  apply(batch: ViewBatch): void {
    this.storageFull = batch.storageFull;
    for (const s of batch.sensors) this.applySensor(s);
    for (const r of batch.readings) this.applyReading(r);
    this.version++;
  }

  /** The link ended (the page knows first): its sensor is offline until it reconnects. */
  linkClosed(link: string): void {
    const view = this.links.get(link);
    this.links.delete(link);
    if (view?.sensor !== undefined) {
      const card = this.card(view.sensor);
      if (card.link === link) {
        delete card.link;
        card.session = 'closed';
      }
    }
    this.version++;
  }

  /** Forgotten: no card any more. */
  remove(deviceId: string): void {
    this.cards.delete(deviceId.toUpperCase());
    this.version++;
  }

  private applySensor(s: SensorView): void {
    if (s.state === 'closed') this.links.delete(s.link);
    else this.links.set(s.link, s);
    if (s.sensor === undefined) return;
    const card = this.card(s.sensor);
    if (s.state === 'closed' && card.link !== s.link) return;
    card.link = s.link;
    card.session = s.state;
    if (s.failure !== undefined) card.failure = s.failure;
    else delete card.failure;
    if (s.battery !== undefined) card.battery = s.battery;
    if (s.tamper !== undefined) card.tamper = s.tamper;
    card.stored = s.stored;
  }

  private applyReading(r: ReadingView): void {
    const card = this.card(r.sensor);
    if (r.code === ECG_CODE) {
      appendWaveform(card.ecg, r);
    } else {
      const previous = card.latest.get(r.code);
      if (previous === undefined || previous.timeMs <= r.timeMs) card.latest.set(r.code, r);
      const n = primaryNumber(r.value);
      if (n !== undefined) {
        let series = card.trends.get(r.code);
        if (series === undefined) {
          series = { t: [], v: [] };
          card.trends.set(r.code, series);
        }
        appendPoint(series, r.timeMs / 1000, n, TREND_WINDOW_MS / 1000, TREND_MAX_POINTS);
      }
    }
    if (card.lastReadingMs === undefined || r.timeMs > card.lastReadingMs) card.lastReadingMs = r.timeMs;
  }
}

/** Appends in time order (a backfilled older point goes to its place), then trims the window. */
export function appendPoint(series: Series, t: number, v: number, windowS: number, maxPoints: number): void {
  const last = series.t[series.t.length - 1];
  if (last === undefined || t >= last) {
    series.t.push(t);
    series.v.push(v);
  } else {
    let i = series.t.length;
    while (i > 0 && (series.t[i - 1] as number) > t) i--;
    series.t.splice(i, 0, t);
    series.v.splice(i, 0, v);
  }
  const newest = series.t[series.t.length - 1] as number;
  let drop = 0;
  while (drop < series.t.length && (series.t[drop] as number) < newest - windowS) drop++;
  drop = Math.max(drop, series.t.length - maxPoints);
  if (drop > 0) {
    series.t.splice(0, drop);
    series.v.splice(0, drop);
  }
}

function appendWaveform(series: Series, r: ReadingView): void {
  const samples = r.samples;
  const intervalUs = r.sampleIntervalUs;
  if (samples === undefined || intervalUs === undefined || samples.length === 0) return;
  // A record older than what is shown (backfill) is history, not the live trace.
  const last = series.t[series.t.length - 1];
  if (last !== undefined && r.timeMs / 1000 < last - ECG_WINDOW_MS / 1000) return;
  for (let i = 0; i < samples.length; i++) {
    appendPoint(series, r.timeMs / 1000 + (i * intervalUs) / 1e6, samples[i] as number, ECG_WINDOW_MS / 1000, ECG_MAX_POINTS);
  }
}
