/** The type of `window.bleApp` (ble-app.ts), for the specs that drive it. */
import type { bleAppApi } from './ble-app.js';

export type BleAppApi = typeof bleAppApi;

declare global {
  interface Window {
    bleApp: BleAppApi;
    bleAppReady: boolean;
  }
}
