/**
 * The part of the Web Bluetooth API (https://webbluetoothcg.github.io/web-bluetooth/) the adapter
 * uses. TypeScript's DOM library does not declare it, so it is typed here; `webBluetooth()` is the
 * one place that reads `navigator.bluetooth`, which is missing on iOS Safari and Firefox and on
 * Chromium without the feature.
 */
export type BluetoothServiceUuid = string | number;

export interface RequestDeviceOptions {
  readonly filters?: readonly { readonly services?: readonly BluetoothServiceUuid[]; readonly name?: string; readonly namePrefix?: string }[];
  readonly optionalServices?: readonly BluetoothServiceUuid[];
  readonly acceptAllDevices?: boolean;
}

export interface BluetoothRemoteGATTCharacteristic extends EventTarget {
  readonly uuid: string;
  readonly value?: DataView | null;
  readValue(): Promise<DataView>;
  writeValueWithResponse(value: ArrayBufferView | ArrayBuffer): Promise<void>;
  startNotifications(): Promise<BluetoothRemoteGATTCharacteristic>;
  stopNotifications(): Promise<BluetoothRemoteGATTCharacteristic>;
}

export interface BluetoothRemoteGATTService {
  readonly uuid: string;
  getCharacteristic(uuid: BluetoothServiceUuid): Promise<BluetoothRemoteGATTCharacteristic>;
}

export interface BluetoothRemoteGATTServer {
  readonly connected: boolean;
  readonly device: BluetoothDevice;
  connect(): Promise<BluetoothRemoteGATTServer>;
  disconnect(): void;
  getPrimaryService(uuid: BluetoothServiceUuid): Promise<BluetoothRemoteGATTService>;
}

export interface BluetoothDevice extends EventTarget {
  /** Opaque, per origin, stable across sessions where the browser keeps permissions. */
  readonly id: string;
  readonly name?: string | null;
  readonly gatt?: BluetoothRemoteGATTServer;
  /** Chromium only (behind a flag on some platforms): advertisements of a permitted device. */
  watchAdvertisements?(options?: { signal?: AbortSignal }): Promise<void>;
  readonly watchingAdvertisements?: boolean;
}

export interface Bluetooth extends EventTarget {
  getAvailability(): Promise<boolean>;
  requestDevice(options: RequestDeviceOptions): Promise<BluetoothDevice>;
  /** Devices this origin was granted earlier; missing in some browsers and versions. */
  getDevices?(): Promise<BluetoothDevice[]>;
}

/** `navigator.bluetooth`, or undefined where the browser has no Web Bluetooth. */
export function webBluetooth(): Bluetooth | undefined {
  if (typeof navigator === 'undefined') return undefined;
  const bluetooth = (navigator as Navigator & { bluetooth?: Bluetooth }).bluetooth;
  return bluetooth ?? undefined;
}
