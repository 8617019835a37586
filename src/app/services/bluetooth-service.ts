/**
 * The sensor hub's view of the Web Bluetooth adapter (src/app/bluetooth): availability, the
 * chooser, the one-tap reconnect, and bonded sensors restored after a page load.
 */
import { bluetoothAvailability, requestSensor, reconnectSensor, restoreBondedSensors } from '../bluetooth/sensor-discovery.js';
import type { BluetoothService } from './sensor-hub.js';

export const webBluetoothService: BluetoothService = {
  availability: () => bluetoothAvailability(),
  request: (listener) => requestSensor(listener),
  reconnect: (deviceName, listener) => reconnectSensor(deviceName, listener),
  restore: (listener, wanted) => restoreBondedSensors(listener, (device) => wanted(device.name ?? '')),
};
