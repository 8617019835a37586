/**
 * `npm run keys:ingestion` (protocol §11.3): the deployment key and the ingestion keys.
 *
 * - `init`: creates the deployment's Ed25519 key (`<data dir>/ingestion/deployment.key`), a first
 *   ingestion key valid for `--days` (365), and the signed list, version 1.
 * - `rotate`: adds a new ingestion key valid from now (`--days`), shortens nothing, keeps every
 *   older key (expired ones still open batches sealed before), and signs the list version + 1.
 * - `show`: prints what the app is configured with: the deployment public key to pin and the list.
 *
 * The app pins the deployment public key once; lists rotate under it. Keep `deployment.key` offline
 * between rotations if you can: the server never needs it.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { ingestionKeyId, issueIngestionKeyList } from '../../src/core/ingestion-keys.js';
import { ed25519KeyPair, ed25519PublicKey, x25519KeyPair } from '../../src/core/primitives.js';
import { argValue, runCommand } from '../cli-support.js';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { DEPLOYMENT_KEY_FILE, ingestionDir, readKeysFile, writeKeysFile, type IngestionKeysFile, type StoredIngestionKey } from './ingestion-keyring.js';

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const DAY_S = 86_400;

function newKey(nowS: number, days: number): StoredIngestionKey {
  const k = x25519KeyPair(random);
  return { keyId: toHex(ingestionKeyId(k.publicKey)), publicKey: toHex(k.publicKey), secretKey: toHex(k.secretKey), notBefore: nowS - 300, notAfter: nowS + days * DAY_S };
}

function signed(deploymentSecret: Uint8Array, listVersion: number, keys: readonly StoredIngestionKey[]): IngestionKeysFile {
  const list = issueIngestionKeyList(
    deploymentSecret,
    listVersion,
    keys.map((k) => ({ publicKey: fromHex(k.publicKey), notBefore: k.notBefore, notAfter: k.notAfter })),
  );
  return { deploymentPublicKey: toHex(ed25519PublicKey(deploymentSecret)), listVersion, keyList: toHex(list), keys };
}

function show(file: IngestionKeysFile): void {
  console.log(`deployment public key (pin it in the app): ${file.deploymentPublicKey}`);
  console.log(`ingestion key list, version ${file.listVersion}:`);
  console.log(file.keyList);
  for (const k of file.keys) console.log(`  key ${k.keyId}  valid ${new Date(k.notBefore * 1000).toISOString()} … ${new Date(k.notAfter * 1000).toISOString()}`);
}

runCommand(async () => {
  const [command] = process.argv.slice(2);
  const { config } = await loadConfig(process.env);
  const dir = ingestionDir(config.dataDir);
  const deploymentFile = join(dir, DEPLOYMENT_KEY_FILE);
  const days = Number(argValue(process.argv, '--days') ?? 365);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new ConfigError('--days must be a whole number of days from 1 to 3650.');
  const nowS = Math.floor(Date.now() / 1000);
  const existing = await readKeysFile(config.dataDir);

  switch (command) {
    case 'init': {
      if (existing !== undefined || existsSync(deploymentFile)) throw new ConfigError(`${dir} already holds ingestion keys: use "rotate" or "show".`);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const deployment = ed25519KeyPair(random);
      await writeFile(deploymentFile, toHex(deployment.secretKey) + '\n', { mode: 0o600, flag: 'wx' });
      await chmod(deploymentFile, 0o600);
      const file = signed(deployment.secretKey, 1, [newKey(nowS, days)]);
      await writeKeysFile(config.dataDir, file);
      show(file);
      console.log(`Created in ${dir}. Keep ${DEPLOYMENT_KEY_FILE} safe (offline if you can): it signs every later list.`);
      return 0;
    }
    case 'rotate': {
      if (existing === undefined) throw new ConfigError('No ingestion keys yet: run "npm run keys:ingestion -- init" first.');
      if (!existsSync(deploymentFile)) throw new ConfigError(`${deploymentFile} is missing: bring the deployment key back to sign the new list.`);
      const secret = fromHex((await readFile(deploymentFile, 'utf8')).trim());
      if (toHex(ed25519PublicKey(secret)) !== existing.deploymentPublicKey) throw new ConfigError(`${deploymentFile} is not this deployment's key.`);
      const keys = [...existing.keys, newKey(nowS, days)].slice(-16);
      const file = signed(secret, existing.listVersion + 1, keys);
      await writeKeysFile(config.dataDir, file);
      show(file);
      console.log('Restart the server, then give the apps the new list (same pinned deployment key).');
      return 0;
    }
    case 'show': {
      if (existing === undefined) throw new ConfigError('No ingestion keys yet: run "npm run keys:ingestion -- init".');
      show(existing);
      return 0;
    }
    default:
      console.log('usage: npm run keys:ingestion -- init | rotate | show  [--days N]');
      return command === undefined || command === '--help' ? 0 : 2;
  }
});
