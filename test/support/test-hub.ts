/**
 * A hub for end-to-end tests: the core's `HubSession` with an in-memory "database" whose
 * commits take virtual time, the way the vault worker drives it with IndexedDB.
 */
import { deviceIdHex, type DeviceCertificate } from '../../src/core/certificate.js';
import { verifyCheckpoint, type Checkpoint } from '../../src/core/checkpoint.js';
import { chunkSizeForMtu } from '../../src/core/framing.js';
import type { HubFailure, SensorBond } from '../../src/core/hub-channel.js';
import { HubSession, type HubOutput } from '../../src/core/hub-session.js';
import type { StatusMessage } from '../../src/core/messages.js';
import { x25519KeyPair, type KeyPair, type Random } from '../../src/core/primitives.js';
import { encodeRecordBytes, type ReadingRecord } from '../../src/core/readings.js';
import type { TrustStore } from '../../src/core/trust-store.js';
import type { HubSide } from './lossy-link.js';
import type { Sim } from './sim.js';

export interface TestHubOptions {
  readonly sim: Sim;
  readonly random: Random;
  readonly trustStore: TrustStore;
  readonly label?: string;
  /** Virtual time a storage commit takes. */
  readonly commitDelayMs?: number;
  readonly identity?: KeyPair;
}

export class TestHub implements HubSide {
  readonly identity: KeyPair;
  readonly bonds = new Map<string, SensorBond>();
  /** deviceId hex → seq → record encoding (the "database"). */
  readonly stored = new Map<number, Uint8Array>();
  readonly checkpoints: Checkpoint[] = [];
  readonly failures: HubFailure[] = [];
  readonly security: string[] = [];
  readonly statuses: StatusMessage[] = [];
  readonly unavailable: { from: number; to: number }[] = [];
  rewrites = 0;
  opened = 0;
  lastCertificate: DeviceCertificate | undefined;
  private session: HubSession | undefined;
  private writer: ((fragment: Uint8Array) => void) | undefined;
  private contiguous = 0;

  constructor(private readonly options: TestHubOptions) {
    this.identity = options.identity ?? x25519KeyPair(options.random);
  }

  get isOpen(): boolean {
    return this.session?.isOpen ?? false;
  }

  get state(): string {
    return this.session?.state ?? 'disconnected';
  }

  /** Starts a session over a new link connection; `write` carries fragments to the sensor. */
  attach(write: (fragment: Uint8Array) => void, attMtu = 247): void {
    this.session?.close();
    this.writer = write;
    this.session = new HubSession({
      identity: this.identity,
      trustStore: this.options.trustStore,
      random: this.options.random,
      hubLabel: this.options.label ?? 'Test hub',
      chunkSize: chunkSizeForMtu(attMtu),
      contiguous: this.contiguous,
    });
  }

  pair(passcode: string, expectedDeviceId?: Uint8Array): void {
    this.apply(this.requireSession().pair(new TextEncoder().encode(passcode), this.options.sim.now(), expectedDeviceId));
  }

  reconnect(bond: SensorBond): void {
    this.apply(this.requireSession().reconnect(bond, this.options.sim.now()));
  }

  send(message: Parameters<HubSession['send']>[0]): void {
    this.apply(this.requireSession().send(message, this.options.sim.now()));
  }

  tick(): void {
    if (this.session) this.apply(this.session.tick(this.options.sim.now()));
  }

  receiveFragment(fragment: Uint8Array): void {
    if (this.session) this.apply(this.session.receiveFragment(fragment, this.options.sim.now()));
  }

  linkClosed(): void {
    if (this.session) this.contiguous = this.session.ledger.contiguous;
    this.session?.close();
    this.session = undefined;
  }

  /** Verifies every checkpoint received against the stored records and the bond's key. */
  verifyCheckpoints(bond: SensorBond, signingKey: Uint8Array): number {
    let verified = 0;
    for (const c of this.checkpoints) {
      if (!verifyCheckpoint(signingKey, bond.deviceId, c)) throw new Error(`checkpoint ${c.seq} does not verify`);
      verified++;
    }
    return verified;
  }

  private requireSession(): HubSession {
    if (!this.session) throw new Error('no link attached');
    return this.session;
  }

  private apply(outputs: readonly HubOutput[]): void {
    const session = this.session;
    for (const out of outputs) {
      switch (out.type) {
        case 'write':
          this.writer?.(out.fragment);
          break;
        case 'store':
          this.store(session as HubSession, out.records);
          break;
        case 'checkpoint':
          this.checkpoints.push(out.checkpoint);
          break;
        case 'status':
          this.statuses.push(out.status);
          break;
        case 'bonded':
          this.bonds.set(deviceIdHex(out.bond.deviceId), out.bond);
          this.lastCertificate = out.certificate;
          break;
        case 'open':
          this.opened++;
          break;
        case 'failed':
          this.failures.push(out.failure);
          break;
        case 'security':
          this.security.push(out.event);
          break;
        case 'unavailable':
          this.unavailable.push({ from: out.from, to: out.to });
          break;
      }
    }
  }

  private store(session: HubSession, records: readonly ReadingRecord[]): void {
    const encoded = records.map((r) => [r.seq, encodeRecordBytes(r)] as const);
    this.options.sim.after(this.options.commitDelayMs ?? 2, () => {
      for (const [seq, bytes] of encoded) {
        if (this.stored.has(seq)) this.rewrites++;
        this.stored.set(seq, bytes);
      }
      if (this.session === session) this.apply(session.committed(encoded.map(([seq]) => seq), this.options.sim.now()));
      else this.contiguous = Math.max(this.contiguous, contiguousOf(this.stored, this.contiguous));
    });
  }
}

function contiguousOf(stored: ReadonlyMap<number, unknown>, from: number): number {
  let c = from;
  while (stored.has(c + 1)) c++;
  return c;
}
