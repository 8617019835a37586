/**
 * The reference sensor: the device side of docs/protocol.md on the shared core.
 *
 * `SensorDevice` is the device (identity, bonds, pairing policy, record store, battery, clock);
 * `SensorConnection` is one BLE connection to it (fragments in from `control`, fragments out on
 * `data`), holding one `SensorChannel`. The GATT server — emulated in tests, simulated in memory,
 * or real — only moves fragments: `receiveFragment` for a write to `control`, `takeFragment` for a
 * notification or a read of `data` (§2.1).
 */
import { DATA_QUEUE_FRAGMENTS } from '../src/core/gatt.js';
import { chunkSizeForMtu, Fragmenter, Reassembler } from '../src/core/framing.js';
import { encodedRecordLength, RecordFlags, type ReadingRecord } from '../src/core/readings.js';
import { MAX_READINGS_PER_MESSAGE, type AppMessage, type StatusMessage } from '../src/core/messages.js';
import { HANDSHAKE_TIMEOUT_MS } from '../src/core/pairing.js';
import type { Clock, Random } from '../src/core/primitives.js';
import { SensorChannel, type SensorEvent, type SensorPolicy } from '../src/core/sensor-channel.js';
import { MAX_PLAINTEXT } from '../src/core/transport.js';
import { BondList } from './bond-list.js';
import { advertisedName, type DeviceIdentity } from './identity.js';
import { PairingPolicy } from './pairing-policy.js';
import { DEFAULT_CAPACITY, RecordStore, type Measurement, type StoreCounters } from './record-store.js';


export interface SensorDeviceOptions {
  readonly identity: DeviceIdentity;
  readonly random: Random;
  /** The device's own oscillator: Unix ms before the first TIME_SET, however wrong. */
  readonly clock: Clock;
  readonly storeCapacity?: number;
  /** Pairing window length (§4.5); tests shorten it. */
  readonly pairingWindowMs?: number;
  /** Battery charge at power-on, % (default 100). */
  readonly batteryAtStart?: number;
  /** How long a full battery lasts while measuring (default 7 days). */
  readonly batteryLifeMs?: number;
  /** Counters kept in flash across a restart (sequence numbers are never reused). */
  readonly resume?: StoreCounters;
}

/** A CHECKPOINT frame: type ‖ seq ‖ head ‖ signature, sealed (§8.4, §7.2). */
const TRANSPORT_OVERHEAD = 9 + 16;
const CHECKPOINT_FRAME_LEN = 1 + 4 + 32 + 64 + TRANSPORT_OVERHEAD;
/** READINGS: type u8 ‖ count u16. */
const READINGS_HEADER_LEN = 3;

/** What the device tells whoever runs it (the CLI prints these; tests assert on them). */
export type DeviceEvent =
  | { readonly type: 'paired'; readonly hubLabel: string }
  | { readonly type: 'connected'; readonly paired: boolean; readonly rekeyed: boolean }
  | { readonly type: 'pairing-failed'; readonly failures: number; readonly lockedUntilMs: number }
  | { readonly type: 'acknowledged'; readonly upTo: number; readonly freed: number }
  | { readonly type: 'unbonded' }
  | { readonly type: 'store-full' };

export class SensorDevice {
  readonly policy: PairingPolicy;
  readonly bonds = new BondList();
  readonly store: RecordStore;
  /** Set when the enclosure is opened; reported in every STATUS (§8) until the device is serviced. */
  tamper = false;
  private readonly poweredOnAt: number;
  /** Added to the oscillator once a hub has set the time (§8, TIME_SET). */
  private clockOffsetMs = 0;
  private clockSet = false;
  private readonly listeners = new Set<(event: DeviceEvent) => void>();
  /** §4.5: one pairing handshake at a time across all connections; until when one is running. */
  private pairingBusyUntil = 0;
  private readonly connections = new Set<SensorConnection>();

  constructor(readonly options: SensorDeviceOptions) {
    this.poweredOnAt = Math.floor(options.clock());
    this.policy = new PairingPolicy(options.pairingWindowMs);
    this.store = new RecordStore(
      options.identity.deviceId,
      options.identity.signingKey.secretKey,
      options.storeCapacity ?? DEFAULT_CAPACITY,
      options.resume,
    );
  }

  get identity(): DeviceIdentity {
    return this.options.identity;
  }

  get name(): string {
    return advertisedName(this.identity.deviceId);
  }

  /** The oscillator, for protocol timers (handshake timeouts, window, lockout). */
  monotonicNow(): number {
    return Math.floor(this.options.clock());
  }

  /** Device time: the oscillator corrected by the hub's TIME_SET. */
  deviceTime(): number {
    return Math.floor(this.options.clock() + this.clockOffsetMs);
  }

  get isClockSet(): boolean {
    return this.clockSet;
  }

  setTime(hubTimeMs: number): void {
    this.clockOffsetMs = hubTimeMs - Math.floor(this.options.clock());
    this.clockSet = true;
  }

  onEvent(listener: (event: DeviceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: DeviceEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** Stores measurements (seq assigned here) and lets open connections stream them. */
  record(measurements: readonly Measurement[]): number {
    let stored = 0;
    for (const m of measurements) {
      const flags = this.clockSet ? m.flags : m.flags | RecordFlags.ClockNotSet;
      if (this.store.append({ ...m, flags }) === undefined) {
        this.emit({ type: 'store-full' });
        break;
      }
      stored++;
    }
    for (const c of this.connections) c.pump();
    return stored;
  }

  /** A central connected: one channel for the life of this connection. */
  connect(attMtu = 247): SensorConnection {
    const connection = new SensorConnection(this, attMtu);
    this.connections.add(connection);
    return connection;
  }

  /** @internal */
  disconnected(connection: SensorConnection): void {
    this.connections.delete(connection);
  }

  /** Battery charge, %: drains linearly with time powered on (a wearable's coin cell, roughly). */
  get battery(): number {
    const life = this.options.batteryLifeMs ?? 7 * 86_400_000;
    const start = this.options.batteryAtStart ?? 100;
    const used = (100 * (this.monotonicNow() - this.poweredOnAt)) / life;
    return Math.max(0, Math.min(100, Math.round(start - used)));
  }

  status(): StatusMessage {
    return {
      type: 'status',
      battery: this.battery,
      flags: { tamper: this.tamper, clockNotSet: !this.clockSet, storageNearlyFull: this.store.isNearlyFull },
      held: this.store.held,
      lastSeq: this.store.lastSeq,
      deviceTimeMs: this.deviceTime(),
    };
  }

  /** The policy the protocol channel asks (pairing window, limiter, bonds). */
  channelPolicy(): SensorPolicy {
    return {
      beginPairingAttempt: (nowMs) => {
        if (this.policy.refusal(nowMs) !== undefined || this.pairingBusyUntil > nowMs) return undefined;
        this.pairingBusyUntil = nowMs + HANDSHAKE_TIMEOUT_MS;
        return passcodeBytes(this.identity.passcode);
      },
      pairingAttemptFailed: (nowMs) => {
        this.pairingBusyUntil = 0;
        this.policy.recordFailure(nowMs);
        this.emit({ type: 'pairing-failed', failures: this.policy.failures, lockedUntilMs: this.policy.lockedUntilMs(nowMs) });
      },
      paired: (hubStatic, hubLabel, nowMs) => {
        this.pairingBusyUntil = 0;
        this.bonds.add(hubStatic, hubLabel, nowMs);
        this.policy.recordSuccess();
        this.emit({ type: 'paired', hubLabel });
      },
      bondedHubKeys: () => this.bonds.keys(),
      reconnected: (index, nowMs) => this.bonds.touch(index, nowMs),
    };
  }
}

function passcodeBytes(passcode: string): Uint8Array {
  return new TextEncoder().encode(passcode);
}

/** One connection: reassembles `control` writes, queues `data` fragments, streams records. */
export class SensorConnection {
  private readonly channel: SensorChannel;
  private readonly fragmenter: Fragmenter;
  private readonly reassembler = new Reassembler();
  private readonly queue: Uint8Array[] = [];
  /** Next record to stream; BACKFILL moves it back (§8.3). */
  private nextSeq: number;
  private checkpointsSentUpTo = 0;
  private closed = false;
  private readyListener: (() => void) | undefined;
  /** Messages dropped because the peer did not read `data` (§2.1). */
  repliesDropped = 0;

  constructor(
    private readonly device: SensorDevice,
    attMtu: number,
  ) {
    this.fragmenter = new Fragmenter(chunkSizeForMtu(attMtu));
    this.nextSeq = device.store.lastSeq + 1;
    this.channel = new SensorChannel({
      identity: device.identity.staticKey,
      certificate: device.identity.certificate,
      random: device.options.random,
      policy: device.channelPolicy(),
    });
  }

  get isOpen(): boolean {
    return this.channel.isOpen;
  }

  get queuedFragments(): number {
    return this.queue.length;
  }

  /** Called whenever a fragment becomes available on `data` (the GATT server notifies). */
  onFragmentReady(listener: () => void): void {
    this.readyListener = listener;
  }

  /** A write to `control`. */
  receiveFragment(fragment: Uint8Array): void {
    if (this.closed) return;
    const now = this.device.monotonicNow();
    const message = this.reassembler.push(fragment, now);
    if (message === undefined) return;
    this.handle(this.channel.receive(message, now));
    this.pump();
  }

  /** A notification to send, or the answer to a read of `data` (empty when nothing is queued). */
  takeFragment(): Uint8Array | undefined {
    const fragment = this.queue.shift();
    if (this.queue.length < DATA_QUEUE_FRAGMENTS / 2) this.pump();
    return fragment;
  }

  /** Timers: handshake timeout. */
  tick(): void {
    if (this.closed) return;
    this.handle(this.channel.tick(this.device.monotonicNow()));
  }

  disconnect(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.close();
    this.queue.length = 0;
    this.device.disconnected(this);
  }

  private handle(events: readonly SensorEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'send':
          this.enqueue(event.message);
          break;
        case 'open':
          this.nextSeq = this.device.store.lastSeq + 1;
          this.device.emit({ type: 'connected', paired: event.paired, rekeyed: event.rekeyed });
          if (!event.rekeyed) this.sendApp(this.device.status());
          break;
        case 'app':
          this.onApp(event.message);
          break;
        case 'handshake-failed':
        case 'security':
          break;
      }
    }
  }

  private onApp(message: AppMessage): void {
    switch (message.type) {
      case 'ack': {
        const freed = this.device.store.acknowledge(message.upTo);
        if (this.nextSeq <= message.upTo) this.nextSeq = message.upTo + 1;
        this.device.emit({ type: 'acknowledged', upTo: message.upTo, freed });
        break;
      }
      case 'backfill':
        this.nextSeq = Math.max(message.from, this.device.store.firstSeq);
        this.checkpointsSentUpTo = Math.min(this.checkpointsSentUpTo, this.nextSeq - 1);
        break;
      case 'time-set':
        this.device.setTime(message.hubTimeMs);
        break;
      case 'status-req':
        this.sendApp(this.device.status());
        break;
      case 'unbond': {
        const hub = this.channel.peer;
        if (hub) this.device.bonds.remove(hub);
        this.device.emit({ type: 'unbonded' });
        this.disconnect();
        break;
      }
      default:
        // Messages a sensor never receives (READINGS, STATUS, CHECKPOINT …) are answered with ERROR.
        this.sendApp({ type: 'error', code: 1 });
    }
  }

  /** Streams held records from `nextSeq` while the data queue has room (§2.1 flow control). */
  pump(): void {
    const store = this.device.store;
    const chunk = this.fragmenter.chunkSize;
    // Room for the checkpoints that may follow a READINGS message (at most two per message).
    const checkpointFragments = 2 * Math.ceil(CHECKPOINT_FRAME_LEN / chunk);
    while (!this.closed && this.channel.isOpen && this.nextSeq <= store.lastSeq) {
      const free = DATA_QUEUE_FRAGMENTS - this.queue.length - checkpointFragments;
      const budget = Math.min(MAX_PLAINTEXT, free * chunk - TRANSPORT_OVERHEAD);
      const records: ReadingRecord[] = [];
      let size = READINGS_HEADER_LEN;
      for (const r of store.from(this.nextSeq, MAX_READINGS_PER_MESSAGE)) {
        const n = encodedRecordLength(r);
        if (size + n > budget) break;
        size += n;
        records.push(r);
      }
      if (records.length === 0) break;
      if (!this.sendApp({ type: 'readings', records })) break;
      const last = (records[records.length - 1] as ReadingRecord).seq;
      this.nextSeq = last + 1;
      for (const checkpoint of store.checkpointsBetween(this.checkpointsSentUpTo + 1, last)) {
        if (!this.sendApp({ type: 'checkpoint', ...checkpoint })) break;
      }
      this.checkpointsSentUpTo = Math.max(this.checkpointsSentUpTo, last);
    }
  }

  /** Seals and queues; false when the session has ended or the queue had no room. */
  private sendApp(message: AppMessage): boolean {
    if (!this.channel.isOpen) return false;
    const frame = this.channel.send(message, this.device.monotonicNow());
    return frame !== undefined && this.enqueue(frame);
  }

  /**
   * Queues a message's fragments on `data`, or drops the whole message when they would overflow
   * the queue (§2.1). Streaming sizes its messages to fit; what can be dropped is a reply to a
   * peer that writes and never reads — a handshake answer or a STATUS it will ask for again.
   */
  private enqueue(message: Uint8Array): boolean {
    const fragments = this.fragmenter.fragment(message);
    if (this.queue.length + fragments.length > DATA_QUEUE_FRAGMENTS) {
      this.repliesDropped++;
      return false;
    }
    for (const fragment of fragments) this.queue.push(fragment);
    this.readyListener?.();
    return true;
  }
}
