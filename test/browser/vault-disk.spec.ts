/**
 * What the vault leaves on disk (docs/vault.md §2.3: "No device id, serial, name or reading value
 * is stored in clear"): a real Chromium profile in a temporary directory, a session against the
 * real vault worker, the browser closed (so IndexedDB's files are flushed), then every byte of
 * every file under the profile's IndexedDB folder searched.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumExecutablePath } from './support/chromium.js';

const PASSPHRASE = 'correct horse battery staple';

/** Every file under `dir`, with its contents. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => ({ path, bytes: readFileSync(path) }));
}

/** The byte patterns a string may take on disk: UTF-8/Latin-1 and UTF-16LE (V8's two encodings). */
function textPatterns(text: string): Buffer[] {
  return [Buffer.from(text, 'utf8'), Buffer.from(text, 'utf16le')];
}

/**
 * 4-byte FLOATs (exponent byte ‖ 24-bit mantissa, as the record encoding writes them) that spell
 * `text` in ASCII: the exponent byte is any ASCII character and the mantissa's top byte is below
 * 0x80, so each word is a valid positive FLOAT.
 */
function floatWords(text: string): number[] {
  if (text.length % 4 !== 0) throw new Error('4 characters a word');
  return Array.from({ length: text.length / 4 }, (_, i) => Buffer.from(text.slice(4 * i, 4 * i + 4), 'latin1').readUInt32BE(0));
}

function wordBytes(word: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(word);
  return b;
}

test('IndexedDB on disk holds no serial, model, name, device id or reading value in clear', async () => {
  const baseURL = process.env.VITALOCK_BROWSER_BASE_URL;
  if (baseURL === undefined) throw new Error('VITALOCK_BROWSER_BASE_URL is not set (global-setup starts the server)');
  const tag = randomBytes(4).toString('hex').toUpperCase();
  const serial = `SN-CANARY-${tag}`;
  const model = `VL-CANARY-MODEL-${tag}`;
  // Readings whose FLOAT bytes spell a recognisable text, repeated many times over.
  const secretWords = floatWords('zQ#1zQ#2zQ#3zQ#4zQ#5zQ#6zQ#7zQ#8');
  // The positive control: words of the same kind, and a marker, written in clear to a test-only database.
  const controlWords = floatWords('yK!1yK!2yK!3yK!4');
  const controlBytes = controlWords.flatMap((w) => [...wordBytes(w)]);
  const markers = [`VITALOCK-CLEAR-MARKER-1-${tag}`, `VITALOCK-CLEAR-MARKER-2-${tag}`];

  const userDataDir = mkdtempSync(join(tmpdir(), 'vitalock-profile-'));
  const root = join(userDataDir, 'Default', 'IndexedDB');
  const executablePath = chromiumExecutablePath();
  /** A browser on the profile for `run`, closed afterwards so IndexedDB's files are complete. */
  const withBrowser = async <T>(run: (page: Page) => Promise<T>): Promise<T> => {
    const context = await chromium.launchPersistentContext(userDataDir, {
      ...(executablePath !== undefined ? { executablePath } : {}),
      args: CHROMIUM_ARGS,
      headless: true,
      baseURL,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`/vault.html?${new URLSearchParams({ serial, model })}`);
      await page.waitForFunction(() => window.vaultTest !== undefined && window.vaultTestReady);
      return await run(page);
    } finally {
      await context.close();
    }
  };

  try {
    // 1. A session: vault, pairing, readings; the browser closes with the records in LevelDB's log.
    const who = await withBrowser(async (page) => {
      const identity = await page.evaluate(() => window.vaultTest.identity());
      expect(identity).toMatchObject({ serial, model });
      await page.evaluate(() => window.vaultTest.start());
      await page.evaluate((p) => window.vaultTest.create(p), PASSPHRASE);
      await page.evaluate(() => window.vaultTest.pair());
      await page.evaluate(() => window.vaultTest.stream(0, 1_000));
      const sequence = Array.from({ length: 800 }, (_, i) => secretWords[i % secretWords.length] as number);
      await page.evaluate(([w]) => window.vaultTest.streamFloats(1_000, w), [sequence] as const);
      expect(await page.evaluate(() => window.vaultTest.historySeqs())).toHaveLength(1_800);
      await page.evaluate(([m, b]) => window.vaultTest.writeClearMarker('vitalock-test-clear-marker', m, b), [markers[0] as string, controlBytes] as const);
      await page.evaluate(() => window.vaultTest.lock());
      return identity;
    });

    const secrets: [string, Buffer][] = [
      ...textPatterns(serial).map((b): [string, Buffer] => ['serial', b]),
      ...textPatterns(model).map((b): [string, Buffer] => ['model', b]),
      ...textPatterns(who.name).map((b): [string, Buffer] => [`advertised name "${who.name}"`, b]),
      ...textPatterns(who.deviceId.toUpperCase()).map((b): [string, Buffer] => ['device id (hex, upper case)', b]),
      ...textPatterns(who.deviceId.toLowerCase()).map((b): [string, Buffer] => ['device id (hex, lower case)', b]),
      ['device id (bytes)', Buffer.from(who.deviceId, 'hex')],
      ...secretWords.map((w): [string, Buffer] => [`reading FLOAT "${wordBytes(w).toString('latin1')}"`, wordBytes(w)]),
    ];
    const scan = (phase: string, marker: string) => {
      const files = filesUnder(root);
      const name = (path: string) => path.slice(root.length + 1);
      const where = (pattern: Buffer): string[] => files.filter((f) => f.bytes.includes(pattern)).map((f) => name(f.path));
      const markerIn = textPatterns(marker).flatMap(where);
      console.log(
        `  ${phase}: ${files.length} files, ${files.reduce((n, f) => n + f.bytes.length, 0)} bytes: ${files.map((f) => name(f.path)).join(', ')}; marker in ${markerIn.join(', ')}`,
      );
      // The scan sees what is in clear: the marker, and FLOAT words like the readings'.
      expect(markerIn, `${phase}: the marker written in clear`).not.toEqual([]);
      for (const w of controlWords) expect(where(wordBytes(w)), `${phase}: control word ${wordBytes(w).toString('latin1')}`).not.toEqual([]);
      const found = secrets.flatMap(([what, pattern]) => where(pattern).map((file) => `${what} in ${file}`));
      expect(found, `${phase}: secrets in clear`).toEqual([]);
      return { files: files.map((f) => name(f.path)), markerIn };
    };
    const first = scan('after the session', markers[0] as string);
    expect(first.files.some((f) => f.endsWith('.log'))).toBe(true);

    // 2. Reopened (LevelDB turns its log into a table) and pushed to flush: the records now sit in
    //    .ldb tables, the large marker value in a blob file — both kinds are searched too.
    await withBrowser((page) =>
      page.evaluate(([m, b]) => window.vaultTest.writeClearMarker('vitalock-test-clear-marker-2', m, b, 6 * 1024 * 1024), [markers[1] as string, controlBytes] as const),
    );
    const second = scan('after reopening and a flush', markers[1] as string);
    expect(second.markerIn.some((f) => f.endsWith('.ldb'))).toBe(true);
    expect(second.markerIn.some((f) => f.includes('.indexeddb.blob'))).toBe(true);
  } finally {
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
