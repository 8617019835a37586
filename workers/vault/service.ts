/**
 * The vault worker's service (docs/vault.md): the keyring, the encrypted store and the reading
 * pipeline behind one API, which `vault.worker.ts` exposes to the page with comlink.
 *
 * Nothing this API returns is secret: vault state, bond descriptions, reading view-models and
 * security-log entries. Keys stay here; the page hands in link bytes and gets link bytes back.
 */
import { deviceIdHex } from '../../src/core/certificate.js';
import { fromHex, wipe } from '../../src/core/bytes.js';
import type { SensorBond } from '../../src/core/hub-channel.js';
import { x25519KeyPair, x25519PublicKey, type KeyPair, type Random } from '../../src/core/primitives.js';
import { parseQrPayload, parseSetupCode, passcodeToPrs, type SetupCodeProblem } from '../../src/core/setup-code.js';
import { TrustStore, type TrustedRoot } from '../../src/core/trust-store.js';
import { openVaultDb, VAULT_DB_NAME, type MetaValue, type VaultDb } from './db.js';
import type { Argon2Params } from './kdf.js';
import { AutoLock, Keyring, type FailureState, type KeyringSecurityEvent, type KeyringStorage, type MethodInfo, type UnlockResult, type WrapRecord } from './keyring.js';
import { Pipeline, toView, type PipelineStorage, type ReadingView, type Scheduler, type SecurityLogEntry, type ViewBatch } from './pipeline.js';
import { VaultStore, type SecurityEventEntry, type StoredBond } from './vault-store.js';
import { acceptIngestionKeyList, hubIdFor, OutboxQueue, OutboxSealer, type OutboxEntry, type OutboxStats, type SealedOutboxRow } from './outbox.js';
import { IngestionKeysError, type IngestionKeyList } from '../../src/core/ingestion-keys.js';

const META_WRAP_PREFIX = 'wrap:';
const META_FAILURES = 'unlock-failures';
const META_STORAGE_PUBLIC = 'storage-public-key';
const META_AUTO_LOCK = 'auto-lock-ms';
/** `unbond:<device pseudonym>`: a forgotten sensor whose UNBOND waits for its next connection. */
const META_UNBOND_PREFIX = 'unbond:';
const SECRET_HUB_IDENTITY = 'hub-identity';
const SECRET_STORAGE_KEY = 'storage-secret-key';
/** Security events that cannot be written yet (locked, or storage full) wait in memory, bounded. */
const PENDING_EVENTS_MAX = 1_000;

export interface VaultEvents {
  /** Fragments for a sensor's `control` characteristic (the page writes them, in order). */
  write(link: string, fragment: Uint8Array): void;
  view(batch: ViewBatch): void;
  vault(state: VaultState): void;
}

export interface VaultServiceOptions {
  readonly random: Random;
  readonly scheduler: Scheduler;
  readonly trustRoots: readonly TrustedRoot[];
  readonly hubLabel: string;
  readonly events: VaultEvents;
  readonly dbName?: string;
  /** TESTS ONLY: fixed, cheap Argon2 parameters (see Keyring). */
  readonly unsafeArgon2ForTests?: Argon2Params;
  /**
   * The cloud's signed ingestion key list and the pinned deployment key (protocol §11.3). Without
   * it, readings are kept on the device only and nothing enters the outbox.
   */
  readonly ingestion?: { readonly keyList: Uint8Array; readonly deploymentPublicKey: Uint8Array };
}

export interface VaultState {
  readonly exists: boolean;
  readonly unlocked: boolean;
  readonly methods: readonly MethodInfo[];
  readonly autoLockMs: number;
}

export type PairResult = { readonly ok: true } | { readonly ok: false; readonly problem: SetupCodeProblem | 'locked' | 'qr' };

/** A bond as the page shows it: who the sensor is, nothing secret. */
export interface BondView {
  readonly deviceId: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serial: string;
  readonly validUntil: number;
  readonly name?: string;
  readonly patient?: string;
  /** Forgotten while offline: removed on both sides at its next connection (UNBOND first). */
  readonly forgetting?: boolean;
}

/** How a forget went: done on both sides, or waiting for the sensor's next connection. */
export type ForgetResult = 'unbonded' | 'pending' | 'unknown';

export class VaultService {
  private keyring: Keyring;
  private autoLock: AutoLock;
  /** Always present: holds the storage public key, so readings can be stored while locked. */
  private store: VaultStore;
  private pipeline: Pipeline | undefined;
  private readonly trustStore: TrustStore;
  private readonly pseudonyms = new Map<string, string>();
  /** The sealed outbox (outbox.ts): the sealer exists once the hub identity and a key list are known. */
  private readonly outboxQueue: OutboxQueue;
  private ingestionKeys: IngestionKeyList | undefined;
  private outboxSealer: OutboxSealer | undefined;
  /** Security events not yet in the log: raised while locked, or while storage was full. */
  private pendingEvents: SecurityLogEntry[] = [];

  private constructor(
    private readonly options: VaultServiceOptions,
    private readonly db: VaultDb,
    keyring: Keyring,
    storagePublicKey: Uint8Array | undefined,
    autoLockMs: number | undefined,
  ) {
    this.trustStore = new TrustStore(options.trustRoots);
    this.keyring = keyring;
    this.store = new VaultStore(db, storagePublicKey ? { storagePublicKey } : {}, { random: options.random });
    this.autoLock = this.newAutoLock(keyring, autoLockMs);
    this.outboxQueue = new OutboxQueue(db);
  }

  static async start(options: VaultServiceOptions): Promise<VaultService> {
    const db = await openVaultDb(options.dbName ?? VAULT_DB_NAME);
    const storage = keyringStorage(db);
    // Failed unlocks happen while locked: they wait in memory and reach the log at the next unlock.
    const late: { service?: VaultService } = {};
    const keyring = await Keyring.open({ ...keyringOptions(options, (e) => late.service?.recordUnlockFailure(e)), storage });
    const publicKey = await db.get('meta', META_STORAGE_PUBLIC);
    const autoLock = await db.get('meta', META_AUTO_LOCK);
    const service = new VaultService(
      options,
      db,
      keyring,
      publicKey instanceof Uint8Array ? publicKey : undefined,
      typeof autoLock === 'number' ? autoLock : undefined,
    );
    late.service = service;
    await service.acceptIngestionKeys();
    service.watch(keyring);
    return service;
  }

  // ── the vault ──────────────────────────────────────────────────────────────────────────────

  state(): VaultState {
    const methods = this.keyring.listMethods();
    return { exists: methods.length > 0, unlocked: this.keyring.isUnlocked, methods, autoLockMs: this.autoLock.timeoutMs };
  }

  /** First run: a new vault, unlocked. Returns the recovery code — shown once, never again. */
  async create(passphrase?: string): Promise<{ recoveryCode: string }> {
    const storage = keyringStorage(this.db);
    const { keyring, recoveryCode } = await Keyring.create({ ...keyringOptions(this.options, (e) => this.recordUnlockFailure(e)), storage, ...(passphrase !== undefined ? { passphrase } : {}) });
    this.keyring = keyring;
    this.autoLock.stop();
    this.autoLock = this.newAutoLock(keyring, this.autoLock.timeoutMs);
    this.watch(keyring);
    const storageKeys = x25519KeyPair(this.options.random);
    const hub = x25519KeyPair(this.options.random);
    await this.db.put('meta', storageKeys.publicKey, META_STORAGE_PUBLIC);
    const store = this.unlockedStore(storageKeys.publicKey);
    await store.putSecret(SECRET_STORAGE_KEY, storageKeys.secretKey);
    await store.putSecret(SECRET_HUB_IDENTITY, hub.secretKey);
    wipe(storageKeys.secretKey, hub.secretKey);
    await this.afterUnlock();
    return { recoveryCode };
  }

  async unlockWithPassphrase(passphrase: string): Promise<UnlockResult> {
    return this.afterAttempt(await this.keyring.unlockWithPassphrase(passphrase));
  }

  async unlockWithRecoveryCode(code: string): Promise<UnlockResult> {
    return this.afterAttempt(await this.keyring.unlockWithRecoveryCode(code));
  }

  /** `prfOutput` arrives transferred from the page, which has zeroed its copy; wiped here too. */
  async unlockWithPrf(credentialId: string, prfOutput: Uint8Array): Promise<UnlockResult> {
    return this.afterAttempt(await this.keyring.unlockWithPrf(credentialId, prfOutput));
  }

  lock(): void {
    this.keyring.lock();
  }

  /** The user did something: postpones auto-lock. */
  touch(): void {
    this.autoLock.touch();
  }

  async setAutoLock(ms: number): Promise<void> {
    this.autoLock.setTimeout(ms);
    await this.db.put('meta', ms, META_AUTO_LOCK);
    this.emitState();
  }

  // ── unlock methods (none re-encrypts data: only wrap records change) ─────────────────────────

  async changePassphrase(oldPassphrase: string, newPassphrase: string): Promise<UnlockResult> {
    this.touch();
    const result = await this.keyring.changePassphrase(oldPassphrase, newPassphrase);
    this.record({ kind: result.ok ? 'passphrase-changed' : 'passphrase-change-failed', atMs: this.options.scheduler.now() });
    this.emitState();
    return result;
  }

  /** First step of adding a passkey: the PRF salt the page asks the authenticator to evaluate. */
  preparePasskey(): Uint8Array {
    this.touch();
    return this.keyring.preparePasskey();
  }

  async addPasskey(credentialId: string, prfOutput: Uint8Array, label: string): Promise<void> {
    this.touch();
    await this.keyring.addPasskey(credentialId, prfOutput, label);
    this.record({ kind: 'passkey-added', atMs: this.options.scheduler.now(), detail: `Passkey "${label}" added.` });
    this.emitState();
  }

  async removeMethod(id: string): Promise<void> {
    this.touch();
    await this.keyring.removeMethod(id);
    this.record({ kind: 'method-removed', atMs: this.options.scheduler.now() });
    this.emitState();
  }

  /** A new recovery code (the old one stops working); shown once. */
  async regenerateRecoveryCode(): Promise<string> {
    this.touch();
    const code = await this.keyring.regenerateRecoveryCode();
    this.record({ kind: 'recovery-code-replaced', atMs: this.options.scheduler.now() });
    return code;
  }

  // ── sensors ────────────────────────────────────────────────────────────────────────────────

  openLink(link: string, attMtu: number): void {
    this.requirePipeline().openLink(link, attMtu);
  }

  closeLink(link: string): void {
    this.pipeline?.closeLink(link);
  }

  receive(link: string, fragment: Uint8Array): void {
    this.pipeline?.receive(link, fragment);
  }

  /** Starts pairing from a typed setup code or a scanned QR payload (§3). */
  pair(link: string, input: { setupCode?: string; qr?: string }): PairResult {
    if (!this.keyring.isUnlocked || this.pipeline === undefined) return { ok: false, problem: 'locked' };
    this.touch();
    if (input.qr !== undefined) {
      try {
        const { deviceId, passcode } = parseQrPayload(input.qr);
        this.pipeline.pair(link, passcodeToPrs(passcode), deviceId);
        return { ok: true };
      } catch {
        return { ok: false, problem: 'qr' };
      }
    }
    const parsed = parseSetupCode(input.setupCode ?? '');
    if (!parsed.ok) return { ok: false, problem: parsed.problem };
    this.pipeline.pair(link, passcodeToPrs(parsed.passcode));
    return { ok: true };
  }

  async reconnect(link: string, deviceId: string): Promise<boolean> {
    if (!this.keyring.isUnlocked || this.pipeline === undefined) return false;
    const id = fromHex(deviceId);
    const bond = await this.store.bond(id);
    if (bond === undefined) return false;
    const pseudonym = this.store.devicePseudonym(bond.deviceId);
    this.pseudonyms.set(deviceId.toUpperCase(), pseudonym);
    // A sensor forgotten while offline: this connection only carries its UNBOND (protocol §8).
    const forgotten = (await this.db.get('meta', META_UNBOND_PREFIX + pseudonym)) === true;
    await this.pipeline.reconnect(link, bond, forgotten ? () => void this.completeForget(id) : undefined);
    return true;
  }

  // ── the sealed outbox (protocol §11): works while locked, for sync ──────────────────────────

  /** Batches waiting for upload and the creation time of the oldest. */
  outboxStats(): Promise<OutboxStats> {
    return this.outboxQueue.stats();
  }

  /** Up to `limit` sealed batches, oldest first; they stay until acknowledged. */
  takeOutbox(limit: number): Promise<OutboxEntry[]> {
    return this.outboxQueue.take(limit);
  }

  /** The server acknowledged these batches durably: remove them. */
  ackOutbox(batchIds: readonly string[]): Promise<void> {
    return this.outboxQueue.ack(batchIds);
  }

  /** One more upload attempt of these batches (for backoff and the sync screen). */
  recordOutboxAttempt(batchIds: readonly string[]): Promise<void> {
    return this.outboxQueue.recordAttempt(batchIds);
  }

  private async acceptIngestionKeys(): Promise<void> {
    const config = this.options.ingestion;
    if (config === undefined) return;
    try {
      this.ingestionKeys = await acceptIngestionKeyList(this.db, config.keyList, config.deploymentPublicKey);
    } catch (error) {
      if (!(error instanceof IngestionKeysError)) throw error;
      this.record({ kind: `ingestion-keys-${error.reason}`, atMs: this.options.scheduler.now(), detail: `The cloud's key list was refused (${error.message}): readings stay on this device until the app is updated.` });
    }
  }

  private newOutboxSealer(hubPublicKey: Uint8Array): OutboxSealer | undefined {
    if (this.ingestionKeys === undefined) return undefined;
    return new OutboxSealer({
      keyList: this.ingestionKeys,
      hubId: hubIdFor(hubPublicKey),
      random: this.options.random,
      now: this.options.scheduler.now,
      onStaleKeys: () =>
        this.record({ kind: 'ingestion-keys-expired', atMs: this.options.scheduler.now(), detail: 'The cloud key list has expired: update the app. Readings are still sealed for upload.' }),
    });
  }

  /** The user freed space: try the waiting writes again now (they also retry by themselves). */
  retryStorage(): void {
    this.pipeline?.retryStorage();
  }

  async bonds(): Promise<BondView[]> {
    this.touch();
    const bonds = await this.store.bonds();
    const views: BondView[] = [];
    for (const b of bonds) {
      const forgetting = (await this.db.get('meta', META_UNBOND_PREFIX + this.store.devicePseudonym(b.deviceId))) === true;
      views.push({ ...bondView(b), ...(forgetting ? { forgetting } : {}) });
    }
    return views;
  }

  /** The user's name for a sensor and the patient it is assigned to (both optional). */
  async nameSensor(deviceId: string, name?: string, patient?: string): Promise<void> {
    this.touch();
    const bond = await this.store.bond(fromHex(deviceId));
    if (bond === undefined) throw new RangeError('no such sensor');
    const { name: _n, patient: _p, ...rest } = bond;
    await this.store.putBond({ ...rest, ...(name ? { name } : {}), ...(patient ? { patient } : {}) });
  }

  /**
   * Forgets a sensor on both sides (protocol §8, UNBOND). Connected: UNBOND goes over the open
   * session, then the bond is deleted. Offline: the bond is marked, the next connection sends
   * UNBOND (`reconnect`), and only then is it deleted — so the sensor does not keep a bond to a
   * hub that no longer knows it. Readings are kept.
   */
  async forget(deviceId: string): Promise<ForgetResult> {
    this.touch();
    const id = fromHex(deviceId);
    const bond = await this.store.bond(id);
    if (bond === undefined) return 'unknown';
    if (this.pipeline?.unbond(id) === true) {
      await this.completeForget(id);
      return 'unbonded';
    }
    await this.db.put('meta', true, META_UNBOND_PREFIX + this.store.devicePseudonym(id));
    this.record({ kind: 'forget-pending', atMs: this.options.scheduler.now(), detail: 'A sensor will be unpaired when it next connects.' });
    return 'pending';
  }

  private async completeForget(id: Uint8Array): Promise<void> {
    const pseudonym = this.store.devicePseudonym(id);
    await this.store.deleteBond(id);
    await this.db.delete('meta', META_UNBOND_PREFIX + pseudonym);
    this.record({ kind: 'unbonded', atMs: this.options.scheduler.now(), detail: 'A sensor was unpaired on both sides.' });
  }

  // ── queries ────────────────────────────────────────────────────────────────────────────────

  async latest(deviceId: string): Promise<ReadingView[]> {
    this.touch();
    const latest = await this.store.latest(fromHex(deviceId));
    return [...latest.values()].map((r) => toView(deviceId, r));
  }

  async history(deviceId: string, fromMs: number, toMs: number): Promise<ReadingView[]> {
    this.touch();
    return (await this.store.readings(fromHex(deviceId), fromMs, toMs)).map((r) => toView(deviceId, r));
  }

  async securityLog(fromMs?: number, toMs?: number): Promise<SecurityEventEntry[]> {
    this.touch();
    return this.store.securityEvents(fromMs, toMs);
  }

  dispose(): void {
    this.pipeline?.dispose();
    this.autoLock.stop();
    this.keyring.lock();
    this.db.close();
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  private newAutoLock(keyring: Keyring, timeoutMs: number | undefined): AutoLock {
    return new AutoLock(keyring, { now: this.options.scheduler.now, schedule: this.options.scheduler.after, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  private watch(keyring: Keyring): void {
    keyring.onLock(() => this.afterLock());
  }

  private async afterAttempt(result: UnlockResult): Promise<UnlockResult> {
    if (result.ok) await this.afterUnlock();
    else this.emitState();
    return result;
  }

  /** A store with RK and IK, replacing the locked one (the storage public key stays). */
  private unlockedStore(storagePublicKey: Uint8Array): VaultStore {
    const recordKey = this.keyring.recordKey();
    const indexKey = this.keyring.indexKey();
    this.store = new VaultStore(this.db, { recordKey, indexKey, storagePublicKey }, { random: this.options.random });
    return this.store;
  }

  private async afterUnlock(): Promise<void> {
    const publicKey = await this.db.get('meta', META_STORAGE_PUBLIC);
    if (!(publicKey instanceof Uint8Array)) throw new Error('vault has no storage key');
    const store = this.unlockedStore(publicKey);
    // Readings stored while locked were sealed to the storage key: bring them under RK.
    const storageSecret = await store.getSecret(SECRET_STORAGE_KEY);
    if (storageSecret !== undefined) {
      await store.resealLockedChunks(storageSecret);
      wipe(storageSecret);
    }
    await this.flushPendingEvents();
    await store.addSecurityEvent({ kind: 'unlocked', atMs: this.options.scheduler.now() });
    if (this.pipeline === undefined) {
      const hubSecret = await store.getSecret(SECRET_HUB_IDENTITY);
      if (hubSecret === undefined) throw new Error('vault has no hub identity');
      const identity: KeyPair = { secretKey: hubSecret, publicKey: x25519PublicKey(hubSecret) };
      this.outboxSealer = this.newOutboxSealer(identity.publicKey);
      this.pipeline = new Pipeline({
        identity,
        trustStore: this.trustStore,
        random: this.options.random,
        hubLabel: this.options.hubLabel,
        storage: this.pipelineStorage(),
        scheduler: this.options.scheduler,
        write: (link, fragment) => this.options.events.write(link, fragment),
        view: (batch) => this.options.events.view(batch),
      });
    }
    this.autoLock.touch();
    this.emitState();
  }

  /**
   * Locked: RK and IK are gone from the store; sensors already streaming keep streaming, their
   * readings sealed to the storage public key (vault §3.3). New connections wait for unlock.
   */
  private afterLock(): void {
    this.store.lock();
    this.autoLock.stop();
    this.record({ kind: 'locked', atMs: this.options.scheduler.now() });
    this.emitState();
  }

  private pipelineStorage(): PipelineStorage {
    return {
      putReadings: (deviceId, records, { contiguous, provenance }) => {
        const hex = deviceIdHex(deviceId);
        const ledger = { contiguous };
        // Sealed for the cloud before the transaction opens; written in it (outbox.ts).
        let outbox: SealedOutboxRow[] = [];
        try {
          if (this.outboxSealer !== undefined && provenance !== undefined) {
            outbox = this.outboxSealer.seal(deviceId, provenance.certificate, records, provenance.checkpoints);
          }
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error('sealing failed'));
        }
        if (this.store.unlocked) {
          this.pseudonyms.set(hex, this.store.devicePseudonym(deviceId));
          // A write that succeeds means there is room again for events that could not be logged.
          return this.store.putReadings(deviceId, records, ledger, outbox).then(() => this.flushPendingEvents());
        }
        const pseudonym = this.pseudonyms.get(hex);
        if (pseudonym === undefined) return Promise.reject(new Error('locked before this sensor was known'));
        return this.store.putReadingsSealed(pseudonym, records, ledger, outbox);
      },
      sensorLedger: (deviceId) => this.store.sensorLedger(deviceId),
      putBond: async (bond: SensorBond) => {
        this.pseudonyms.set(deviceIdHex(bond.deviceId), this.store.devicePseudonym(bond.deviceId));
        await this.store.putBond(bond);
      },
      addSecurityEvent: async (event) => this.record(event),
    };
  }

  private recordUnlockFailure(e: KeyringSecurityEvent): void {
    this.record({ kind: 'unlock-failures', atMs: e.at, detail: `${e.count} wrong passphrases in a row.` });
  }

  private record(event: SecurityLogEntry): void {
    if (this.store.unlocked) {
      void this.store.addSecurityEvent(event).catch(() => this.keepPending(event));
    } else {
      this.keepPending(event);
    }
  }

  private keepPending(event: SecurityLogEntry): void {
    if (this.pendingEvents.length < PENDING_EVENTS_MAX) this.pendingEvents.push(event);
  }

  private async flushPendingEvents(): Promise<void> {
    if (this.pendingEvents.length === 0 || !this.store.unlocked) return;
    const events = this.pendingEvents;
    this.pendingEvents = [];
    for (const [i, e] of events.entries()) {
      try {
        await this.store.addSecurityEvent(e);
      } catch {
        // Still no room (or locked again): keep the rest, in order, for the next chance.
        this.pendingEvents = [...events.slice(i), ...this.pendingEvents].slice(0, PENDING_EVENTS_MAX);
        return;
      }
    }
  }

  private emitState(): void {
    this.options.events.vault(this.state());
  }

  private requirePipeline(): Pipeline {
    if (this.pipeline === undefined) throw new Error('the vault has not been unlocked yet');
    return this.pipeline;
  }
}

function keyringOptions(options: VaultServiceOptions, onSecurityEvent: (e: KeyringSecurityEvent) => void) {
  return {
    random: options.random,
    now: options.scheduler.now,
    onSecurityEvent,
    ...(options.unsafeArgon2ForTests ? { unsafeArgon2ForTests: options.unsafeArgon2ForTests } : {}),
  };
}

/** Wrap records and the failure count live in `meta`, in clear: nothing in them is secret. */
function keyringStorage(db: VaultDb): KeyringStorage {
  return {
    async loadWrapRecords() {
      const range = IDBKeyRange.bound(META_WRAP_PREFIX, META_WRAP_PREFIX + '\uffff');
      return (await db.getAll('meta', range)) as unknown as WrapRecord[];
    },
    async saveWrapRecord(record) {
      await db.put('meta', record as unknown as MetaValue, META_WRAP_PREFIX + record.id);
    },
    async deleteWrapRecord(id) {
      await db.delete('meta', META_WRAP_PREFIX + id);
    },
    async loadFailures() {
      const value = await db.get('meta', META_FAILURES);
      return (value as unknown as FailureState | undefined) ?? { count: 0, lastAt: 0 };
    },
    async saveFailures(failures) {
      await db.put('meta', failures as unknown as MetaValue, META_FAILURES);
    },
  };
}

function bondView(b: StoredBond): BondView {
  return {
    deviceId: deviceIdHex(b.deviceId),
    manufacturer: b.manufacturer,
    model: b.model,
    serial: b.serial,
    validUntil: b.notAfter * 1000,
    ...(b.name !== undefined ? { name: b.name } : {}),
    ...(b.patient !== undefined ? { patient: b.patient } : {}),
  };
}
