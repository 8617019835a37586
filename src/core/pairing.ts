/**
 * Pairing (docs/protocol.md §4) and reconnection (§5), both roles, as explicit state machines.
 *
 * Pairing runs CPace (§4.2) and Noise_XXpsk3 (§4.3) together in three messages; the Noise PSK is
 * the CPace output, so the short passcode is never a PSK an eavesdropper could test offline.
 * Reconnection runs Noise_KK between the bonded static keys.
 *
 * Each object is `(state, input) → (state, output)` with no I/O: the sensor, the worker and the
 * tests all drive the same code. Each step checks its precondition first; every failure leaves
 * the object in `Failed`, wipes what it held and throws a `ProtocolError` that says nothing about
 * which check failed (§4.6).
 */
import { concatBytes, utf8, wipe } from './bytes.js';
import { cpaceStart, pairingChannelIdentifier, type CpaceExchange } from './cpace.js';
import { DecodeError, ProtocolError } from './errors.js';
import { MessageKind } from './framing.js';
import { createHandshake, type Handshake } from './noise/handshake.js';
import { DH_LEN, KEY_LEN, type KeyPair, type Random } from './primitives.js';

export const SID_LEN = 16;
/** §4.3: kind ‖ sid ‖ Ya ‖ e ‖ tag (in psk mode `e` also keys the cipher, so message 1 has a tag). */
export const PAIR_1_LEN = 1 + SID_LEN + DH_LEN + DH_LEN + 16;
/** §5: kind ‖ e ‖ encrypted empty payload. */
export const KK_MESSAGE_LEN = 1 + DH_LEN + 16;
export const MAX_HUB_LABEL = 32;
/** §4.5: a handshake not completed within this time is abandoned, by either side. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Security-relevant drops that either end reports to its owner's security log. */
export type SecurityEvent = 'frame-rejected' | 'replay-rejected' | 'malformed-message' | 'unexpected-message';

const XX_PROLOGUE_LABEL = utf8('VITALOCK-XXpsk3-1');
const KK_PROLOGUE = utf8('VITALOCK-KK-1');
const HUB_AD = utf8('hub');
const SENSOR_AD = utf8('sensor');

/** The two directions of a new session, oriented for the side that holds them (§7.1). */
export interface SessionKeys {
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  /** Noise handshake hash: a unique, public identifier of this session (channel binding). */
  readonly handshakeHash: Uint8Array;
}

function splitKeys(handshake: Handshake): SessionKeys {
  const handshakeHash = handshake.handshakeHash;
  const { send, receive } = handshake.split();
  return { sendKey: send.key, receiveKey: receive.key, handshakeHash };
}

function fail(): never {
  throw new ProtocolError('auth-failed', 'handshake failed');
}

function expectKind(message: Uint8Array, kind: number): void {
  if (message[0] !== kind) throw new ProtocolError('bad-state', 'unexpected message');
}

function encodeHubLabel(label: string): Uint8Array {
  const bytes = utf8(label);
  if (bytes.length > MAX_HUB_LABEL) throw new RangeError('hub label longer than 32 bytes');
  return concatBytes(Uint8Array.of(bytes.length), bytes);
}

function decodeHubLabel(payload: Uint8Array): string {
  const n = payload[0];
  if (n === undefined || n > MAX_HUB_LABEL || payload.length !== 1 + n) throw new DecodeError('malformed', 'bad hub label');
  return new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(1));
}

// ── Pairing, hub side (initiator, CPace A) ────────────────────────────────────────────────────

export const enum HubPairingState {
  Start,
  AwaitPair2,
  /** PAIR_2 read: the caller verifies the certificate, then calls `finish` or `abort`. */
  CertificateCheck,
  Done,
  Failed,
}

export class HubPairing {
  private stateValue = HubPairingState.Start;
  private readonly sid: Uint8Array;
  private readonly handshake: Handshake;
  private cpace: CpaceExchange | undefined;

  constructor(
    identity: KeyPair,
    passcodePrs: Uint8Array,
    private readonly random: Random,
  ) {
    this.sid = random(SID_LEN);
    this.cpace = cpaceStart({ prs: passcodePrs, ci: pairingChannelIdentifier(), sid: this.sid, ad: HUB_AD, random });
    this.handshake = createHandshake({
      pattern: 'XXpsk3',
      initiator: true,
      prologue: concatBytes(XX_PROLOGUE_LABEL, this.sid),
      s: identity,
      random,
    });
  }

  get state(): HubPairingState {
    return this.stateValue;
  }

  /** PAIR_1 = 0x01 ‖ sid ‖ Ya ‖ XX message 1. */
  start(): Uint8Array {
    if (this.stateValue !== HubPairingState.Start || this.cpace === undefined) throw new ProtocolError('bad-state', 'pairing already started');
    const noise1 = this.handshake.writeMessage(new Uint8Array(0));
    this.stateValue = HubPairingState.AwaitPair2;
    return concatBytes(Uint8Array.of(MessageKind.Pair1), this.sid, this.cpace.share, noise1);
  }

  /**
   * Reads PAIR_2 and returns the sensor's certificate (unverified) and static key. The caller
   * must verify the certificate (§4.4) before calling `finish`.
   */
  consumePair2(message: Uint8Array): { certificate: Uint8Array; remoteStatic: Uint8Array } {
    if (this.stateValue !== HubPairingState.AwaitPair2 || this.cpace === undefined) throw new ProtocolError('bad-state', 'unexpected PAIR_2');
    try {
      expectKind(message, MessageKind.Pair2);
      if (message.length < 1 + DH_LEN) fail();
      const yb = message.subarray(1, 1 + DH_LEN);
      const certificate = this.handshake.readMessage(message.subarray(1 + DH_LEN));
      const isk = this.cpace.finish(yb, SENSOR_AD, 'initiator');
      this.cpace = undefined;
      this.handshake.setPsk(isk.subarray(0, KEY_LEN));
      wipe(isk);
      const remoteStatic = this.handshake.remoteStatic;
      if (remoteStatic === undefined) fail();
      this.stateValue = HubPairingState.CertificateCheck;
      return { certificate, remoteStatic };
    } catch (err) {
      this.abort();
      throw err instanceof ProtocolError && err.code === 'bad-state' ? err : new ProtocolError('auth-failed', 'handshake failed');
    }
  }

  /** PAIR_3 = 0x03 ‖ XX message 3 (payload: hub label), and the new session's keys. */
  finish(hubLabel: string): { pair3: Uint8Array; keys: SessionKeys } {
    if (this.stateValue !== HubPairingState.CertificateCheck) throw new ProtocolError('bad-state', 'certificate not checked');
    const noise3 = this.handshake.writeMessage(encodeHubLabel(hubLabel));
    const keys = splitKeys(this.handshake);
    this.stateValue = HubPairingState.Done;
    return { pair3: concatBytes(Uint8Array.of(MessageKind.Pair3), noise3), keys };
  }

  abort(): void {
    this.cpace?.destroy();
    this.cpace = undefined;
    this.handshake.destroy();
    this.stateValue = HubPairingState.Failed;
  }
}

// ── Pairing, sensor side (responder, CPace B) ─────────────────────────────────────────────────

export const enum SensorPairingState {
  AwaitPair1,
  AwaitPair3,
  Done,
  Failed,
}

export interface SensorPairingResult {
  readonly hubStatic: Uint8Array;
  readonly hubLabel: string;
  readonly keys: SessionKeys;
}

export class SensorPairing {
  private stateValue = SensorPairingState.AwaitPair1;
  private handshake: Handshake | undefined;

  /**
   * @param passcodePrs the passcode's digits, or `undefined` when the sensor refuses this attempt
   *   (outside the window, locked out, busy): it then answers with a random PRS, so the hub sees a
   *   well-formed PAIR_2 and a failure at message 3, exactly as for a wrong passcode (§4.6).
   */
  constructor(
    private readonly identity: KeyPair,
    private readonly certificate: Uint8Array,
    private readonly passcodePrs: Uint8Array | undefined,
    private readonly random: Random,
  ) {}

  get state(): SensorPairingState {
    return this.stateValue;
  }

  /** Reads PAIR_1 and returns PAIR_2 = 0x02 ‖ Yb ‖ XX message 2 (payload: certificate). */
  consumePair1(message: Uint8Array): Uint8Array {
    if (this.stateValue !== SensorPairingState.AwaitPair1) throw new ProtocolError('bad-state', 'unexpected PAIR_1');
    try {
      expectKind(message, MessageKind.Pair1);
      if (message.length !== PAIR_1_LEN) fail();
      const sid = message.subarray(1, 1 + SID_LEN);
      const ya = message.subarray(1 + SID_LEN, 1 + SID_LEN + DH_LEN);
      const noise1 = message.subarray(1 + SID_LEN + DH_LEN);
      const prs = this.passcodePrs ?? this.random(8);
      const cpace = cpaceStart({ prs, ci: pairingChannelIdentifier(), sid, ad: SENSOR_AD, random: this.random });
      const yb = cpace.share;
      const isk = cpace.finish(ya, HUB_AD, 'responder');
      if (this.passcodePrs === undefined) wipe(prs);
      this.handshake = createHandshake({
        pattern: 'XXpsk3',
        initiator: false,
        prologue: concatBytes(XX_PROLOGUE_LABEL, sid),
        s: this.identity,
        random: this.random,
      });
      this.handshake.readMessage(noise1);
      this.handshake.setPsk(isk.subarray(0, KEY_LEN));
      wipe(isk);
      const noise2 = this.handshake.writeMessage(this.certificate);
      this.stateValue = SensorPairingState.AwaitPair3;
      return concatBytes(Uint8Array.of(MessageKind.Pair2), yb, noise2);
    } catch {
      this.abort();
      fail();
    }
  }

  /** Reads PAIR_3; on success returns the hub's static key and the session keys. */
  consumePair3(message: Uint8Array): SensorPairingResult {
    if (this.stateValue !== SensorPairingState.AwaitPair3 || this.handshake === undefined) throw new ProtocolError('bad-state', 'unexpected PAIR_3');
    try {
      expectKind(message, MessageKind.Pair3);
      const payload = this.handshake.readMessage(message.subarray(1));
      const hubLabel = decodeHubLabel(payload);
      const hubStatic = this.handshake.remoteStatic;
      if (hubStatic === undefined) fail();
      const keys = splitKeys(this.handshake);
      this.stateValue = SensorPairingState.Done;
      return { hubStatic, hubLabel, keys };
    } catch {
      this.abort();
      fail();
    }
  }

  abort(): void {
    this.handshake?.destroy();
    this.handshake = undefined;
    this.stateValue = SensorPairingState.Failed;
  }
}

// ── Reconnection (§5) ─────────────────────────────────────────────────────────────────────────

export class HubReconnect {
  private readonly handshake: Handshake;
  private started = false;
  private finished = false;

  constructor(identity: KeyPair, sensorStatic: Uint8Array, random: Random) {
    this.handshake = createHandshake({ pattern: 'KK', initiator: true, prologue: KK_PROLOGUE, s: identity, rs: sensorStatic, random });
  }

  /** KK_1 = 0x04 ‖ KK message 1. */
  start(): Uint8Array {
    if (this.started) throw new ProtocolError('bad-state', 'reconnect already started');
    this.started = true;
    return concatBytes(Uint8Array.of(MessageKind.Kk1), this.handshake.writeMessage(new Uint8Array(0)));
  }

  consumeKk2(message: Uint8Array): SessionKeys {
    if (!this.started || this.finished) throw new ProtocolError('bad-state', 'unexpected KK_2');
    this.finished = true;
    try {
      expectKind(message, MessageKind.Kk2);
      if (message.length !== KK_MESSAGE_LEN) fail();
      const payload = this.handshake.readMessage(message.subarray(1));
      if (payload.length !== 0) fail();
      return splitKeys(this.handshake);
    } catch {
      this.handshake.destroy();
      fail();
    }
  }

  abort(): void {
    this.finished = true;
    this.handshake.destroy();
  }
}

export interface SensorReconnectResult {
  /** Index into the `bondedHubKeys` passed in. */
  readonly bondIndex: number;
  readonly kk2: Uint8Array;
  readonly keys: SessionKeys;
}

/**
 * Answers KK_1 (§5). KK_1 names no hub in clear, so each bonded key is tried as the initiator's
 * static key; only the right one authenticates message 1's payload. Unknown hub → `unknown-peer`.
 */
export function acceptReconnect(
  identity: KeyPair,
  bondedHubKeys: readonly Uint8Array[],
  message: Uint8Array,
  random: Random,
): SensorReconnectResult {
  if (message[0] !== MessageKind.Kk1 || message.length !== KK_MESSAGE_LEN) throw new ProtocolError('auth-failed', 'handshake failed');
  const noise1 = message.subarray(1);
  for (let bondIndex = 0; bondIndex < bondedHubKeys.length; bondIndex++) {
    const rs = bondedHubKeys[bondIndex] as Uint8Array;
    const handshake = createHandshake({ pattern: 'KK', initiator: false, prologue: KK_PROLOGUE, s: identity, rs, random });
    let payload: Uint8Array;
    try {
      payload = handshake.readMessage(noise1);
    } catch {
      handshake.destroy();
      continue;
    }
    if (payload.length !== 0) {
      handshake.destroy();
      break;
    }
    const kk2 = concatBytes(Uint8Array.of(MessageKind.Kk2), handshake.writeMessage(new Uint8Array(0)));
    return { bondIndex, kk2, keys: splitKeys(handshake) };
  }
  throw new ProtocolError('unknown-peer', 'handshake failed');
}
