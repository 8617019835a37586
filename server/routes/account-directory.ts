/**
 * The accounts the admin routes manage (issue 5 §3, §4), as an interface: identity implements it
 * with its account functions (`server/identity`), so these routes do not depend on how accounts
 * are stored. Errors a user can fix are `ApiError`s with a plain message.
 */
import type { Role } from '../policy/principal.js';

export interface AccountView {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly Role[];
  readonly disabled: boolean;
  readonly hasSecondFactor: boolean;
}

export interface NewAccountInput {
  readonly username: string;
  readonly displayName: string;
  readonly password: string;
  readonly roles: readonly Role[];
}

export interface AccountDirectory {
  list(): Promise<AccountView[]>;
  create(input: NewAccountInput, actor: string): Promise<AccountView>;
  setRoles(id: string, roles: readonly Role[], actor: string): Promise<AccountView>;
  setDisabled(id: string, disabled: boolean, actor: string): Promise<AccountView>;
}
