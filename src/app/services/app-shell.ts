/**
 * The installable app around the screens (issue 4 §4): the service worker registered with
 * workbox-window, the "new version" prompt, persistent storage, and whether Web Bluetooth exists.
 * Announces changes with a `change` event.
 */
import type { Workbox } from 'workbox-window';
import type { BluetoothAvailability } from './sensor-hub.js';

export class AppShell extends EventTarget {
  /** A new version is installed and waiting: the prompt offers to switch. */
  updateWaiting = false;
  offlineReady = false;
  online = navigator.onLine;
  bluetooth: BluetoothAvailability = 'unsupported';
  private wb: Workbox | undefined;
  private checkBluetooth: (() => Promise<BluetoothAvailability>) | undefined;

  constructor() {
    super();
    addEventListener('online', () => this.set(() => (this.online = true)));
    addEventListener('offline', () => this.set(() => (this.online = false)));
  }

  /** Registers the service worker (production builds only: the dev server has none). */
  async registerServiceWorker(url: string): Promise<void> {
    if (!('serviceWorker' in navigator)) return;
    const { Workbox } = await import('workbox-window');
    const wb = new Workbox(url, { type: 'module' });
    this.wb = wb;
    wb.addEventListener('waiting', () => this.set(() => (this.updateWaiting = true)));
    wb.addEventListener('activated', (e) => {
      if (!e.isUpdate) this.set(() => (this.offlineReady = true));
    });
    wb.addEventListener('controlling', (e) => {
      if (e.isUpdate) location.reload();
    });
    await wb.register();
  }

  /** The user chose to switch to the new version: it takes over, and the page reloads. */
  applyUpdate(): void {
    this.wb?.messageSkipWaiting();
  }

  dismissUpdate(): void {
    this.set(() => (this.updateWaiting = false));
  }

  /**
   * How to ask whether Bluetooth is there; asked now, again when the browser reports a change,
   * and whenever a screen that offers Bluetooth opens (the adapter may have been switched on).
   */
  watchBluetooth(check: () => Promise<BluetoothAvailability>, changes?: EventTarget): void {
    this.checkBluetooth = check;
    changes?.addEventListener('availabilitychanged', () => this.refreshBluetooth());
    this.refreshBluetooth();
  }

  refreshBluetooth(): void {
    void this.checkBluetooth?.().then((availability) => {
      if (availability !== this.bluetooth) this.set(() => (this.bluetooth = availability));
    });
  }

  private set(change: () => void): void {
    change();
    this.dispatchEvent(new Event('change'));
  }
}
