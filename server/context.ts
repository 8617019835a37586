/**
 * What every route needs (issue 5 §1): the database, the keys, the audit log, the clock, and how
 * to learn who is asking. Built once in `buildApp`; holds no per-user state, so any number of
 * instances can share one database.
 */
import type { FastifyRequest } from 'fastify';
import type { Database } from './db/database.js';
import type { KeyProvider } from './crypto/key-provider.js';
import type { PatientKeyring } from './crypto/patient-keys.js';
import type { AuditLog } from './audit/audit-log.js';
import type { Principal } from './policy/principal.js';
import type { AccountDirectory } from './routes/account-directory.js';

export type Authenticate = (request: FastifyRequest) => Promise<Principal | undefined>;

export interface ServerContext {
  readonly db: Database;
  readonly keys: KeyProvider;
  readonly keyring: PatientKeyring;
  readonly audit: AuditLog;
  readonly now: () => Date;
  readonly authenticate: Authenticate;
  readonly accounts: AccountDirectory | undefined;
}
