/** The type of `window.vaultTest` (vault-page.ts), for the specs that drive it. */
import type { api } from './vault-page.js';

export type VaultTestApi = typeof api;

declare global {
  interface Window {
    vaultTest: VaultTestApi;
    vaultTestReady: boolean;
  }
}
