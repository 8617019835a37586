/**
 * The vault test page: the real vault worker, started through the app's own client
 * (`src/app/vault-client.ts`), real IndexedDB, and the reference sensor in this page over an
 * in-page link. Every message the worker posts to the page is captured, so the spec can look for
 * key material in it.
 */
import { fromHex, toHex } from '../../../src/core/bytes.js';
import { xaeadOpen } from '../../../src/core/primitives.js';
import { formatSetupCode } from '../../../src/core/setup-code.js';
import { MDC } from '../../../src/core/readings.js';
import { SensorDevice, type SensorConnection } from '../../../sensor/device.js';
import { createManufacturerCa, manufactureDevice } from '../../../sensor/identity.js';
import type { Measurement } from '../../../sensor/record-store.js';
import { startVault, type VaultClient } from '../../../src/app/vault-client.js';
import type { ViewBatch } from '../../../workers/vault/pipeline.js';
import { deriveRecoveryKek, deriveVaultKeys } from '../../../workers/vault/kdf.js';
import { wrapAd, type WrapRecord } from '../../../workers/vault/keyring.js';
import { parseRecoveryCode } from '../../../workers/vault/recovery-code.js';

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const ca = createManufacturerCa('Vitalock Medical', random);
const identity = manufactureDevice({ ca, random, nowMs: Date.now() });
const device = new SensorDevice({ identity, random, clock: () => Date.now(), storeCapacity: 200_000 });
const DB = `vitalock-vault-test-${toHex(random(4))}`;

let client: VaultClient | undefined;
let connection: SensorConnection | undefined;
const captured: unknown[] = [];
const views: ViewBatch[] = [];
let acked = 0;
device.onEvent((e) => {
  if (e.type === 'acknowledged') acked = e.upTo;
});

async function start(): Promise<void> {
  const worker = new Worker(new URL('../../../workers/vault.worker.ts', import.meta.url), { type: 'module', name: 'vault' });
  worker.addEventListener('message', (e: MessageEvent) => captured.push(e.data));
  client = await startVault(
    { trustRoots: [{ name: ca.name, publicKey: toHex(ca.publicKey) }], hubLabel: 'Test tablet', dbName: DB },
    {
      write: (_link, fragment) => {
        // The GATT write to `control`, answered on the next task like a real stack.
        setTimeout(() => connection?.receiveFragment(fragment), 0);
      },
      view: (batch) => void views.push(batch),
      vault: () => undefined,
    },
    worker,
  );
}

/** A new BLE connection: notifications flow to the worker as they are queued. */
async function connect(): Promise<void> {
  connection?.disconnect();
  const c = device.connect(247);
  connection = c;
  let scheduled = false;
  c.onFragmentReady(() => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      for (let f = c.takeFragment(); f !== undefined && connection === c; f = c.takeFragment()) void client?.receive('link-1', f);
    }, 0);
  });
  await client!.vault.openLink('link-1', 247);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out: ${what} (sensor holds ${device.store.held}, acked ${acked})`);
    await sleep(20);
  }
}

function heartRates(from: number, count: number, t0: number): Measurement[] {
  return Array.from({ length: count }, (_, i) => ({
    timeMs: t0 + (from + i) * 10,
    code: MDC.ECG_HEART_RATE,
    unit: MDC.DIM_BEAT_PER_MIN,
    flags: 0,
    value: { kind: 1, value: { mantissa: 40 + ((from + i) % 140), exponent: 0 } },
  })) as Measurement[];
}

const t0 = Date.now();

export const api = {
  deviceId: toHex(identity.deviceId).toUpperCase(),
  start,
  create: async (passphrase: string) => (await client!.vault.create(passphrase)).recoveryCode,
  unlock: async (passphrase: string) => (await client!.vault.unlockWithPassphrase(passphrase)).ok,
  state: () => client!.vault.state(),
  async pair(): Promise<void> {
    device.policy.openWindow(Date.now());
    await connect();
    const result = await client!.vault.pair('link-1', { setupCode: formatSetupCode(identity.passcode) });
    if (!result.ok) throw new Error(`pair refused: ${result.problem}`);
    await until('pairing', () => device.bonds.size === 1 && connection!.isOpen);
  },
  /** Records `count` readings on the sensor; resolves when `waitFor` of them are acknowledged. */
  async stream(from: number, count: number, waitFor = from + count): Promise<void> {
    device.record(heartRates(from, count, t0));
    await until(`acknowledgement of ${waitFor}`, () => acked >= waitFor, 60_000);
  },
  /** The worker is killed (as a crash or a closed tab would), with readings still in flight. */
  terminate(): void {
    client?.terminate();
    client = undefined;
    connection?.disconnect();
    connection = undefined;
  },
  async reconnect(): Promise<void> {
    await connect();
    if (!(await client!.vault.reconnect('link-1', toHex(identity.deviceId)))) throw new Error('no bond');
    await until('backfill', () => device.store.held === 0 && device.store.lastSeq > 0, 60_000);
  },
  async historySeqs(): Promise<number[]> {
    const h = await client!.vault.history(toHex(identity.deviceId), 0, Number.MAX_SAFE_INTEGER);
    return h.map((r) => r.seq);
  },
  sensor: () => ({ held: device.store.held, lastSeq: device.store.lastSeq, acked }),
  views: () => views.length,
  /**
   * What an attacker would want: VK, RK, IK and the stored secrets, recovered the legitimate way
   * (the recovery code opens the recovery wrap in IndexedDB), as hex.
   */
  async secretsFromRecoveryCode(code: string): Promise<string[]> {
    const parsed = parseRecoveryCode(code);
    if (!parsed.ok) throw new Error('bad recovery code');
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(DB);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const get = <T>(store: string, key: IDBValidKey) =>
      new Promise<T>((resolve, reject) => {
        const r = db.transaction(store).objectStore(store).get(key);
        r.onsuccess = () => resolve(r.result as T);
        r.onerror = () => reject(r.error);
      });
    const wrap = await get<WrapRecord>('meta', 'wrap:recovery');
    const kek = deriveRecoveryKek(parsed.bytes, wrap.salt);
    const vk = xaeadOpen(kek, wrap.nonce, wrap.wrapped, wrapAd('recovery', wrap.id));
    const { recordKey, indexKey } = deriveVaultKeys(vk);
    db.close();
    return [toHex(vk), toHex(recordKey), toHex(indexKey)];
  },
  /** Every message the worker posted to this page, flattened to searchable text. */
  capturedText(): string {
    const out: string[] = [];
    const walk = (v: unknown): void => {
      if (v instanceof ArrayBuffer) out.push(toHex(new Uint8Array(v)));
      else if (ArrayBuffer.isView(v)) out.push(toHex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)));
      else if (typeof v === 'string') out.push(v.toLowerCase());
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
      else out.push(String(v));
    };
    walk(captured);
    return out.join('|');
  },
  capturedCount: () => captured.length,
  fromHex,
};

window.vaultTest = api;
window.vaultTestReady = true;
