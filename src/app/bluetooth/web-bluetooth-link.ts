/**
 * One sensor's link over Web Bluetooth (docs/protocol.md §2.1): the only code, with
 * `sensor-discovery.ts`, that touches `navigator.bluetooth`. It moves opaque fragments — writes to
 * `control`, notifications and reads of `data` — and reports the link's state; the protocol lives
 * in the vault worker.
 *
 * - Connect (GATT connect, service and characteristic discovery, subscription to `data`) under one
 *   timeout, default CONNECT_TIMEOUT_MS: real stacks can hang for a minute.
 * - After every (re)connect the service and characteristics are fetched again: the objects of an
 *   earlier connection throw InvalidStateError.
 * - One GATT operation at a time (`GattQueue`).
 * - Notifications that stall are replaced by pull reads of `data` (`NotificationWatchdog`), and an
 *   idle link is read now and then, in case they stalled while nothing was expected.
 * - A dropped link reconnects by itself with exponential backoff and jitter (`ReconnectBackoff`),
 *   and at once when the browser sees the sensor advertise (`watchAdvertisements`, where present).
 *
 * Fragment size: Web Bluetooth does not expose the negotiated ATT MTU, so the link reports the
 * protocol's minimum, MIN_ATT_MTU = 23 (17-byte chunks, §2.2), which every stack supports; a
 * platform that knows better may pass `attMtu`.
 */
import { CONTROL_CHARACTERISTIC_UUID, DATA_CHARACTERISTIC_UUID, DATA_QUEUE_FRAGMENTS, VITALOCK_SERVICE_UUID } from '../../core/gatt.js';
import { MIN_ATT_MTU } from '../../core/framing.js';
import { ReconnectBackoff, type BackoffOptions } from './backoff.js';
import { BluetoothLinkError, toLinkError } from './errors.js';
import { GattQueue } from './gatt-queue.js';
import type { LinkListener, LinkState, SensorLink } from './sensor-link.js';
import { realTimers, withTimeout, type Timers } from './timers.js';
import { NotificationWatchdog } from './watchdog.js';
import type { BluetoothDevice, BluetoothRemoteGATTCharacteristic, BluetoothRemoteGATTServer } from './web-bluetooth.js';

export const CONNECT_TIMEOUT_MS = 15_000;
/** A read or write not answered in this long means a wedged stack: drop the link and reconnect. */
export const OPERATION_TIMEOUT_MS = 10_000;
/** Failed reconnects in a row before the link reports 'offline' (it keeps trying). */
export const OFFLINE_AFTER_ATTEMPTS = 4;
/** Reads per stall before the watchdog is re-armed: a sensor's whole queue, four times over. */
export const MAX_PULL_READS = 4 * DATA_QUEUE_FRAGMENTS;

export interface SensorLinkOptions {
  readonly connectTimeoutMs?: number;
  readonly operationTimeoutMs?: number;
  /** How often an idle link is read anyway (default IDLE_POLL_MS; 0: never). */
  readonly idlePollMs?: number;
  readonly attMtu?: number;
  readonly timers?: Timers;
  readonly backoff?: BackoffOptions;
  readonly offlineAfterAttempts?: number;
}

/** What one GATT connection holds; replaced whole on every reconnect. */
interface Connection {
  readonly queue: GattQueue;
  readonly control: BluetoothRemoteGATTCharacteristic;
  readonly data: BluetoothRemoteGATTCharacteristic;
  readonly onValue: (event: Event) => void;
  /** Values already handed on (a read also fires `characteristicvaluechanged` with the same view). */
  readonly delivered: WeakSet<DataView>;
}

/** Counters for diagnostics and tests; nothing in them is clinical. */
export interface LinkStats {
  connects: number;
  notified: number;
  pulled: number;
  stalls: number;
  writes: number;
}

export class WebBluetoothLink implements SensorLink {
  readonly id: string;
  readonly deviceName: string;
  readonly attMtu: number;
  readonly stats: LinkStats = { connects: 0, notified: 0, pulled: 0, stalls: 0, writes: 0 };
  private stateValue: LinkState = 'connecting';
  private reason: string | undefined;
  /** Whether the listener has heard any state yet (the first 'connecting' is news too). */
  private announced = false;
  private connection: Connection | undefined;
  private attempt: Promise<void> | undefined;
  /** Bumped by every attempt: a late result of an abandoned attempt is recognised and dropped. */
  private generation = 0;
  private closed = false;
  private pulling = false;
  private failuresInRow = 0;
  private cancelRetry: (() => void) | undefined;
  private advertisements: AbortController | undefined;
  private readonly timers: Timers;
  private readonly connectTimeoutMs: number;
  private readonly operationTimeoutMs: number;
  private readonly offlineAfter: number;
  private readonly backoff: ReconnectBackoff;
  private readonly watchdog: NotificationWatchdog;

  constructor(
    readonly device: BluetoothDevice,
    private readonly listener: LinkListener,
    options: SensorLinkOptions = {},
  ) {
    this.id = `ble-${device.id}`;
    this.deviceName = device.name ?? 'Unnamed sensor';
    this.attMtu = options.attMtu ?? MIN_ATT_MTU;
    this.timers = options.timers ?? realTimers;
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.operationTimeoutMs = options.operationTimeoutMs ?? OPERATION_TIMEOUT_MS;
    this.offlineAfter = options.offlineAfterAttempts ?? OFFLINE_AFTER_ATTEMPTS;
    this.backoff = new ReconnectBackoff(options.backoff);
    this.watchdog = new NotificationWatchdog(
      this.timers,
      (reason) => {
        if (reason === 'stall') this.stats.stalls++;
        void this.pull();
      },
      undefined,
      options.idlePollMs,
    );
    device.addEventListener('gattserverdisconnected', this.onDisconnected);
    device.addEventListener('advertisementreceived', this.onAdvertisement);
  }

  get state(): LinkState {
    return this.stateValue;
  }

  get connected(): boolean {
    return this.connection !== undefined;
  }

  /** The first connection: rejects with a typed error (the caller decides whether to retry). */
  connect(): Promise<void> {
    return this.connectOnce();
  }

  /**
   * For a bonded sensor found after a page load: connect when it can be reached, retrying with
   * backoff (and on its advertisements) until then. Never rejects.
   */
  connectInBackground(): void {
    this.connectOnce().catch((err: unknown) => this.failedAttempt(err));
  }

  /** The one-tap "reconnect now" of the UI: skips the backoff wait. */
  reconnectNow(): void {
    if (this.closed || this.connection !== undefined) return;
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    this.backoff.reset();
    this.retry();
  }

  write(fragment: Uint8Array): Promise<void> {
    const conn = this.connection;
    if (conn === undefined) return Promise.reject(new BluetoothLinkError('not-connected'));
    return this.run(conn, () => conn.control.writeValueWithResponse(fragment)).then(
      () => {
        this.stats.writes++;
        // The sensor answers requests on `data`: from now on a silence is a stall.
        if (conn === this.connection) this.watchdog.expect();
      },
      (err: unknown) => {
        throw toLinkError(err, 'operation');
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    this.cancelRetry?.();
    this.stopWatchingAdvertisements();
    this.teardown();
    this.device.removeEventListener('gattserverdisconnected', this.onDisconnected);
    this.device.removeEventListener('advertisementreceived', this.onAdvertisement);
    this.device.gatt?.disconnect();
    this.setState('offline');
  }

  // ── connecting ─────────────────────────────────────────────────────────────────────────────

  /** Single flight: a second call while connecting joins the attempt in progress. */
  private connectOnce(): Promise<void> {
    if (this.closed) return Promise.reject(new BluetoothLinkError('not-connected'));
    this.attempt ??= this.establish().finally(() => {
      this.attempt = undefined;
    });
    return this.attempt;
  }

  private async establish(): Promise<void> {
    const generation = ++this.generation;
    const gatt = this.device.gatt;
    if (gatt === undefined) throw new BluetoothLinkError('gatt-failed');
    if (this.stateValue !== 'offline' && this.stateValue !== 'reconnecting') this.setState('connecting');
    let conn: Connection;
    try {
      conn = await withTimeout(this.setUp(gatt, generation), this.connectTimeoutMs, this.timers, () => new BluetoothLinkError('connect-timeout'), () => gatt.disconnect());
    } catch (err) {
      throw toLinkError(err, 'connect');
    }
    if (generation !== this.generation || this.closed) {
      conn.data.removeEventListener('characteristicvaluechanged', conn.onValue);
      throw new BluetoothLinkError('not-connected');
    }
    this.connection = conn;
    this.stats.connects++;
    this.failuresInRow = 0;
    this.backoff.reset();
    this.stopWatchingAdvertisements();
    this.setState('connected');
  }

  /** Connect, discover (fresh objects every time), subscribe. */
  private async setUp(gatt: BluetoothRemoteGATTServer, generation: number): Promise<Connection> {
    const server = await gatt.connect();
    const service = await server.getPrimaryService(VITALOCK_SERVICE_UUID);
    const control = await service.getCharacteristic(CONTROL_CHARACTERISTIC_UUID);
    const data = await service.getCharacteristic(DATA_CHARACTERISTIC_UUID);
    const queue = new GattQueue();
    const delivered = new WeakSet<DataView>();
    const conn: Connection = {
      queue,
      control,
      data,
      delivered,
      onValue: (event) => {
        const value = (event.target as BluetoothRemoteGATTCharacteristic).value;
        if (generation === this.generation && value) this.deliver(conn, value, 'notified');
      },
    };
    data.addEventListener('characteristicvaluechanged', conn.onValue);
    try {
      await queue.run(() => data.startNotifications());
    } catch (err) {
      data.removeEventListener('characteristicvaluechanged', conn.onValue);
      throw err;
    }
    return conn;
  }

  private readonly onDisconnected = (): void => {
    this.teardown();
    if (this.closed) return;
    // An attempt in progress fails by itself and schedules the next one.
    if (this.attempt !== undefined) return;
    this.setState('reconnecting', new BluetoothLinkError('out-of-range').message);
    this.scheduleRetry();
  };

  private readonly onAdvertisement = (): void => {
    // The sensor is in range again: no reason to wait for the backoff.
    if (!this.closed && this.connection === undefined && this.attempt === undefined) this.reconnectNow();
  };

  private failedAttempt(err: unknown): void {
    if (this.closed || this.connection !== undefined) return;
    this.failuresInRow++;
    const error = toLinkError(err, 'connect');
    this.setState(this.failuresInRow >= this.offlineAfter ? 'offline' : 'reconnecting', error.message);
    // Not reachable now: its next advertisement (where the browser reports them) ends the wait.
    this.watchAdvertisements();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.cancelRetry !== undefined) return;
    this.cancelRetry = this.timers.after(this.backoff.next(), () => {
      this.cancelRetry = undefined;
      this.retry();
    });
  }

  private retry(): void {
    if (this.closed || this.connection !== undefined) return;
    this.connectOnce().catch((err: unknown) => this.failedAttempt(err));
  }

  /** Where the browser has it, a bonded sensor coming back in range triggers the reconnect. */
  private watchAdvertisements(): void {
    if (this.advertisements !== undefined || typeof this.device.watchAdvertisements !== 'function') return;
    const controller = new AbortController();
    this.advertisements = controller;
    this.device.watchAdvertisements({ signal: controller.signal }).catch(() => {
      if (this.advertisements === controller) this.advertisements = undefined;
    });
  }

  private stopWatchingAdvertisements(): void {
    this.advertisements?.abort();
    this.advertisements = undefined;
  }

  private teardown(): void {
    const conn = this.connection;
    this.connection = undefined;
    this.watchdog.stop();
    if (conn === undefined) return;
    conn.queue.close(new BluetoothLinkError('not-connected'));
    conn.data.removeEventListener('characteristicvaluechanged', conn.onValue);
  }

  // ── data ───────────────────────────────────────────────────────────────────────────────────

  private deliver(conn: Connection, value: DataView, how: 'notified' | 'pulled'): void {
    // A zero-length value is an empty pull (§2.1), not a fragment.
    if (value.byteLength === 0 || conn.delivered.has(value)) return;
    conn.delivered.add(value);
    this.stats[how]++;
    this.watchdog.notified();
    // An owned copy: the receiver may transfer its buffer to the worker.
    const fragment = new Uint8Array(value.byteLength);
    fragment.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    this.listener.fragment(this, fragment);
  }

  /** Notifications stalled: read `data` until the sensor's queue is empty (§2.1). */
  private async pull(): Promise<void> {
    const conn = this.connection;
    if (conn === undefined || this.pulling) return;
    this.pulling = true;
    try {
      for (let i = 0; i < MAX_PULL_READS; i++) {
        if (conn !== this.connection) return;
        const value = await this.run(conn, () => conn.data.readValue());
        if (value.byteLength === 0) {
          this.watchdog.settle();
          return;
        }
        // Chromium fires `characteristicvaluechanged` for a read too, with this same view (the
        // spec says so): counted as pulled either way, delivered once.
        if (conn.delivered.has(value)) {
          this.stats.notified--;
          this.stats.pulled++;
        } else {
          this.deliver(conn, value, 'pulled');
        }
      }
      if (conn === this.connection) this.watchdog.expect();
    } catch {
      // A failed read: if the link dropped, the disconnect handler has taken over; if not, the
      // watchdog tries again after another stall period.
      if (conn === this.connection) this.watchdog.expect();
    } finally {
      this.pulling = false;
    }
  }

  /** One GATT operation, in turn, under OPERATION_TIMEOUT_MS. */
  private run<T>(conn: Connection, op: () => Promise<T>): Promise<T> {
    return conn.queue.run(() => withTimeout(op(), this.operationTimeoutMs, this.timers, () => new BluetoothLinkError('gatt-failed'), () => this.abandon(conn)));
  }

  /** A wedged connection: let it go (its pending operations fail) and reconnect. */
  private abandon(conn: Connection): void {
    if (conn !== this.connection) return;
    this.device.gatt?.disconnect();
    // Chromium fires `gattserverdisconnected` for this too; handling it twice is harmless.
    this.onDisconnected();
  }

  private setState(state: LinkState, reason?: string): void {
    if (this.announced && state === this.stateValue && reason === this.reason) return;
    this.announced = true;
    this.stateValue = state;
    this.reason = reason;
    this.listener.state(this, state, reason);
  }
}
