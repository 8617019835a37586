/**
 * Plays Vitalock sensors to a page over Chromium's emulated Bluetooth (CDP `BluetoothEmulation`,
 * docs: testing, "Web Bluetooth end to end"). The page uses the unmodified `navigator.bluetooth`;
 * the sensor is the reference sensor's own code (`sensor/device.ts`) running here, in the Node
 * test process, its fragments carried over the emulated GATT service of docs/protocol.md §2.1.
 *
 * - One emulation per browser (`BleEmulation.start`, then `stop`): a browser-level CDP session.
 * - Each sensor is a preconnected peripheral with the Vitalock service, `control` (write) and
 *   `data` (notify, read, with its CCCD). Every GATT operation waits for an answer, so this file
 *   answers each one: connection (a new `SensorConnection`), discovery, writes to `control`
 *   (`receiveFragment`), reads of `data` (`takeFragment`, empty when nothing is queued),
 *   subscriptions.
 * - Notifications cannot be pushed by the emulation. A read also fires `characteristicvaluechanged`
 *   on the page's own characteristic object, so a queued fragment is delivered by calling
 *   `readValue()` on that object from `page.evaluate` and answering the read with the fragment:
 *   the app's listener fires through Chromium's real path. Only after the page subscribed: a real
 *   peripheral cannot notify before the CCCD is written.
 * - `dropLink` is `simulateGATTDisconnection`, which wipes the emulated GATT table: the services
 *   are added again (new ids), and the page must fetch them again, as after a real reconnect.
 * - The chooser (`chooser(page)`, `ble-chooser.ts`): each prompt answered exactly once, by device
 *   id (the address), or cancelled.
 *
 * Limits of the emulation, measured on Chromium 156: a disconnection simulated while an operation
 * waits for its answer never reaches the page and wedges the peripheral (its next connect crashed
 * the browser) — hence `quiesce` before every drop; `gatt.disconnect()` while a connection attempt
 * waits for its answer crashes the browser, so a hung connect (the adapter's connect timeout) is
 * covered by unit tests with a fake device only; a page in a background tab gets no chooser
 * prompt; with the central powered off, `requestDevice` never prompts.
 *
 * Sensors made for a test, the `ble` fixture and the helpers that drive pages/ble-app.html are in
 * `ble-fixtures.ts`.
 */
import type { Browser, CDPSession, Page } from '@playwright/test';
import { CCCD_UUID, CONTROL_CHARACTERISTIC_UUID, DATA_CHARACTERISTIC_UUID, VITALOCK_SERVICE_UUID } from '../../../src/core/gatt.js';
import { MIN_ATT_MTU } from '../../../src/core/framing.js';
import type { SensorConnection, SensorDevice } from '../../../sensor/device.js';
import { Chooser } from './ble-chooser.js';

/** CDP `BluetoothEmulation` payloads (the domain is Chromium-only). */
type CentralState = 'absent' | 'powered-off' | 'powered-on';
interface GattOperation {
  readonly address: string;
  readonly type: 'connection' | 'discovery';
}
interface CharacteristicOperation {
  readonly characteristicId: string;
  readonly type: 'read' | 'write' | 'subscribe-to-notifications' | 'unsubscribe-from-notifications';
  readonly data?: string;
  readonly writeType?: string;
}
interface DescriptorOperation {
  readonly descriptorId: string;
  readonly type: 'read' | 'write';
}

/**
 * Where a spec hides `getDevices()` from the app (`hideGetDevices`), the original stays reachable
 * for this harness under this symbol: the harness still has to find the page's objects.
 */
export const HIDDEN_GET_DEVICES = 'vitalock.test.getDevices';

/** HCI "Connection Failed to be Established" (Core Vol 1 Part F): what an absent sensor causes. */
export const HCI_CONNECTION_FAILED = 0x3e;
/** How often the sensor's timers run (handshake timeout) and queued fragments are looked at. */
const TICK_MS = 100;
/** A link is dropped only after the page has been quiet this long (see `dropLink`). */
const QUIET_MS = 150;
/** Longest wait for that quiet. */
const QUIESCE_TIMEOUT_MS = 5_000;

export interface EmulatedSensorOptions {
  /** The peripheral's address, which is also its id in the chooser. */
  readonly address: string;
  /** The sensor's side of the link (its fragment size); defaults to the minimum, 23. */
  readonly attMtu?: number;
}

/** What the harness saw, for the specs to assert on. */
export interface EmulatedSensorStats {
  connections: number;
  refusedConnections: number;
  subscriptions: number;
  writes: number;
  /** Reads answered with a fragment (whoever asked: a delivered notification or a pull). */
  fragmentsRead: number;
  emptyReads: number;
  /** Fragments delivered as "notifications" (reads this harness triggered in the page). */
  notified: number;
}

export class BleEmulation {
  private readonly sensors = new Map<string, EmulatedSensor>();
  private readonly byCharacteristic = new Map<string, { sensor: EmulatedSensor; role: 'control' | 'data' }>();
  private readonly tick: NodeJS.Timeout;
  /** Failures of the harness itself (an answer the browser refused…): a spec asserts none. */
  readonly errors: string[] = [];
  /** GATT operations received and not yet answered, and when the last one arrived. */
  private inFlight = 0;
  private lastOperationAt = 0;

  private constructor(readonly cdp: CDPSession) {
    cdp.on('BluetoothEmulation.gattOperationReceived', (e) => void this.track(this.onGatt(e)));
    cdp.on('BluetoothEmulation.characteristicOperationReceived', (e) => void this.track(this.onCharacteristic(e)));
    cdp.on('BluetoothEmulation.descriptorOperationReceived', (e) => void this.track(this.onDescriptor(e)));
    this.tick = setInterval(() => {
      for (const s of this.sensors.values()) s.onTick();
    }, TICK_MS);
  }

  /** Replaces the browser's Bluetooth adapter with an emulated one in `state`. */
  static async start(browser: Browser, state: CentralState = 'powered-on'): Promise<BleEmulation> {
    const cdp = await browser.newBrowserCDPSession();
    await cdp.send('BluetoothEmulation.enable', { state, leSupported: true });
    return new BleEmulation(cdp);
  }

  async setCentralState(state: CentralState): Promise<void> {
    await this.cdp.send('BluetoothEmulation.setSimulatedCentralState', { state });
  }

  async stop(): Promise<void> {
    clearInterval(this.tick);
    for (const s of this.sensors.values()) s.connection?.disconnect();
    await this.cdp.send('BluetoothEmulation.disable').catch(() => undefined);
    await this.cdp.detach().catch(() => undefined);
  }

  /** A sensor within reach: preconnected to the system, its GATT table in place. */
  async addSensor(device: SensorDevice, options: EmulatedSensorOptions): Promise<EmulatedSensor> {
    const sensor = new EmulatedSensor(this, device, options.address, options.attMtu ?? MIN_ATT_MTU);
    this.sensors.set(options.address, sensor);
    await this.cdp.send('BluetoothEmulation.simulatePreconnectedPeripheral', {
      address: options.address,
      name: device.name,
      manufacturerData: [],
      knownServiceUuids: [VITALOCK_SERVICE_UUID],
    });
    await this.buildGattTable(sensor);
    return sensor;
  }

  /**
   * Makes `page` a browser without `navigator.bluetooth.getDevices()` (from its next navigation
   * on), as some browsers and versions are; this harness keeps using it (HIDDEN_GET_DEVICES).
   */
  async hideGetDevices(page: Page): Promise<void> {
    await page.addInitScript((hidden) => {
      const proto = (globalThis as unknown as { Bluetooth?: { prototype: Record<string | symbol, unknown> } }).Bluetooth?.prototype;
      if (proto?.['getDevices'] === undefined) return;
      Object.defineProperty(proto, Symbol.for(hidden), { value: proto['getDevices'] });
      delete proto['getDevices'];
    }, HIDDEN_GET_DEVICES);
  }

  /** The device chooser of `page` (its own CDP session: DeviceAccess lives there). */
  async chooser(page: Page): Promise<Chooser> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('DeviceAccess.enable');
    return new Chooser(cdp);
  }

  /** @internal The service, `control`, `data` and its CCCD; new ids every time. */
  async buildGattTable(sensor: EmulatedSensor): Promise<void> {
    const { serviceId } = await this.cdp.send('BluetoothEmulation.addService', { address: sensor.address, serviceUuid: VITALOCK_SERVICE_UUID });
    const control = await this.cdp.send('BluetoothEmulation.addCharacteristic', { serviceId, characteristicUuid: CONTROL_CHARACTERISTIC_UUID, properties: { write: true } });
    const data = await this.cdp.send('BluetoothEmulation.addCharacteristic', { serviceId, characteristicUuid: DATA_CHARACTERISTIC_UUID, properties: { read: true, notify: true } });
    await this.cdp.send('BluetoothEmulation.addDescriptor', { characteristicId: data.characteristicId, descriptorUuid: CCCD_UUID });
    this.byCharacteristic.set(control.characteristicId, { sensor, role: 'control' });
    this.byCharacteristic.set(data.characteristicId, { sensor, role: 'data' });
  }

  /**
   * @internal Waits until no operation is waiting for an answer and none arrived for QUIET_MS.
   * The emulation cannot disconnect a peripheral with an operation pending: the page never hears
   * of the disconnection, the pending operation can no longer be answered, and the next connect
   * crashes the browser (measured on Chromium 156). A real stack fails the pending operation.
   */
  async quiesce(): Promise<void> {
    const end = Date.now() + QUIESCE_TIMEOUT_MS;
    while (this.inFlight > 0 || Date.now() - this.lastOperationAt < QUIET_MS) {
      if (Date.now() > end) throw new Error(`the page never stopped GATT operations for ${QUIET_MS} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async track(handling: Promise<void>): Promise<void> {
    this.inFlight++;
    this.lastOperationAt = Date.now();
    try {
      await handling;
    } finally {
      this.inFlight--;
    }
  }

  private async onGatt(e: GattOperation): Promise<void> {
    const sensor = this.sensors.get(e.address);
    let code = 0;
    if (sensor !== undefined && e.type === 'connection') code = sensor.onConnection();
    await this.answer(this.cdp.send('BluetoothEmulation.simulateGATTOperationResponse', { address: e.address, type: e.type, code }), `${e.type} of ${e.address}`);
  }

  private async onCharacteristic(e: CharacteristicOperation): Promise<void> {
    const target = this.byCharacteristic.get(e.characteristicId);
    const reply = (data?: Uint8Array) =>
      this.answer(
        this.cdp.send('BluetoothEmulation.simulateCharacteristicOperationResponse', {
          characteristicId: e.characteristicId,
          type: e.type,
          code: 0,
          ...(data !== undefined ? { data: Buffer.from(data).toString('base64') } : {}),
        }),
        `${e.type} of ${e.characteristicId}`,
      );
    if (target === undefined) {
      this.errors.push(`operation on an unknown characteristic ${e.characteristicId}`);
      return;
    }
    const { sensor, role } = target;
    switch (e.type) {
      case 'write':
        if (role !== 'control') this.errors.push('a write to data');
        sensor.onWrite(Buffer.from(e.data ?? '', 'base64'));
        // Write without response needs no answer; the adapter always writes with response.
        if (e.writeType !== 'write-without-response') await reply();
        break;
      case 'read':
        await reply(role === 'data' ? sensor.onRead() : new Uint8Array(0));
        break;
      case 'subscribe-to-notifications':
        if (role === 'data') sensor.onSubscribe();
        await reply();
        break;
      case 'unsubscribe-from-notifications':
        sensor.onUnsubscribe();
        await reply();
        break;
    }
  }

  private async onDescriptor(e: DescriptorOperation): Promise<void> {
    await this.answer(
      this.cdp.send('BluetoothEmulation.simulateDescriptorOperationResponse', {
        descriptorId: e.descriptorId,
        type: e.type,
        code: 0,
        ...(e.type === 'read' ? { data: Buffer.from([0, 0]).toString('base64') } : {}),
      }),
      `descriptor ${e.type}`,
    );
  }

  private async answer(sent: Promise<unknown>, what: string): Promise<void> {
    try {
      await sent;
    } catch (err) {
      this.errors.push(`answering ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** One emulated sensor: the reference device behind an emulated peripheral. */
export class EmulatedSensor {
  readonly stats: EmulatedSensorStats = { connections: 0, refusedConnections: 0, subscriptions: 0, writes: 0, fragmentsRead: 0, emptyReads: 0, notified: 0 };
  connection: SensorConnection | undefined;
  /** Whether the page wrote the CCCD on the current connection. */
  subscribed = false;
  private page: Page | undefined;
  private refuseWith: number | undefined;
  private notificationsStalled = false;
  private delivering: Promise<void> | undefined;
  /** While a drop is being prepared, no notification is started. */
  private paused = false;

  constructor(
    private readonly emulation: BleEmulation,
    readonly device: SensorDevice,
    readonly address: string,
    private readonly attMtu: number,
  ) {}

  get name(): string {
    return this.device.name;
  }

  /** The page whose characteristic carries this sensor's notifications. */
  attach(page: Page): void {
    this.page = page;
  }

  /**
   * Notifications stop arriving though the link stays up (the Android failure of §2.1): queued
   * fragments wait until the page reads `data`.
   */
  stallNotifications(stalled = true): void {
    this.notificationsStalled = stalled;
    if (!stalled) this.scheduleDelivery();
  }

  /**
   * The link drops (out of range, switched off…): the page gets `gattserverdisconnected`, and
   * whatever the sensor still had queued for this connection is lost with it. Notifications stop
   * first and the page is let go quiet (`quiesce`), since the emulation cannot drop a link with an
   * operation pending; the sensor keeps measuring meanwhile, so the drop still cuts a stream.
   */
  async dropLink(): Promise<void> {
    const before = { connections: this.stats.connections, refused: this.stats.refusedConnections };
    this.paused = true;
    try {
      await this.delivering;
      await this.emulation.quiesce();
      this.connection?.disconnect();
      this.connection = undefined;
      this.subscribed = false;
      await this.emulation.cdp.send('BluetoothEmulation.simulateGATTDisconnection', { address: this.address });
      // The disconnection wiped the emulated table; the page must find it again on reconnect.
      await this.emulation.buildGattTable(this);
    } finally {
      this.paused = false;
    }
    // The page must have seen it: disconnected now, or already connecting again.
    const end = Date.now() + 2_000;
    const reconnecting = () => this.stats.connections > before.connections || this.stats.refusedConnections > before.refused;
    while (!reconnecting() && (await this.pageConnected())) {
      if (Date.now() > end) {
        this.emulation.errors.push(`the page did not see ${this.address} disconnect`);
        throw new Error(`the page did not see ${this.address} disconnect`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Whether the page's device object for this sensor says it is connected. */
  async pageConnected(): Promise<boolean> {
    if (this.page === undefined) return false;
    return this.page.evaluate(
      async ({ name, hidden }) => {
        type Devices = () => Promise<{ name?: string | null; gatt?: { connected: boolean } }[]>;
        const bluetooth = (navigator as Navigator & { bluetooth?: Record<string | symbol, unknown> }).bluetooth;
        const getDevices = (bluetooth?.['getDevices'] ?? bluetooth?.[Symbol.for(hidden)]) as Devices | undefined;
        const device = (await getDevices?.call(bluetooth))?.find((d) => d.name === name);
        return device?.gatt?.connected === true;
      },
      { name: this.name, hidden: HIDDEN_GET_DEVICES },
    );
  }

  /**
   * One advertisement of this sensor (back in range). The scan record carries `appearance` and
   * `txPower`: without them the emulation dies and pending calls hang (docs: testing).
   */
  async advertise(): Promise<void> {
    await this.emulation.cdp.send('BluetoothEmulation.simulateAdvertisement', {
      entry: {
        deviceAddress: this.address,
        rssi: -55,
        scanRecord: { name: this.name, uuids: [VITALOCK_SERVICE_UUID], appearance: 0, txPower: 0, manufacturerData: [] },
      },
    });
  }

  /** Out of range: connection attempts fail with `code` until `comeBackInRange`. */
  goOutOfRange(code = HCI_CONNECTION_FAILED): void {
    this.refuseWith = code;
  }

  comeBackInRange(): void {
    this.refuseWith = undefined;
  }

  /** @internal A central connects: a new BLE connection to the device, or a refusal. */
  onConnection(): number {
    if (this.refuseWith !== undefined) {
      this.stats.refusedConnections++;
      return this.refuseWith;
    }
    this.connection?.disconnect();
    this.subscribed = false;
    const connection = this.device.connect(this.attMtu);
    this.connection = connection;
    this.stats.connections++;
    connection.onFragmentReady(() => this.scheduleDelivery());
    return 0;
  }

  /** @internal A write to `control`. */
  onWrite(fragment: Uint8Array): void {
    this.stats.writes++;
    this.connection?.receiveFragment(new Uint8Array(fragment));
  }

  /** @internal A read of `data`: the next queued fragment, or zero length (§2.1). */
  onRead(): Uint8Array {
    const fragment = this.connection?.takeFragment();
    if (fragment === undefined) {
      this.stats.emptyReads++;
      return new Uint8Array(0);
    }
    this.stats.fragmentsRead++;
    return fragment;
  }

  /** @internal */
  onSubscribe(): void {
    this.subscribed = true;
    this.stats.subscriptions++;
    this.scheduleDelivery();
  }

  /** @internal */
  onUnsubscribe(): void {
    this.subscribed = false;
  }

  /** @internal The device's timers (handshake timeout), and fragments that still wait. */
  onTick(): void {
    this.connection?.tick();
    this.scheduleDelivery();
  }

  private scheduleDelivery(): void {
    if (this.delivering !== undefined || this.paused) return;
    setImmediate(() => {
      if (this.delivering !== undefined || this.paused) return;
      this.delivering = this.deliver().finally(() => {
        this.delivering = undefined;
      });
    });
  }

  /** Delivers queued fragments as notifications while the page is subscribed. */
  private async deliver(): Promise<void> {
    for (;;) {
      const connection = this.connection;
      const page = this.page;
      const count = connection?.queuedFragments ?? 0;
      if (connection === undefined || page === undefined || !this.subscribed || this.notificationsStalled || this.paused || count === 0) return;
      const delivered = await page
        .evaluate(readDataValues, { name: this.name, service: VITALOCK_SERVICE_UUID, characteristic: DATA_CHARACTERISTIC_UUID, count, hidden: HIDDEN_GET_DEVICES })
        .catch(() => 0);
      this.stats.notified += delivered;
      // The page is between connections (or navigating): the tick tries again.
      if (delivered < count || connection !== this.connection) return;
    }
  }
}

/**
 * Runs in the page: `count` reads of the `data` characteristic object the app itself holds (the
 * device from `getDevices()`, the same objects Chromium handed the app), each of which fires the
 * app's `characteristicvaluechanged` listener. Returns how many succeeded.
 */
async function readDataValues(args: { name: string; service: string; characteristic: string; count: number; hidden: string }): Promise<number> {
  interface Characteristic {
    readValue(): Promise<DataView>;
  }
  interface Device {
    readonly name?: string | null;
    readonly gatt?: { readonly connected: boolean; getPrimaryService(uuid: string): Promise<{ getCharacteristic(uuid: string): Promise<Characteristic> }> };
  }
  const bluetooth = (navigator as Navigator & { bluetooth?: Record<string | symbol, unknown> }).bluetooth;
  const getDevices = (bluetooth?.['getDevices'] ?? bluetooth?.[Symbol.for(args.hidden)]) as (() => Promise<Device[]>) | undefined;
  const device = (await getDevices?.call(bluetooth))?.find((d) => d.name === args.name);
  if (device?.gatt?.connected !== true) return 0;
  const data = await (await device.gatt.getPrimaryService(args.service)).getCharacteristic(args.characteristic);
  let done = 0;
  try {
    for (; done < args.count; done++) await data.readValue();
  } catch {
    // The link dropped mid-batch: what was read was delivered.
  }
  return done;
}
