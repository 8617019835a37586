/**
 * The worked examples of docs/protocol.md §10, computed by the implementation from fixed keys
 * and randomness. `npm run docs:examples` rewrites the section; test/core/protocol-doc.test.ts
 * fails when the document and the code disagree.
 *
 * Every "random" byte comes from a seeded stream whose draws are recorded, so intermediate
 * secrets (the CPace scalars, the ephemeral keys) can be printed too — for a firmware engineer
 * checking an implementation step by step. Never use these keys for anything else.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { chainStart, RecordChain, signCheckpoint } from '../../src/core/checkpoint.js';
import { deviceIdHex, issueCertificate, keyId } from '../../src/core/certificate.js';
import { cpaceGenerator, cpaceStart, pairingChannelIdentifier } from '../../src/core/cpace.js';
import { chunkSizeForMtu, Fragmenter } from '../../src/core/framing.js';
import { encodeMessage, type AppMessage } from '../../src/core/messages.js';
import { acceptReconnect, HubPairing, HubReconnect, SensorPairing, SID_LEN } from '../../src/core/pairing.js';
import { ed25519KeyPair, x25519KeyPair } from '../../src/core/primitives.js';
import { encodeRecordBytes, MDC, type ReadingRecord } from '../../src/core/readings.js';
import { formatSetupCode, passcodeToPrs, qrPayload, verhoeffCheckDigit } from '../../src/core/setup-code.js';
import { TransportSession } from '../../src/core/transport.js';
import { issueRevocationList } from '../../src/core/trust-store.js';
import { currentIngestionKey, decodeIngestionKeyList, issueIngestionKeyList } from '../../src/core/ingestion-keys.js';
import { batchRecord, encodeBatch, hpkeSetupBaseSender, sealBatchBytes, sealInfo } from '../../src/core/sealed-batch.js';
import { hubIdFor } from '../../workers/vault/outbox.js';
import { recordingRandom } from './deterministic-random.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROTOCOL_DOC = path.join(root, 'docs', 'protocol.md');
const BEGIN = '<!-- examples:begin -->';
const END = '<!-- examples:end -->';


/** Hex wrapped at 64 characters, for readable Markdown. */
function hex(bytes: Uint8Array): string {
  const h = toHex(bytes);
  const lines: string[] = [];
  for (let i = 0; i < h.length; i += 64) lines.push(h.slice(i, i + 64));
  return lines.join('\n');
}

export function renderExamples(): string {
  const { random } = recordingRandom('vitalock protocol examples v1');
  const nowMs = Date.UTC(2026, 0, 15, 9, 30, 0);
  const out: string[] = [];
  const block = (title: string, body: string): void => {
    out.push(`#### ${title}\n\n\`\`\`\n${body}\n\`\`\`\n`);
  };

  // ── §10.1 identities ──────────────────────────────────────────────────────────────────────
  const ca = ed25519KeyPair(random);
  const deviceId = random(8);
  const sensorStatic = x25519KeyPair(random);
  const sensorSigning = ed25519KeyPair(random);
  const hubStatic = x25519KeyPair(random);
  const passcode = '27049315';
  const cert = issueCertificate(ca.secretKey, {
    deviceId,
    model: 'VL-M1 multiparameter',
    serial: 'VL-000123',
    staticKey: sensorStatic.publicKey,
    signingKey: sensorSigning.publicKey,
    notBefore: Math.floor(nowMs / 1000),
    notAfter: Math.floor(nowMs / 1000) + 3650 * 86_400,
  });
  out.push('### 10.1 Keys, certificate and setup code\n');
  out.push('Fixed test keys (secret keys are shown so each step can be reproduced; never ship them).\n');
  block(
    'Keys',
    [
      `CA Ed25519 secret      ${toHex(ca.secretKey)}`,
      `CA Ed25519 public      ${toHex(ca.publicKey)}`,
      `CA key id              ${toHex(keyId(ca.publicKey))}`,
      `device id              ${deviceIdHex(deviceId)}`,
      `sensor X25519 secret   ${toHex(sensorStatic.secretKey)}`,
      `sensor X25519 public   ${toHex(sensorStatic.publicKey)}`,
      `sensor Ed25519 secret  ${toHex(sensorSigning.secretKey)}`,
      `sensor Ed25519 public  ${toHex(sensorSigning.publicKey)}`,
      `hub X25519 secret      ${toHex(hubStatic.secretKey)}`,
      `hub X25519 public      ${toHex(hubStatic.publicKey)}`,
    ].join('\n'),
  );
  block(
    'Setup code (§3)',
    [
      `passcode               ${passcode}`,
      `Verhoeff check digit   ${verhoeffCheckDigit(passcode)}`,
      `printed setup code     ${formatSetupCode(passcode)}`,
      `QR payload             ${qrPayload(deviceId, passcode)}`,
    ].join('\n'),
  );
  block(`Device certificate (§6.1), ${cert.bytes.length} bytes`, hex(cert.bytes));

  // ── §10.2 pairing ─────────────────────────────────────────────────────────────────────────
  const hubRandom = recordingRandom('vitalock protocol examples v1 / hub');
  const sensorRandom = recordingRandom('vitalock protocol examples v1 / sensor');
  const hub = new HubPairing(hubStatic, passcodeToPrs(passcode), hubRandom.random);
  const sensor = new SensorPairing(sensorStatic, cert.bytes, passcodeToPrs(passcode), sensorRandom.random);
  const pair1 = hub.start();
  const pair2 = sensor.consumePair1(pair1);
  hub.consumePair2(pair2);
  const { pair3, keys: hubKeys } = hub.finish('Ward 3 tablet');
  const sensorResult = sensor.consumePair3(pair3);
  // The hub drew sid, then its CPace scalar ya, then its Noise ephemeral; the sensor drew yb, then e.
  const [sid, ya, hubE] = hubRandom.draws as [Uint8Array, Uint8Array, Uint8Array];
  const [yb, sensorE] = sensorRandom.draws as [Uint8Array, Uint8Array];
  const prs = passcodeToPrs(passcode);
  const ci = pairingChannelIdentifier();
  const hubCpace = cpaceStart({ prs, ci, sid, ad: utf8('hub'), random, scalar: ya });
  const isk = hubCpace.finish(pair2.subarray(1, 33), utf8('sensor'), 'initiator');
  out.push('### 10.2 Pairing (§4)\n');
  block(
    'CPace (§4.2)',
    [
      `PRS                    ${toHex(prs)}`,
      `CI                     ${toHex(ci)}`,
      `sid                    ${toHex(sid.subarray(0, SID_LEN))}`,
      `generator g            ${toHex(cpaceGenerator(prs, ci, sid))}`,
      `ya (hub scalar)        ${toHex(ya)}`,
      `Ya                     ${toHex(pair1.subarray(1 + SID_LEN, 1 + SID_LEN + 32))}`,
      `yb (sensor scalar)     ${toHex(yb)}`,
      `Yb                     ${toHex(pair2.subarray(1, 33))}`,
      `ISK                    ${toHex(isk)}`,
      `psk = ISK[0..32]       ${toHex(isk.subarray(0, 32))}`,
      `hub Noise e secret     ${toHex(hubE)}`,
      `sensor Noise e secret  ${toHex(sensorE)}`,
    ].join('\n'),
  );
  block(`PAIR_1, ${pair1.length} bytes`, hex(pair1));
  block(`PAIR_2, ${pair2.length} bytes`, hex(pair2));
  block(`PAIR_3 (hub label "Ward 3 tablet"), ${pair3.length} bytes`, hex(pair3));
  block(
    'Session keys after Split() (§7.1)',
    [
      `hub → sensor key       ${toHex(hubKeys.sendKey)}`,
      `sensor → hub key       ${toHex(hubKeys.receiveKey)}`,
      `handshake hash         ${toHex(hubKeys.handshakeHash)}`,
    ].join('\n'),
  );
  const sensorSession = new TransportSession({ ...sensorResult.keys, createdAtMs: nowMs });
  const hubSession = new TransportSession({ ...hubKeys, createdAtMs: nowMs });
  const status: AppMessage = {
    type: 'status',
    battery: 87,
    flags: { tamper: false, clockNotSet: true, storageNearlyFull: false },
    held: 0,
    lastSeq: 0,
    deviceTimeMs: nowMs,
  };
  const statusFrame = sensorSession.seal(encodeMessage(status), nowMs);
  hubSession.open(statusFrame, nowMs);
  block(`First frame from the sensor: STATUS (battery 87 %, clock not set), plaintext`, hex(encodeMessage(status)));
  block(`… as TRANSPORT frame, counter 0, ${statusFrame.length} bytes`, hex(statusFrame));

  // ── §10.3 readings ────────────────────────────────────────────────────────────────────────
  const spo2: ReadingRecord = {
    seq: 1,
    timeMs: nowMs + 1000,
    code: MDC.PULS_OXIM_SAT_O2,
    unit: MDC.DIM_PERCENT,
    flags: 0,
    value: { kind: 1, value: { mantissa: 98, exponent: 0 } },
  };
  const temp: ReadingRecord = {
    seq: 2,
    timeMs: nowMs + 1000,
    code: MDC.TEMP_BODY,
    unit: MDC.DIM_DEGC,
    flags: 0,
    value: { kind: 1, value: { mantissa: 366, exponent: -1 } },
  };
  const bp: ReadingRecord = {
    seq: 3,
    timeMs: nowMs + 2000,
    code: MDC.PRESS_BLD_NONINV,
    unit: MDC.DIM_MMHG,
    flags: 0,
    value: {
      kind: 2,
      components: [
        { code: MDC.PRESS_BLD_NONINV_SYS, value: { mantissa: 118, exponent: 0 } },
        { code: MDC.PRESS_BLD_NONINV_DIA, value: { mantissa: 76, exponent: 0 } },
        { code: MDC.PRESS_BLD_NONINV_MEAN, value: { mantissa: 90, exponent: 0 } },
      ],
    },
  };
  const ecg: ReadingRecord = {
    seq: 4,
    timeMs: nowMs + 2000,
    code: MDC.ECG_ELEC_POTL_II,
    unit: MDC.DIM_MILLI_VOLT,
    flags: 0,
    value: { kind: 3, intervalUs: 4000, scale: { mantissa: 5, exponent: -3 }, samples: Int16Array.from([0, 12, 40, 210, -35, 8]) },
  };
  out.push('### 10.3 Readings (§8)\n');
  block('Record: SpO2 98 % (seq 1)', hex(encodeRecordBytes(spo2)));
  block('Record: body temperature 36.6 °C (seq 2)', hex(encodeRecordBytes(temp)));
  block('Record: blood pressure 118/76 (mean 90) mmHg (seq 3)', hex(encodeRecordBytes(bp)));
  block('Record: ECG lead II, 6 samples at 250 Hz, 0.005 mV per LSB (seq 4)', hex(encodeRecordBytes(ecg)));
  const readings = encodeMessage({ type: 'readings', records: [spo2, temp, bp, ecg] });
  const readingsFrame = sensorSession.seal(readings, nowMs + 2000);
  block(`READINGS with the four records, plaintext`, hex(readings));
  block(`… as TRANSPORT frame, counter 1`, hex(readingsFrame));
  const fragments = new Fragmenter(chunkSizeForMtu(23)).fragment(readingsFrame);
  block(`… in ${fragments.length} fragments at ATT MTU 23 (§2.2), one per line`, fragments.map(toHex).join('\n'));
  const ack = hubSession.seal(encodeMessage({ type: 'ack', upTo: 4 }), nowMs + 2100);
  block('ACK up to 4, TRANSPORT frame from the hub, counter 0', hex(ack));

  // ── §10.4 checkpoint ──────────────────────────────────────────────────────────────────────
  const chain = new RecordChain(deviceId);
  for (const r of [spo2, temp, bp, ecg]) chain.append(encodeRecordBytes(r));
  out.push('### 10.4 Hash chain and checkpoint (§8.4)\n');
  block(
    'Chain over records 1–4',
    [
      `head_0                 ${toHex(chainStart(deviceId))}`,
      `head_4                 ${toHex(chain.head)}`,
      `signature (seq 4)      ${toHex(signCheckpoint(sensorSigning.secretKey, deviceId, 4, chain.head))}`,
    ].join('\n'),
  );

  // ── §10.5 reconnection ────────────────────────────────────────────────────────────────────
  const kkRandom = recordingRandom('vitalock protocol examples v1 / kk');
  const reconnect = new HubReconnect(hubStatic, sensorStatic.publicKey, kkRandom.random);
  const kk1 = reconnect.start();
  const accepted = acceptReconnect(sensorStatic, [hubStatic.publicKey], kk1, kkRandom.random);
  const kkKeys = reconnect.consumeKk2(accepted.kk2);
  out.push('### 10.5 Reconnection (§5)\n');
  block(
    'KK ephemerals',
    [`hub e secret           ${toHex(kkRandom.draws[0] as Uint8Array)}`, `sensor e secret        ${toHex(kkRandom.draws[1] as Uint8Array)}`].join('\n'),
  );
  block(`KK_1, ${kk1.length} bytes`, hex(kk1));
  block(`KK_2, ${accepted.kk2.length} bytes`, hex(accepted.kk2));
  block(
    'Session keys',
    [`hub → sensor key       ${toHex(kkKeys.sendKey)}`, `sensor → hub key       ${toHex(kkKeys.receiveKey)}`].join('\n'),
  );

  // ── §10.6 revocation ──────────────────────────────────────────────────────────────────────
  out.push('### 10.6 Revocation list (§6.2)\n');
  block(
    `Revoking ${deviceIdHex(deviceId)}`,
    hex(issueRevocationList(ca.secretKey, { issuedAt: Math.floor(nowMs / 1000) + 86_400, deviceIds: [deviceId] })),
  );
  return out.join('\n');
}

/** The document with its examples section replaced by `examples`. */
export function withExamples(doc: string, examples: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error('docs/protocol.md has no examples markers');
  return `${doc.slice(0, begin + BEGIN.length)}\n${examples}\n${doc.slice(end)}`;
}

export function currentExamples(doc: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  return doc.slice(begin + BEGIN.length, end).trim();
}

// ── §11.5 sealed batch ──────────────────────────────────────────────────────────────────────────

export const SEALED_BEGIN = '<!-- sealed-batch-examples:begin -->';
export const SEALED_END = '<!-- sealed-batch-examples:end -->';

/** The worked example of §11: the §10.1 identities, the records of §10.3 and the checkpoint of §10.4, sealed. */
export function renderSealedBatchExamples(): string {
  // The same draws, in the same order, as §10.1: the same CA, device and sensor keys.
  const { random } = recordingRandom('vitalock protocol examples v1');
  const nowMs = Date.UTC(2026, 0, 15, 9, 30, 0);
  const ca = ed25519KeyPair(random);
  const deviceId = random(8);
  const sensorStatic = x25519KeyPair(random);
  const sensorSigning = ed25519KeyPair(random);
  const hubStatic = x25519KeyPair(random);
  const cert = issueCertificate(ca.secretKey, {
    deviceId,
    model: 'VL-M1 multiparameter',
    serial: 'VL-000123',
    staticKey: sensorStatic.publicKey,
    signingKey: sensorSigning.publicKey,
    notBefore: Math.floor(nowMs / 1000),
    notAfter: Math.floor(nowMs / 1000) + 3650 * 86_400,
  });
  const cloud = recordingRandom('vitalock protocol examples v1 / cloud');
  const deployment = ed25519KeyPair(cloud.random);
  const ingestion = x25519KeyPair(cloud.random);
  const nowS = Math.floor(nowMs / 1000);
  const list = issueIngestionKeyList(deployment.secretKey, 1, [{ publicKey: ingestion.publicKey, notBefore: nowS, notAfter: nowS + 365 * 86_400 }]);
  const key = currentIngestionKey(decodeIngestionKeyList(list), nowMs + 10_000);

  const records: ReadingRecord[] = [
    { seq: 1, timeMs: nowMs + 1000, code: MDC.PULS_OXIM_SAT_O2, unit: MDC.DIM_PERCENT, flags: 0, value: { kind: 1, value: { mantissa: 98, exponent: 0 } } },
    { seq: 2, timeMs: nowMs + 1000, code: MDC.TEMP_BODY, unit: MDC.DIM_DEGC, flags: 0, value: { kind: 1, value: { mantissa: 366, exponent: -1 } } },
  ];
  const chain = new RecordChain(deviceId);
  for (const r of records) chain.append(encodeRecordBytes(r));
  const hub = recordingRandom('vitalock protocol examples v1 / outbox');
  const batchId = hub.random(16);
  const batch = encodeBatch({
    batchId,
    hubId: hubIdFor(hubStatic.publicKey),
    createdAtMs: nowMs + 2000,
    deviceId,
    certificate: cert.bytes,
    records: records.map((r) => batchRecord(r)),
    checkpoints: [{ seq: 2, head: chain.head, signature: signCheckpoint(sensorSigning.secretKey, deviceId, 2, chain.head) }],
  });
  const sealed = sealBatchBytes({ keyId: key.keyId, publicKey: key.publicKey }, batchId, batch, hub.random);
  const ephemeral = hub.draws[1] as Uint8Array;
  const schedule = hpkeSetupBaseSender(key.publicKey, sealInfo(key.keyId, batchId), () => ephemeral.slice()).context.keySchedule;

  const out: string[] = [];
  const block = (title: string, body: string): void => {
    out.push(`#### ${title}\n\n\`\`\`\n${body}\n\`\`\`\n`);
  };
  block(
    'Cloud keys (§11.3)',
    [
      `deployment Ed25519 secret  ${toHex(deployment.secretKey)}`,
      `deployment Ed25519 public  ${toHex(deployment.publicKey)}`,
      `ingestion X25519 secret    ${toHex(ingestion.secretKey)}`,
      `ingestion X25519 public    ${toHex(ingestion.publicKey)}`,
      `ingestion key id           ${toHex(key.keyId)}`,
    ].join('\n'),
  );
  block(`Ingestion key list, version 1, valid one year, ${list.length} bytes`, hex(list));
  block(
    'Batch (§11.2): records 1–2 of §10.3 (corrected time = device time), checkpoint at seq 2',
    [`batch id                   ${toHex(batchId)}`, `hub id                     ${toHex(hubIdFor(hubStatic.publicKey))}`, `head_2                     ${toHex(chain.head)}`].join('\n'),
  );
  block(`… encoded, ${batch.length} bytes`, hex(batch));
  block(
    'HPKE (§11.1)',
    [
      `info                       ${toHex(sealInfo(key.keyId, batchId))}`,
      `ephemeral secret           ${toHex(ephemeral)}`,
      `enc                        ${toHex(sealed.subarray(25, 57))}`,
      `key                        ${toHex(schedule.key)}`,
      `base nonce                 ${toHex(schedule.baseNonce)}`,
    ].join('\n'),
  );
  block(`Sealed batch, ${sealed.length} bytes`, hex(sealed));
  return out.join('\n');
}

/** The document with the section between `begin` and `end` replaced by `content`. */
export function withSection(doc: string, begin: string, end: string, content: string): string {
  const b = doc.indexOf(begin);
  const e = doc.indexOf(end);
  if (b < 0 || e < b) throw new Error(`docs/protocol.md has no ${begin} markers`);
  return `${doc.slice(0, b + begin.length)}\n${content}\n${doc.slice(e)}`;
}

export function currentSection(doc: string, begin: string, end: string): string {
  return doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf(end)).trim();
}

if (process.argv.includes('--write')) {
  const doc = readFileSync(PROTOCOL_DOC, 'utf8');
  writeFileSync(PROTOCOL_DOC, withSection(withExamples(doc, renderExamples()), SEALED_BEGIN, SEALED_END, renderSealedBatchExamples()));
  console.log('docs/protocol.md §10 and §11.5 updated');
}
