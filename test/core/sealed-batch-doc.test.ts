/**
 * docs/protocol.md §11 and the code agree: the worked example (§11.5) is what the implementation
 * produces, it opens with the key shown, and the constants the text states are the code's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.js';
import { INGESTION_KEYS_SIGNATURE_CONTEXT, MAX_INGESTION_KEYS } from '../../src/core/ingestion-keys.js';
import { MDC } from '../../src/core/readings.js';
import {
  HPKE_AEAD_CHACHA20POLY1305,
  HPKE_KDF_SHA256,
  HPKE_KEM_X25519_SHA256,
  MAX_BATCH_CHECKPOINTS,
  MAX_BATCH_PLAINTEXT,
  MAX_BATCH_RECORDS,
  MAX_SEALED_BATCH,
  openSealedBatch,
  SEAL_INFO_LABEL,
} from '../../src/core/sealed-batch.js';
import { HUB_ID_LABEL } from '../../workers/vault/outbox.js';
import { currentSection, PROTOCOL_DOC, renderSealedBatchExamples, SEALED_BEGIN, SEALED_END } from '../support/protocol-examples.js';

const doc = readFileSync(PROTOCOL_DOC, 'utf8');
const spaced = (n: number) => n.toLocaleString('en-US').replace(/,/g, ' ');
const text = (label: Uint8Array) => new TextDecoder().decode(label);

describe('docs/protocol.md §11', () => {
  it('§11.5 worked example is exactly what the implementation produces (run `npm run docs:examples` after a change)', () => {
    expect(currentSection(doc, SEALED_BEGIN, SEALED_END)).toBe(renderSealedBatchExamples().trim());
  });

  it('the example sealed batch opens with the ingestion secret key shown, giving the records of §10.3', () => {
    const secret = /ingestion X25519 secret\s+([0-9a-f]{64})/.exec(doc)?.[1];
    const sealed = /Sealed batch, (\d+) bytes\s+```\n([0-9a-f\n]+)```/.exec(doc);
    expect(secret).toBeDefined();
    const bytes = fromHex(sealed![2]!.replace(/\n/g, ''));
    expect(bytes.length).toBe(Number(sealed![1]));
    const batch = openSealedBatch(bytes, fromHex(secret!));
    expect(batch.records.map((r) => [r.record.seq, r.record.code])).toEqual([
      [1, MDC.PULS_OXIM_SAT_O2],
      [2, MDC.TEMP_BODY],
    ]);
    expect(batch.checkpoints.map((c) => c.seq)).toEqual([2]);
  });

  it('states the suite, labels and bounds the code uses', () => {
    const hex4 = (n: number) => `\`0x${n.toString(16).padStart(4, '0')}\``;
    for (const id of [HPKE_KEM_X25519_SHA256, HPKE_KDF_SHA256, HPKE_AEAD_CHACHA20POLY1305]) expect(doc).toContain(hex4(id));
    expect(doc).toContain(`"${text(SEAL_INFO_LABEL)}"`);
    expect(doc).toContain(`"${text(INGESTION_KEYS_SIGNATURE_CONTEXT)}"`);
    expect(doc).toContain(`"${text(HUB_ID_LABEL)}"`);
    expect(doc).toContain(`**MAX_BATCH_RECORDS = ${MAX_BATCH_RECORDS}**`);
    expect(doc).toContain(`count u16 (1..${MAX_BATCH_RECORDS})`);
    expect(doc).toContain(`**MAX_BATCH_PLAINTEXT = ${spaced(MAX_BATCH_PLAINTEXT)}**`);
    expect(doc).toContain(`MAX_BATCH_PLAINTEXT + 73 = ${spaced(MAX_SEALED_BATCH)} bytes`);
    expect(doc).toContain(`checkpoints u8 (0..${MAX_BATCH_CHECKPOINTS})`);
    expect(doc).toContain(`count u8 (1..${MAX_INGESTION_KEYS})`);
  });
});
