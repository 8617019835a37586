/**
 * The sensor's end of one connection (docs/protocol.md §4–§9.2): answers pairing and KK, then
 * runs the transport session. The device's policy — the pairing window, the attempt limiter and
 * the bond list — is asked through `SensorPolicy`, so this file holds only protocol.
 *
 * Pure: bytes and the time go in, events come out.
 */
import { equalBytes } from './bytes.js';
import { ProtocolError } from './errors.js';
import { MessageKind } from './framing.js';
import { decodeMessage, encodeMessage, type AppMessage } from './messages.js';
import { acceptReconnect, HANDSHAKE_TIMEOUT_MS, SensorPairing, type SecurityEvent, type SessionKeys } from './pairing.js';
import type { KeyPair, Random } from './primitives.js';
import { TransportSession } from './transport.js';

/** FAIL (§4.6): one byte, the same whatever went wrong. */
export const FAIL_MESSAGE: Uint8Array = Uint8Array.of(MessageKind.Fail);

/** What the device decides; the channel only asks. */
export interface SensorPolicy {
  /**
   * Called on every PAIR_1. Returns the passcode's PRS when this attempt may proceed, or
   * `undefined` when it must be refused (outside the window, locked out, busy) — the channel then
   * answers with a decoy so the hub cannot tell the difference (§4.6).
   */
  beginPairingAttempt(nowMs: number): Uint8Array | undefined;
  /** Called when an attempt that `beginPairingAttempt` allowed fails or times out. */
  pairingAttemptFailed(nowMs: number): void;
  /** Called when pairing succeeded; the device stores the bond. */
  paired(hubStatic: Uint8Array, hubLabel: string, nowMs: number): void;
  /** The static keys of the bonded hubs, most recently used first (§5). */
  bondedHubKeys(): readonly Uint8Array[];
  /** Called when KK authenticated the bond at `index` of `bondedHubKeys()`. */
  reconnected(index: number, nowMs: number): void;
}

export type SensorEvent =
  | { readonly type: 'send'; readonly message: Uint8Array }
  /** A session is open (after pairing or KK): the device sends STATUS first (§8.1). */
  | { readonly type: 'open'; readonly hubStatic: Uint8Array; readonly paired: boolean; readonly rekeyed: boolean }
  | { readonly type: 'app'; readonly message: AppMessage }
  | { readonly type: 'handshake-failed' }
  | { readonly type: 'security'; readonly event: SecurityEvent };

export type SensorChannelState = 'idle' | 'pairing' | 'open' | 'closed';

export interface SensorChannelOptions {
  readonly identity: KeyPair;
  readonly certificate: Uint8Array;
  readonly random: Random;
  readonly policy: SensorPolicy;
}

export class SensorChannel {
  private stateValue: SensorChannelState = 'idle';
  private pairing: SensorPairing | undefined;
  /** Whether the policy let the current pairing attempt proceed (a decoy is not counted). */
  private attemptCounted = false;
  private pairingStartedAt = 0;
  private session: TransportSession | undefined;
  private previous: TransportSession | undefined;
  /** A rekey's session, used once the hub's first frame under it arrives. */
  private pending: { session: TransportSession; hubStatic: Uint8Array } | undefined;
  private hubStatic: Uint8Array | undefined;

  constructor(private readonly options: SensorChannelOptions) {}

  get state(): SensorChannelState {
    return this.stateValue;
  }

  get peer(): Uint8Array | undefined {
    return this.hubStatic;
  }

  receive(message: Uint8Array, nowMs: number): SensorEvent[] {
    switch (message[0]) {
      case MessageKind.Pair1:
        return this.onPair1(message, nowMs);
      case MessageKind.Pair3:
        return this.onPair3(message, nowMs);
      case MessageKind.Kk1:
        return this.onKk1(message, nowMs);
      case MessageKind.Transport:
        return this.onFrame(message, nowMs);
      default:
        return [{ type: 'security', event: 'unexpected-message' }];
    }
  }

  /**
   * Seals a message for the hub. Returns undefined — and closes the session — when the session
   * has reached its hard limits (§7.3) because the hub never rekeyed: the device keeps its
   * records, and the hub's next connection backfills them.
   */
  send(message: AppMessage, nowMs: number): Uint8Array | undefined {
    if (this.stateValue !== 'open' || this.session === undefined) throw new ProtocolError('bad-state', 'no open session');
    if (this.session.isExpired(nowMs)) {
      this.dropSessions();
      this.stateValue = 'idle';
      return undefined;
    }
    return this.session.seal(encodeMessage(message), nowMs);
  }

  get isOpen(): boolean {
    return this.stateValue === 'open';
  }

  /** Abandons a pairing handshake that has taken longer than §4.5 allows. */
  tick(nowMs: number): SensorEvent[] {
    if (this.stateValue === 'pairing' && nowMs - this.pairingStartedAt > HANDSHAKE_TIMEOUT_MS) {
      return this.failPairing(nowMs);
    }
    return [];
  }

  close(): void {
    this.pairing?.abort();
    this.pairing = undefined;
    this.dropSessions();
    this.stateValue = 'closed';
  }

  // ── handlers ──────────────────────────────────────────────────────────────────────────────

  private onPair1(message: Uint8Array, nowMs: number): SensorEvent[] {
    if (this.stateValue === 'closed') return [];
    // A connection with a session does not pair: a PAIR_1 injected into it must not tear it down.
    if (this.stateValue === 'open') return [{ type: 'security', event: 'unexpected-message' }];
    // One pairing handshake at a time per connection; a new PAIR_1 mid-handshake is refused like any other.
    const busy = this.stateValue === 'pairing';
    if (busy) this.abandonPairing(nowMs);
    const prs = busy ? undefined : this.options.policy.beginPairingAttempt(nowMs);
    this.attemptCounted = prs !== undefined;
    this.pairing = new SensorPairing(this.options.identity, this.options.certificate, prs, this.options.random);
    this.pairingStartedAt = nowMs;
    this.stateValue = 'pairing';
    try {
      return [{ type: 'send', message: this.pairing.consumePair1(message) }];
    } catch {
      return this.failPairing(nowMs);
    }
  }

  private onPair3(message: Uint8Array, nowMs: number): SensorEvent[] {
    const pairing = this.pairing;
    if (pairing === undefined) return [{ type: 'security', event: 'unexpected-message' }];
    let keys: SessionKeys;
    let hubStatic: Uint8Array;
    try {
      const result = pairing.consumePair3(message);
      if (!this.attemptCounted) {
        // A decoy cannot authenticate; this branch exists so that a bug never turns it into a bond.
        throw new ProtocolError('auth-failed', 'handshake failed');
      }
      keys = result.keys;
      hubStatic = result.hubStatic;
      this.options.policy.paired(hubStatic, result.hubLabel, nowMs);
    } catch {
      return this.failPairing(nowMs);
    }
    this.pairing = undefined;
    this.openSession(keys, hubStatic, nowMs);
    return [{ type: 'open', hubStatic, paired: true, rekeyed: false }];
  }

  private onKk1(message: Uint8Array, nowMs: number): SensorEvent[] {
    if (this.stateValue === 'closed' || this.stateValue === 'pairing') return [{ type: 'security', event: 'unexpected-message' }];
    const bonds = this.options.policy.bondedHubKeys();
    let result: ReturnType<typeof acceptReconnect>;
    try {
      result = acceptReconnect(this.options.identity, bonds, message, this.options.random);
    } catch {
      // An established session is not disturbed by a KK_1 that does not authenticate.
      if (this.stateValue === 'open') return [{ type: 'security', event: 'frame-rejected' }];
      return [{ type: 'send', message: FAIL_MESSAGE }, { type: 'handshake-failed' }];
    }
    const hubStatic = bonds[result.bondIndex] as Uint8Array;
    if (this.stateValue === 'open') {
      // A rekey. The new keys wait until the hub proves it holds them with its first frame:
      // otherwise a replayed KK_1 would switch the sensor to keys no hub has, and the stream
      // would go dark (WireGuard's responder waits for the same confirmation).
      this.pending?.session.destroy();
      this.pending = { session: this.newTransport(result.keys, nowMs), hubStatic };
      return [{ type: 'send', message: result.kk2 }];
    }
    this.options.policy.reconnected(result.bondIndex, nowMs);
    this.openSession(result.keys, hubStatic, nowMs);
    return [
      { type: 'send', message: result.kk2 },
      { type: 'open', hubStatic, paired: false, rekeyed: false },
    ];
  }

  private onFrame(frame: Uint8Array, nowMs: number): SensorEvent[] {
    if (this.stateValue !== 'open') return [{ type: 'security', event: 'unexpected-message' }];
    let plaintext: Uint8Array | undefined;
    let replay = false;
    const events: SensorEvent[] = [];
    const pending = this.pending?.session;
    for (const session of [this.session, pending, this.previous]) {
      if (session === undefined) continue;
      try {
        plaintext = session.open(frame, nowMs);
      } catch (err) {
        if (err instanceof ProtocolError && err.code === 'replay') replay = true;
        continue;
      }
      if (session === pending) {
        // The hub confirmed the rekey: send on the new keys, keep the old ones to receive stragglers.
        const { hubStatic } = this.pending as { hubStatic: Uint8Array };
        const rekeyed = this.hubStatic !== undefined && equalBytes(this.hubStatic, hubStatic);
        this.previous?.destroy();
        this.previous = this.session;
        this.session = pending;
        this.pending = undefined;
        this.hubStatic = hubStatic;
        // Only a confirmed KK counts as use of the bond (a replayed KK_1 must not reorder bonds).
        const index = this.options.policy.bondedHubKeys().findIndex((k) => equalBytes(k, hubStatic));
        if (index >= 0) this.options.policy.reconnected(index, nowMs);
        events.push({ type: 'open', hubStatic, paired: false, rekeyed });
      } else if (session === this.session && this.previous !== undefined) {
        this.previous.destroy();
        this.previous = undefined;
      }
      break;
    }
    if (plaintext === undefined) return [{ type: 'security', event: replay ? 'replay-rejected' : 'frame-rejected' }];
    try {
      events.push({ type: 'app', message: decodeMessage(plaintext) });
    } catch {
      events.push({ type: 'security', event: 'malformed-message' });
    }
    return events;
  }

  private newTransport(keys: SessionKeys, nowMs: number): TransportSession {
    const session = new TransportSession({ sendKey: keys.sendKey, receiveKey: keys.receiveKey, createdAtMs: nowMs });
    keys.sendKey.fill(0);
    keys.receiveKey.fill(0);
    return session;
  }

  private openSession(keys: SessionKeys, hubStatic: Uint8Array, nowMs: number): void {
    this.dropSessions();
    this.session = this.newTransport(keys, nowMs);
    this.hubStatic = hubStatic;
    this.stateValue = 'open';
  }

  private dropSessions(): void {
    this.session?.destroy();
    this.pending?.session.destroy();
    this.previous?.destroy();
    this.session = undefined;
    this.pending = undefined;
    this.previous = undefined;
  }

  private abandonPairing(nowMs: number): void {
    this.pairing?.abort();
    this.pairing = undefined;
    if (this.attemptCounted) this.options.policy.pairingAttemptFailed(nowMs);
    this.attemptCounted = false;
  }

  private failPairing(nowMs: number): SensorEvent[] {
    this.abandonPairing(nowMs);
    this.stateValue = 'idle';
    return [{ type: 'send', message: FAIL_MESSAGE }, { type: 'handshake-failed' }];
  }
}
