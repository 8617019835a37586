/**
 * The types of the vault test pages' APIs on `window`, for the specs that drive them:
 * `window.vaultTest` (vault-page.ts), and the reload spec's two tabs, `window.sensorTest`
 * (sensor-page.ts) and `window.vaultApp` (vault-app-page.ts).
 */
import type { sensorApi } from './sensor-page.js';
import type { vaultAppApi } from './vault-app-page.js';
import type { api } from './vault-page.js';

export type VaultTestApi = typeof api;
export type SensorTestApi = typeof sensorApi;
export type VaultAppApi = typeof vaultAppApi;

declare global {
  interface Window {
    vaultTest: VaultTestApi;
    vaultTestReady: boolean;
    sensorTest: SensorTestApi;
    sensorTestReady: boolean;
    vaultApp: VaultAppApi;
    vaultAppReady: boolean;
  }
}
