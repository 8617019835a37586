/**
 * The app's tab for the reload spec: the real vault worker through the app's client
 * (`src/app/vault-client.ts`), on a database that survives reloads (query: `db`), linked to the
 * sensor tab (query: `link`) over `ble-link.ts`. Nothing here survives a reload but IndexedDB.
 */
import { startVault, type VaultClient } from '../../../src/app/vault-client.js';
import type { ViewBatch } from '../../../workers/vault/pipeline.js';
import { appEnd } from './ble-link.js';

const params = new URLSearchParams(location.search);
const link = params.get('link');
const db = params.get('db');
if (link === null || db === null) throw new Error('vault-app.html needs ?link= and &db=');
const LINK = 'link-1';
const ATT_MTU = 247;

let client: VaultClient | undefined;
const views: ViewBatch[] = [];
const ble = appEnd(link, (fragment) => void client?.receive(LINK, fragment));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

function linkState(): string | undefined {
  for (let i = views.length - 1; i >= 0; i--) {
    const sensor = views[i]?.sensors.find((s) => s.link === LINK);
    if (sensor !== undefined) return sensor.state;
  }
  return undefined;
}

async function connect(): Promise<void> {
  await ble.connect(ATT_MTU);
  await client!.vault.openLink(LINK, ATT_MTU);
}

export const vaultAppApi = {
  async start(trustRoot: { name: string; publicKey: string }): Promise<void> {
    client = await startVault(
      { trustRoots: [trustRoot], hubLabel: 'Test tablet', dbName: db },
      { write: (_link, fragment) => ble.write(fragment), view: (batch) => void views.push(batch), vault: () => undefined },
    );
  },
  state: () => client!.vault.state(),
  create: async (passphrase: string) => void (await client!.vault.create(passphrase)),
  unlock: async (passphrase: string) => (await client!.vault.unlockWithPassphrase(passphrase)).ok,
  async pair(setupCode: string): Promise<void> {
    await connect();
    const result = await client!.vault.pair(LINK, { setupCode });
    if (!result.ok) throw new Error(`pair refused: ${result.problem}`);
    await until('the link open after pairing', () => linkState() === 'open');
  },
  async reconnect(deviceId: string): Promise<void> {
    await connect();
    if (!(await client!.vault.reconnect(LINK, deviceId))) throw new Error('no bond');
    await until('the link open after reconnecting', () => linkState() === 'open');
  },
  /** Readings the worker has reported stored (view batches' counts) since this page loaded. */
  storedSinceLoad: () => views.reduce((n, v) => n + v.count, 0),
  async historySeqs(deviceId: string): Promise<number[]> {
    return (await client!.vault.history(deviceId, 0, Number.MAX_SAFE_INTEGER)).map((r) => r.seq);
  },
};

window.vaultApp = vaultAppApi;
window.vaultAppReady = true;
