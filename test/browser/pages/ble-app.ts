/**
 * The Bluetooth end-to-end page: the app's Web Bluetooth adapter (`src/app/bluetooth/`) wired to
 * the real vault worker (`src/app/vault-client.ts`), as the app wires them, without screens:
 * fragments from `data` go to the worker, the worker's fragments are written to `control`, and a
 * bonded sensor's link that comes back is reopened with Noise KK (`vault.reconnect`), so the
 * worker backfills. Driven by `test/browser/ble-*.spec.ts` through `window.bleApp`.
 *
 * Query: `connectTimeoutMs`, `idlePollMs` (the adapter's options; defaults otherwise), `db` (a
 * vault database that survives a reload; a fresh one per load otherwise).
 */
import { toHex } from '../../../src/core/bytes.js';
import { startVault, type VaultClient } from '../../../src/app/vault-client.js';
import { BluetoothLinkError, type LinkErrorKind } from '../../../src/app/bluetooth/errors.js';
import { bluetoothAvailability, canRestoreBondedSensors, reconnectSensor, requestSensor, restoreBondedSensors, type DiscoveryOptions } from '../../../src/app/bluetooth/sensor-discovery.js';
import type { LinkListener, LinkState } from '../../../src/app/bluetooth/sensor-link.js';
import type { LinkStats, WebBluetoothLink } from '../../../src/app/bluetooth/web-bluetooth-link.js';
import type { HubFailure } from '../../../src/core/hub-channel.js';
import type { SensorView, ViewBatch } from '../../../workers/vault/pipeline.js';

const params = new URLSearchParams(location.search);
const DB = params.get('db') ?? `vitalock-ble-app-${toHex(crypto.getRandomValues(new Uint8Array(4)))}`;
const connectTimeoutMs = Number(params.get('connectTimeoutMs') ?? 15_000);
const idlePoll = params.get('idlePollMs');

let client: VaultClient | undefined;
const links = new Map<string, WebBluetoothLink>();
/** Link id → the vault's device id, once paired: that link reconnects with KK by itself. */
const bonded = new Map<string, string>();
/** After a reload: advertised name (§2.1: "Vitalock" + last 4 hex digits) → bonded device id. */
const bondsByName = new Map<string, string>();
const stateLog: { link: string; state: LinkState; reason?: string; atMs: number }[] = [];
const views: ViewBatch[] = [];
const resumed: string[] = [];
let writesFailed = 0;
let request: Promise<RequestOutcome> | undefined;
const message = document.getElementById('message') as HTMLParagraphElement;

export type RequestOutcome =
  | { readonly ok: true; readonly link: string; readonly deviceName: string; readonly attMtu: number; readonly state: LinkState }
  | { readonly ok: false; readonly kind: LinkErrorKind | 'unexpected'; readonly message: string };

export type PairOutcome =
  | { readonly ok: true; readonly deviceId: string }
  | { readonly ok: false; readonly failure: HubFailure['kind'] | 'setup-code'; readonly reason?: string; readonly message: string };

const listener: LinkListener = {
  fragment(link, fragment) {
    void client?.receive(link.id, fragment);
  },
  state(link, state, reason) {
    links.set(link.id, link as WebBluetoothLink);
    stateLog.push({ link: link.id, state, atMs: performance.now(), ...(reason !== undefined ? { reason } : {}) });
    const deviceId = bonded.get(link.id) ?? bondsByName.get(link.deviceName);
    if (deviceId !== undefined) bonded.set(link.id, deviceId);
    if (state === 'connected' && deviceId !== undefined) void resume(link.id, link.attMtu, deviceId);
  },
};

/** A bonded sensor's link is back: a fresh session in the worker, KK, then backfill (§5, §8.3). */
async function resume(linkId: string, attMtu: number, deviceId: string): Promise<void> {
  await client!.vault.openLink(linkId, attMtu);
  if (await client!.vault.reconnect(linkId, deviceId)) resumed.push(linkId);
}

const options: DiscoveryOptions = { connectTimeoutMs, ...(idlePoll !== null ? { idlePollMs: Number(idlePoll) } : {}) };

/** Runs a chooser request from the click that started it; keeps its outcome for the spec. */
function fromClick(run: () => Promise<WebBluetoothLink>): void {
  message.textContent = '';
  request = run().then(
    (link): RequestOutcome => ({ ok: true, link: link.id, deviceName: link.deviceName, attMtu: link.attMtu, state: link.state }),
    (err: unknown): RequestOutcome => {
      const outcome: RequestOutcome = err instanceof BluetoothLinkError ? { ok: false, kind: err.kind, message: err.message } : { ok: false, kind: 'unexpected', message: String(err) };
      message.textContent = outcome.message;
      return outcome;
    },
  );
}

document.getElementById('add-sensor')!.addEventListener('click', () => fromClick(() => requestSensor(listener, options)));
// The one-tap reconnect where getDevices() is missing: the chooser, filtered on the bonded sensor.
document.getElementById('reconnect-sensor')!.addEventListener('click', () => {
  const name = [...bondsByName.keys()][0];
  fromClick(() => (name === undefined ? Promise.reject(new Error('no bonded sensor')) : reconnectSensor(name, listener, options)));
});

function sensorView(linkId: string, from: number): SensorView | undefined {
  for (let i = views.length - 1; i >= from; i--) {
    const s = views[i]?.sensors.find((v) => v.link === linkId);
    if (s !== undefined) return s;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

/** What the pairing screen would say (issue 4 §2: every failure in plain words). */
function failureMessage(f: HubFailure): string {
  switch (f.kind) {
    case 'pairing-failed':
      return 'Pairing did not work: check the setup code printed on the sensor and that its pairing light is on, then try again.';
    case 'certificate':
      return `This sensor could not prove who made it (${f.reason}). Do not use it; contact your clinic.`;
    default:
      return 'The sensor stopped answering. Bring it closer and try again.';
  }
}

function link(id: string): WebBluetoothLink {
  const l = links.get(id);
  if (l === undefined) throw new Error(`no link ${id}`);
  return l;
}

export const bleAppApi = {
  availability: () => bluetoothAvailability(),
  hasWebBluetooth: () => 'bluetooth' in navigator,
  async start(trustRoot: { name: string; publicKey: string }): Promise<void> {
    client = await startVault(
      { trustRoots: [trustRoot], hubLabel: 'Ward 3 tablet', dbName: DB },
      {
        write: (linkId, fragment) => {
          const l = links.get(linkId);
          if (l === undefined) writesFailed++;
          else l.write(fragment).catch(() => writesFailed++);
        },
        view: (batch) => void views.push(batch),
        vault: () => undefined,
      },
    );
  },
  create: async (passphrase: string) => void (await client!.vault.create(passphrase)),
  unlock: async (passphrase: string) => (await client!.vault.unlockWithPassphrase(passphrase)).ok,
  canRestore: () => canRestoreBondedSensors(),
  /** The vault's bonds, by the name each sensor advertises (§2.1); returns those names. */
  async loadBonds(): Promise<string[]> {
    for (const bond of await client!.vault.bonds()) bondsByName.set(`Vitalock ${bond.deviceId.slice(-4).toUpperCase()}`, bond.deviceId);
    return [...bondsByName.keys()];
  },
  /** After a page load, no chooser: the bonded sensors this origin may use, each reconnecting by itself. */
  async restore(): Promise<{ link: string; deviceName: string }[]> {
    await bleAppApi.loadBonds();
    const restored = await restoreBondedSensors(listener, (device) => bondsByName.has(device.name ?? ''), options);
    return restored.map((l) => ({ link: l.id, deviceName: l.deviceName }));
  },
  /** The outcome of the last click on "Add sensor" (the chooser, then the connection). */
  requestOutcome: () => request ?? Promise.reject(new Error('nobody clicked "Add sensor"')),
  shownMessage: () => message.textContent ?? '',
  /** Pairs over an open link with a typed setup code; resolves when the session opens or fails. */
  async pair(linkId: string, setupCode: string): Promise<PairOutcome> {
    const l = link(linkId);
    await client!.vault.openLink(linkId, l.attMtu);
    const from = views.length;
    const started = await client!.vault.pair(linkId, { setupCode });
    if (!started.ok) return { ok: false, failure: 'setup-code', reason: started.problem, message: 'That setup code is not valid: type the 9 digits printed on the sensor.' };
    const view = await until('the pairing outcome', () => {
      const v = sensorView(linkId, from);
      return v?.state === 'open' || v?.state === 'failed' ? v : undefined;
    });
    if (view.state === 'open' && view.sensor !== undefined) {
      bonded.set(linkId, view.sensor);
      return { ok: true, deviceId: view.sensor };
    }
    const failure = view.failure ?? { kind: 'timeout' as const };
    return { ok: false, failure: failure.kind, ...(failure.kind === 'certificate' ? { reason: failure.reason } : {}), message: failureMessage(failure) };
  },
  /** The vault's view of the link (state, stored count), latest. */
  vaultLinkState: (linkId: string) => sensorView(linkId, 0)?.state,
  link(linkId: string): { state: LinkState; connected: boolean; stats: LinkStats } {
    const l = link(linkId);
    return { state: l.state, connected: l.connected, stats: { ...l.stats } };
  },
  states: (linkId: string) => stateLog.filter((s) => s.link === linkId).map((s) => s.state),
  stateReasons: (linkId: string) => stateLog.filter((s) => s.link === linkId && s.reason !== undefined).map((s) => s.reason as string),
  resumedCount: (linkId: string) => resumed.filter((l) => l === linkId).length,
  writesFailed: () => writesFailed,
  storedSinceLoad: () => views.reduce((n, v) => n + v.count, 0),
  async historySeqs(deviceId: string): Promise<number[]> {
    return (await client!.vault.history(deviceId, 0, Number.MAX_SAFE_INTEGER)).map((r) => r.seq);
  },
  async securityKinds(): Promise<string[]> {
    return (await client!.vault.securityLog()).map((e) => e.kind);
  },
  close: async (linkId: string) => link(linkId).close(),
};

window.bleApp = bleAppApi;
window.bleAppReady = true;
