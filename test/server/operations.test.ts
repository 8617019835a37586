/**
 * The server and the operator commands as an operator runs them (issue 5 §1, §5, §6), as child
 * processes on both engines: `server/main.ts` starts (embedded: generating its master key),
 * is ready, prints where to go and how to sign in without printing a password, and exits cleanly
 * on SIGTERM; then `audit:verify` passes, `backup` + `restore` into an empty database pass and
 * the restored chain verifies, `keys:rotate` rewraps, and after a tampered audit row
 * `audit:verify` exits 1 naming the first bad seq.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it, onTestFinished } from 'vitest';
import { describeEngines, type OperatorTarget } from './support/engines.js';

const ROOT = join(import.meta.dirname, '..', '..');
/**
 * Each step starts fresh Node processes (tsx, then PGlite's WebAssembly PostgreSQL opening or
 * creating a data folder): about 5–10 s per process on an idle 2-core machine, several times
 * that when the machine is shared. The steps' time is that start-up, not waiting on anything.
 */
const PROCESS_STEP_TIMEOUT = 180_000;
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env, DATABASE_URL: env.DATABASE_URL ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describeEngines('operations: server process and operator commands', (engine) => {
  const targets: OperatorTarget[] = [];
  afterAll(async () => {
    for (const t of targets) await t.cleanup();
  });

  let source: OperatorTarget;
  let restoreTarget: OperatorTarget;
  let archive: string;
  let key: string;

  it('the server starts, is ready, says how to sign in without printing the password, and exits 0 on SIGTERM', async () => {
    source = await engine.operatorTarget();
    targets.push(source);

    // The server, as `npm run server` starts it.
    const child = spawn(TSX, [join(ROOT, 'server/main.ts')], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '', ...source.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const deadline = Date.now() + PROCESS_STEP_TIMEOUT - 30_000;
    while (!/open http:\/\/localhost:\d+\//.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const port = Number(/open http:\/\/localhost:(\d+)\//.exec(out)?.[1]);
    expect(port, out).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(out).toMatch(/Sign in as "admin" with the password in .*initial-admin\.txt/);
    const adminFile = await readFile(join(source.env.VITALOCK_DATA_DIR!, 'initial-admin.txt'), 'utf8');
    const password = /password: (\S+)/.exec(adminFile)?.[1] ?? '';
    expect(password.length).toBeGreaterThan(16);
    expect(out).not.toContain(password);
    // Create an audit entry through the API (a denied anonymous read).
    expect((await fetch(`http://127.0.0.1:${port}/api/audit`)).status).toBe(401);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, PROCESS_STEP_TIMEOUT);

  it('audit:verify passes and backup writes an archive', async () => {
    const verify = await run('server/audit/verify-cli.ts', [], source.env);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/audit chain intact: \d+ entries/);

    archive = join(source.env.VITALOCK_DATA_DIR!, 'backup.vlb');
    const backup = await run('server/backup/backup-cli.ts', ['backup', '--out', archive], source.env);
    expect(backup.code, backup.stderr).toBe(0);

  }, PROCESS_STEP_TIMEOUT);

  it('restore fills an empty database whose chain verifies, and refuses a second time', async () => {
    key = source.env.VITALOCK_MASTER_KEY ?? (await readFile(join(source.env.VITALOCK_DATA_DIR!, 'master.key'), 'utf8')).trim();
    restoreTarget = await engine.operatorTarget(key);
    targets.push(restoreTarget);
    const restore = await run('server/backup/backup-cli.ts', ['restore', '--in', archive], restoreTarget.env);
    expect(restore.code, restore.stderr + restore.stdout).toBe(0);
    expect(restore.stdout).toMatch(/audit chain intact/);
    const again = await run('server/backup/backup-cli.ts', ['restore', '--in', archive], restoreTarget.env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/empty database/);

  }, PROCESS_STEP_TIMEOUT);

  it('keys:rotate rewraps under a new key, and the chain verifies under it', async () => {
    // Rotate the master key (embedded: the key file is replaced; PostgreSQL: the new key comes from the environment).
    const rotateEnv = source.env.VITALOCK_MASTER_KEY !== undefined ? { ...source.env, VITALOCK_NEW_MASTER_KEY: 'ab'.repeat(32) } : source.env;
    const rotate = await run('server/crypto/keys-cli.ts', [], rotateEnv);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/master key rotated/);
    const afterEnv = source.env.VITALOCK_MASTER_KEY !== undefined ? { ...source.env, VITALOCK_MASTER_KEY: 'ab'.repeat(32) } : source.env;
    expect((await run('server/audit/verify-cli.ts', [], afterEnv)).code).toBe(0);
    if (source.env.VITALOCK_MASTER_KEY === undefined) {
      expect((await readFile(join(source.env.VITALOCK_DATA_DIR!, 'master.key'), 'utf8')).trim()).not.toBe(key);
    }

  }, PROCESS_STEP_TIMEOUT);

  it('audit:verify exits 1 at the first bad seq after a tampered row', async () => {
    // Tamper with the restored copy's log as a database owner would, then verify.
    const db = await restoreTarget.open();
    await db.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await db.query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2");
    await db.close();
    const broken = await run('server/audit/verify-cli.ts', [], restoreTarget.env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/BROKEN: first bad seq 2/);
  }, PROCESS_STEP_TIMEOUT);
});
