/**
 * The two command-line tools, run as a user runs them (a child process under tsx) in temporary
 * data folders: `npm run ca` (init, issue, list, revoke, and its errors) and `npm run sensor`
 * (zero-setup pairing and streaming, then reconnection with Noise KK).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsx's loader by absolute URL, so the CLIs also run with a working directory outside the repo. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SCRIPTS = { ca: join(ROOT, 'sensor', 'ca-cli.ts'), sensor: join(ROOT, 'sensor', 'cli.ts') } as const;

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(script: keyof typeof SCRIPTS, args: readonly string[], options: { cwd?: string; dataDir?: string } = {}): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['VITALOCK_DIR'];
  if (options.dataDir !== undefined) env['VITALOCK_DIR'] = options.dataDir;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, SCRIPTS[script], ...args], { cwd: options.cwd ?? ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const temporary: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vitalock-cli-'));
  temporary.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

// The three tests run side by side: the sensor's test mostly waits on its real-time stream.
describe.concurrent('the command-line tools', () => {
  it('ca: init → issue → list → revoke → list, secrets in 0600 files and never printed', async () => {
    const dir = join(tempDir(), 'data');
    const ca = (...args: string[]): Promise<Result> => cli('ca', [...args, '--dir', dir]);

    const init = await ca('init', '--name', 'Test Medical');
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/Public key\s+[0-9a-f]{64}/);
    expect(init.stdout).toMatch(/Key id\s+[0-9a-f]{16}/);
    expect(mode(join(dir, 'ca.json'))).toBe(0o600);
    const caFile = JSON.parse(readFileSync(join(dir, 'ca.json'), 'utf8')) as { secretKey: string; publicKey: string };
    expect(init.stdout).not.toContain(caFile.secretKey);
    const trust = JSON.parse(readFileSync(join(dir, 'trust-store.json'), 'utf8')) as { roots: { name: string; publicKey: string }[] };
    expect(trust.roots).toEqual([{ name: 'Test Medical', publicKey: caFile.publicKey }]);

    const again = await ca('init');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already a manufacturer CA/);
    expect(again.stderr).toMatch(/--force/);

    const issue = await ca('issue', '--model', 'VL-T2 test', '--serial', 'SN-0001', '--days', '30');
    expect(issue.code, issue.stderr).toBe(0);
    const id = /Device id\s+([0-9A-F]{16})/.exec(issue.stdout)?.[1] as string;
    expect(id).toBeDefined();
    expect(issue.stdout).toMatch(/Model\s+VL-T2 test/);
    expect(issue.stdout).toMatch(/Serial\s+SN-0001/);
    expect(issue.stdout).toMatch(/Setup code\s+\d{4}-\d{4}-\d\b/);
    expect(issue.stdout).toMatch(new RegExp(`QR code[^\\n]*\\n\\s+VL1:${id}:\\d{9}\\n`));
    const deviceFile = join(dir, 'devices', `${id}.json`);
    expect(mode(deviceFile)).toBe(0o600);
    const device = JSON.parse(readFileSync(deviceFile, 'utf8')) as { staticSecretKey: string; signingSecretKey: string };
    expect(issue.stdout).not.toContain(device.staticSecretKey);
    expect(issue.stdout).not.toContain(device.signingSecretKey);

    const list = await ca('list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+VL-T2 test\\s+SN-0001\\s+\\d{4}-\\d\\d-\\d\\d\\s+valid`));

    const revoke = await ca('revoke', id.toLowerCase());
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toMatch(new RegExp(`Revoked device ${id}`));
    expect(statSync(join(dir, 'revocations.bin')).size).toBe(1 + 8 + 4 + 2 + 8 + 64);
    expect((await ca('revoke', id)).stdout).toMatch(/already revoked/);

    const listed = await ca('list');
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s.*\\srevoked`));
    expect(listed.stdout).toMatch(/1 revoked/);

    // The demo hub applies the revocation list and refuses the device.
    const refused = await cli('sensor', ['--once', '--device', id, '--dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/certificate has been revoked/);
  });

  it('ca and sensor: bad inputs exit 2 (usage) or 1 (failure) with a message that says what to do', async () => {
    const empty = join(tempDir(), 'nothing-here');
    const cases: [keyof typeof SCRIPTS, string[], number, RegExp][] = [
      ['ca', [], 2, /Usage: npm run ca -- <command>/],
      ['ca', ['frobnicate'], 2, /no command "frobnicate".*init, issue, revoke, list/],
      ['ca', ['issue', '--days', 'ten'], 2, /--days "ten" is not a number of days/],
      ['ca', ['issue', '--colour', 'red'], 2, /Unknown option --colour/],
      ['ca', ['issue', '--model', 'x'.repeat(40)], 2, /at most 32/],
      ['ca', ['revoke'], 2, /Which device\?.*revoke <DEVICEID>/],
      ['ca', ['revoke', 'not-a-device'], 2, /"not-a-device" is not a device id: a device id is 16 hexadecimal digits/],
      ['ca', ['list'], 1, /Run `npm run ca -- init` first/],
      ['ca', ['revoke', '0123456789ABCDEF'], 1, /Run `npm run ca -- init` first/],
      ['sensor', ['--profile', 'sleepy'], 2, /no patient profile "sleepy".*adult-resting/],
      ['sensor', ['--rate', 'fast'], 2, /--rate "fast"/],
      ['sensor', ['--rate', 'ecg=300'], 2, /divides 1 000 000/],
      ['sensor', ['--device', 'xyz'], 2, /16 hexadecimal digits/],
      ['sensor', ['--device', '0123456789ABCDEF'], 1, /There is no device 0123456789ABCDEF/],
      ['sensor', ['--bogus'], 2, /Unknown option --bogus.*--help/],
    ];
    // Two at a time: enough to overlap start-up, without starving the sensor's real-time test.
    const results: Result[] = [];
    for (let i = 0; i < cases.length; i += 2) {
      results.push(...(await Promise.all(cases.slice(i, i + 2).map(([script, args]) => cli(script, [...args, '--dir', empty])))));
    }
    results.forEach((result, i) => {
      const [script, args, code, message] = cases[i] as (typeof cases)[number];
      const what = `${script} ${args.join(' ')}: ${result.stderr}`;
      expect(result.code, what).toBe(code);
      expect(result.stderr, what).toMatch(message);
      expect(result.stderr, what).not.toMatch(/\n\s+at /); // no stack traces
    });
    // None of the failures created anything.
    expect(() => readdirSync(empty)).toThrow();

    const help = await cli('ca', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:/);
    const sensorHelp = await cli('sensor', ['--help']);
    expect(sensorHelp.code).toBe(0);
    expect(sensorHelp.stdout).toMatch(/--once/);
  });

  it(
    'sensor --once with no data folder creates a CA and a device, pairs, streams values with units; the next run reconnects with KK',
    async () => {
      const cwd = tempDir();
      const first = await cli('sensor', ['--once'], { cwd });
      expect(first.code, first.stderr + first.stdout).toBe(0);
      const out = first.stdout;
      expect(out).toContain('The Vitalock app is not built yet; this runs the reference sensor with a demo hub in this process');
      expect(out).toMatch(/created "Vitalock Medical"/);
      expect(out).toMatch(/manufactured [0-9A-F]{16}/);
      expect(out).toMatch(/Pairing with setup code \d{4}-\d{4}-\d…/);
      expect(out).toMatch(/Certificate: Vitalock Medical, model VL-M1 multiparameter, serial VL[0-9A-F]{8}, valid until \d{4}-\d\d-\d\d/);
      expect(out).toMatch(/Bonded/);
      // A live line: exact values with their units (a "?" marks a questionable reading).
      expect(out).toMatch(
        /\d\d:\d\d:\d\d {2}HR \d+\?? bpm {2}SpO2 \d+\?? % {2}RR \d+\?? resp\/min {2}Temp \d+\.\d\?? °C {2}BP \d+\/\d+\?? mmHg {2}ECG 250 samples\/s {2}\| stored \d+, acknowledged \d+/,
      );
      expect(out).toMatch(/Summary/);
      expect(out).toMatch(/Heart rate\s+\d+ readings?, last \d+ bpm/);
      expect(out).toMatch(/Hub\s+stored [1-9]\d* records?/);

      const data = join(cwd, '.vitalock');
      for (const file of ['ca.json', 'trust-store.json', 'hub.json']) expect(() => statSync(join(data, file))).not.toThrow();
      expect(mode(join(data, 'hub.json'))).toBe(0o600);
      expect(readdirSync(join(data, 'devices')).filter((f) => f.endsWith('.state.json'))).toHaveLength(1);

      // Second run, data folder from $VITALOCK_DIR: both ends are bonded, so KK, no setup code.
      const second = await cli('sensor', ['--once', '--duration', '2'], { cwd: tempDir(), dataDir: data });
      expect(second.code, second.stderr + second.stdout).toBe(0);
      expect(second.stdout).toContain('Reconnecting (Noise KK) to bonded hub…');
      expect(second.stdout).toMatch(/Connected: encrypted session open \(Noise KK/);
      expect(second.stdout).not.toMatch(/Pairing with setup code/);
      expect(second.stdout).toMatch(/reconnected with Noise KK/);
      expect(second.stdout).not.toMatch(/created "Vitalock Medical"|manufactured/);
    },
    40_000,
  );
});
