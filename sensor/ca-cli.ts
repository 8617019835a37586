/**
 * `npm run ca -- <command>`: the manufacturer's side of docs/protocol.md §3 and §6 — create the
 * CA and the hub trust store, manufacture (issue) devices with their certificate and setup code,
 * revoke them, list them. State lives in the data folder (see files.ts). Secret keys are written
 * to 0600 files and never printed.
 *
 * Exit codes: 0 done, 1 failed (e.g. no CA yet), 2 the command line is wrong.
 */
import type { Random } from '../src/core/primitives.js';
import { deviceLabel } from './identity.js';
import {
  CliError,
  DEFAULT_CA_NAME,
  checkCaName,
  checkCertificateText,
  createCa,
  dataPaths,
  deviceStatus,
  EXIT_FAILURE,
  formatUnixSeconds,
  issueDevice,
  listDeviceFiles,
  loadCa,
  loadDevice,
  parseArgs,
  parseDeviceId,
  requireCa,
  resolveDataDir,
  revokeDevice,
  usageError,
  type Args,
  type DataPaths,
  type OptionSpec,
} from './files.js';

const random: Random = (n) => crypto.getRandomValues(new Uint8Array(n));

const DEFAULT_DAYS = 3650;
/** u32 Unix seconds end in February 2106 (§6.1). */
const MAX_NOT_AFTER_S = 0xffffffff;

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly details: string;
  readonly options: OptionSpec;
  run(args: Args, paths: DataPaths, out: Output): void;
}

interface Output {
  log(line?: string): void;
}

const COMMON_OPTIONS = '  --dir <folder>     data folder (default .vitalock in the working directory, or $VITALOCK_DIR)\n  -h, --help         show this help';

const COMMANDS: Readonly<Record<string, Command>> = {
  init: {
    summary: 'create the manufacturer CA and the hub trust store',
    usage: 'npm run ca -- init [--name "Vitalock Medical"] [--force]',
    details: [
      'Creates the manufacturer CA (<dir>/ca.json, private, mode 0600) and the trust store hubs use',
      '(<dir>/trust-store.json: the CA\'s name and public key).',
      '',
      'Options:',
      `  --name <name>      the manufacturer name hubs show (default "${DEFAULT_CA_NAME}")`,
      '  --force            replace an existing CA; devices it issued will no longer be trusted',
    ].join('\n'),
    options: { name: 'string', force: 'boolean', dir: 'string' },
    run: runInit,
  },
  issue: {
    summary: 'manufacture a device: keys, certificate and setup code',
    usage: 'npm run ca -- issue [--model <model>] [--serial <serial>] [--days <N>]',
    details: [
      'Manufactures a device signed by the CA and writes <dir>/devices/<DEVICEID>.json (mode 0600).',
      'Prints its label: device id, model, serial, validity, setup code and QR code payload.',
      '',
      'Options:',
      '  --model <model>    model name in the certificate (default "VL-M1 multiparameter"; at most 32 bytes)',
      '  --serial <serial>  serial number (default VL + the last 8 digits of the device id; at most 32 bytes)',
      `  --days <N>         certificate validity in days from now (default ${DEFAULT_DAYS})`,
    ].join('\n'),
    options: { model: 'string', serial: 'string', days: 'string', dir: 'string' },
    run: runIssue,
  },
  revoke: {
    summary: 'revoke a device: hubs will refuse it',
    usage: 'npm run ca -- revoke <DEVICEID>',
    details: [
      'Adds the device to the CA\'s revocation list and writes the signed list to <dir>/revocations.bin,',
      'which hubs apply (the demo hub of `npm run sensor` reads it on every start).',
    ].join('\n'),
    options: { dir: 'string' },
    run: runRevoke,
  },
  list: {
    summary: 'list the devices the CA issued, with their status',
    usage: 'npm run ca -- list',
    details: 'Lists every device the CA issued: id, model, serial, validity and status (valid, revoked, expired).',
    options: { dir: 'string' },
    run: runList,
  },
};

function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'Usage: npm run ca -- <command> [options]',
    '',
    'The Vitalock manufacturer CA: creates the CA, issues device certificates and setup codes, revokes devices.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '  help    show help for a command: npm run ca -- help issue',
    '',
    'Options for every command:',
    COMMON_OPTIONS,
    '',
    'Start with `npm run ca -- init`, then `npm run ca -- issue`, then `npm run sensor`.',
  ].join('\n');
}

function commandHelp(name: string, command: Command): string {
  return [`Usage: ${command.usage} [--dir <folder>]`, '', `${name}: ${command.summary}.`, '', command.details, '', COMMON_OPTIONS].join('\n');
}

// ── Commands ────────────────────────────────────────────────────────────────────────────────────

function runInit(args: Args, paths: DataPaths, out: Output): void {
  noPositionals(args, 'init');
  const name = (args.string('name') ?? DEFAULT_CA_NAME).trim();
  const problem = checkCaName(name);
  if (problem !== undefined) throw usageError(`--name "${args.string('name') ?? ''}" cannot be used: ${problem}.`);
  const existing = loadCaLenient(paths);
  if (existing !== undefined && !args.flag('force')) {
    throw new CliError(
      `There is already a manufacturer CA in ${paths.ca} (${existing}). Nothing was changed.\n` +
        'To replace it, run `npm run ca -- init --force`: the devices it issued will no longer be trusted.',
    );
  }
  const { ca, file } = createCa(paths, { name, random, nowMs: Date.now() });
  if (existing !== undefined) out.log(`Replaced the previous CA (${existing}); devices it issued are no longer trusted.`);
  out.log(`Created the manufacturer CA "${ca.name}".`);
  out.log(`  Public key   ${file.publicKey}`);
  out.log(`  Key id       ${file.keyId}`);
  out.log(`  Secret key   kept in ${paths.ca} (mode 0600; never share it)`);
  out.log(`Wrote the hub trust store ${paths.trustStore} (trusts "${ca.name}").`);
  out.log('Next: `npm run ca -- issue` to manufacture a device.');
}

/** A description of the CA in ca.json, or of a damaged file, or undefined when there is none. */
function loadCaLenient(paths: DataPaths): string | undefined {
  try {
    const state = loadCa(paths);
    return state === undefined ? undefined : `"${state.file.name}", key id ${state.file.keyId}, ${state.file.issued.length} device(s) issued`;
  } catch {
    return 'a damaged ca.json';
  }
}

function runIssue(args: Args, paths: DataPaths, out: Output): void {
  noPositionals(args, 'issue');
  const model = args.string('model');
  const serial = args.string('serial');
  for (const [option, value] of [['model', model], ['serial', serial]] as const) {
    if (value === undefined) continue;
    const problem = checkCertificateText(value);
    if (problem !== undefined) throw usageError(`--${option} "${value}" cannot go in a certificate: ${problem}.`);
  }
  const nowMs = Date.now();
  let days: number | undefined;
  const daysText = args.string('days');
  if (daysText !== undefined) {
    if (!/^[0-9]+$/.test(daysText) || Number(daysText) < 1) {
      throw usageError(`--days "${daysText}" is not a number of days: give a whole number of days, at least 1.`);
    }
    days = Number(daysText);
    const maxDays = Math.floor((MAX_NOT_AFTER_S - Math.floor(nowMs / 1000)) / 86_400);
    if (days > maxDays) throw usageError(`--days ${daysText} is too long: a certificate cannot be valid beyond 2106 (at most ${maxDays} days from now).`);
  }
  const state = requireCa(paths);
  if (serial !== undefined) {
    const clash = state.file.issued.find((d) => d.serial === serial);
    if (clash !== undefined) throw new CliError(`Serial "${serial}" is already used by device ${clash.deviceId}; choose another one.`);
  }
  const { identity, entry } = issueDevice(paths, state, {
    random,
    nowMs,
    ...(model !== undefined ? { model: model.trim() } : {}),
    ...(serial !== undefined ? { serial: serial.trim() } : {}),
    ...(days !== undefined ? { validDays: days } : {}),
  });
  const label = deviceLabel(identity);
  out.log(`Manufactured a device, signed by "${state.file.name}".`);
  out.log(`  Device id    ${entry.deviceId}`);
  out.log(`  Name         ${label.name} (what it advertises over Bluetooth)`);
  out.log(`  Model        ${entry.model}`);
  out.log(`  Serial       ${entry.serial}`);
  out.log(`  Valid        from ${formatUnixSeconds(entry.notBefore)} until ${formatUnixSeconds(entry.notAfter)}`);
  out.log(`  Setup code   ${label.setupCode}`);
  out.log(`  Saved in     ${paths.device(entry.deviceId)} (mode 0600: its keys are secret)`);
  out.log('');
  out.log('Label QR code — encode this text in a QR code (alphanumeric mode):');
  out.log(`  ${label.qr}`);
  out.log('');
  out.log(`Next: \`npm run sensor -- --device ${entry.deviceId}\` runs this sensor.`);
}

function runRevoke(args: Args, paths: DataPaths, out: Output): void {
  const [idText, ...extra] = args.positionals;
  if (idText === undefined) throw usageError('Which device? Usage: npm run ca -- revoke <DEVICEID> (see `npm run ca -- list` for the ids).');
  if (extra.length > 0) throw usageError(`revoke takes one device id, but also got: ${extra.join(' ')}.`);
  const id = parseDeviceId(idText, 'See `npm run ca -- list` for the ids.');
  const state = requireCa(paths);
  const entry = state.file.issued.find((d) => d.deviceId === id);
  if (entry === undefined) {
    throw new CliError(`Device ${id} was not issued by this CA ("${state.file.name}"). See \`npm run ca -- list\` for the devices it issued.`);
  }
  if (state.file.revoked.includes(id)) {
    out.log(`Device ${id} (serial ${entry.serial}) is already revoked; nothing changed.`);
    return;
  }
  const { issuedAt, count } = revokeDevice(paths, state, id, Date.now());
  out.log(`Revoked device ${id} (${entry.model}, serial ${entry.serial}).`);
  out.log(`Wrote the signed revocation list ${paths.revocations}: ${count} device(s) revoked, issued ${formatUnixSeconds(issuedAt)}.`);
  out.log('Hubs that apply this list refuse the device, whether it pairs or reconnects.');
}

function runList(args: Args, paths: DataPaths, out: Output): void {
  noPositionals(args, 'list');
  const state = requireCa(paths);
  const nowMs = Date.now();
  const onDisk = new Set(listDeviceFiles(paths));
  out.log(`Manufacturer CA "${state.file.name}" (key id ${state.file.keyId}) in ${paths.dir}`);
  if (state.file.issued.length === 0) {
    out.log('No devices issued yet. Run `npm run ca -- issue` to manufacture one.');
    return;
  }
  const rows = state.file.issued.map((d) => {
    const status = deviceStatus(d, state.file.revoked, nowMs);
    return [d.deviceId, d.model, d.serial, formatUnixSeconds(d.notAfter).slice(0, 10), onDisk.has(d.deviceId) ? status : `${status} (device file missing)`];
  });
  const header = ['DEVICE ID', 'MODEL', 'SERIAL', 'VALID UNTIL', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  out.log(line(header));
  for (const r of rows) out.log(line(r));
  const counts = new Map<string, number>();
  for (const d of state.file.issued) {
    const s = deviceStatus(d, state.file.revoked, nowMs);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  out.log(`${state.file.issued.length} device(s): ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}.`);
  const unknown = [...onDisk].filter((id) => !state.file.issued.some((d) => d.deviceId === id));
  if (unknown.length > 0) {
    out.log(`Also in ${paths.devices}, not issued by this CA (hubs trusting it will refuse them): ${unknown.join(', ')}.`);
  }
  // Read the device files so a damaged one is reported here rather than when the sensor starts.
  for (const d of state.file.issued) if (onDisk.has(d.deviceId)) loadDevice(paths, d.deviceId);
}

function noPositionals(args: Args, command: string): void {
  if (args.positionals.length > 0) {
    throw usageError(`${command} takes no arguments, but got: ${args.positionals.join(' ')}. See \`npm run ca -- ${command} --help\`.`);
  }
}

// ── Main ────────────────────────────────────────────────────────────────────────────────────────

/** Runs the CLI; returns the exit code. */
function main(argv: readonly string[], out: Output = { log: (l = '') => console.log(l) }, err: Output = { log: (l = '') => console.error(l) }): number {
  try {
    // `--dir <folder>` may also come before the command.
    const leading: string[] = [];
    let remaining = [...argv];
    while (remaining[0] === '--dir' || remaining[0]?.startsWith('--dir=') === true) {
      const take = remaining[0] === '--dir' ? 2 : 1;
      leading.push(...remaining.slice(0, take));
      remaining = remaining.slice(take);
    }
    const [first, ...afterCommand] = remaining;
    const rest = [...afterCommand, ...leading];
    if (first === undefined) {
      err.log(generalHelp());
      return 2;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      const topic = rest.find((a) => !a.startsWith('-'));
      const command = topic === undefined ? undefined : COMMANDS[topic];
      if (topic !== undefined && command === undefined) throw usageError(`There is no command "${topic}". Commands: ${Object.keys(COMMANDS).join(', ')}.`);
      out.log(command === undefined || topic === undefined ? generalHelp() : commandHelp(topic, command));
      return 0;
    }
    const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (command === undefined) {
      const hint = first.startsWith('-') ? 'Put the command first' : `There is no command "${first}"`;
      throw usageError(`${hint}. Commands: ${Object.keys(COMMANDS).join(', ')}. Run \`npm run ca -- --help\` for help.`);
    }
    const args = parseArgs(rest, command.options, `See \`npm run ca -- ${first} --help\`.`);
    if (args.flag('help')) {
      out.log(commandHelp(first, command));
      return 0;
    }
    const paths = dataPaths(resolveDataDir(args.string('dir')));
    command.run(args, paths, out);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      err.log(`Error: ${error.message}`);
      return error.exitCode;
    }
    err.log(`Error: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  }
}

process.exitCode = main(process.argv.slice(2));
