/**
 * Finding sensors with Web Bluetooth (docs/protocol.md §2.1): is Bluetooth there at all, the
 * device chooser (from a user gesture), bonded sensors after a page load, and the one-tap
 * reconnect for browsers that cannot list them. Each returns a `WebBluetoothLink`.
 */
import { VITALOCK_SERVICE_UUID } from '../../core/gatt.js';
import { BluetoothLinkError, toLinkError } from './errors.js';
import type { LinkListener } from './sensor-link.js';
import { WebBluetoothLink, type SensorLinkOptions } from './web-bluetooth-link.js';
import { webBluetooth, type Bluetooth, type BluetoothDevice, type RequestDeviceOptions } from './web-bluetooth.js';

/**
 * Standard health services (Bluetooth SIG assigned numbers), requested as optional so later
 * versions can read standard sensors without asking the user again: heart rate, health
 * thermometer, blood pressure, pulse oximeter, glucose, weight scale.
 */
export const HEALTH_SERVICES = [0x180d, 0x1809, 0x1810, 0x1822, 0x1808, 0x181d] as const;

export type BluetoothAvailability = 'available' | 'no-adapter' | 'unsupported';

export interface DiscoveryOptions extends SensorLinkOptions {
  /** Defaults to `navigator.bluetooth`. */
  readonly bluetooth?: Bluetooth;
}

/**
 * 'unsupported': no Web Bluetooth in this browser (iOS Safari, Firefox); 'no-adapter': Web
 * Bluetooth exists but no adapter is powered on; 'available' otherwise.
 */
export async function bluetoothAvailability(bluetooth: Bluetooth | undefined = webBluetooth()): Promise<BluetoothAvailability> {
  if (bluetooth === undefined) return 'unsupported';
  try {
    return (await bluetooth.getAvailability()) ? 'available' : 'no-adapter';
  } catch {
    return 'no-adapter';
  }
}

/** The chooser's filter: Vitalock sensors advertise the service (§2.1). */
export function sensorRequest(name?: string): RequestDeviceOptions {
  return {
    filters: [{ services: [VITALOCK_SERVICE_UUID], ...(name !== undefined ? { name } : {}) }],
    optionalServices: [...HEALTH_SERVICES],
  };
}

/**
 * Call from a user gesture (a click): opens the browser's chooser, then connects to the sensor
 * chosen. Rejects with a `BluetoothLinkError` (chooser cancelled, Bluetooth off, timeout…).
 */
export async function requestSensor(listener: LinkListener, options: DiscoveryOptions = {}): Promise<WebBluetoothLink> {
  return connectChosen(await choose(sensorRequest(), options), listener, options);
}

/**
 * The one-tap reconnect where `getDevices()` is missing: the chooser again, filtered on the one
 * sensor's advertised name, so the user confirms a single entry. Call from a user gesture.
 */
export async function reconnectSensor(deviceName: string, listener: LinkListener, options: DiscoveryOptions = {}): Promise<WebBluetoothLink> {
  return connectChosen(await choose(sensorRequest(deviceName), options), listener, options);
}

/** Whether bonded sensors can be found again without the chooser after a page load. */
export function canRestoreBondedSensors(bluetooth: Bluetooth | undefined = webBluetooth()): boolean {
  return typeof bluetooth?.getDevices === 'function';
}

/**
 * After a page load: the sensors this origin was granted before, each connecting by itself as
 * soon as it can be reached (backoff, and its advertisements where the browser reports them).
 * `wanted` picks the ones the app still has a bond with. Empty where `getDevices` is missing.
 */
export async function restoreBondedSensors(listener: LinkListener, wanted: (device: BluetoothDevice) => boolean = () => true, options: DiscoveryOptions = {}): Promise<WebBluetoothLink[]> {
  const bluetooth = options.bluetooth ?? webBluetooth();
  if (bluetooth?.getDevices === undefined) return [];
  const devices = (await bluetooth.getDevices()).filter(wanted);
  return devices.map((device) => {
    const link = new WebBluetoothLink(device, listener, options);
    link.connectInBackground();
    return link;
  });
}

async function choose(request: RequestDeviceOptions, options: DiscoveryOptions): Promise<BluetoothDevice> {
  const bluetooth = options.bluetooth ?? webBluetooth();
  if (bluetooth === undefined) throw new BluetoothLinkError('unsupported');
  try {
    // First thing in the gesture: anything awaited before it could cost the user activation.
    return await bluetooth.requestDevice(request);
  } catch (err) {
    const error = toLinkError(err, 'request');
    // Chromium says NotFoundError both when the user cancels and when there is no adapter.
    if (error.kind === 'chooser-cancelled' && (await bluetoothAvailability(bluetooth)) !== 'available') {
      throw new BluetoothLinkError('bluetooth-unavailable', error.domName);
    }
    throw error;
  }
}

async function connectChosen(device: BluetoothDevice, listener: LinkListener, options: DiscoveryOptions): Promise<WebBluetoothLink> {
  const link = new WebBluetoothLink(device, listener, options);
  try {
    await link.connect();
  } catch (err) {
    await link.close();
    throw err;
  }
  return link;
}
