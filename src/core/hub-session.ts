/**
 * The hub's whole conversation with one connected sensor (docs/protocol.md §2.2, §8.1, §8.3):
 * fragments in and out, the secure channel, and the reading intake — exactly-once storage,
 * acknowledgement only after commit, backfill of gaps.
 *
 * Pure and synchronous. Storage is the caller's: a `store` output hands over fresh records, and
 * the caller reports `committed(seqs)` once its transaction has committed; only then does an ACK
 * go out, so the sensor never frees a record the hub could still lose. The vault worker drives
 * one of these per connected sensor; the tests drive it with an in-memory store.
 */
import type { Checkpoint } from './checkpoint.js';
import { CertificateError, verifyCertificate, type DeviceCertificate } from './certificate.js';
import { Fragmenter, Reassembler } from './framing.js';
import { HubChannel, type HubChannelOptions, type HubEvent, type HubFailure, type SensorBond } from './hub-channel.js';
import type { AppMessage, StatusMessage } from './messages.js';
import type { SecurityEvent } from './pairing.js';
import type { ReadingRecord } from './readings.js';
import { RecordLedger } from './record-ledger.js';

export type HubOutput =
  /** A fragment to write to the sensor's `control` characteristic, in order. */
  | { readonly type: 'write'; readonly fragment: Uint8Array }
  /** Records seen for the first time: persist them, then call `committed`. */
  | { readonly type: 'store'; readonly records: readonly ReadingRecord[] }
  | { readonly type: 'checkpoint'; readonly checkpoint: Checkpoint }
  | { readonly type: 'status'; readonly status: StatusMessage }
  /** Records `from..to` are no longer on the sensor and were never received here (§8.3). */
  | { readonly type: 'unavailable'; readonly from: number; readonly to: number }
  | { readonly type: 'bonded'; readonly bond: SensorBond; readonly certificate: DeviceCertificate }
  | { readonly type: 'open'; readonly rekeyed: boolean }
  | { readonly type: 'failed'; readonly failure: HubFailure }
  | { readonly type: 'security'; readonly event: SecurityEvent | 'sensor-error' };

export interface HubSessionOptions extends HubChannelOptions {
  /** Chunk size for writes to `control` (`chunkSizeForMtu` of the connection's ATT MTU). */
  readonly chunkSize: number;
  /** Highest seq stored without a gap for this sensor, from storage (0 for a new sensor). */
  readonly contiguous?: number;
}

export class HubSession {
  private readonly channel: HubChannel;
  private readonly fragmenter: Fragmenter;
  private readonly reassembler = new Reassembler();
  readonly ledger: RecordLedger;

  constructor(private readonly options: HubSessionOptions) {
    this.channel = new HubChannel(options);
    this.fragmenter = new Fragmenter(options.chunkSize);
    this.ledger = new RecordLedger(options.contiguous ?? 0);
  }

  get state(): HubChannel['state'] {
    return this.channel.state;
  }

  get isOpen(): boolean {
    return this.channel.state === 'open';
  }

  pair(passcodePrs: Uint8Array, nowMs: number, expectedDeviceId?: Uint8Array): HubOutput[] {
    return this.translate(this.channel.pair(passcodePrs, nowMs, expectedDeviceId), nowMs);
  }

  /**
   * Reconnects to a bonded sensor with Noise_KK (§5). The bond's certificate is checked again
   * first: a sensor whose certificate has since expired or been revoked gets no session.
   */
  reconnect(bond: SensorBond, nowMs: number): HubOutput[] {
    try {
      verifyCertificate(bond.certificate, { trustStore: this.options.trustStore, nowMs, remoteStaticKey: bond.staticKey, expectedDeviceId: bond.deviceId });
    } catch (err) {
      const reason = err instanceof CertificateError ? err.reason : 'malformed';
      return [{ type: 'failed', failure: { kind: 'certificate', reason } }];
    }
    return this.translate(this.channel.reconnect(bond.staticKey, nowMs), nowMs);
  }

  /** A notification (or pulled read) from the sensor's `data` characteristic. */
  receiveFragment(fragment: Uint8Array, nowMs: number): HubOutput[] {
    const message = this.reassembler.push(fragment, nowMs);
    if (message === undefined) return [];
    return this.translate(this.channel.receive(message, nowMs), nowMs);
  }

  /** The caller's storage committed these records: acknowledge what is now contiguous. */
  committed(seqs: Iterable<number>, nowMs: number): HubOutput[] {
    this.ledger.committed(seqs);
    return this.sendAckIfDue(nowMs);
  }

  /** The caller's storage failed (e.g. quota): forget them so the resent copies are accepted. */
  notCommitted(seqs: Iterable<number>): void {
    this.ledger.rollback(seqs);
  }

  /**
   * Asks the sensor to send again everything after what storage holds (BACKFILL from the
   * contiguous seq + 1): after records were dropped unstored, e.g. while storage was full.
   */
  resync(nowMs: number): HubOutput[] {
    if (!this.isOpen) return [];
    const from = this.ledger.contiguous + 1;
    this.ledger.backfillSent(from, nowMs);
    return this.send({ type: 'backfill', from }, nowMs);
  }

  /** Sends an application message (TIME_SET, STATUS_REQ, UNBOND …). */
  send(message: AppMessage, nowMs: number): HubOutput[] {
    return this.translate(this.channel.send(message, nowMs), nowMs);
  }

  /** Timers: handshake timeout, rekey, backfill retries. */
  tick(nowMs: number): HubOutput[] {
    const out = this.translate(this.channel.tick(nowMs), nowMs);
    if (this.isOpen) {
      const from = this.ledger.backfillDue(nowMs);
      if (from !== undefined) out.push(...this.send({ type: 'backfill', from }, nowMs));
    }
    return out;
  }

  close(): void {
    this.channel.close();
  }

  private sendAckIfDue(nowMs: number): HubOutput[] {
    if (!this.isOpen) return [];
    const upTo = this.ledger.ackDue();
    return upTo === undefined ? [] : this.send({ type: 'ack', upTo }, nowMs);
  }

  private translate(events: readonly HubEvent[], nowMs: number): HubOutput[] {
    const out: HubOutput[] = [];
    for (const event of events) {
      switch (event.type) {
        case 'send':
          for (const fragment of this.fragmenter.fragment(event.message)) out.push({ type: 'write', fragment });
          break;
        case 'bonded':
        case 'failed':
        case 'security':
          out.push(event);
          break;
        case 'open':
          out.push(event);
          // After a rekey the sensor switches keys only when a frame under them arrives: confirm at once.
          out.push(...(event.rekeyed ? this.send({ type: 'status-req' }, nowMs) : this.onSessionStart(nowMs)));
          break;
        case 'app':
          out.push(...this.onApp(event.message, nowMs));
          break;
      }
    }
    return out;
  }

  /** §8.1: set the sensor's clock, and ask for everything after what storage holds. */
  private onSessionStart(nowMs: number): HubOutput[] {
    this.ledger.resetConnection();
    const from = this.ledger.contiguous + 1;
    this.ledger.backfillSent(from, nowMs);
    return [
      ...this.translate(this.channel.send({ type: 'time-set', hubTimeMs: nowMs }, nowMs), nowMs),
      ...this.translate(this.channel.send({ type: 'backfill', from }, nowMs), nowMs),
      ...this.sendAckIfDue(nowMs),
    ];
  }

  private onApp(message: AppMessage, nowMs: number): HubOutput[] {
    switch (message.type) {
      case 'readings': {
        const fresh = message.records.filter((r) => this.ledger.accept(r.seq));
        const out: HubOutput[] = fresh.length > 0 ? [{ type: 'store', records: fresh }] : [];
        const from = this.ledger.backfillDue(nowMs);
        if (from !== undefined) out.push(...this.send({ type: 'backfill', from }, nowMs));
        return out;
      }
      case 'checkpoint':
        return [{ type: 'checkpoint', checkpoint: { seq: message.seq, head: message.head, signature: message.signature } }];
      case 'status': {
        const out: HubOutput[] = [{ type: 'status', status: message }];
        // The oldest record the sensor still holds; anything older was freed by another hub's ACK.
        const oldestHeld = message.lastSeq - message.held + 1;
        const from = this.ledger.contiguous + 1;
        if (oldestHeld > from && this.ledger.skipTo(oldestHeld - 1) > 0) {
          out.push({ type: 'unavailable', from, to: oldestHeld - 1 }, ...this.sendAckIfDue(nowMs));
        }
        return out;
      }
      case 'error':
        return [{ type: 'security', event: 'sensor-error' }];
      default:
        // ACK, BACKFILL, TIME_SET … are hub → sensor only.
        return [{ type: 'security', event: 'unexpected-message' }];
    }
  }
}
