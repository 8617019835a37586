/**
 * The decided provenance spans of a device come back in numeric order of their end. The columns
 * are read as text (bigint → string), and `ORDER BY to_seq` would then name the text output
 * column: "10" sorts before "9". A regression test for that trap.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../../server/db/database.js';
import { migrate } from '../../../server/db/migrate.js';
import { spansCovering } from '../../../server/ingest/provenance-chain.js';

let db: Database;

beforeEach(async () => {
  db = await openDatabase({ engine: 'pglite' });
  await migrate(db);
});

afterEach(async () => {
  await db.close();
});

it('spans overlapping a range are ordered by their end as numbers, not as text', async () => {
  const spans: [number, number][] = [
    [0, 9],
    [9, 10],
    [10, 100],
    [100, 1000],
  ];
  for (const [from, to] of spans) {
    await db.query("INSERT INTO ingest_provenance_spans (device_id, from_seq, to_seq, status) VALUES ('d1', $1, $2, 'verified')", [from, to]);
  }
  const got = await spansCovering(db, 'd1', 1, 2000);
  expect(got.map((s) => s.toSeq)).toEqual([9, 10, 100, 1000]);
});
