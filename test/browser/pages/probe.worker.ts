/**
 * A probe worker for the browser smoke suite: the hub side of the protocol (`HubSession` from
 * src/core) in a dedicated module worker, storing readings in a real IndexedDB database through
 * `idb`, exposed to the page with comlink — the shape the vault worker will have.
 *
 * Fragments cross the worker boundary as transferred ArrayBuffers. Readings are acknowledged only
 * after their IndexedDB transaction has committed, as the protocol requires (§8.3).
 */
import * as Comlink from 'comlink';
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { toHex } from '../../../src/core/bytes.js';
import { chunkSizeForMtu } from '../../../src/core/framing.js';
import { HubSession, type HubOutput } from '../../../src/core/hub-session.js';
import { x25519KeyPair, type Random } from '../../../src/core/primitives.js';
import { decodeRecordBytes, encodeRecordBytes, type ReadingRecord } from '../../../src/core/readings.js';
import { TrustStore } from '../../../src/core/trust-store.js';
import type { HubInit, HubReadBack, HubStep, TimerProbe } from './harness-api.js';

interface ProbeDb extends DBSchema {
  readings: { key: [string, number]; value: { deviceId: string; seq: number; bytes: ArrayBuffer } };
}

const random: Random = (n) => crypto.getRandomValues(new Uint8Array(n));

let session: HubSession | undefined;
let db: IDBPDatabase<ProbeDb> | undefined;
let dbName = '';
let deviceId = '';
const totals = { stored: 0, transactions: 0, opened: 0, failures: [] as string[], security: [] as string[] };

/** A standalone copy, so transferring it detaches nothing else. */
function owned(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

async function commit(records: readonly ReadingRecord[]): Promise<void> {
  if (db === undefined) throw new Error('init() first');
  const tx = db.transaction('readings', 'readwrite');
  await Promise.all([
    ...records.map((r) => tx.store.put({ deviceId, seq: r.seq, bytes: owned(encodeRecordBytes(r)) })),
    tx.done,
  ]);
  totals.stored += records.length;
  totals.transactions++;
}

/** Acts on hub outputs in order; writes become fragments for the sensor. */
async function apply(outputs: readonly HubOutput[], writes: ArrayBuffer[]): Promise<void> {
  for (const out of outputs) {
    switch (out.type) {
      case 'write':
        writes.push(owned(out.fragment));
        break;
      case 'store': {
        await commit(out.records);
        const s = session;
        if (s) await apply(s.committed(out.records.map((r) => r.seq), Date.now()), writes);
        break;
      }
      case 'bonded':
        deviceId = toHex(out.bond.deviceId);
        break;
      case 'open':
        totals.opened++;
        break;
      case 'failed':
        totals.failures.push(out.failure.kind);
        break;
      case 'security':
        totals.security.push(out.event);
        break;
      default:
        break;
    }
  }
}

function step(writes: ArrayBuffer[]): HubStep {
  const result: HubStep = {
    writes,
    open: session?.isOpen ?? false,
    state: session?.state ?? 'none',
    stored: totals.stored,
    transactions: totals.transactions,
    failures: [...totals.failures],
    security: [...totals.security],
  };
  return Comlink.transfer(result, writes);
}

function requireSession(): HubSession {
  if (session === undefined) throw new Error('init() first');
  return session;
}

let timerFiredAt: number | undefined;
let timerStartedAt: number | undefined;

const probe = {
  ping(): { ready: true; now: number; hasIndexedDb: boolean } {
    return { ready: true, now: Date.now(), hasIndexedDb: typeof indexedDB !== 'undefined' };
  },

  /** A fresh hub (new static key) and a fresh, empty database. */
  async init(options: HubInit): Promise<void> {
    db?.close();
    session?.close();
    dbName = options.dbName;
    await deleteDB(dbName);
    db = await openDB<ProbeDb>(dbName, 1, {
      upgrade(database) {
        database.createObjectStore('readings', { keyPath: ['deviceId', 'seq'] });
      },
    });
    Object.assign(totals, { stored: 0, transactions: 0, opened: 0, failures: [], security: [] });
    session = new HubSession({
      identity: x25519KeyPair(random),
      trustStore: new TrustStore([{ name: options.caName, publicKey: new Uint8Array(options.caPublicKey) }]),
      random,
      hubLabel: 'Browser probe hub',
      chunkSize: chunkSizeForMtu(options.attMtu),
    });
  },

  async pair(passcode: string): Promise<HubStep> {
    const writes: ArrayBuffer[] = [];
    await apply(requireSession().pair(new TextEncoder().encode(passcode), Date.now()), writes);
    return step(writes);
  },

  /** Notifications from the sensor's `data` characteristic, in order. */
  async receive(fragments: ArrayBuffer[]): Promise<HubStep> {
    const s = requireSession();
    const writes: ArrayBuffer[] = [];
    for (const f of fragments) await apply(s.receiveFragment(new Uint8Array(f), Date.now()), writes);
    return step(writes);
  },

  async tick(): Promise<HubStep> {
    const writes: ArrayBuffer[] = [];
    await apply(requireSession().tick(Date.now()), writes);
    return step(writes);
  },

  /** Reads the database back through a new connection: what a reload of the worker would see. */
  async readBack(): Promise<HubReadBack> {
    db?.close();
    db = undefined;
    const fresh = await openDB<ProbeDb>(dbName);
    try {
      const count = await fresh.count('readings');
      const rows = await fresh.getAll('readings');
      const records = rows.map((row) => decodeRecordBytes(new Uint8Array(row.bytes)));
      return {
        dbName,
        count,
        deviceIds: [...new Set(rows.map((r) => r.deviceId))],
        seqs: records.map((r) => r.seq),
        mantissas: records.map((r) => (r.value.kind === 1 && typeof r.value.value !== 'string' ? r.value.value.mantissa : NaN)),
      };
    } finally {
      fresh.close();
    }
  },

  /** A plain `setTimeout` inside the worker, to see whether the page's fake clock reaches it. */
  startTimer(ms: number): void {
    timerFiredAt = undefined;
    timerStartedAt = Date.now();
    setTimeout(() => {
      timerFiredAt = Date.now();
    }, ms);
  },

  timer(): TimerProbe {
    return { startedAt: timerStartedAt, firedAt: timerFiredAt, now: Date.now() };
  },
};

export type ProbeApi = typeof probe;

Comlink.expose(probe);
