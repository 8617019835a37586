/**
 * Typed errors of the core (docs/protocol.md §1.3).
 *
 * Decoders throw `DecodeError`; protocol state machines throw `ProtocolError`. Neither carries
 * secret material, and the messages are fixed strings, so an error may be logged or shown as is.
 * What goes on the wire after a failure is decided by the state machines (§4.6: one generic
 * failure), never by these messages.
 */

export type DecodeErrorCode =
  | 'truncated'
  | 'trailing-bytes'
  | 'malformed'
  | 'out-of-range'
  | 'too-large'
  | 'unknown-type'
  | 'unsupported-version';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type ProtocolErrorCode =
  /** An AEAD tag did not verify, a DH output was degenerate, or a handshake did not authenticate. */
  | 'auth-failed'
  /** A message arrived that the state machine does not accept in its current state. */
  | 'bad-state'
  /** A transport counter was already seen or is older than the replay window. */
  | 'replay'
  /** A session hit a hard limit (messages or age) and must be replaced by a new handshake. */
  | 'session-expired'
  /** A certificate failed verification; `reason` on `CertificateError` says which check. */
  | 'certificate'
  /** Reassembly or message limits exceeded. */
  | 'limit'
  /** The peer is not known (no bond). */
  | 'unknown-peer';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}
