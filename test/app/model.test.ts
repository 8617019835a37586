/**
 * The screens' pure helpers: alert limits, CSV export, routes, plain-language problems, times,
 * the build configuration (demo root only in demo mode).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEMO_CA_NAME, DEMO_CA_PUBLIC_KEY_HEX } from '../../src/core/demo-link.js';
import { MDC } from '../../src/core/readings.js';
import { loadConfig } from '../../src/app/config.js';
import { csvField, toCsv, CSV_HEADER } from '../../src/app/model/csv.js';
import { duration, fromLocalInput, timeSince, toLocalInput } from '../../src/app/model/format.js';
import { hubFailureProblem, setupCodeProblem, unlockProblem } from '../../src/app/model/problems.js';
import { parseRoute, routeHash, type Route } from '../../src/app/model/routes.js';
import { securityEventTitle } from '../../src/app/model/security-events.js';
import { alertLevel, alertText, primaryNumber } from '../../src/app/model/vital-signs.js';

describe('alerts (adult defaults)', () => {
  it.each([
    [MDC.ECG_HEART_RATE, '72', 'normal'],
    [MDC.ECG_HEART_RATE, '49', 'low'],
    [MDC.ECG_HEART_RATE, '121', 'high'],
    [MDC.ECG_HEART_RATE, '120', 'normal'],
    [MDC.PULS_OXIM_SAT_O2, '91', 'low'],
    [MDC.PULS_OXIM_SAT_O2, '100', 'normal'],
    [MDC.RESP_RATE, '25', 'high'],
    [MDC.TEMP_BODY, '38.1', 'high'],
    [MDC.TEMP_BODY, '35.4', 'low'],
    [MDC.PRESS_BLD_NONINV, '85/50', 'low'],
    [MDC.PRESS_BLD_NONINV, '185/95', 'high'],
    [MDC.ECG_ELEC_POTL_II, '250 samples', 'normal'],
    [MDC.ECG_HEART_RATE, 'NaN', 'normal'],
  ])('code %i value %s → %s', (code, value, level) => {
    expect(alertLevel(code, value)).toBe(level);
  });

  it('says it in words with the unit', () => {
    expect(alertText(MDC.PULS_OXIM_SAT_O2, 'low')).toBe('Low — below 92 %');
    expect(alertText(MDC.ECG_HEART_RATE, 'high')).toBe('High — above 120 bpm');
    expect(alertText(MDC.ECG_HEART_RATE, 'normal')).toBe('');
    expect(primaryNumber('118/76')).toBe(118);
    expect(primaryNumber('x')).toBeUndefined();
  });
});

describe('CSV export', () => {
  const row = { sensor: '0123456789ABCDEF', seq: 3, timeMs: Date.UTC(2026, 0, 2, 3, 4, 5), code: MDC.TEMP_BODY, label: 'Body temperature', unit: 'Cel', value: '36.6', questionable: true };

  it('a header, one row per reading, exact values, UTC times, CRLF', () => {
    const csv = toCsv([row], () => 'Bed 4, left');
    expect(csv).toBe(`${CSV_HEADER.join(',')}\r\n2026-01-02T03:04:05.000Z,0123456789ABCDEF,"Bed 4, left",3,Body temperature,150364,36.6,Cel,yes\r\n`);
  });

  it('quotes what needs quoting and defuses spreadsheet formulas', () => {
    expect(csvField('a "b"')).toBe('"a ""b"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-12')).toBe('-12');
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
  });

  it('any sensor name survives: each row has exactly the header’s field count', () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        const lines = toCsv([row], () => name).trimEnd().split('\r\n');
        // Parse the quoted CSV back (RFC 4180) and count the fields.
        const fields = parseCsvLine(lines.slice(1).join('\r\n'));
        expect(fields).toHaveLength(CSV_HEADER.length);
        expect(fields[2]).toBe(/^[=+\-@\t\r]/.test(name) && !/^-?\d/.test(name) ? `'${name}` : name);
      }),
    );
  });
});

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

describe('routes', () => {
  it.each<[string, Route]>([
    ['', { screen: 'sensors' }],
    ['#/sensors', { screen: 'sensors' }],
    ['#/pair', { screen: 'pair', simulated: false }],
    ['#/pair?simulated', { screen: 'pair', simulated: true }],
    ['#/sensor/0123456789abcdef', { screen: 'live', deviceId: '0123456789ABCDEF' }],
    ['#/sensor/nothex', { screen: 'sensors' }],
    ['#/history', { screen: 'history' }],
    ['#/history/0123456789ABCDEF', { screen: 'history', deviceId: '0123456789ABCDEF' }],
    ['#/security', { screen: 'security' }],
    ['#/settings', { screen: 'settings' }],
    ['#/../../etc', { screen: 'sensors' }],
  ])('%s', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
    expect(parseRoute(routeHash(route))).toEqual(route);
  });

  it('any hash gives a route', () => {
    const screens = ['sensors', 'pair', 'live', 'history', 'security', 'settings'];
    fc.assert(
      fc.property(fc.string(), (hash) => {
        expect(screens).toContain(parseRoute(hash).screen);
      }),
    );
  });
});

describe('plain words', () => {
  it('every setup-code problem and hub failure has a title and an action', () => {
    for (const p of ['length', 'characters', 'check-digit', 'trivial', 'locked', 'qr'] as const) {
      expect(setupCodeProblem(p).title).not.toBe('');
      expect(setupCodeProblem(p).action).not.toBe('');
    }
    for (const reason of ['malformed', 'unknown-issuer', 'bad-signature', 'not-yet-valid', 'expired', 'revoked', 'key-mismatch', 'device-mismatch'] as const) {
      expect(hubFailureProblem({ kind: 'certificate', reason }).action).not.toBe('');
    }
    for (const kind of ['pairing-failed', 'reconnect-failed', 'timeout', 'expired'] as const) expect(hubFailureProblem({ kind }).action).not.toBe('');
    expect(setupCodeProblem('check-digit').action).toMatch(/No attempt was used/);
  });

  it('a failed unlock says how long to wait', () => {
    expect(unlockProblem('wrong', 4_000).action).toMatch(/Wait 4 seconds/);
    expect(unlockProblem('malformed', 0, 'check', 3).title).toMatch(/Group 3/);
  });

  it('security event titles, certificate refusals grouped, unknown kinds shown as they are', () => {
    expect(securityEventTitle('replay-rejected')).toBe('Replayed message rejected');
    expect(securityEventTitle('certificate-revoked')).toBe('Sensor certificate refused');
    expect(securityEventTitle('something-new')).toBe('something-new');
  });
});

describe('times', () => {
  it('time since, durations, datetime-local round trip', () => {
    expect(timeSince(0, 1_000)).toBe('just now');
    expect(timeSince(0, 12_000)).toBe('12 s ago');
    expect(timeSince(0, 5 * 60_000)).toBe('5 min ago');
    expect(timeSince(0, 3 * 3_600_000)).toBe('3 h ago');
    expect(timeSince(0, 3 * 86_400_000)).toBe('3 days ago');
    expect(timeSince(5_000, 0)).toBe('just now');
    expect(duration(60_000)).toBe('1 minute');
    expect(duration(30 * 60_000)).toBe('30 minutes');
    expect(duration(3_600_000)).toBe('1 hour');
    const ms = new Date(2026, 10, 28, 3, 14).getTime();
    expect(fromLocalInput(toLocalInput(ms))).toBe(ms);
    expect(fromLocalInput('')).toBeUndefined();
    expect(fromLocalInput('garbage')).toBeUndefined();
  });
});

describe('configuration', () => {
  const root = { name: 'Vitalock Medical', publicKey: 'ab'.repeat(32) };

  it('demo mode (the default) adds the Vitalock Simulator root; off leaves only the configured roots', () => {
    expect(loadConfig({}).trustRoots).toEqual([{ name: DEMO_CA_NAME, publicKey: DEMO_CA_PUBLIC_KEY_HEX }]);
    const off = loadConfig({ VITE_VITALOCK_DEMO: 'off', VITE_VITALOCK_TRUST_ROOTS: JSON.stringify([root]) });
    expect(off.demoMode).toBe(false);
    expect(off.trustRoots).toEqual([root]);
    expect(off.trustRoots.some((r) => r.publicKey === DEMO_CA_PUBLIC_KEY_HEX)).toBe(false);
  });

  it('refuses malformed trust roots', () => {
    expect(() => loadConfig({ VITE_VITALOCK_TRUST_ROOTS: '{}' })).toThrow(/JSON array/);
    expect(() => loadConfig({ VITE_VITALOCK_TRUST_ROOTS: JSON.stringify([{ name: 'x', publicKey: 'abc' }]) })).toThrow(/64-hex/);
  });
});
