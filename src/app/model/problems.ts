/**
 * Every failure the screens can meet, in plain words, each with what to do next. The protocol
 * answers a failed pairing the same way whatever went wrong (docs/protocol.md §4.6), so these
 * messages list the likely causes instead of guessing one.
 */
import type { CertificateFailure } from '../../core/certificate.js';
import type { HubFailure } from '../../core/hub-channel.js';
import type { SetupCodeProblem } from '../../core/setup-code.js';

export interface Problem {
  readonly title: string;
  readonly action: string;
}

export function setupCodeProblem(problem: SetupCodeProblem | 'locked' | 'qr'): Problem {
  switch (problem) {
    case 'length':
      return { title: 'The setup code has 9 digits.', action: 'Type all 9 digits from the sensor’s label, for example 1234-5678-9.' };
    case 'characters':
      return { title: 'The setup code is digits only.', action: 'Type the 9 digits from the label; dashes and spaces are fine.' };
    case 'check-digit':
      return { title: 'A digit looks mistyped.', action: 'Check the code on the label digit by digit and type it again. No attempt was used.' };
    case 'trivial':
      return { title: 'That is not a real setup code.', action: 'Type the code printed on the sensor’s label.' };
    case 'locked':
      return { title: 'The app is locked.', action: 'Unlock it, then pair the sensor.' };
    case 'qr':
      return { title: 'That QR code is not a Vitalock sensor code.', action: 'Scan the QR code on the sensor’s label, or type the setup code.' };
  }
}

const CERTIFICATE: Record<CertificateFailure, Problem> = {
  'unknown-issuer': { title: 'This sensor’s maker is not on the trusted list.', action: 'Do not use it with patients. Ask your clinical engineering team which sensors are approved.' },
  'bad-signature': { title: 'This sensor’s identity is forged or damaged.', action: 'Do not use it. Put it aside and report it to your clinical engineering team.' },
  revoked: { title: 'This sensor has been withdrawn by its maker.', action: 'Do not use it. Use another sensor and report this one.' },
  expired: { title: 'This sensor’s certificate has expired.', action: 'Use another sensor; this one needs servicing by its maker.' },
  'not-yet-valid': { title: 'This sensor’s certificate is not valid yet.', action: 'Check that this device’s date and time are right, then try again.' },
  'device-mismatch': { title: 'This is not the sensor whose QR code was scanned.', action: 'Pair the sensor whose label you scanned, or scan this sensor’s own label.' },
  'key-mismatch': { title: 'The sensor’s keys do not match its certificate.', action: 'Do not use it. Report it to your clinical engineering team.' },
  malformed: { title: 'The sensor sent an unreadable certificate.', action: 'Try again; if it happens again, use another sensor.' },
};

export function hubFailureProblem(failure: HubFailure): Problem {
  switch (failure.kind) {
    case 'pairing-failed':
      return {
        title: 'Pairing did not work.',
        action:
          'Check the setup code on the label and try again. If the sensor left pairing mode, turn pairing mode on again. After several wrong codes the sensor waits a while before it accepts another try.',
      };
    case 'certificate':
      return CERTIFICATE[failure.reason];
    case 'reconnect-failed':
      return { title: 'The sensor no longer recognises this device.', action: 'Forget it in Settings and pair it again with its setup code.' };
    case 'timeout':
      return { title: 'The sensor stopped answering.', action: 'Bring it closer, check that it is switched on, and try again.' };
    case 'expired':
      return { title: 'The secure connection had to be renewed.', action: 'Nothing to do: the app reconnects by itself.' };
  }
}

/** The vault's answer to a failed unlock, in words (`retryAfterMs` drives the growing delay). */
export function unlockProblem(reason: string, retryAfterMs: number, problem?: string, group?: number): Problem {
  const wait = retryAfterMs > 0 ? ` Wait ${Math.ceil(retryAfterMs / 1000)} seconds before the next try.` : '';
  switch (reason) {
    case 'wrong':
      return { title: 'That did not unlock the app.', action: `Check the passphrase (capital letters count) and try again.${wait}` };
    case 'wait':
      return { title: 'Too many wrong tries.', action: `For safety the app waits longer after each wrong try.${wait}` };
    case 'malformed':
      return {
        title: problem === 'check' && group !== undefined ? `Group ${group} of the recovery code looks mistyped.` : 'That is not a complete recovery code.',
        action: 'A recovery code is 6 groups of 5 letters and digits, as written down when the app was set up.',
      };
    case 'no-such-method':
      return { title: 'This passkey is not set up for this app.', action: 'Use your passphrase or recovery code, or another passkey.' };
    default:
      return { title: 'That did not unlock the app.', action: 'Try again.' };
  }
}
