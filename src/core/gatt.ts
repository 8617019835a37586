/**
 * The GATT profile (docs/protocol.md §2.1): one primary service, a `control` characteristic the
 * hub writes (with response) and a `data` characteristic the sensor notifies and the hub may read.
 * Full 128-bit UUIDs, lower case, as Web Bluetooth and the BluetoothEmulation domain expect.
 */
export const VITALOCK_SERVICE_UUID = '5a8d0001-9b3c-4f6e-a1d2-7c4b8e9f0a10';
export const CONTROL_CHARACTERISTIC_UUID = '5a8d0002-9b3c-4f6e-a1d2-7c4b8e9f0a10';
export const DATA_CHARACTERISTIC_UUID = '5a8d0003-9b3c-4f6e-a1d2-7c4b8e9f0a10';
/** Client Characteristic Configuration descriptor, required on `data` for notifications. */
export const CCCD_UUID = '00002902-0000-1000-8000-00805f9b34fb';
/** §2.1: no notification for this long while data is expected → pull with reads. */
export const NOTIFICATION_STALL_MS = 2_000;
/** §2.1: the sensor's notification queue, in fragments. */
export const DATA_QUEUE_FRAGMENTS = 64;
