/**
 * Known-answer tests for the Noise handshakes (docs/protocol.md §4 and §5) against the public
 * cacophony and snow vector suites: every vector whose protocol is exactly one of ours runs on
 * both sides with the fixed keys, and every handshake and transport message must match byte for
 * byte.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { createHandshake } from '../../src/core/noise/handshake.js';
import type { Handshake, NoisePattern, TransportCiphers } from '../../src/core/noise/handshake.js';
import { x25519PublicKey } from '../../src/core/primitives.js';
import type { KeyPair, Random } from '../../src/core/primitives.js';
import { readVectorFile, vectorsDir } from '../support/vectors.js';

const FILES = ['noise/cacophony.txt', 'noise/snow/snow.txt'] as const;

const PROTOCOLS: Readonly<Record<string, NoisePattern>> = {
  Noise_XXpsk3_25519_ChaChaPoly_SHA256: 'XXpsk3',
  Noise_KK_25519_ChaChaPoly_SHA256: 'KK',
};

interface NoiseVector {
  protocol_name: string;
  init_prologue: string;
  init_psks?: string[];
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_psks?: string[];
  resp_static?: string;
  resp_ephemeral: string;
  resp_remote_static?: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

interface Selected {
  readonly file: string;
  readonly index: number;
  readonly pattern: NoisePattern;
  readonly vector: NoiseVector;
}

const noRandom: Random = () => {
  throw new Error('vectors use fixed ephemeral keys');
};

function keyPair(secretHex: string | undefined): KeyPair {
  if (secretHex === undefined) throw new Error('vector lacks a static key');
  const secretKey = fromHex(secretHex);
  return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

function onlyPsk(psks: string[] | undefined): Uint8Array | undefined {
  if (psks === undefined || psks.length === 0) return undefined;
  expect(psks).toHaveLength(1);
  return fromHex(psks[0] as string);
}

function side(pattern: NoisePattern, v: NoiseVector, initiator: boolean): Handshake {
  const p = initiator ? 'init' : 'resp';
  const rs = v[`${p}_remote_static`];
  return createHandshake({
    pattern,
    initiator,
    prologue: fromHex(v[`${p}_prologue`]),
    s: keyPair(v[`${p}_static`]),
    rs: rs === undefined ? undefined : fromHex(rs),
    psk: onlyPsk(v[`${p}_psks`]),
    random: noRandom,
    e: keyPair(v[`${p}_ephemeral`]),
  });
}

function select(): Selected[] {
  const selected: Selected[] = [];
  for (const file of FILES) {
    const text = readVectorFile(file);
    if (text === undefined) throw new Error(`vector file ${file} is missing from ${vectorsDir() ?? '?'}`);
    const { vectors } = JSON.parse(text) as { vectors: NoiseVector[] };
    vectors.forEach((vector, index) => {
      const pattern = PROTOCOLS[vector.protocol_name];
      if (pattern !== undefined) selected.push({ file, index, pattern, vector });
    });
  }
  return selected;
}

function runVector(pattern: NoisePattern, v: NoiseVector): void {
  const initiator = side(pattern, v, true);
  const responder = side(pattern, v, false);
  const handshakeLength = pattern === 'KK' ? 2 : 3;
  expect(v.messages.length).toBeGreaterThanOrEqual(handshakeLength);

  let ciphers: { initiator: TransportCiphers; responder: TransportCiphers } | undefined;
  v.messages.forEach((m, i) => {
    // The suites alternate directions throughout, transport messages included.
    const fromInitiator = i % 2 === 0;
    const payload = fromHex(m.payload);
    if (i < handshakeLength) {
      const [sender, receiver] = fromInitiator ? [initiator, responder] : [responder, initiator];
      const message = sender.writeMessage(payload);
      expect(toHex(message), `handshake message ${i}`).toBe(m.ciphertext);
      expect(toHex(receiver.readMessage(message)), `payload ${i}`).toBe(m.payload);
      if (i === handshakeLength - 1) {
        expect(initiator.isComplete && responder.isComplete).toBe(true);
        const hash = toHex(initiator.handshakeHash);
        expect(toHex(responder.handshakeHash)).toBe(hash);
        // snow's vectors carry no handshake_hash; cacophony's do.
        if (v.handshake_hash !== undefined) expect(hash).toBe(v.handshake_hash);
        expect(toHex(initiator.remoteStatic ?? new Uint8Array(0))).toBe(toHex(keyPair(v.resp_static).publicKey));
        expect(toHex(responder.remoteStatic ?? new Uint8Array(0))).toBe(toHex(keyPair(v.init_static).publicKey));
        ciphers = { initiator: initiator.split(), responder: responder.split() };
      }
      return;
    }
    if (ciphers === undefined) throw new Error('handshake did not complete');
    const [send, receive] = fromInitiator
      ? [ciphers.initiator.send, ciphers.responder.receive]
      : [ciphers.responder.send, ciphers.initiator.receive];
    const ad = new Uint8Array(0);
    const ciphertext = send.encryptWithAd(ad, payload);
    expect(toHex(ciphertext), `transport message ${i}`).toBe(m.ciphertext);
    expect(toHex(receive.decryptWithAd(ad, ciphertext)), `transport payload ${i}`).toBe(m.payload);
  });
}

const dir = vectorsDir();

if (dir === undefined) {
  const reason =
    'Noise vectors skipped: vectors folder not found (set VITALOCK_VECTORS or place it at ../shared/vectors)';
  console.log(reason);
  describe.skip(reason, () => {
    it('runs the cacophony and snow vectors', () => undefined);
  });
} else {
  describe('Noise test vectors (cacophony, snow)', () => {
    const selected = select();

    it('finds at least one vector per pattern', () => {
      for (const pattern of Object.values(PROTOCOLS)) {
        expect(selected.filter((s) => s.pattern === pattern).length, pattern).toBeGreaterThanOrEqual(1);
      }
    });

    for (const { file, index, pattern, vector } of selected) {
      it(`${vector.protocol_name} (${file} #${index})`, () => {
        runVector(pattern, vector);
      });
    }
  });
}
