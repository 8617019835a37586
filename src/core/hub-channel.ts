/**
 * The hub's end of one connection to one sensor (docs/protocol.md §4–§9.1): pairing or
 * reconnection, then the transport session and application messages, with rekeying.
 *
 * Pure: bytes and the time go in, events come out. The vault worker and the tests drive it the
 * same way; whoever drives it moves the `send` events onto the link (fragmented, §2.2) and acts on
 * the others. It never logs; security-relevant drops come out as `security` events.
 */
import { CertificateError, verifyCertificate, type CertificateFailure, type DeviceCertificate } from './certificate.js';
import { ProtocolError } from './errors.js';
import { MessageKind } from './framing.js';
import { decodeMessage, encodeMessage, type AppMessage } from './messages.js';
import { HANDSHAKE_TIMEOUT_MS, HubPairing, HubReconnect, type SecurityEvent, type SessionKeys } from './pairing.js';
import type { KeyPair, Random } from './primitives.js';
import { TransportSession } from './transport.js';
import type { TrustStore } from './trust-store.js';


/** What the hub keeps about a bonded sensor (the worker stores it encrypted). */
export interface SensorBond {
  readonly deviceId: Uint8Array;
  readonly staticKey: Uint8Array;
  readonly certificate: Uint8Array;
  readonly manufacturer: string;
  readonly model: string;
  readonly serial: string;
  readonly notAfter: number;
  readonly hubLabel: string;
}

export type HubFailure =
  /** Wrong setup code, or the sensor refused (window closed, locked out): indistinguishable, §4.6. */
  | { readonly kind: 'pairing-failed' }
  /** The sensor's certificate was refused; the reason can be shown to the user. */
  | { readonly kind: 'certificate'; readonly reason: CertificateFailure }
  /** KK failed: the sensor no longer knows this hub, or something else answered. */
  | { readonly kind: 'reconnect-failed' }
  | { readonly kind: 'timeout' }
  /** The session reached its hard limits before a rekey completed (§7.3): reconnect. */
  | { readonly kind: 'expired' };

export type HubEvent =
  | { readonly type: 'send'; readonly message: Uint8Array }
  | { readonly type: 'bonded'; readonly bond: SensorBond; readonly certificate: DeviceCertificate }
  | { readonly type: 'open'; readonly rekeyed: boolean }
  | { readonly type: 'app'; readonly message: AppMessage }
  | { readonly type: 'failed'; readonly failure: HubFailure }
  | { readonly type: 'security'; readonly event: SecurityEvent };

export type HubChannelState = 'idle' | 'pairing' | 'confirming' | 'reconnecting' | 'open' | 'failed' | 'closed';

export interface HubChannelOptions {
  readonly identity: KeyPair;
  readonly trustStore: TrustStore;
  readonly random: Random;
  /** Shown on the sensor's bond list; at most 32 bytes of UTF-8. */
  readonly hubLabel: string;
}

export class HubChannel {
  private stateValue: HubChannelState = 'idle';
  private pairing: HubPairing | undefined;
  private reconnecting: HubReconnect | undefined;
  private pendingBond: { bond: SensorBond; certificate: DeviceCertificate } | undefined;
  private session: TransportSession | undefined;
  /** During a rekey, frames still arrive under the old keys until KK_2 arrives. */
  private previous: TransportSession | undefined;
  private handshakeStartedAt = 0;
  private sensorStatic: Uint8Array | undefined;
  /** From a scanned QR code: the certificate must name this device (§4.4). */
  private expectedDeviceId: Uint8Array | undefined;

  constructor(private readonly options: HubChannelOptions) {}

  get state(): HubChannelState {
    return this.stateValue;
  }

  /** Starts pairing with the passcode's PRS (§4.2); `expectedDeviceId` comes from a QR code. */
  pair(passcodePrs: Uint8Array, nowMs: number, expectedDeviceId?: Uint8Array): HubEvent[] {
    this.requireState('idle');
    this.pairing = new HubPairing(this.options.identity, passcodePrs, this.options.random);
    this.expectedDeviceId = expectedDeviceId;
    this.stateValue = 'pairing';
    this.handshakeStartedAt = nowMs;
    return [{ type: 'send', message: this.pairing.start() }];
  }

  /** Starts a Noise_KK session with a bonded sensor (§5). */
  reconnect(sensorStaticKey: Uint8Array, nowMs: number): HubEvent[] {
    this.requireState('idle');
    this.sensorStatic = sensorStaticKey;
    this.reconnecting = new HubReconnect(this.options.identity, sensorStaticKey, this.options.random);
    this.stateValue = 'reconnecting';
    this.handshakeStartedAt = nowMs;
    return [{ type: 'send', message: this.reconnecting.start() }];
  }

  /** Handles one reassembled message from the sensor. */
  receive(message: Uint8Array, nowMs: number): HubEvent[] {
    const kind = message[0];
    switch (this.stateValue) {
      case 'pairing':
        if (kind === MessageKind.Fail) return this.failWith({ kind: 'pairing-failed' });
        if (kind === MessageKind.Pair2) return this.onPair2(message, nowMs);
        return this.unexpected();
      case 'confirming':
        if (kind === MessageKind.Fail) return this.failWith({ kind: 'pairing-failed' });
        if (kind === MessageKind.Transport) return this.onConfirmingFrame(message, nowMs);
        return this.unexpected();
      case 'reconnecting':
        if (kind === MessageKind.Fail) return this.failWith({ kind: 'reconnect-failed' });
        if (kind === MessageKind.Kk2) return this.onKk2(message, nowMs, false);
        return this.unexpected();
      case 'open':
        if (kind === MessageKind.Transport) return this.onFrame(message, nowMs);
        if (kind === MessageKind.Kk2 && this.reconnecting !== undefined) return this.onKk2(message, nowMs, true);
        if (kind === MessageKind.Fail && this.reconnecting !== undefined) return this.failWith({ kind: 'reconnect-failed' });
        return this.unexpected();
      default:
        return this.unexpected();
    }
  }

  /** Seals an application message for the sensor. */
  send(message: AppMessage, nowMs: number): HubEvent[] {
    this.requireState('open');
    const session = this.session as TransportSession;
    // Past its hard limits (a rekey that never completed): the connection must start over.
    if (session.isExpired(nowMs)) return this.failWith({ kind: 'expired' });
    return [{ type: 'send', message: session.seal(encodeMessage(message), nowMs) }];
  }

  /**
   * Call periodically: abandons a handshake that timed out (§4.5) and starts a rekey when the
   * session reaches its limits (§7.3).
   */
  tick(nowMs: number): HubEvent[] {
    const handshaking = this.stateValue === 'pairing' || this.stateValue === 'confirming' || this.stateValue === 'reconnecting';
    if ((handshaking || this.reconnecting !== undefined) && nowMs - this.handshakeStartedAt > HANDSHAKE_TIMEOUT_MS) {
      return this.failWith({ kind: 'timeout' });
    }
    if (this.stateValue === 'open' && this.session?.isExpired(nowMs)) return this.failWith({ kind: 'expired' });
    if (this.stateValue === 'open' && this.reconnecting === undefined && this.session?.needsRekey(nowMs) && this.sensorStatic) {
      this.reconnecting = new HubReconnect(this.options.identity, this.sensorStatic, this.options.random);
      this.handshakeStartedAt = nowMs;
      return [{ type: 'send', message: this.reconnecting.start() }];
    }
    return [];
  }

  /** Forgets every key of this connection. */
  close(): void {
    this.pairing?.abort();
    this.reconnecting?.abort();
    this.session?.destroy();
    this.previous?.destroy();
    this.pairing = undefined;
    this.reconnecting = undefined;
    this.session = undefined;
    this.previous = undefined;
    this.pendingBond = undefined;
    this.stateValue = 'closed';
  }

  // ── handlers ──────────────────────────────────────────────────────────────────────────────

  private onPair2(message: Uint8Array, nowMs: number): HubEvent[] {
    const pairing = this.pairing as HubPairing;
    let certificateBytes: Uint8Array;
    let remoteStatic: Uint8Array;
    try {
      ({ certificate: certificateBytes, remoteStatic } = pairing.consumePair2(message));
    } catch {
      return this.failWith({ kind: 'pairing-failed' });
    }
    let verified: { certificate: DeviceCertificate; manufacturer: string };
    try {
      verified = verifyCertificate(certificateBytes, {
        trustStore: this.options.trustStore,
        nowMs,
        remoteStaticKey: remoteStatic,
        ...(this.expectedDeviceId ? { expectedDeviceId: this.expectedDeviceId } : {}),
      });
    } catch (err) {
      pairing.abort();
      const reason: CertificateFailure = err instanceof CertificateError ? err.reason : 'malformed';
      return this.failWith({ kind: 'certificate', reason });
    }
    const { pair3, keys } = pairing.finish(this.options.hubLabel);
    this.pairing = undefined;
    const c = verified.certificate;
    this.pendingBond = {
      certificate: c,
      bond: {
        deviceId: c.deviceId,
        staticKey: c.staticKey,
        certificate: c.bytes,
        manufacturer: verified.manufacturer,
        model: c.model,
        serial: c.serial,
        notAfter: c.notAfter,
        hubLabel: this.options.hubLabel,
      },
    };
    this.sensorStatic = c.staticKey;
    this.session = this.newSession(keys, nowMs);
    this.stateValue = 'confirming';
    return [{ type: 'send', message: pair3 }];
  }

  /** §4.4: the pairing is complete when the first frame under the new keys opens. */
  private onConfirmingFrame(message: Uint8Array, nowMs: number): HubEvent[] {
    const events = this.onFrame(message, nowMs);
    if (events.some((e) => e.type === 'app')) {
      const pending = this.pendingBond as { bond: SensorBond; certificate: DeviceCertificate };
      this.pendingBond = undefined;
      this.stateValue = 'open';
      return [{ type: 'bonded', bond: pending.bond, certificate: pending.certificate }, { type: 'open', rekeyed: false }, ...events];
    }
    return events;
  }

  private onKk2(message: Uint8Array, nowMs: number, rekey: boolean): HubEvent[] {
    const reconnecting = this.reconnecting as HubReconnect;
    this.reconnecting = undefined;
    let keys: SessionKeys;
    try {
      keys = reconnecting.consumeKk2(message);
    } catch {
      return this.failWith({ kind: 'reconnect-failed' });
    }
    if (rekey) {
      this.previous?.destroy();
      this.previous = this.session;
    }
    this.session = this.newSession(keys, nowMs);
    this.stateValue = 'open';
    return [{ type: 'open', rekeyed: rekey }];
  }

  private onFrame(frame: Uint8Array, nowMs: number): HubEvent[] {
    let plaintext: Uint8Array | undefined;
    let replay = false;
    for (const session of [this.session, this.previous]) {
      if (session === undefined) continue;
      try {
        plaintext = session.open(frame, nowMs);
        if (session === this.session && this.previous !== undefined) {
          // The sensor has switched to the new keys: the old ones are no longer needed.
          this.previous.destroy();
          this.previous = undefined;
        }
        break;
      } catch (err) {
        if (err instanceof ProtocolError && err.code === 'replay') replay = true;
      }
    }
    if (plaintext === undefined) return [{ type: 'security', event: replay ? 'replay-rejected' : 'frame-rejected' }];
    try {
      return [{ type: 'app', message: decodeMessage(plaintext) }];
    } catch {
      return [{ type: 'security', event: 'malformed-message' }];
    }
  }

  private newSession(keys: SessionKeys, nowMs: number): TransportSession {
    const session = new TransportSession({ sendKey: keys.sendKey, receiveKey: keys.receiveKey, createdAtMs: nowMs });
    keys.sendKey.fill(0);
    keys.receiveKey.fill(0);
    return session;
  }

  private unexpected(): HubEvent[] {
    return [{ type: 'security', event: 'unexpected-message' }];
  }

  private failWith(failure: HubFailure): HubEvent[] {
    this.close();
    this.stateValue = 'failed';
    return [{ type: 'failed', failure }];
  }

  private requireState(state: HubChannelState): void {
    if (this.stateValue !== state) throw new ProtocolError('bad-state', `channel is ${this.stateValue}, not ${state}`);
  }
}
