/**
 * Passkeys with the WebAuthn PRF extension (docs/vault.md §1.3), on the main thread where
 * WebAuthn lives. The PRF output is handed to the vault worker and the page's copies are zeroed;
 * nothing else about the passkey is secret.
 */

export class PasskeyError extends Error {
  override readonly name = 'PasskeyError';
}

function random(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The PRF output as the authenticator's own buffer (so zeroing it wipes the only copy). */
function prfFirst(credential: PublicKeyCredential): ArrayBuffer | undefined {
  const first = credential.getClientExtensionResults().prf?.results?.first;
  if (first === undefined) return undefined;
  if (first instanceof ArrayBuffer) return first;
  if (first.buffer instanceof ArrayBuffer && first.byteOffset === 0 && first.byteLength === first.buffer.byteLength) return first.buffer;
  return new Uint8Array(first.buffer, first.byteOffset, first.byteLength).slice().buffer;
}

export function passkeysSupported(): boolean {
  return typeof PublicKeyCredential !== 'undefined' && typeof navigator.credentials?.create === 'function';
}

/** Creates a passkey and evaluates its PRF on `salt` (at creation, or with a second prompt). */
export async function createPasskey(salt: Uint8Array, label: string): Promise<{ credentialId: string; prf: ArrayBuffer }> {
  const saltCopy = new Uint8Array(salt);
  const credential = (await navigator.credentials.create({
    publicKey: {
      rp: { name: 'Vitalock', id: location.hostname },
      user: { id: random(16), name: label, displayName: label },
      challenge: random(32),
      pubKeyCredParams: [
        { type: 'public-key', alg: -7 },
        { type: 'public-key', alg: -257 },
      ],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      extensions: { prf: { eval: { first: saltCopy } } },
    },
  })) as PublicKeyCredential | null;
  if (credential === null) throw new PasskeyError('No passkey was created.');
  const credentialId = base64url(new Uint8Array(credential.rawId));
  const atCreate = prfFirst(credential);
  if (atCreate !== undefined) return { credentialId, prf: atCreate };
  const { prf } = await evaluatePasskey([{ credentialId, salt: saltCopy }]);
  return { credentialId, prf };
}

/** Asks for one of these passkeys and evaluates its PRF on its own salt. */
export async function evaluatePasskey(passkeys: readonly { credentialId: string; salt: Uint8Array }[]): Promise<{ credentialId: string; prf: ArrayBuffer }> {
  if (passkeys.length === 0) throw new PasskeyError('No passkey is set up for this app.');
  const evalByCredential: Record<string, { first: Uint8Array<ArrayBuffer> }> = {};
  for (const p of passkeys) evalByCredential[p.credentialId] = { first: new Uint8Array(p.salt) };
  const assertion = (await navigator.credentials.get({
    publicKey: {
      rpId: location.hostname,
      challenge: random(32),
      allowCredentials: passkeys.map((p) => ({ type: 'public-key' as const, id: fromBase64url(p.credentialId) })),
      userVerification: 'required',
      extensions: { prf: { evalByCredential } },
    },
  })) as PublicKeyCredential | null;
  if (assertion === null) throw new PasskeyError('No passkey was used.');
  const prf = prfFirst(assertion);
  if (prf === undefined) throw new PasskeyError('This passkey cannot unlock the app (its authenticator has no PRF support).');
  return { credentialId: base64url(new Uint8Array(assertion.rawId)), prf };
}
