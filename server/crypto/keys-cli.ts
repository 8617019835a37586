/**
 * `npm run keys:rotate` (issue 5 §5): rewraps every patient data key under a new master key.
 *
 * - Embedded default (key in `<data dir>/master.key`): a new key is written to `master.key.next`,
 *   the database is rotated, then `master.key.next` replaces `master.key`. If interrupted, run it
 *   again: an existing `master.key.next` is reused and finished.
 * - Key from the environment: set `VITALOCK_NEW_MASTER_KEY` as well; after the command succeeds,
 *   deploy it as `VITALOCK_MASTER_KEY` and restart every instance.
 * Stop the server first (the embedded database allows one process; other instances would keep
 * the old key).
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { openOperator, runCommand } from '../cli-support.js';
import { ConfigError } from '../errors.js';
import { formatMasterKey, generateMasterKey, LocalKeyProvider, parseMasterKey } from './key-provider.js';
import { rotateMasterKey } from './rotate-keys.js';

runCommand(async () => {
  const { config, keys, db } = await openOperator();
  try {
    let next: LocalKeyProvider;
    let pendingFile: string | undefined;
    const fromEnv = process.env.VITALOCK_NEW_MASTER_KEY;
    if (fromEnv !== undefined && fromEnv !== '') {
      next = new LocalKeyProvider(parseMasterKey(fromEnv));
    } else if (config.masterKeySource !== 'environment' && config.masterKeyFile !== undefined) {
      pendingFile = `${config.masterKeyFile}.next`;
      if (existsSync(pendingFile)) next = new LocalKeyProvider(parseMasterKey(await readFile(pendingFile, 'utf8')));
      else {
        const key = generateMasterKey();
        await writeFile(pendingFile, formatMasterKey(key) + '\n', { mode: 0o600, flag: 'wx' });
        next = new LocalKeyProvider(key);
      }
    } else {
      throw new ConfigError('The master key comes from VITALOCK_MASTER_KEY: set VITALOCK_NEW_MASTER_KEY to the new key (32 bytes, hex or base64) and run again.');
    }
    const result = await rotateMasterKey(db, keys, next);
    if (pendingFile !== undefined && config.masterKeyFile !== undefined) await rename(pendingFile, config.masterKeyFile);
    console.log(`master key rotated to ${next.keyId}: ${result.rewrapped} data keys rewrapped, ${result.alreadyRotated} already under the new key`);
    if (pendingFile === undefined) console.log('Now set VITALOCK_MASTER_KEY to the new key and restart every instance.');
    return 0;
  } finally {
    await db.close();
  }
});
