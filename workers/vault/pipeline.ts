/**
 * The reading pipeline of the vault worker (docs/vault.md §3): link bytes in, stored and
 * acknowledged readings out, view-models to the page at a bounded rate.
 *
 * One `HubSession` per connected sensor does the protocol (reassembly, decryption, replay window,
 * decoding, exactly-once intake). This file adds what needs the worker: batching fresh records
 * into one storage transaction, acknowledging only after it commits, stopping acknowledgements
 * when storage is full, recording security events, and coalescing what the page sees so a
 * 250 Hz ECG costs the main thread at most one message per `VIEW_INTERVAL_MS`.
 *
 * Storage, time and scheduling are injected, so the same code runs under unit tests and in the
 * worker.
 */
import { deviceIdHex } from '../../src/core/certificate.js';
import type { Checkpoint } from '../../src/core/checkpoint.js';
import { chunkSizeForMtu } from '../../src/core/framing.js';
import type { HubFailure, SensorBond } from '../../src/core/hub-channel.js';
import { HubSession, type HubOutput } from '../../src/core/hub-session.js';
import type { StatusMessage } from '../../src/core/messages.js';
import type { KeyPair, Random } from '../../src/core/primitives.js';
import { floatToDecimalString, NOMENCLATURE, type ReadingRecord } from '../../src/core/readings.js';
import type { TrustStore } from '../../src/core/trust-store.js';

/** At most one view batch to the page per this interval (≤ 20 messages a second). */
export const VIEW_INTERVAL_MS = 50;
/** Fresh records wait at most this long for a storage batch. */
export const STORE_INTERVAL_MS = 25;
/** …or go at once when this many are waiting. */
export const STORE_BATCH_MAX = 2_000;
/** After a failed write (storage full), try again after this long. */
export const STORE_RETRY_MS = 30_000;
/** Protocol timers (handshake timeout, rekey, backfill retry). */
export const TICK_MS = 250;

/** What the pipeline needs from the encrypted store. */
export interface PipelineStorage {
  /**
   * Encrypts and stores records and the sensor's ledger in one transaction, with their sealed
   * outbox batch (`ledger.provenance`: what the cloud needs to verify them, protocol §11);
   * resolves on commit.
   */
  putReadings(deviceId: Uint8Array, records: readonly ReadingRecord[], ledger: { contiguous: number; readonly provenance?: BatchProvenance }): Promise<void>;
  sensorLedger(deviceId: Uint8Array): Promise<{ contiguous: number } | undefined>;
  putBond(bond: SensorBond): Promise<void>;
  addSecurityEvent(event: SecurityLogEntry): Promise<void>;
}

/** What travels with a stored chunk to the outbox (protocol §11.2). */
export interface BatchProvenance {
  /** The sensor's certificate (§6.1). */
  readonly certificate: Uint8Array;
  /** Signed checkpoints received since the previous chunk of this sensor. */
  readonly checkpoints: readonly Checkpoint[];
}

export interface SecurityLogEntry {
  readonly kind: string;
  readonly atMs: number;
  /** Plain words for the security log screen; never a key, never a reading value. */
  readonly detail?: string;
}

export interface Scheduler {
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

/** A reading as the page shows it: exact decimal text, never a binary float. */
export interface ReadingView {
  readonly sensor: string;
  readonly seq: number;
  readonly timeMs: number;
  readonly code: number;
  readonly label: string;
  readonly unit: string;
  /** e.g. "36.6", "118/76", or for a waveform the sample count. */
  readonly value: string;
  readonly questionable: boolean;
  /** Waveform samples in the record's unit, for the live trace. */
  readonly samples?: readonly number[];
  readonly sampleIntervalUs?: number;
}

export type LinkState = 'pairing' | 'reconnecting' | 'open' | 'failed' | 'closed';

export interface SensorView {
  readonly link: string;
  readonly sensor?: string;
  readonly state: LinkState;
  readonly failure?: HubFailure;
  readonly battery?: number;
  readonly tamper?: boolean;
  readonly stored: number;
}

export interface ViewBatch {
  readonly readings: readonly ReadingView[];
  readonly sensors: readonly SensorView[];
  readonly storageFull: boolean;
  /** Readings this batch stands for (the page shows the latest of each, and counts). */
  readonly count: number;
}

export interface PipelineOptions {
  readonly identity: KeyPair;
  readonly trustStore: TrustStore;
  readonly random: Random;
  readonly hubLabel: string;
  readonly storage: PipelineStorage;
  readonly scheduler: Scheduler;
  /** Fragments for the sensor's `control` characteristic, in order. */
  readonly write: (link: string, fragment: Uint8Array) => void;
  readonly view: (batch: ViewBatch) => void;
}

interface Link {
  readonly id: string;
  readonly chunkSize: number;
  readonly session: HubSession;
  state: LinkState;
  failure?: HubFailure;
  deviceId?: Uint8Array;
  certificate?: Uint8Array;
  sensor?: string;
  status?: StatusMessage;
  pending: ReadingRecord[];
  writing: boolean;
  flushTimer: (() => void) | undefined;
  stored: number;
  checkpoints: Checkpoint[];
  /** Set when the sensor was forgotten while offline: UNBOND as soon as the session opens. */
  unbondOnOpen?: () => void;
}

export class Pipeline {
  private readonly links = new Map<string, Link>();
  private viewReadings: ReadingView[] = [];
  private viewCount = 0;
  private viewDirty = false;
  private viewTimer: (() => void) | undefined;
  private tickTimer: (() => void) | undefined;
  private storageFull = false;
  private retryTimer: (() => void) | undefined;

  constructor(private readonly options: PipelineOptions) {}

  get isStorageFull(): boolean {
    return this.storageFull;
  }

  /** A GATT connection is up; `attMtu` sizes the fragments written to it. */
  openLink(id: string, attMtu: number): void {
    this.closeLink(id);
    const chunkSize = chunkSizeForMtu(attMtu);
    this.links.set(id, { id, chunkSize, session: this.newSession(chunkSize, 0), state: 'closed', pending: [], writing: false, flushTimer: undefined, stored: 0, checkpoints: [] });
    this.startTicking();
  }

  private newSession(chunkSize: number, contiguous: number): HubSession {
    const { identity, trustStore, random, hubLabel } = this.options;
    return new HubSession({ identity, trustStore, random, hubLabel, chunkSize, contiguous });
  }

  pair(id: string, passcodePrs: Uint8Array, expectedDeviceId?: Uint8Array): void {
    const link = this.require(id);
    link.state = 'pairing';
    this.apply(link, link.session.pair(passcodePrs, this.options.scheduler.now(), expectedDeviceId));
    this.markView();
  }

  /**
   * Reconnects with KK; the ledger (what is already stored) comes from storage first. With
   * `unbondOnOpen` the session only carries UNBOND (the user forgot the sensor while it was
   * away): sent once open, then the link closes and `unbondOnOpen` runs.
   */
  async reconnect(id: string, bond: SensorBond, unbondOnOpen?: () => void): Promise<void> {
    const ledger = await this.options.storage.sensorLedger(bond.deviceId);
    const link = this.require(id);
    // A fresh session that knows what storage already holds, so backfill asks only for the rest.
    const session = this.newSession(link.chunkSize, ledger?.contiguous ?? 0);
    link.session.close();
    const next: Link = { ...link, session, state: 'reconnecting', deviceId: bond.deviceId, certificate: bond.certificate, sensor: deviceIdHex(bond.deviceId) };
    delete next.failure;
    if (unbondOnOpen !== undefined) next.unbondOnOpen = unbondOnOpen;
    else delete next.unbondOnOpen;
    this.links.set(id, next);
    this.apply(next, session.reconnect(bond, this.options.scheduler.now()));
    this.markView();
  }

  /** A notification or read from the sensor's `data` characteristic. */
  receive(id: string, fragment: Uint8Array): void {
    const link = this.links.get(id);
    if (link === undefined) return;
    this.apply(link, link.session.receiveFragment(fragment, this.options.scheduler.now()));
  }

  /**
   * Sends UNBOND (protocol §8) to this sensor over its open session, if it has one, and closes
   * the link: the sensor deletes its bond and disconnects. False when it is not connected.
   */
  unbond(deviceId: Uint8Array): boolean {
    const sensor = deviceIdHex(deviceId);
    for (const link of this.links.values()) {
      if (link.sensor !== sensor || !link.session.isOpen) continue;
      this.sendUnbond(link);
      return true;
    }
    return false;
  }

  private sendUnbond(link: Link): void {
    // Whatever was received but not stored is dropped: the bond (and its ledger) goes too.
    this.apply(link, link.session.send({ type: 'unbond' }, this.options.scheduler.now()));
    this.closeLink(link.id);
  }

  closeLink(id: string): void {
    const link = this.links.get(id);
    if (link === undefined) return;
    link.session.close();
    link.flushTimer?.();
    link.state = link.state === 'failed' ? 'failed' : 'closed';
    // Records received but not yet stored are dropped with the link: they were never
    // acknowledged, so the sensor still holds them and backfill brings them back.
    link.pending = [];
    this.links.delete(id);
    this.markView();
    if (this.links.size === 0) this.stopTicking();
  }

  /** Call when storage may have room again (the user freed space). */
  retryStorage(): void {
    this.retryTimer?.();
    this.retryTimer = undefined;
    this.storageFull = false;
    const now = this.options.scheduler.now();
    for (const link of this.links.values()) {
      // The records dropped while full are still on the sensor: ask for everything not stored.
      this.apply(link, link.session.resync(now));
      this.flush(link);
    }
    this.markView();
  }

  dispose(): void {
    for (const id of [...this.links.keys()]) this.closeLink(id);
    this.viewTimer?.();
    this.retryTimer?.();
    this.stopTicking();
  }

  // ── protocol outputs ───────────────────────────────────────────────────────────────────────

  private apply(link: Link, outputs: readonly HubOutput[]): void {
    for (const out of outputs) {
      switch (out.type) {
        case 'write':
          this.options.write(link.id, out.fragment);
          break;
        case 'store':
          if (this.storageFull) {
            // Nowhere to put them: not stored → never acknowledged → the sensor keeps them, and
            // `retryStorage` asks for them again. Holding them here would grow without bound.
            link.session.notCommitted(out.records.map((r) => r.seq));
            break;
          }
          link.pending.push(...out.records);
          this.scheduleFlush(link);
          break;
        case 'bonded':
          link.deviceId = out.bond.deviceId;
          link.certificate = out.bond.certificate;
          link.sensor = deviceIdHex(out.bond.deviceId);
          void this.options.storage.putBond(out.bond).catch(() => this.log('storage-error', 'A sensor bond could not be saved.'));
          this.log('paired', `Paired with ${out.bond.manufacturer} ${out.bond.model}, serial ${out.bond.serial}.`);
          break;
        case 'open':
          link.state = 'open';
          this.markView();
          if (link.unbondOnOpen !== undefined) {
            const done = link.unbondOnOpen;
            delete link.unbondOnOpen;
            this.sendUnbond(link);
            done();
            return;
          }
          break;
        case 'status':
          link.status = out.status;
          if (out.status.flags.tamper) this.log('tamper', 'The sensor reports that its case was opened.');
          this.markView();
          break;
        case 'checkpoint':
          link.checkpoints.push(out.checkpoint);
          break;
        case 'unavailable':
          this.log('records-elsewhere', `Readings ${out.from}–${out.to} were collected by another device.`);
          break;
        case 'failed':
          link.state = 'failed';
          link.failure = out.failure;
          this.log(failureKind(out.failure), failureText(out.failure));
          this.markView();
          break;
        case 'security':
          this.log(out.event, securityText(out.event));
          break;
      }
    }
  }

  // ── storage ────────────────────────────────────────────────────────────────────────────────

  private scheduleFlush(link: Link): void {
    if (link.pending.length >= STORE_BATCH_MAX) {
      this.flush(link);
      return;
    }
    if (link.flushTimer === undefined) {
      link.flushTimer = this.options.scheduler.after(STORE_INTERVAL_MS, () => {
        link.flushTimer = undefined;
        this.flush(link);
      });
    }
  }

  /** One write at a time per sensor, so commits (and ACKs) stay in order. */
  private flush(link: Link): void {
    if (link.writing || link.pending.length === 0 || this.storageFull || link.deviceId === undefined) return;
    const batch = link.pending;
    link.pending = [];
    // The checkpoints received so far travel with this chunk's outbox batch (protocol §11.2).
    const checkpoints = link.checkpoints;
    link.checkpoints = [];
    link.writing = true;
    const seqs = batch.map((r) => r.seq);
    const contiguous = link.session.ledger.contiguousAfter(seqs);
    const provenance: BatchProvenance = { certificate: link.certificate ?? new Uint8Array(0), checkpoints };
    this.options.storage.putReadings(link.deviceId, batch, { contiguous, provenance }).then(
      () => {
        link.writing = false;
        link.stored += batch.length;
        if (this.links.get(link.id) === link) {
          this.apply(link, link.session.committed(seqs, this.options.scheduler.now()));
        }
        this.showReadings(link, batch);
        if (link.pending.length > 0) this.scheduleFlush(link);
      },
      (err: unknown) => {
        link.writing = false;
        // Not stored: the checkpoints wait for the next chunk.
        link.checkpoints = [...checkpoints, ...link.checkpoints];
        // Not stored → not acknowledged: the sensor keeps them; forget them so the resent copies count.
        link.session.notCommitted(seqs);
        if (isQuotaError(err)) {
          // What was waiting behind this batch cannot be stored either; the sensor keeps it too.
          link.session.notCommitted(link.pending.map((r) => r.seq));
          link.pending = [];
          if (!this.storageFull) this.log('storage-full', 'Storage is full: readings stay on the sensors until space is freed.');
          this.storageFull = true;
          this.retryTimer ??= this.options.scheduler.after(STORE_RETRY_MS, () => {
            this.retryTimer = undefined;
            this.retryStorage();
          });
        } else {
          this.log('storage-error', 'Readings could not be saved; the sensor keeps them and will resend.');
          this.apply(link, link.session.resync(this.options.scheduler.now()));
        }
        this.markView();
      },
    );
  }

  // ── the page's view ────────────────────────────────────────────────────────────────────────

  private showReadings(link: Link, records: readonly ReadingRecord[]): void {
    const sensor = link.sensor ?? link.id;
    // Only the newest reading of each measurement is worth a frame of the page's time; the
    // waveform keeps its samples (the live trace needs them).
    const newest = new Map<number, ReadingRecord>();
    for (const r of records) {
      if (r.value.kind === 3) this.viewReadings.push(toView(sensor, r));
      else newest.set(r.code, r);
    }
    for (const r of newest.values()) this.viewReadings.push(toView(sensor, r));
    this.viewCount += records.length;
    this.markView();
  }

  private markView(): void {
    this.viewDirty = true;
    if (this.viewTimer !== undefined) return;
    this.viewTimer = this.options.scheduler.after(VIEW_INTERVAL_MS, () => {
      this.viewTimer = undefined;
      if (!this.viewDirty) return;
      this.viewDirty = false;
      const batch: ViewBatch = {
        readings: this.viewReadings,
        sensors: [...this.links.values()].map(sensorView),
        storageFull: this.storageFull,
        count: this.viewCount,
      };
      this.viewReadings = [];
      this.viewCount = 0;
      this.options.view(batch);
    });
  }

  private log(kind: string, detail: string): void {
    void this.options.storage.addSecurityEvent({ kind, atMs: this.options.scheduler.now(), detail }).catch(() => undefined);
  }

  // ── timers ─────────────────────────────────────────────────────────────────────────────────

  private startTicking(): void {
    if (this.tickTimer !== undefined) return;
    const tick = (): void => {
      for (const link of this.links.values()) this.apply(link, link.session.tick(this.options.scheduler.now()));
      this.tickTimer = this.options.scheduler.after(TICK_MS, tick);
    };
    this.tickTimer = this.options.scheduler.after(TICK_MS, tick);
  }

  private stopTicking(): void {
    this.tickTimer?.();
    this.tickTimer = undefined;
  }

  private require(id: string): Link {
    const link = this.links.get(id);
    if (link === undefined) throw new Error(`no open link ${id}`);
    return link;
  }
}

function sensorView(link: Link): SensorView {
  return {
    link: link.id,
    state: link.state,
    stored: link.stored,
    ...(link.sensor !== undefined ? { sensor: link.sensor } : {}),
    ...(link.failure !== undefined ? { failure: link.failure } : {}),
    ...(link.status !== undefined ? { battery: link.status.battery, tamper: link.status.flags.tamper } : {}),
  };
}

export function toView(sensor: string, r: ReadingRecord): ReadingView {
  const term = NOMENCLATURE.get(r.code);
  const unitTerm = NOMENCLATURE.get(r.unit);
  const label = term?.label ?? `code ${r.code}`;
  const unit = unitTerm && 'ucum' in unitTerm ? unitTerm.ucum : '';
  const base = { sensor, seq: r.seq, timeMs: r.timeMs, code: r.code, label, unit, questionable: (r.flags & 1) !== 0 };
  switch (r.value.kind) {
    case 1:
      return { ...base, value: floatToDecimalString(r.value.value) };
    case 2:
      return { ...base, value: r.value.components.map((c) => floatToDecimalString(c.value)).slice(0, 2).join('/') };
    case 3: {
      const scale = Number(floatToDecimalString(r.value.scale));
      return {
        ...base,
        value: `${r.value.samples.length} samples`,
        samples: Array.from(r.value.samples, (s) => s * scale),
        sampleIntervalUs: r.value.intervalUs,
      };
    }
  }
}

function isQuotaError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'name' in err && (err as { name: unknown }).name === 'QuotaExceededError';
}

function failureKind(f: HubFailure): string {
  return f.kind === 'certificate' ? `certificate-${f.reason}` : f.kind;
}

/** Plain words for the security log; what to do is the UI's job. */
function failureText(f: HubFailure): string {
  switch (f.kind) {
    case 'pairing-failed':
      return 'Pairing failed: wrong setup code, or the sensor is not accepting pairing right now.';
    case 'certificate':
      return `The sensor's certificate was refused (${f.reason}).`;
    case 'reconnect-failed':
      return 'A bonded sensor did not recognise this device.';
    case 'timeout':
      return 'The sensor stopped answering during the handshake.';
    case 'expired':
      return 'A secure session reached its limits and was closed.';
  }
}

function securityText(event: string): string {
  switch (event) {
    case 'replay-rejected':
      return 'A repeated (replayed) message from a sensor was rejected.';
    case 'frame-rejected':
      return 'A message that failed authentication was rejected.';
    case 'malformed-message':
      return 'A malformed message from a sensor was rejected.';
    case 'sensor-error':
      return 'A sensor reported an error.';
    default:
      return 'An unexpected message was rejected.';
  }
}
