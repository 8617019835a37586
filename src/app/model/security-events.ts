/**
 * Short titles for the security log's event kinds (workers/vault: keyring, pipeline, service).
 * Unknown kinds are shown as they are rather than hidden.
 */
const TITLES: Record<string, string> = {
  paired: 'Sensor paired',
  unlocked: 'App unlocked',
  locked: 'App locked',
  'unlock-failures': 'Wrong passphrases',
  'passphrase-changed': 'Passphrase changed',
  'passphrase-change-failed': 'Passphrase change refused',
  'passkey-added': 'Passkey added',
  'method-removed': 'Unlock method removed',
  'recovery-code-replaced': 'New recovery code',
  'pairing-failed': 'Pairing failed',
  'reconnect-failed': 'Unknown device or lost bond',
  timeout: 'Sensor stopped answering',
  expired: 'Secure session renewed',
  'replay-rejected': 'Replayed message rejected',
  'frame-rejected': 'Forged or damaged message rejected',
  'malformed-message': 'Malformed message rejected',
  'unexpected-message': 'Unexpected message rejected',
  'sensor-error': 'Sensor reported an error',
  tamper: 'Sensor case opened',
  'records-elsewhere': 'Readings collected by another device',
  'storage-full': 'Storage full',
  'storage-error': 'Storage error',
  'forget-pending': 'Sensor to be unpaired',
  unbonded: 'Sensor unpaired',
};

export function securityEventTitle(kind: string): string {
  if (kind.startsWith('certificate-')) return 'Sensor certificate refused';
  return TITLES[kind] ?? kind;
}
