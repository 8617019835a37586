/**
 * Chunks of readings (docs/vault.md §2.4): what one `readings` row holds once opened.
 *
 *     chunk = count (u16, 1 … 512) ‖ record₁ ‖ … ‖ record_count
 *
 * Each record is the protocol's record encoding (docs/protocol.md §8.2, `encodeRecord`), so a
 * stored reading is byte for byte what the sensor sent: FLOATs stay decimal. Records are of one
 * sensor and in strictly increasing seq order; the chunk's first seq is its row's key.
 * `decodeChunk` checks all of this and fails only with `DecodeError`.
 */
import { ByteReader, ByteWriter } from '../../src/core/bytes.js';
import { DecodeError } from '../../src/core/errors.js';
import { decodeRecord, encodeRecord, encodedRecordLength, type ReadingRecord } from '../../src/core/readings.js';

export const MAX_CHUNK_RECORDS = 512;

/** Encodes 1 … 512 records in strictly increasing seq order; `RangeError` otherwise. */
export function encodeChunk(records: readonly ReadingRecord[]): Uint8Array {
  if (records.length < 1 || records.length > MAX_CHUNK_RECORDS) {
    throw new RangeError(`a chunk holds 1..${MAX_CHUNK_RECORDS} records: ${records.length}`);
  }
  let length = 2;
  let previous = 0;
  for (const record of records) {
    if (!(record.seq > previous)) throw new RangeError('chunk records must be in strictly increasing seq order');
    previous = record.seq;
    length += encodedRecordLength(record);
  }
  const writer = new ByteWriter(length);
  writer.u16(records.length);
  for (const record of records) encodeRecord(record, writer);
  return writer.finish();
}

/** Decodes a chunk; `DecodeError` for anything but exactly one well-formed chunk. */
export function decodeChunk(bytes: Uint8Array): ReadingRecord[] {
  const reader = new ByteReader(bytes);
  const count = reader.u16();
  if (count < 1) throw new DecodeError('out-of-range', 'empty chunk');
  if (count > MAX_CHUNK_RECORDS) throw new DecodeError('too-large', 'chunk holds too many records');
  const records: ReadingRecord[] = [];
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const record = decodeRecord(reader);
    if (record.seq <= previous) throw new DecodeError('malformed', 'chunk records out of seq order');
    previous = record.seq;
    records.push(record);
  }
  reader.end();
  return records;
}

/**
 * Sorts records by seq, keeps the first of any repeated seq, and cuts them into chunks of at
 * most 512. Returns no chunk for no records.
 */
export function splitIntoChunks(records: readonly ReadingRecord[]): ReadingRecord[][] {
  const bySeq = new Map<number, ReadingRecord>();
  for (const record of records) if (!bySeq.has(record.seq)) bySeq.set(record.seq, record);
  const sorted = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const chunks: ReadingRecord[][] = [];
  for (let i = 0; i < sorted.length; i += MAX_CHUNK_RECORDS) chunks.push(sorted.slice(i, i + MAX_CHUNK_RECORDS));
  return chunks;
}
