/**
 * `npm run backup -- --out FILE` and `npm run restore -- --in FILE` (issue 5 §5), for the
 * database the environment names (same as the server). The archive key derives from the master
 * key, or from `VITALOCK_BACKUP_PASSPHRASE` when set (Argon2id). Either way, restoring clinical
 * data also needs the master key that wraps the patient keys. Restore refuses a database that
 * already holds data. With the embedded database, stop the server first.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { argValue, openOperator, runCommand } from '../cli-support.js';
import { migrate } from '../db/migrate.js';
import { ConfigError } from '../errors.js';
import type { KeyProvider } from '../crypto/key-provider.js';
import { verifyAuditChain } from '../audit/verify.js';
import { createBackup, restoreBackup } from './backup.js';
import type { KeySource } from './archive-format.js';

export const BACKUP_PURPOSE = 'backup';

async function keySource(keys: KeyProvider): Promise<KeySource> {
  const passphrase = process.env.VITALOCK_BACKUP_PASSPHRASE;
  if (passphrase !== undefined && passphrase !== '') {
    if (passphrase.length < 12) throw new ConfigError('VITALOCK_BACKUP_PASSPHRASE must be at least 12 characters.');
    return { mode: 'passphrase', passphrase };
  }
  return { mode: 'master', backupKey: await keys.deriveKey(BACKUP_PURPOSE) };
}

const command = process.argv[2];

runCommand(async () => {
  if (command !== 'backup' && command !== 'restore') throw new ConfigError('usage: backup-cli.ts backup --out FILE | restore --in FILE');
  const file = argValue(process.argv, command === 'backup' ? '--out' : '--in');
  if (file === undefined) throw new ConfigError(command === 'backup' ? 'Say where to write the archive: npm run backup -- --out FILE' : 'Say which archive to restore: npm run restore -- --in FILE');
  const { keys, db } = await openOperator();
  try {
    const source = await keySource(keys);
    if (command === 'backup') {
      const partial = `${file}.partial`;
      const manifest = await createBackup(db, createWriteStream(partial, { mode: 0o600, flags: 'wx' }), source);
      await rename(partial, file);
      const rows = Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0);
      console.log(`backup written: ${rows} rows in ${Object.keys(manifest.tables).length} tables, audit head seq ${manifest.auditHead.seq}`);
      return 0;
    }
    await migrate(db);
    const manifest = await restoreBackup(db, createReadStream(file), source);
    const verdict = await verifyAuditChain(db, keys);
    const rows = Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0);
    console.log(`restored ${rows} rows from the backup of ${manifest.createdAt}; audit chain ${verdict.ok ? 'intact' : `BROKEN at seq ${verdict.firstBadSeq}`}`);
    return verdict.ok ? 0 : 1;
  } finally {
    await db.close();
  }
});
