/**
 * Who is asking (issue 5 §3, §4): the shape identity's token verification produces. Kept here as
 * a structural copy of `server/identity`'s `Principal`, so the policy compiles on its own.
 */
export type Role = 'patient' | 'nurse' | 'clinician' | 'admin' | 'auditor';

export const ROLES: readonly Role[] = ['patient', 'nurse', 'clinician', 'admin', 'auditor'];

export interface Principal {
  readonly subject: string;
  readonly roles: readonly Role[];
  readonly tokenId: string;
  readonly clientId?: string;
}
