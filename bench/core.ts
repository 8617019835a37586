/**
 * Core suite: the protocol of docs/protocol.md run by src/core, both ends in one process.
 *
 * - Handshakes: full pairing (§4: CPace + Noise XXpsk3, certificate verification on the hub,
 *   first TRANSPORT frame opened) and reconnection (§5: Noise KK), timed run by run.
 * - Transport: one application message per frame through the whole path of §2.2/§7/§8 —
 *   sensor encodeMessage → TransportSession.seal → Fragmenter (ATT MTU 247) → Reassembler →
 *   hub TransportSession.open → decodeMessage — against a baseline of the bare AEAD
 *   (`chacha20poly1305(key, nonce, ad).encrypt` + `.decrypt` of the same plaintext, straight from
 *   @noble/ciphers), interleaved round by round.
 * - The same path per stage, and a few primitives, to say where the time goes.
 *
 * Payloads. No application message encodes to exactly 32 bytes (the smallest READINGS, one numeric
 * record, is 29), so:
 * - `*_32` uses READINGS with one numeric record: 29-byte plaintext, the frame a sensor sends per
 *   reading; `*_244` uses a READINGS "vitals snapshot" (4 numeric records, a blood-pressure
 *   compound of 3, an ECG strip of 29 samples) that encodes to exactly 244 bytes. Both include the
 *   codec; the baseline encrypts exactly the same plaintext bytes.
 * - `*_raw_32` / `*_raw_244` push raw plaintext of exactly 32 / 244 bytes through the same path
 *   without the codec (seal → fragment → reassemble → open).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { verifyCertificate } from '../src/core/certificate.js';
import { chunkSizeForMtu, Fragmenter, MAX_MESSAGE, Reassembler } from '../src/core/framing.js';
import { decodeMessage, encodeMessage, type AppMessage, type ReadingsMessage, type StatusMessage } from '../src/core/messages.js';
import { acceptReconnect, HubPairing, HubReconnect, SensorPairing, type SessionKeys } from '../src/core/pairing.js';
import { dh, x25519KeyPair } from '../src/core/primitives.js';
import { MDC, type ReadingRecord } from '../src/core/readings.js';
import { passcodeToPrs } from '../src/core/setup-code.js';
import { TransportSession, TRANSPORT_HEADER_LEN } from '../src/core/transport.js';
import { TrustStore } from '../src/core/trust-store.js';
import { createManufacturerCa, manufactureDevice } from '../sensor/identity.js';
import { putSpread } from './support/figures.js';
import { BENCH_ATT_MTU, PipeLink } from './support/link.js';
import {
  benchConfig,
  compareInterleaved,
  invert,
  measure,
  measureRoundRobin,
  measureRuns,
  scale,
  sink,
  type BenchConfig,
  type Workload,
  type WorkloadOptions,
} from './support/measure.js';
import { seededRandom } from './support/random.js';
import type { Figures } from './support/suite.js';

export const name = 'core';

export const notes: Readonly<Record<string, string>> = {
  pairing_ms:
    'One full pairing, both ends in process over an in-memory fragmenting link: PAIR_1 → PAIR_2 → hub verifies the certificate (§6.3) → PAIR_3 → sensor seals STATUS, hub opens and decodes it. Median of individually timed runs.',
  pairing_runs: 'How many pairings were timed for pairing_ms.',
  kk_handshake_ms: 'One Noise KK reconnection (§5), sensor with 1 bond: KK_1 → KK_2 → both sides hold session keys. Median of individually timed runs.',
  kk_handshake_4_bonds_ms: 'KK reconnection when the sensor holds 4 bonds and the caller is the last it tries (worst case of §5).',
  kk_handshake_runs: 'How many KK handshakes were timed for kk_handshake_ms.',
  certificate_verify_ms: "Hub's certificate verification (§6.3: decode, trust store, Ed25519 verify, validity, revocation, key binding), per certificate.",
  x25519_ops_per_s: 'X25519 shared-secret computations per second through the core wrapper `dh` (noble).',
  transport_frames_per_s_32:
    'Frames/s through the full sensor → hub path for READINGS with one numeric record (29-byte plaintext; see payload_bytes_32): encode → seal → fragment (MTU 247) → reassemble → open → decode.',
  transport_frames_per_s_244: 'Same full path for a READINGS vitals snapshot encoding to exactly 244 bytes (a 2-fragment frame at MTU 247).',
  transport_path_us_32: 'µs per frame of the full path of transport_frames_per_s_32 (the numerator of the overhead ratio).',
  transport_path_us_244: 'µs per frame of the full path of transport_frames_per_s_244.',
  aead_baseline_us_32: 'µs for raw noble chacha20poly1305(key, nonce, ad).encrypt + .decrypt of the same 29-byte plaintext (9-byte AD): the ratio baseline.',
  aead_baseline_us_244: 'µs for raw noble encrypt + decrypt of the same 244-byte plaintext (9-byte AD): the ratio baseline.',
  transport_overhead_ratio_32:
    'Full path time per frame / raw AEAD encrypt+decrypt time, same plaintext, interleaved: subject/baseline per round (back-to-back samples), median and min/max over rounds. Target ≤ 1.5.',
  transport_overhead_ratio_244: 'As transport_overhead_ratio_32, for the 244-byte snapshot.',
  transport_frames_per_s_raw_32: 'Frames/s for exactly 32 bytes of raw plaintext, no codec: seal → fragment → reassemble → open.',
  transport_frames_per_s_raw_244: 'Frames/s for exactly 244 bytes of raw plaintext, no codec.',
  transport_overhead_ratio_raw_32: 'Raw 32-byte path (no codec) / raw AEAD encrypt+decrypt of 32 bytes, interleaved: the cost of framing + TransportSession alone.',
  transport_overhead_ratio_raw_244: 'Raw 244-byte path (no codec) / raw AEAD encrypt+decrypt of 244 bytes, interleaved.',
  payload_bytes_32: 'Plaintext bytes of the *_32 message (READINGS, one numeric record).',
  payload_bytes_244: 'Plaintext bytes of the *_244 message (READINGS vitals snapshot).',
  frame_bytes_32: 'TRANSPORT frame bytes of the *_32 message (9 header + plaintext + 16 tag).',
  frame_bytes_244: 'TRANSPORT frame bytes of the *_244 message.',
  fragments_per_frame_32: 'GATT fragments per *_32 frame at ATT MTU 247 (241-byte chunks).',
  fragments_per_frame_244: 'GATT fragments per *_244 frame at ATT MTU 247.',
  reassembly_fragments_per_s: 'Reassembler.push throughput, fragments/s, for MAX_MESSAGE (4096-byte) messages at MTU 247 (17 fragments each, incl. the final copy-out).',
  fragmenter_fragments_per_s: 'Fragmenter.fragment throughput, fragments/s, for the same 4096-byte messages.',
  stage_us_32_encode: 'Stage cost, µs per frame (*_32 message; stages measured round-robin, each in isolation): encodeMessage.',
  stage_us_32_seal: 'Stage cost, µs per frame: TransportSession.seal (sensor).',
  stage_us_32_aead_seal: 'Stage cost, µs per frame: raw noble encrypt of the same plaintext (compare with stage_us_32_seal).',
  stage_us_32_fragment: 'Stage cost, µs per frame: Fragmenter.fragment at MTU 247.',
  stage_us_32_reassemble: 'Stage cost, µs per frame: Reassembler.push of all the frame’s fragments.',
  stage_us_32_open: 'Stage cost, µs per frame: TransportSession.open (hub), frames pre-sealed untimed.',
  stage_us_32_aead_open: 'Stage cost, µs per frame: raw noble decrypt of the same ciphertext (compare with stage_us_32_open).',
  stage_us_32_decode: 'Stage cost, µs per frame: decodeMessage.',
  stage_us_244_encode: 'As stage_us_32_encode, for the 244-byte snapshot.',
  stage_us_244_seal: 'As stage_us_32_seal, for the 244-byte snapshot.',
  stage_us_244_aead_seal: 'As stage_us_32_aead_seal, for the 244-byte snapshot.',
  stage_us_244_fragment: 'As stage_us_32_fragment, for the 244-byte snapshot (2 fragments).',
  stage_us_244_reassemble: 'As stage_us_32_reassemble, for the 244-byte snapshot (2 fragments).',
  stage_us_244_open: 'As stage_us_32_open, for the 244-byte snapshot.',
  stage_us_244_aead_open: 'As stage_us_32_aead_open, for the 244-byte snapshot.',
  stage_us_244_decode: 'As stage_us_32_decode, for the 244-byte snapshot.',
};

// ── The world: one CA, one sensor it made, one hub that trusts it ───────────────────────────────

/** A fixed clock (2025-01-01): certificates are valid, sessions never age during a run. */
const NOW_MS = Date.UTC(2025, 0, 1);
const HUB_LABEL = 'Bench hub';
/** A session refuses frames past 2^20 + 2^16 counters (§7.3): stay well below within a sample. */
const MAX_FRAMES_PER_SESSION = 1_000_000;
/** Pre-sealed frames are held in memory for the open stage: bound them. */
const MAX_PRESEALED = 300_000;

const random = seededRandom('vitalock-bench-core');
const ca = createManufacturerCa('Bench Medical', random);
const device = manufactureDevice({ ca, random, nowMs: NOW_MS });
const trustStore = new TrustStore([{ name: ca.name, publicKey: ca.publicKey }]);
const hubIdentity = x25519KeyPair(random);
const chunkSize = chunkSizeForMtu(BENCH_ATT_MTU);

const STATUS: StatusMessage = {
  type: 'status',
  battery: 87,
  flags: { tamper: false, clockNotSet: false, storageNearlyFull: false },
  held: 0,
  lastSeq: 0,
  deviceTimeMs: NOW_MS,
};

function numeric(seq: number, code: number, unit: number, mantissa: number, exponent: number): ReadingRecord {
  return { seq, timeMs: NOW_MS + seq * 1000, code, unit, flags: 0, value: { kind: 1, value: { mantissa, exponent } } };
}

/** The frame a sensor sends per reading: READINGS with one heart-rate record (29 bytes). */
const ONE_READING: ReadingsMessage = { type: 'readings', records: [numeric(1, MDC.ECG_HEART_RATE, MDC.DIM_BEAT_PER_MIN, 72, 0)] };

/** A vitals snapshot that encodes to exactly 244 bytes: 3 + 4 × 26 + 47 + 90. */
const SNAPSHOT: ReadingsMessage = {
  type: 'readings',
  records: [
    numeric(101, MDC.ECG_HEART_RATE, MDC.DIM_BEAT_PER_MIN, 72, 0),
    numeric(102, MDC.PULS_OXIM_SAT_O2, MDC.DIM_PERCENT, 98, 0),
    numeric(103, MDC.RESP_RATE, MDC.DIM_RESP_PER_MIN, 16, 0),
    numeric(104, MDC.TEMP_BODY, MDC.DIM_DEGC, 366, -1),
    {
      seq: 105,
      timeMs: NOW_MS + 105_000,
      code: MDC.PRESS_BLD_NONINV,
      unit: MDC.DIM_MMHG,
      flags: 0,
      value: {
        kind: 2,
        components: [
          { code: MDC.PRESS_BLD_NONINV_SYS, value: { mantissa: 120, exponent: 0 } },
          { code: MDC.PRESS_BLD_NONINV_DIA, value: { mantissa: 80, exponent: 0 } },
          { code: MDC.PRESS_BLD_NONINV_MEAN, value: { mantissa: 93, exponent: 0 } },
        ],
      },
    },
    {
      seq: 106,
      timeMs: NOW_MS + 106_000,
      code: MDC.ECG_ELEC_POTL_II,
      unit: MDC.DIM_MILLI_VOLT,
      flags: 0,
      value: {
        kind: 3,
        intervalUs: 4000,
        scale: { mantissa: 5, exponent: -3 },
        samples: Int16Array.from({ length: 29 }, (_, i) => Math.round(400 * Math.sin(i / 3))),
      },
    },
  ],
};

// ── Handshakes ──────────────────────────────────────────────────────────────────────────────────

interface PairedKeys {
  readonly hub: SessionKeys;
  readonly sensor: SessionKeys;
}

function session(keys: SessionKeys): TransportSession {
  return new TransportSession({ sendKey: keys.sendKey, receiveKey: keys.receiveKey, createdAtMs: NOW_MS });
}

/** §4 end to end, until the hub has opened the sensor's first frame (the hub's "bonded", §4.4). */
function pairOnce(): PairedKeys {
  const link = new PipeLink();
  const hub = new HubPairing(hubIdentity, passcodeToPrs(device.passcode), random);
  const sensor = new SensorPairing(device.staticKey, device.certificate, passcodeToPrs(device.passcode), random);

  const pair2 = sensor.consumePair1(link.hubToSensor.carry(hub.start(), NOW_MS));
  const { certificate, remoteStatic } = hub.consumePair2(link.sensorToHub.carry(pair2, NOW_MS));
  verifyCertificate(certificate, { trustStore, nowMs: NOW_MS, remoteStaticKey: remoteStatic });
  const { pair3, keys: hubKeys } = hub.finish(HUB_LABEL);
  const { keys: sensorKeys } = sensor.consumePair3(link.hubToSensor.carry(pair3, NOW_MS));

  const sensorSession = session(sensorKeys);
  const hubSession = session(hubKeys);
  const frame = sensorSession.seal(encodeMessage(STATUS), NOW_MS);
  const first = decodeMessage(hubSession.open(link.sensorToHub.carry(frame, NOW_MS), NOW_MS));
  if (first.type !== 'status') throw new Error('bench: first frame after pairing is not STATUS');
  return { hub: hubKeys, sensor: sensorKeys };
}

/** §5 end to end; `bonds` is the sensor's bond list (the hub's key somewhere in it). */
function reconnectOnce(bonds: readonly Uint8Array[]): PairedKeys {
  const link = new PipeLink();
  const hub = new HubReconnect(hubIdentity, device.staticKey.publicKey, random);
  const accepted = acceptReconnect(device.staticKey, bonds, link.hubToSensor.carry(hub.start(), NOW_MS), random);
  const hubKeys = hub.consumeKk2(link.sensorToHub.carry(accepted.kk2, NOW_MS));
  return { hub: hubKeys, sensor: accepted.keys };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkKeysMatch(keys: PairedKeys, what: string): void {
  if (!sameBytes(keys.hub.sendKey, keys.sensor.receiveKey) || !sameBytes(keys.sensor.sendKey, keys.hub.receiveKey)) {
    throw new Error(`bench: ${what} produced mismatched session keys`);
  }
}

// ── Transport workloads ─────────────────────────────────────────────────────────────────────────

interface Ends {
  sensor: TransportSession;
  hub: TransportSession;
}

function freshEnds(keys: PairedKeys): Ends {
  return { sensor: session(keys.sensor), hub: session(keys.hub) };
}

/** The full path of one application message, sensor → hub (what the ratio's numerator times). */
function fullPath(keys: PairedKeys, message: AppMessage): Workload {
  let ends = freshEnds(keys);
  let fragmenter = new Fragmenter(chunkSize);
  let reassembler = new Reassembler();
  return {
    prepare() {
      ends = freshEnds(keys);
      fragmenter = new Fragmenter(chunkSize);
      reassembler = new Reassembler();
    },
    run(iterations) {
      const { sensor, hub } = ends;
      let acc = 0;
      for (let i = 0; i < iterations; i++) {
        const frame = sensor.seal(encodeMessage(message), NOW_MS);
        let delivered: Uint8Array | undefined;
        for (const fragment of fragmenter.fragment(frame)) delivered = reassembler.push(fragment, NOW_MS);
        const decoded = decodeMessage(hub.open(delivered as Uint8Array, NOW_MS));
        acc += decoded.type.length;
      }
      sink.value ^= acc;
    },
  };
}

/** The same path for raw plaintext bytes: no codec. */
function rawPath(keys: PairedKeys, plaintext: Uint8Array): Workload {
  let ends = freshEnds(keys);
  let fragmenter = new Fragmenter(chunkSize);
  let reassembler = new Reassembler();
  return {
    prepare() {
      ends = freshEnds(keys);
      fragmenter = new Fragmenter(chunkSize);
      reassembler = new Reassembler();
    },
    run(iterations) {
      const { sensor, hub } = ends;
      let acc = 0;
      for (let i = 0; i < iterations; i++) {
        const frame = sensor.seal(plaintext, NOW_MS);
        let delivered: Uint8Array | undefined;
        for (const fragment of fragmenter.fragment(frame)) delivered = reassembler.push(fragment, NOW_MS);
        acc ^= hub.open(delivered as Uint8Array, NOW_MS)[0] as number;
      }
      sink.value ^= acc;
    },
  };
}

/** Fixed AEAD inputs shaped like a transport frame's: 32-byte key, 12-byte nonce, 9-byte AD. */
const AEAD_KEY = random(32);
const AEAD_NONCE = new Uint8Array(12);
const AEAD_AD = new Uint8Array(TRANSPORT_HEADER_LEN);
AEAD_AD[0] = 0x10;

/** The baseline: raw noble encrypt + decrypt of `plaintext`, nothing else. */
function aeadBaseline(plaintext: Uint8Array): Workload {
  return {
    run(iterations) {
      let acc = 0;
      for (let i = 0; i < iterations; i++) {
        const ciphertext = chacha20poly1305(AEAD_KEY, AEAD_NONCE, AEAD_AD).encrypt(plaintext);
        const opened = chacha20poly1305(AEAD_KEY, AEAD_NONCE, AEAD_AD).decrypt(ciphertext);
        acc ^= opened[0] as number;
      }
      sink.value ^= acc;
    },
  };
}

/** Per-stage workloads of the full path for one message. */
function stages(keys: PairedKeys, message: AppMessage): Record<string, { workload: Workload; options?: WorkloadOptions }> {
  const plaintext = encodeMessage(message);
  const frame = freshEnds(keys).sensor.seal(plaintext, NOW_MS);
  const fragments = new Fragmenter(chunkSize).fragment(frame);
  const aeadCiphertext = chacha20poly1305(AEAD_KEY, AEAD_NONCE, AEAD_AD).encrypt(plaintext);
  let sealer = freshEnds(keys).sensor;
  let opener = freshEnds(keys).hub;
  let presealed: Uint8Array[] = [];
  const fragmenter = new Fragmenter(chunkSize);
  const reassembler = new Reassembler();
  return {
    encode: {
      workload: {
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc ^= encodeMessage(message)[0] as number;
          sink.value ^= acc;
        },
      },
    },
    seal: {
      options: { maxIterations: MAX_FRAMES_PER_SESSION },
      workload: {
        prepare() {
          sealer = freshEnds(keys).sensor;
        },
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc ^= sealer.seal(plaintext, NOW_MS)[8] as number;
          sink.value ^= acc;
        },
      },
    },
    aead_seal: {
      workload: {
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc ^= chacha20poly1305(AEAD_KEY, AEAD_NONCE, AEAD_AD).encrypt(plaintext)[0] as number;
          sink.value ^= acc;
        },
      },
    },
    fragment: {
      workload: {
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc ^= fragmenter.fragment(frame).length;
          sink.value ^= acc;
        },
      },
    },
    reassemble: {
      workload: {
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            for (const fragment of fragments) {
              const delivered = reassembler.push(fragment, NOW_MS);
              if (delivered !== undefined) acc ^= delivered.length;
            }
          }
          sink.value ^= acc;
        },
      },
    },
    open: {
      options: { maxIterations: MAX_PRESEALED },
      workload: {
        prepare(n) {
          const ends = freshEnds(keys);
          opener = ends.hub;
          presealed = new Array<Uint8Array>(n);
          for (let i = 0; i < n; i++) presealed[i] = ends.sensor.seal(plaintext, NOW_MS);
        },
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc ^= opener.open(presealed[i] as Uint8Array, NOW_MS)[0] as number;
          sink.value ^= acc;
        },
      },
    },
    aead_open: {
      workload: {
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc ^= chacha20poly1305(AEAD_KEY, AEAD_NONCE, AEAD_AD).decrypt(aeadCiphertext)[0] as number;
          sink.value ^= acc;
        },
      },
    },
    decode: {
      workload: {
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc += decodeMessage(plaintext).type.length;
          sink.value ^= acc;
        },
      },
    },
  };
}

/** Checks, untimed, that the path really delivers the message intact before it is timed. */
function checkRoundTrip(keys: PairedKeys, message: AppMessage): void {
  const { sensor, hub } = freshEnds(keys);
  const link = new PipeLink();
  const plaintext = encodeMessage(message);
  const opened = hub.open(link.sensorToHub.carry(sensor.seal(plaintext, NOW_MS), NOW_MS), NOW_MS);
  if (!sameBytes(encodeMessage(decodeMessage(opened)), plaintext)) throw new Error('bench: transport path does not round-trip');
}

const perSecond = (msPerOp: number): number => 1000 / msPerOp;

function progress(what: string): void {
  process.stderr.write(`  core: ${what}\n`);
}

// ── The suite ───────────────────────────────────────────────────────────────────────────────────

export async function run(): Promise<Figures> {
  const config: BenchConfig = benchConfig();
  const figures: Figures = {};

  // Handshakes.
  progress('pairing');
  const keys = pairOnce();
  checkKeysMatch(keys, 'pairing');
  const pairing = measureRuns(() => void pairOnce(), config);
  putSpread(figures, 'pairing_ms', pairing);
  figures.pairing_runs = pairing.n;

  progress('KK handshake');
  const oneBond = [hubIdentity.publicKey];
  checkKeysMatch(reconnectOnce(oneBond), 'KK');
  const kk = measureRuns(() => void reconnectOnce(oneBond), config);
  putSpread(figures, 'kk_handshake_ms', kk);
  figures.kk_handshake_runs = kk.n;
  const fourBonds = [x25519KeyPair(random).publicKey, x25519KeyPair(random).publicKey, x25519KeyPair(random).publicKey, hubIdentity.publicKey];
  checkKeysMatch(reconnectOnce(fourBonds), 'KK with 4 bonds');
  putSpread(figures, 'kk_handshake_4_bonds_ms', measureRuns(() => void reconnectOnce(fourBonds), config));

  progress('certificate verification, X25519');
  putSpread(
    figures,
    'certificate_verify_ms',
    measure(
      {
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            acc ^= verifyCertificate(device.certificate, { trustStore, nowMs: NOW_MS, remoteStaticKey: device.staticKey.publicKey }).manufacturer.length;
          }
          sink.value ^= acc;
        },
      },
      config,
    ),
  );
  const peer = x25519KeyPair(random).publicKey;
  putSpread(
    figures,
    'x25519_ops_per_s',
    invert(
      measure(
        {
          run(n) {
            let acc = 0;
            for (let i = 0; i < n; i++) acc ^= dh(hubIdentity.secretKey, peer)[0] as number;
            sink.value ^= acc;
          },
        },
        config,
      ),
      perSecond,
    ),
  );

  // Transport: full path vs bare AEAD, interleaved.
  const cases: readonly { label: string; message: AppMessage }[] = [
    { label: '32', message: ONE_READING },
    { label: '244', message: SNAPSHOT },
  ];
  for (const { label, message } of cases) {
    progress(`transport ${label}`);
    checkRoundTrip(keys, message);
    const plaintext = encodeMessage(message);
    const frameBytes = TRANSPORT_HEADER_LEN + plaintext.length + 16;
    figures[`payload_bytes_${label}`] = plaintext.length;
    figures[`frame_bytes_${label}`] = frameBytes;
    figures[`fragments_per_frame_${label}`] = Math.ceil(frameBytes / chunkSize);
    const cmp = compareInterleaved(aeadBaseline(plaintext), fullPath(keys, message), config, {
      subject: { maxIterations: MAX_FRAMES_PER_SESSION },
    });
    putSpread(figures, `transport_frames_per_s_${label}`, invert(cmp.subject, perSecond));
    putSpread(figures, `transport_path_us_${label}`, scale(cmp.subject, 1000));
    putSpread(figures, `aead_baseline_us_${label}`, scale(cmp.baseline, 1000));
    putSpread(figures, `transport_overhead_ratio_${label}`, cmp.ratio, 3);
  }
  for (const size of [32, 244]) {
    progress(`transport raw ${size}`);
    const plaintext = random(size);
    const cmp = compareInterleaved(aeadBaseline(plaintext), rawPath(keys, plaintext), config, {
      subject: { maxIterations: MAX_FRAMES_PER_SESSION },
    });
    putSpread(figures, `transport_frames_per_s_raw_${size}`, invert(cmp.subject, perSecond));
    putSpread(figures, `transport_overhead_ratio_raw_${size}`, cmp.ratio, 3);
  }

  // Fragmentation on its own, with the largest message.
  progress('fragmentation');
  const big = random(MAX_MESSAGE);
  const bigFragments = new Fragmenter(chunkSize).fragment(big);
  const reassembler = new Reassembler();
  const reassembly = measure(
    {
      run(n) {
        let acc = 0;
        for (let i = 0; i < n; i++) {
          for (const fragment of bigFragments) {
            const delivered = reassembler.push(fragment, NOW_MS);
            if (delivered !== undefined) acc ^= delivered.length;
          }
        }
        sink.value ^= acc;
      },
    },
    config,
  );
  putSpread(figures, 'reassembly_fragments_per_s', invert(reassembly, (ms) => (1000 * bigFragments.length) / ms));
  const fragmenter = new Fragmenter(chunkSize);
  const fragmentation = measure(
    {
      run(n) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc ^= fragmenter.fragment(big).length;
        sink.value ^= acc;
      },
    },
    config,
  );
  putSpread(figures, 'fragmenter_fragments_per_s', invert(fragmentation, (ms) => (1000 * bigFragments.length) / ms));

  // Where a frame's time goes.
  for (const { label, message } of cases) {
    progress(`stages ${label}`);
    const measured = measureRoundRobin(stages(keys, message), config);
    for (const [stage, s] of Object.entries(measured)) putSpread(figures, `stage_us_${label}_${stage}`, scale(s, 1000), 3);
  }

  return figures;
}
