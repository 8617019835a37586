/**
 * A scripted Web Bluetooth device for the adapter's unit tests: fresh characteristic objects per
 * connection (old ones throw InvalidStateError, as in Chromium), reads that fire
 * `characteristicvaluechanged` with the same DataView they resolve with (the spec's behaviour),
 * connections that succeed, fail or hang on command. The real thing is tested in Chromium
 * (test/browser/ble-*.spec.ts); this only makes the adapter's timing deterministic.
 */
import type { BluetoothDevice, BluetoothRemoteGATTCharacteristic, BluetoothRemoteGATTServer, BluetoothRemoteGATTService } from '../../../src/app/bluetooth/web-bluetooth.js';

export const domError = (name: string, message = name) => Object.assign(new Error(message), { name });

export class FakeCharacteristic extends EventTarget implements BluetoothRemoteGATTCharacteristic {
  value: DataView | null = null;
  valid = true;
  subscribed = false;
  readonly written: Uint8Array[] = [];
  /** What the next reads return (empty when the list is exhausted). */
  readonly readQueue: Uint8Array[] = [];
  reads = 0;
  /** Whether a read also fires `characteristicvaluechanged` (Chromium and the spec: yes). */
  eventOnRead = true;
  /** When set, the next operation never settles (a wedged stack). */
  hangNext = false;

  constructor(readonly uuid: string) {
    super();
  }

  private check(): void {
    if (!this.valid) throw domError('InvalidStateError', 'Characteristic is no longer valid. Remember to retrieve the characteristic again after reconnecting.');
  }

  private hang<T>(): Promise<T> | undefined {
    if (!this.hangNext) return undefined;
    this.hangNext = false;
    return new Promise<T>(() => undefined);
  }

  async readValue(): Promise<DataView> {
    this.check();
    const hung = this.hang<DataView>();
    if (hung) return hung;
    this.reads++;
    const bytes = this.readQueue.shift() ?? new Uint8Array(0);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.value = view;
    if (this.eventOnRead) this.dispatchEvent(new Event('characteristicvaluechanged'));
    return view;
  }

  async writeValueWithResponse(value: ArrayBufferView | ArrayBuffer): Promise<void> {
    this.check();
    const hung = this.hang<void>();
    if (hung) return hung;
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    this.written.push(bytes.slice());
  }

  async startNotifications(): Promise<BluetoothRemoteGATTCharacteristic> {
    this.check();
    this.subscribed = true;
    return this;
  }

  async stopNotifications(): Promise<BluetoothRemoteGATTCharacteristic> {
    this.subscribed = false;
    return this;
  }

  /** The peripheral notifies. */
  notify(bytes: Uint8Array): void {
    if (!this.valid || !this.subscribed) return;
    this.value = new DataView(bytes.slice().buffer);
    this.dispatchEvent(new Event('characteristicvaluechanged'));
  }
}

export type ConnectBehaviour = 'ok' | 'fail' | 'hang';

export class FakeDevice extends EventTarget implements BluetoothDevice {
  readonly gatt: FakeServer;
  watching = 0;

  constructor(
    readonly id = 'fake-device-1',
    readonly name = 'Vitalock 0A10',
  ) {
    super();
    this.gatt = new FakeServer(this);
  }

  async watchAdvertisements(): Promise<void> {
    this.watching++;
  }

  advertise(): void {
    this.dispatchEvent(new Event('advertisementreceived'));
  }
}

export class FakeServer implements BluetoothRemoteGATTServer {
  connected = false;
  connectBehaviour: ConnectBehaviour = 'ok';
  connectAttempts = 0;
  disconnectCalls = 0;
  /** The characteristics of the current connection: [control, data]. */
  control: FakeCharacteristic | undefined;
  data: FakeCharacteristic | undefined;

  constructor(readonly device: FakeDevice) {}

  async connect(): Promise<BluetoothRemoteGATTServer> {
    this.connectAttempts++;
    if (this.connectBehaviour === 'hang') return new Promise(() => undefined);
    if (this.connectBehaviour === 'fail') throw domError('NetworkError', 'Connection attempt failed.');
    this.connected = true;
    this.control = new FakeCharacteristic('control');
    this.data = new FakeCharacteristic('data');
    return this;
  }

  disconnect(): void {
    this.disconnectCalls++;
    this.drop();
  }

  /** The link is lost: objects of this connection become invalid; the page hears of it. */
  drop(): void {
    if (!this.connected) return;
    this.connected = false;
    if (this.control) this.control.valid = false;
    if (this.data) this.data.valid = false;
    this.device.dispatchEvent(new Event('gattserverdisconnected'));
  }

  async getPrimaryService(): Promise<BluetoothRemoteGATTService> {
    if (!this.connected) throw domError('NetworkError', 'GATT Server is disconnected.');
    const control = this.control as FakeCharacteristic;
    const data = this.data as FakeCharacteristic;
    return {
      uuid: 'vitalock',
      getCharacteristic: async (uuid) => (String(uuid).startsWith('5a8d0002') ? control : data),
    };
  }
}
