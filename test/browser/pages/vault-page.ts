/**
 * The vault test page: the real vault worker, started through the app's own client
 * (`src/app/vault-client.ts`), real IndexedDB, and the reference sensor in this page over an
 * in-page link. Every message the worker posts to the page is captured, so the spec can look for
 * key material in it.
 *
 * Query parameters: `serial` and `model` set the sensor's certificate strings, `db` fixes the
 * vault's database name (default: a fresh random one per page load).
 *
 * Passkeys (vault §1.3) go through WebAuthn here, on the main thread, as the app does: the PRF
 * output is transferred to the worker, and the specs can check that the page's copy is wiped.
 */
import * as Comlink from 'comlink';
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

const random = (n: number): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(n));
const params = new URLSearchParams(location.search);
const serial = params.get('serial');
const model = params.get('model');
const ca = createManufacturerCa('Vitalock Medical', random);
const identity = manufactureDevice({ ca, random, nowMs: Date.now(), ...(serial !== null ? { serial } : {}), ...(model !== null ? { model } : {}) });
const device = new SensorDevice({ identity, random, clock: () => Date.now(), storeCapacity: 200_000 });
const DB = params.get('db') ?? `vitalock-vault-test-${toHex(random(4))}`;

let client: VaultClient | undefined;
let connection: SensorConnection | undefined;
const captured: unknown[] = [];
const views: ViewBatch[] = [];
let acked = 0;
device.onEvent((e) => {
  if (e.type === 'acknowledged') acked = e.upTo;
});

/**
 * Captures every message that reaches the page on any MessagePort as well: comlink delivers the
 * worker's callbacks (fragments to write, view batches, vault state) on a port of their own, not
 * on the worker's, and those are exactly what a leak would ride on.
 */
const addPortListener = MessagePort.prototype.addEventListener;
MessagePort.prototype.addEventListener = function (
  this: MessagePort,
  type: string,
  listener: EventListenerOrEventListenerObject | null,
  options?: boolean | AddEventListenerOptions,
): void {
  if (type === 'message') addPortListener.call(this, 'message', (e: Event) => captured.push((e as MessageEvent).data));
  if (listener !== null) addPortListener.call(this, type, listener, options);
};

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

/** Readings whose FLOATs are exactly the given u32 words (exponent byte ‖ 24-bit mantissa). */
function floatReadings(from: number, words: readonly number[]): Measurement[] {
  return words.map((u32, i) => ({
    timeMs: t0 + (from + i) * 10,
    code: MDC.ECG_HEART_RATE,
    unit: MDC.DIM_BEAT_PER_MIN,
    flags: 0,
    value: { kind: 1, value: { mantissa: (u32 << 8) >> 8, exponent: u32 >> 24 } },
  })) as Measurement[];
}

// ── WebAuthn PRF (vault §1.3) ───────────────────────────────────────────────────────────────────

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The PRF output as the authenticator's own ArrayBuffer (no copy). */
function prfFirst(credential: PublicKeyCredential): ArrayBuffer | undefined {
  const first = credential.getClientExtensionResults().prf?.results?.first;
  if (first === undefined) return undefined;
  if (first instanceof ArrayBuffer) return first;
  if (first.byteOffset !== 0 || first.byteLength !== first.buffer.byteLength || !(first.buffer instanceof ArrayBuffer)) {
    throw new Error('the PRF output is a view on a larger buffer');
  }
  return first.buffer;
}

async function evaluatePrf(credentialId: string, salt: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  const assertion = (await navigator.credentials.get({
    publicKey: {
      rpId: location.hostname,
      challenge: random(32),
      allowCredentials: [{ type: 'public-key', id: fromBase64url(credentialId) }],
      userVerification: 'required',
      extensions: { prf: { eval: { first: salt } } },
    },
  })) as PublicKeyCredential | null;
  if (assertion === null) throw new Error('navigator.credentials.get returned null');
  const first = prfFirst(assertion);
  if (first === undefined) throw new Error('the authenticator did not evaluate the PRF');
  return first;
}

/** What became of a buffer handed to the client: detached (transferred) or zeroed, or neither. */
function wiped(buffer: ArrayBuffer): { detached: boolean; zeroed: boolean; byteLength: number } {
  const detached = buffer.byteLength === 0;
  return { detached, zeroed: !detached && new Uint8Array(buffer).every((b) => b === 0), byteLength: buffer.byteLength };
}

function passkeyMethod(state: Awaited<ReturnType<VaultClient['vault']['state']>>, credentialId: string) {
  const method = state.methods.find((m) => m.kind === 'passkey' && m.credentialId === credentialId);
  if (method?.prfSalt === undefined) throw new Error('no passkey method with a PRF salt for this credential');
  return { id: method.id, prfSalt: new Uint8Array(method.prfSalt) };
}

async function errorOf(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

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
  /** Records readings on the sensor without waiting for anything. */
  record(from: number, count: number): void {
    device.record(heartRates(from, count, t0));
  },
  /** Records one reading per word, its FLOAT being that word (see `floatReadings`). */
  async streamFloats(from: number, words: number[]): Promise<void> {
    device.record(floatReadings(from, words));
    await until(`acknowledgement of ${from + words.length}`, () => acked >= from + words.length, 60_000);
  },
  async waitAcked(upTo: number, ms = 60_000): Promise<void> {
    await until(`acknowledgement of ${upTo}`, () => acked >= upTo, ms);
  },
  /** The view batches' `storageFull` flags, in order (consecutive repeats collapsed). */
  storageFullFlags(): boolean[] {
    const out: boolean[] = [];
    for (const v of views) if (out[out.length - 1] !== v.storageFull) out.push(v.storageFull);
    return out;
  },
  async waitStorageFull(full: boolean, ms = 20_000): Promise<void> {
    await until(`a view batch with storageFull: ${full}`, () => views[views.length - 1]?.storageFull === full, ms);
  },
  origin: () => location.origin,
  async usage(): Promise<number> {
    return (await navigator.storage.estimate()).usage ?? 0;
  },
  /**
   * One write of `bytes` into a test-only database: 'ok', or the name of the error that aborted
   * it (e.g. 'QuotaExceededError'). Nothing of the vault is touched.
   */
  async probeWrite(bytes: number): Promise<string> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('vitalock-test-quota-probe', 1);
      r.onupgradeneeded = () => r.result.createObjectStore('probe');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const outcome = await new Promise<string>((resolve) => {
      const tx = db.transaction('probe', 'readwrite');
      tx.objectStore('probe').put(new Uint8Array(bytes).fill(0x5a), 'probe');
      tx.oncomplete = () => resolve('ok');
      tx.onabort = () => resolve(tx.error?.name ?? 'AbortError');
    });
    db.close();
    return outcome;
  },
  lock: () => client!.vault.lock(),
  touch: () => client!.vault.touch(),
  setAutoLock: (ms: number) => client!.vault.setAutoLock(ms),
  /** The worker's development-only clock hook (vault.worker.ts). */
  async advanceClock(ms: number): Promise<void> {
    // A comlink proxy has every property; in a production build the call fails in the worker.
    await (client!.vault as unknown as { advanceClock(ms: number): Promise<void> }).advanceClock(ms);
  },
  async securityKinds(): Promise<string[]> {
    return (await client!.vault.securityLog()).map((e) => e.kind);
  },
  /** Kinds of the unlock methods, with the passkeys' labels. */
  async methods(): Promise<{ id: string; kind: string; label?: string; prfSaltLength?: number }[]> {
    return (await client!.vault.state()).methods.map((m) => ({
      id: m.id,
      kind: m.kind,
      ...(m.label !== undefined ? { label: m.label } : {}),
      ...(m.prfSalt !== undefined ? { prfSaltLength: m.prfSalt.length } : {}),
    }));
  },
  removeMethod: (id: string) => errorOf(() => client!.vault.removeMethod(id)),
  async unlockResult(passphrase: string): Promise<{ ok: boolean; reason?: string }> {
    const r = await client!.vault.unlockWithPassphrase(passphrase);
    return r.ok ? { ok: true } : { ok: false, reason: r.reason };
  },
  /**
   * Adds a passkey as the app does: a salt from the worker, `create` with `prf.eval.first` (or a
   * `get` with the same salt when `create` returns no PRF result), the output transferred.
   */
  async addPasskey(label: string) {
    const salt = new Uint8Array(await client!.vault.preparePasskey());
    const credential = (await navigator.credentials.create({
      publicKey: {
        rp: { name: 'Vitalock vault tests', id: location.hostname },
        user: { id: random(16), name: 'nurse@vitalock.test', displayName: 'Test nurse' },
        challenge: random(32),
        pubKeyCredParams: [
          { type: 'public-key', alg: -7 },
          { type: 'public-key', alg: -257 },
        ],
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        extensions: { prf: { eval: { first: salt } } },
      },
    })) as PublicKeyCredential | null;
    if (credential === null) throw new Error('navigator.credentials.create returned null');
    const credentialId = base64url(new Uint8Array(credential.rawId));
    const atCreate = prfFirst(credential);
    const prf = atCreate ?? (await evaluatePrf(credentialId, salt));
    const output = new Uint8Array(prf);
    await client!.vault.addPasskey(credentialId, Comlink.transfer(output, [prf]), label);
    return { credentialId, prfAtCreate: atCreate !== undefined, handedOver: wiped(prf) };
  },
  /**
   * Unlocks with the passkey through the app client. `salt: 'stored'` asks the authenticator with
   * the salt of the passkey's method in `state().methods` (the right output); `'other'` with a
   * random one (a wrong output from the right credential).
   */
  async unlockWithPasskey(credentialId: string, salt: 'stored' | 'other') {
    const method = passkeyMethod(await client!.vault.state(), credentialId);
    const prf = await evaluatePrf(credentialId, salt === 'stored' ? method.prfSalt : random(32));
    const before = wiped(prf);
    const result = await client!.unlockWithPrf(credentialId, prf);
    return { result, before, after: wiped(prf), methodId: method.id };
  },
  /**
   * Writes `marker` and `bytes` in clear into a separate, test-only database: once as a small
   * value, once inside a large one (which IndexedDB keeps as a blob file). Then `fillerBytes` of
   * incompressible filler in small values, so the shared LevelDB flushes what it holds, the
   * vault's records included, from its log into table (.ldb) files.
   */
  async writeClearMarker(dbName: string, marker: string, bytes: number[], fillerBytes = 0): Promise<void> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(dbName, 1);
      r.onupgradeneeded = () => r.result.createObjectStore('clear');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const put = (entries: [IDBValidKey, unknown][]) =>
      new Promise<void>((resolve, reject) => {
        const tx = db.transaction('clear', 'readwrite');
        for (const [key, value] of entries) tx.objectStore('clear').put(value, key);
        tx.oncomplete = () => resolve();
        tx.onabort = () => reject(tx.error);
      });
    // Incompressible, and never an ASCII byte (top bit set): the filler cannot hold by chance
    // the ASCII patterns the spec looks for.
    const noise = (n: number): Uint8Array => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 65_536) out.set(random(Math.min(65_536, n - i)), i);
      for (let i = 0; i < n; i++) out[i] = (out[i] as number) | 0x80;
      return out;
    };
    const large = noise(512 * 1024);
    large.set(new TextEncoder().encode(marker), 1_000);
    large.set(bytes, 300_000);
    await put([
      ['marker', { marker, bytes: Uint8Array.from(bytes) }],
      ['large', { large }],
    ]);
    const value = 32 * 1024;
    for (let done = 0; done < fillerBytes; ) {
      const entries: [IDBValidKey, unknown][] = [];
      for (let i = 0; i < 16 && done < fillerBytes; i++, done += value) entries.push([`filler-${done}`, noise(value)]);
      await put(entries);
    }
    db.close();
  },
  identity: () => ({ deviceId: toHex(identity.deviceId), serial: identity.serial, model: identity.model, name: device.name }),
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
