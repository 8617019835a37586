/**
 * Noise HandshakeState for the two handshakes of Vitalock: docs/protocol.md §4 (pairing,
 * Noise_XXpsk3_25519_ChaChaPoly_SHA256) and §5 (reconnection, Noise_KK_25519_ChaChaPoly_SHA256).
 *
 * Follows the Noise Protocol Framework, revision 34: §5.3 (HandshakeState, WriteMessage,
 * ReadMessage, Split), §7 (handshake patterns, pre-messages of KK), §9 (pre-shared keys: the psk
 * token and the extra MixKey on `e`), §12.1/§12.3/§12.5 (25519, ChaChaPoly, SHA256) and §3 (a
 * message is at most 65535 bytes).
 *
 * Only these two patterns exist, in a fixed table: no pattern parser, so nothing an attacker or a
 * configuration can select. The driver is modelled on wireguard-go's noise-protocol.go:
 * - one explicit status says which message is next and whose turn it is; every call checks it
 *   before touching any state, so a message can never be processed twice or out of order;
 * - the length of every incoming message is checked against the pattern before any parsing;
 * - any failure while reading (and any failure half-way through writing) makes the handshake
 *   `failed` for good. A Noise state that has mixed in a bad message cannot be rewound, and
 *   letting a caller retry would give an attacker many tries at one ephemeral key;
 * - all read failures surface as the same ProtocolError('auth-failed') (docs/protocol.md §4.6:
 *   a failure looks the same whatever went wrong);
 * - ephemeral and static secrets, the PSK, ck and every temporary key are wiped as soon as they
 *   are no longer needed, and in any case on completion, split or failure.
 */
import { concatBytes, wipe } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { DH_LEN, dh, KEY_LEN, TAG_LEN, x25519KeyPair } from '../primitives.js';
import type { KeyPair, Random } from '../primitives.js';
import type { CipherState } from './cipher-state.js';
import { SymmetricState } from './symmetric-state.js';

/** Noise §3: every handshake message, payload included, fits in 65535 bytes. */
export const MAX_NOISE_MESSAGE = 65535;

export type NoisePattern = 'XXpsk3' | 'KK';

type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';

interface PatternSpec {
  readonly protocolName: string;
  /** KK's `-> s` / `<- s` pre-messages: both static keys are in the transcript from the start. */
  readonly preMessageStatics: boolean;
  /** Message i is sent by the initiator when i is even. */
  readonly messages: readonly (readonly Token[])[];
  /** A PSK handshake (§9): also changes what the `e` token does. */
  readonly psk: boolean;
}

const PATTERNS: Readonly<Record<NoisePattern, PatternSpec>> = {
  XXpsk3: {
    protocolName: 'Noise_XXpsk3_25519_ChaChaPoly_SHA256',
    preMessageStatics: false,
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se', 'psk']],
    psk: true,
  },
  KK: {
    protocolName: 'Noise_KK_25519_ChaChaPoly_SHA256',
    preMessageStatics: true,
    messages: [
      ['e', 'es', 'ss'],
      ['e', 'ee', 'se'],
    ],
    psk: false,
  },
};

/**
 * Where a handshake is. `write-n` / `read-n`: message n (1-based) is next and it is this side's
 * turn to write it / the peer's turn (so this side must read it). `complete`: split() may be
 * called once; `split`: the keys were handed out; `failed`: terminal, every call refused.
 */
export type HandshakeStatus =
  | 'write-1'
  | 'read-1'
  | 'write-2'
  | 'read-2'
  | 'write-3'
  | 'read-3'
  | 'complete'
  | 'split'
  | 'failed';

export interface HandshakeOptions {
  readonly pattern: NoisePattern;
  readonly initiator: boolean;
  readonly prologue: Uint8Array;
  /** Local static X25519 key pair (copied; the caller keeps ownership of its buffers). */
  readonly s: KeyPair;
  /** Remote static public key: required for KK, refused for XXpsk3 (which learns it). */
  readonly rs?: Uint8Array | undefined;
  /** XXpsk3 only; may instead be given later with setPsk(). */
  readonly psk?: Uint8Array | undefined;
  /** Source of the ephemeral secret. Its output is owned, and wiped, by the handshake. */
  readonly random: Random;
  /** Fixed ephemeral key pair, for test vectors only (copied). */
  readonly e?: KeyPair | undefined;
}

/** Transport keys oriented for the local side (docs/protocol.md §7.1). */
export interface TransportCiphers {
  readonly send: CipherState;
  readonly receive: CipherState;
}

export interface Handshake {
  readonly pattern: NoisePattern;
  readonly initiator: boolean;
  readonly status: HandshakeStatus;
  readonly isComplete: boolean;
  /** The peer's static key (a copy) once known and not failed: KK from the start, XX once read. */
  readonly remoteStatic: Uint8Array | undefined;
  /** h after the last message (channel binding); throws bad-state before completion. */
  readonly handshakeHash: Uint8Array;
  /** Sets the XXpsk3 PSK before its token is reached; once only. */
  setPsk(psk: Uint8Array): void;
  writeMessage(payload?: Uint8Array): Uint8Array;
  /** Returns the payload; throws ProtocolError('auth-failed') on any bad input, then `failed`. */
  readMessage(message: Uint8Array): Uint8Array;
  /** Once, after completion: the initiator sends with c1, the responder with c2. */
  split(): TransportCiphers;
  /** Abandons the handshake (e.g. a timeout) and wipes its secrets; harmless when already over. */
  destroy(): void;
}

export function createHandshake(options: HandshakeOptions): Handshake {
  return new HandshakeState(options);
}

const AUTH_FAILED = 'handshake failed';

function copyKeyPair(pair: KeyPair, what: string): KeyPair {
  if (pair.secretKey.length !== DH_LEN || pair.publicKey.length !== DH_LEN) {
    throw new RangeError(`${what} key pair must be 32-byte X25519 keys`);
  }
  return { publicKey: pair.publicKey.slice(), secretKey: pair.secretKey.slice() };
}

class HandshakeState implements Handshake {
  readonly pattern: NoisePattern;
  readonly initiator: boolean;
  readonly #spec: PatternSpec;
  readonly #symmetric: SymmetricState;
  readonly #random: Random;
  readonly #s: KeyPair;
  #fixedE: KeyPair | undefined;
  #e: KeyPair | undefined;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  #psk: Uint8Array | undefined;
  #pskUsed = false;
  #status: HandshakeStatus;

  constructor(options: HandshakeOptions) {
    const spec = PATTERNS[options.pattern];
    this.pattern = options.pattern;
    this.initiator = options.initiator;
    this.#spec = spec;
    this.#random = options.random;

    if (spec.preMessageStatics) {
      if (options.rs === undefined || options.rs.length !== DH_LEN) {
        throw new RangeError(`${options.pattern} needs the 32-byte remote static key`);
      }
    } else if (options.rs !== undefined) {
      throw new RangeError(`${options.pattern} learns the remote static key; rs must not be given`);
    }
    if (!spec.psk && options.psk !== undefined) throw new RangeError(`${options.pattern} takes no psk`);
    if (options.psk !== undefined && options.psk.length !== KEY_LEN) throw new RangeError('psk must be 32 bytes');

    this.#s = copyKeyPair(options.s, 'static');
    this.#fixedE = options.e === undefined ? undefined : copyKeyPair(options.e, 'ephemeral');
    this.#rs = options.rs?.slice();
    this.#psk = options.psk?.slice();

    // §5.3 Initialize(): protocol name, prologue, then the pre-messages in pattern order
    // (initiator's first), so both sides hash the same sequence whatever their role.
    this.#symmetric = new SymmetricState(spec.protocolName);
    this.#symmetric.mixHash(options.prologue);
    if (spec.preMessageStatics && this.#rs !== undefined) {
      const [first, second] = this.initiator ? [this.#s.publicKey, this.#rs] : [this.#rs, this.#s.publicKey];
      this.#symmetric.mixHash(first);
      this.#symmetric.mixHash(second);
    }
    this.#status = this.initiator ? 'write-1' : 'read-1';
  }

  get status(): HandshakeStatus {
    return this.#status;
  }

  get isComplete(): boolean {
    return this.#status === 'complete' || this.#status === 'split';
  }

  get remoteStatic(): Uint8Array | undefined {
    return this.#status === 'failed' ? undefined : this.#rs?.slice();
  }

  get handshakeHash(): Uint8Array {
    if (!this.isComplete) throw new ProtocolError('bad-state', 'handshake not complete');
    return this.#symmetric.getHandshakeHash();
  }

  setPsk(psk: Uint8Array): void {
    if (!this.#spec.psk) throw new ProtocolError('bad-state', 'pattern takes no psk');
    if (this.#psk !== undefined || this.#pskUsed || this.#status === 'failed' || this.isComplete) {
      throw new ProtocolError('bad-state', 'psk can no longer be set');
    }
    if (psk.length !== KEY_LEN) throw new RangeError('psk must be 32 bytes');
    this.#psk = psk.slice();
  }

  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    // Preconditions first and without side effects: a caller's mistake (wrong turn, psk not yet
    // known, payload too large) leaves the handshake usable.
    const index = this.#turn('write');
    const tokens = this.#tokens(index);
    if (tokens.includes('psk') && this.#psk === undefined) throw new ProtocolError('bad-state', 'psk not set');
    if (this.#overhead(tokens) + payload.length > MAX_NOISE_MESSAGE) {
      throw new ProtocolError('limit', 'handshake message too large');
    }
    try {
      const parts: Uint8Array[] = [];
      for (const token of tokens) {
        if (token === 'e') {
          const e = this.#generateEphemeral();
          parts.push(e.publicKey.slice());
          this.#mixEphemeral(e.publicKey);
        } else if (token === 's') {
          parts.push(this.#symmetric.encryptAndHash(this.#s.publicKey));
        } else {
          this.#mixSecret(token);
        }
      }
      parts.push(this.#symmetric.encryptAndHash(payload));
      const message = concatBytes(...parts);
      this.#advance(index);
      return message;
    } catch (err) {
      // Past this point the transcript has moved on: nothing can be retried.
      this.#fail();
      throw err;
    }
  }

  readMessage(message: Uint8Array): Uint8Array {
    if (this.#status === 'failed' || this.isComplete) throw new ProtocolError('bad-state', 'handshake is over');
    try {
      const index = this.#turn('read');
      const tokens = this.#tokens(index);
      if (tokens.includes('psk') && this.#psk === undefined) throw new ProtocolError('bad-state', 'psk not set');
      // The pattern fixes every field but the payload, so the length alone rejects a truncated
      // or oversized message before any key agreement runs on it.
      if (message.length < this.#overhead(tokens) || message.length > MAX_NOISE_MESSAGE) {
        throw new ProtocolError('auth-failed', AUTH_FAILED);
      }
      // The length check above guarantees every slice below is in bounds.
      let offset = 0;
      const take = (n: number): Uint8Array => message.slice(offset, (offset += n));
      for (const token of tokens) {
        if (token === 'e') {
          const re = take(DH_LEN);
          this.#re = re;
          this.#mixEphemeral(re);
        } else if (token === 's') {
          const sealed = take(this.#symmetric.hasKey() ? DH_LEN + TAG_LEN : DH_LEN);
          this.#rs = this.#symmetric.decryptAndHash(sealed);
        } else {
          this.#mixSecret(token);
        }
      }
      const payload = this.#symmetric.decryptAndHash(message.subarray(offset));
      this.#advance(index);
      return payload;
    } catch (err) {
      this.#fail();
      // bad-state is the local caller's sequencing error; everything else is the peer's message
      // and gets the one generic answer.
      if (err instanceof ProtocolError && err.code === 'bad-state') throw err;
      throw new ProtocolError('auth-failed', AUTH_FAILED);
    }
  }

  split(): TransportCiphers {
    if (this.#status !== 'complete') throw new ProtocolError('bad-state', 'handshake not complete');
    const [c1, c2] = this.#symmetric.split();
    this.#status = 'split';
    return this.initiator ? { send: c1, receive: c2 } : { send: c2, receive: c1 };
  }

  destroy(): void {
    if (this.#status === 'split' || this.#status === 'failed') return;
    this.#fail();
  }

  /** Index of the next message if it is `turn`'s to process, else bad-state (no side effect). */
  #turn(turn: 'write' | 'read'): number {
    const status = this.#status;
    if (!status.startsWith(`${turn}-`)) throw new ProtocolError('bad-state', `not this side's turn to ${turn}`);
    return Number(status.slice(turn.length + 1)) - 1;
  }

  #tokens(index: number): readonly Token[] {
    const tokens = this.#spec.messages[index];
    if (tokens === undefined) throw new ProtocolError('bad-state', 'no such message');
    return tokens;
  }

  /** Bytes of a message besides the payload: keys, encrypted keys and tags. */
  #overhead(tokens: readonly Token[]): number {
    let hasKey = this.#symmetric.hasKey();
    let length = 0;
    for (const token of tokens) {
      if (token === 'e') {
        length += DH_LEN;
        if (this.#spec.psk) hasKey = true;
      } else if (token === 's') {
        length += hasKey ? DH_LEN + TAG_LEN : DH_LEN;
      } else {
        hasKey = true;
      }
    }
    return length + (hasKey ? TAG_LEN : 0);
  }

  #generateEphemeral(): KeyPair {
    if (this.#e !== undefined) throw new ProtocolError('bad-state', 'ephemeral already set');
    // The random output is used in place (not copied), so wiping #e wipes the only copy.
    const e = this.#fixedE ?? x25519KeyPair(this.#random);
    this.#fixedE = undefined;
    if (e.secretKey.length !== DH_LEN) throw new RangeError('random returned a wrong length');
    this.#e = e;
    return e;
  }

  /**
   * §9.2: in a PSK handshake `e` is also mixed into the key, so that the psk (mixed later)
   * never encrypts under a key independent of fresh ephemeral material.
   */
  #mixEphemeral(publicKey: Uint8Array): void {
    this.#symmetric.mixHash(publicKey);
    if (this.#spec.psk) this.#symmetric.mixKey(publicKey);
  }

  #mixSecret(token: Exclude<Token, 'e' | 's'>): void {
    if (token === 'psk') {
      const psk = this.#psk;
      if (psk === undefined) throw new ProtocolError('bad-state', 'psk not set');
      this.#symmetric.mixKeyAndHash(psk);
      wipe(psk);
      this.#psk = undefined;
      this.#pskUsed = true;
      return;
    }
    // es = DH(initiator's e, responder's s), se = DH(initiator's s, responder's e): the letters
    // name the initiator's key first, so the responder swaps which local key it uses.
    let local: KeyPair | undefined;
    let remote: Uint8Array | undefined;
    if (token === 'ee') [local, remote] = [this.#e, this.#re];
    else if (token === 'ss') [local, remote] = [this.#s, this.#rs];
    else if ((token === 'es') === this.initiator) [local, remote] = [this.#e, this.#rs];
    else [local, remote] = [this.#s, this.#re];
    if (local === undefined || remote === undefined) throw new ProtocolError('bad-state', 'missing key');
    const shared = dh(local.secretKey, remote);
    try {
      this.#symmetric.mixKey(shared);
    } finally {
      wipe(shared);
    }
  }

  #advance(index: number): void {
    const next = index + 1;
    if (next === this.#spec.messages.length) {
      this.#status = 'complete';
      // Only ck is needed from here on (for split); the key pairs and the psk are done.
      this.#wipeSecrets();
      return;
    }
    const weSend = (next % 2 === 0) === this.initiator;
    this.#status = `${weSend ? 'write' : 'read'}-${next + 1}` as HandshakeStatus;
  }

  #fail(): void {
    this.#status = 'failed';
    this.#wipeSecrets();
    this.#symmetric.clear();
  }

  #wipeSecrets(): void {
    wipe(this.#e?.secretKey, this.#fixedE?.secretKey, this.#s.secretKey, this.#psk);
    this.#e = undefined;
    this.#fixedE = undefined;
    this.#psk = undefined;
  }
}
