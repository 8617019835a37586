/**
 * The app's entry (issue 4): reads the configuration, starts the vault worker, the sensor hub
 * and (in demo mode) the simulated sensors' worker, registers the service worker in production
 * builds, and hands the services to `<vl-app>`, which provides them to every screen.
 */
import { loadConfig } from './config.js';
import { DemoSimulator } from './demo/demo-simulator.js';
import './elements/vl-app.js';
import { AppShell } from './services/app-shell.js';
import { webBluetoothService } from './services/bluetooth-service.js';
import { SensorHub } from './services/sensor-hub.js';
import { VaultSession } from './services/vault-session.js';

async function main(): Promise<void> {
  const app = document.querySelector('vl-app');
  if (app === null) throw new Error('index.html has no <vl-app>');
  const config = loadConfig(import.meta.env);
  const shell = new AppShell();
  const vault = new VaultSession();
  const demo = config.demoMode ? new DemoSimulator() : undefined;
  const hub = new SensorHub(vault, demo, webBluetoothService);
  app.config = config;
  app.shell = shell;
  app.vault = vault;
  app.hub = hub;
  shell.watchBluetooth(() => webBluetoothService.availability(), (navigator as Navigator & { bluetooth?: EventTarget }).bluetooth);
  if (import.meta.env.PROD) {
    void shell.registerServiceWorker(`${import.meta.env.BASE_URL}sw.js`).catch(() => undefined);
  }
  try {
    await vault.start(config, { write: (link, fragment) => hub.write(link, fragment), view: (batch) => hub.view(batch) });
  } catch (err) {
    app.startError = err instanceof Error && err.name === 'QuotaExceededError' ? 'This device has no room left for the vault. Free some space, then reload.' : 'Reload the page; if it happens again, restart the browser.';
  }
}

void main();
