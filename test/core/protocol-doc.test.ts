/**
 * docs/protocol.md and the code agree: the worked examples (§10) are what the implementation
 * produces today, and every constant the document states is the one the code uses.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { decodeCertificate } from '../../src/core/certificate.js';
import { MAX_MESSAGE, REASSEMBLY_TIMEOUT_MS, MessageKind } from '../../src/core/framing.js';
import { CONTROL_CHARACTERISTIC_UUID, DATA_CHARACTERISTIC_UUID, DATA_QUEUE_FRAGMENTS, VITALOCK_SERVICE_UUID } from '../../src/core/gatt.js';
import { AppMessageType } from '../../src/core/messages.js';
import { HANDSHAKE_TIMEOUT_MS, KK_MESSAGE_LEN, PAIR_1_LEN } from '../../src/core/pairing.js';
import { MDC } from '../../src/core/readings.js';
import { WINDOW_SIZE } from '../../src/core/replay-window.js';
import { parseQrPayload } from '../../src/core/setup-code.js';
import { MAX_PLAINTEXT, REJECT_AFTER_MESSAGES, REJECT_AFTER_MS, REKEY_AFTER_MESSAGES, REKEY_AFTER_MS } from '../../src/core/transport.js';
import { CHECKPOINT_INTERVAL } from '../../src/core/checkpoint.js';
import { FIRST_LOCKOUT_MS, FREE_ATTEMPTS, MAX_LOCKOUT_MS, PAIRING_WINDOW_MS } from '../../sensor/pairing-policy.js';
import { MAX_BONDS } from '../../sensor/bond-list.js';
import { currentExamples, PROTOCOL_DOC, renderExamples } from '../support/protocol-examples.js';

const doc = readFileSync(PROTOCOL_DOC, 'utf8');
const spaced = (n: number) => n.toLocaleString('en-US').replace(/,/g, ' ');

describe('docs/protocol.md', () => {
  it('§10 worked examples are exactly what the implementation produces (run `npm run docs:examples` after a change)', () => {
    expect(currentExamples(doc)).toBe(renderExamples().trim());
  });

  it('the example certificate in §10 decodes to the fields shown', () => {
    const hex = /Device certificate \(§6\.1\), (\d+) bytes\s+```\n([0-9a-f\n]+)```/.exec(doc);
    expect(hex).not.toBeNull();
    const cert = decodeCertificate(fromHex(hex![2]!.replace(/\n/g, '')));
    expect(cert.bytes.length).toBe(Number(hex![1]));
    expect(cert.model).toBe('VL-M1 multiparameter');
    expect(doc).toContain(toHex(cert.staticKey));
  });

  it('§2 states the GATT UUIDs, queue bound and fragment limits the code uses', () => {
    for (const uuid of [VITALOCK_SERVICE_UUID, CONTROL_CHARACTERISTIC_UUID, DATA_CHARACTERISTIC_UUID]) expect(doc).toContain(`\`${uuid}\``);
    expect(doc).toContain(`bounded (${DATA_QUEUE_FRAGMENTS} fragments)`);
    expect(doc).toContain(`**MAX_MESSAGE = ${MAX_MESSAGE}**`);
    expect(doc).toContain(`**REASSEMBLY_TIMEOUT = ${spaced(REASSEMBLY_TIMEOUT_MS)} ms**`);
  });

  it('§2.3 lists every envelope kind with its code', () => {
    const table: Record<string, number> = { PAIR_1: MessageKind.Pair1, PAIR_2: MessageKind.Pair2, PAIR_3: MessageKind.Pair3, KK_1: MessageKind.Kk1, KK_2: MessageKind.Kk2, TRANSPORT: MessageKind.Transport, FAIL: MessageKind.Fail };
    for (const [name, code] of Object.entries(table)) expect(doc).toMatch(new RegExp(`\\| \`0x${code.toString(16).padStart(2, '0')}\` \\| ${name} \\|`));
  });

  it('§3.3 example QR payload parses', () => {
    const qr = /Example \(device[^)]*\): `(VL1:[0-9A-F]{16}:\d{9})`/s.exec(doc);
    expect(qr).not.toBeNull();
    expect(parseQrPayload(qr![1]!).passcode).toBe('27049315');
  });

  it('§4 and §5 state the message sizes, timeouts and limits of the pairing policy', () => {
    expect(doc).toContain(`${PAIR_1_LEN} bytes.`);
    expect(doc).toContain(`(16). ${KK_MESSAGE_LEN} bytes.`);
    expect(doc).toContain(`**${HANDSHAKE_TIMEOUT_MS / 1000} s**`);
    expect(doc).toContain(`pairing window** of ${PAIRING_WINDOW_MS / 1000} s`);
    expect(doc).toContain(`after ${FREE_ATTEMPTS} consecutive failed attempts`);
    expect(doc).toContain(`lockout of ${FIRST_LOCKOUT_MS / 1000} s`);
    expect(doc).toContain(`up to ${MAX_LOCKOUT_MS / 3_600_000} h`);
    expect(doc).toContain(`At most ${MAX_BONDS} bonds`);
  });

  it('§7 states the transport limits and the replay window size', () => {
    expect(doc).toContain(`REKEY_AFTER_MESSAGES = 2^20`);
    expect(REKEY_AFTER_MESSAGES).toBe(2 ** 20);
    expect(REJECT_AFTER_MESSAGES).toBe(2 ** 20 + 2 ** 16);
    expect(doc).toContain(`REKEY_AFTER_MS = ${spaced(REKEY_AFTER_MS)} ms`);
    expect(doc).toContain(`REJECT_AFTER_MS = ${spaced(REJECT_AFTER_MS)} ms`);
    expect(doc).toContain(`**WINDOW_SIZE = ${WINDOW_SIZE}**`);
    expect(doc).toContain(`Maximum plaintext: MAX_MESSAGE − 9 − 16 = ${MAX_PLAINTEXT} bytes`);
  });

  it('§8 lists every application message type and the nomenclature codes', () => {
    const names: Record<string, number> = { READINGS: AppMessageType.Readings, ACK: AppMessageType.Ack, BACKFILL: AppMessageType.Backfill, TIME_SET: AppMessageType.TimeSet, STATUS: AppMessageType.Status, STATUS_REQ: AppMessageType.StatusReq, CHECKPOINT: AppMessageType.Checkpoint, UNBOND: AppMessageType.Unbond, ERROR: AppMessageType.Error };
    for (const [name, code] of Object.entries(names)) expect(doc).toMatch(new RegExp(`\\| \`0x${code.toString(16).padStart(2, '0')}\` \\| ${name} \\|`));
    for (const code of Object.values(MDC)) expect(doc).toContain(String(code));
    expect(doc).toContain(`Every ${CHECKPOINT_INTERVAL} records`);
  });
});
