/**
 * Starts the cloud endpoint (issue 5 §1): configuration from the environment (`config.ts`),
 * migrations, identity, the app on one origin; prints where to go and how to sign in; shuts down
 * gracefully on SIGTERM/SIGINT (stops accepting, finishes in-flight requests, closes the database).
 *
 * First run with no accounts: an `admin` account is created with a random password written to
 * `<data dir>/initial-admin.txt` (mode 0600) — never printed or logged.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildApp } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { migrate } from './db/migrate.js';
import { accountDirectory, createAccount, identityConfigFromEnv, identityForApp, listAccounts } from './identity/index.js';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const { config, keys } = await loadConfig(process.env);
  const db = await openDatabase(config.database);
  await migrate(db);
  const publicOrigin = process.env.VITALOCK_PUBLIC_ORIGIN ?? `http://localhost:${config.port}`;
  const identity = await identityConfigFromEnv(process.env, publicOrigin, join(config.dataDir, 'identity.key'));
  const audit = new AuditLog(db, keys);
  const accountContext = identity.kind === 'embedded' ? { db, identityKey: identity.identityKey, audit } : undefined;
  const app = await buildApp({
    db,
    keys,
    identity: identityForApp(db, identity),
    ...(accountContext !== undefined ? { accounts: accountDirectory(accountContext) } : {}),
    appDir: config.appDir,
    trustProxy: identity.trustProxy,
  });

  let signIn = 'Sign in with your hospital account.';
  if (accountContext !== undefined) {
    if ((await listAccounts(db)).length === 0) {
      const password = randomBytes(18).toString('base64url');
      await createAccount(accountContext, { username: 'admin', displayName: 'Administrator', password, roles: ['admin'] });
      const file = join(config.dataDir, 'initial-admin.txt');
      await writeFile(file, `username: admin\npassword: ${password}\n`, { mode: 0o600 });
      signIn = `Sign in as "admin" with the password in ${file}, then create the staff accounts.`;
    } else {
      signIn = 'Sign in with an account an administrator created for you.';
    }
  }

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const force = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (e: unknown) => {
        app.log.error({ err: e }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const storage = config.database.engine === 'pglite' ? `embedded PGlite in ${config.database.dataDir ?? 'memory'}` : 'PostgreSQL (DATABASE_URL)';
  const keyNote =
    config.masterKeySource === 'generated'
      ? `a new master key was generated in ${config.masterKeyFile ?? 'the data folder'}: back it up apart from the data, without it nothing can be read`
      : `master key from ${config.masterKeySource === 'environment' ? 'VITALOCK_MASTER_KEY' : (config.masterKeyFile ?? 'a file')}`;
  console.log(
    [
      '',
      `Vitalock server is running: open http://localhost:${port}/`,
      `  API http://localhost:${port}/api · FHIR R4 http://localhost:${port}/fhir · health /healthz, /readyz`,
      `  storage: ${storage}; ${keyNote}`,
      `  ${signIn}`,
      '  Stop with Ctrl+C.',
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  console.error(`Vitalock server could not start: ${(e as Error).message}`);
  process.exit(1);
});
