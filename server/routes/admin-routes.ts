/**
 * Admin routes for accounts (issue 5 §3, §4): list, create, set roles, disable and enable —
 * through identity's account functions (`AccountDirectory`). Only an admin may call them
 * (`accounts.manage`). Passwords go in, never out; nothing here touches clinical data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import type { AccountDirectory } from './account-directory.js';
import { authorize } from './access.js';
import { closed, errorResponses } from './http-schemas.js';

const RoleName = Type.Union([Type.Literal('patient'), Type.Literal('nurse'), Type.Literal('clinician'), Type.Literal('admin'), Type.Literal('auditor')]);
const Roles = Type.Array(RoleName, { minItems: 1, maxItems: 5, uniqueItems: true });
const AccountId = Type.String({ pattern: '^[A-Za-z0-9._:@-]{1,128}$' });
const Account = closed({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  roles: Type.Array(RoleName),
  disabled: Type.Boolean(),
  hasSecondFactor: Type.Boolean(),
});
const toView = (a: Awaited<ReturnType<AccountDirectory['create']>>) => ({ ...a, roles: [...a.roles] });

export const adminRoutes =
  (ctx: ServerContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const directory = (): AccountDirectory => {
      if (ctx.accounts === undefined) throw new ApiError('unavailable', 'Accounts are managed by the identity service, which is not configured on this server.');
      return ctx.accounts;
    };
    const admin = (request: Parameters<typeof authorize>[1], auditAction: string, auditResource: string) =>
      authorize(ctx, request, 'accounts.manage', { kind: 'accounts' }, { auditAction, auditResource });

    app.get('/admin/accounts', { schema: { response: { 200: closed({ accounts: Type.Array(Account) }), ...errorResponses } } }, async (request) => {
      await admin(request, 'account.list', 'accounts');
      return { accounts: (await directory().list()).map(toView) };
    });

    app.post(
      '/admin/accounts',
      {
        schema: {
          body: closed({
            username: Type.String({ minLength: 1, maxLength: 64 }),
            displayName: Type.String({ minLength: 1, maxLength: 120 }),
            password: Type.String({ minLength: 1, maxLength: 256 }),
            roles: Roles,
          }),
          response: { 201: Account, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { principal } = await admin(request, 'account.create-request', 'accounts');
        return reply.status(201).send(toView(await directory().create(request.body, principal.subject)));
      },
    );

    app.put(
      '/admin/accounts/:id/roles',
      { schema: { params: closed({ id: AccountId }), body: closed({ roles: Roles }), response: { 200: Account, ...errorResponses } } },
      async (request) => {
        const { principal } = await admin(request, 'account.roles-request', `account/${request.params.id}`);
        return toView(await directory().setRoles(request.params.id, request.body.roles, principal.subject));
      },
    );

    app.put(
      '/admin/accounts/:id/disabled',
      { schema: { params: closed({ id: AccountId }), body: closed({ disabled: Type.Boolean() }), response: { 200: Account, ...errorResponses } } },
      async (request) => {
        const { principal } = await admin(request, 'account.disable-request', `account/${request.params.id}`);
        return toView(await directory().setDisabled(request.params.id, request.body.disabled, principal.subject));
      },
    );
  };
