import { z } from 'zod';
import { ToolRefusedError, defineTool } from '../types';
import type { Capability, ToolContext } from '../types';
import { OktaClient } from './okta';
import type { OktaCall } from './okta';
import { VendorRefusedError } from './vendor-http';
import { alreadyInState, appliedByEarlierAttempt } from '../write-intent';

/** The capability the IdP tools lease: the `okta.api_token` secret, for user lifecycle changes. */
export const OKTA_USERS_MANAGE: Capability = { provider: 'okta', scopes: ['users:manage'] };

/** Configuration of the IdP tools: from WARDEN_OKTA_BASE_URL (unset: the tools refuse every call). */
export interface IdpToolsConfig {
  oktaBaseUrl: string | undefined;
  /** Limit for one request. @default 15000 */
  timeoutMs?: number;
}

/** Arguments of `idp_disable_user` and `idp_enable_user`. */
export const IdpUserInput = z.object({
  user: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[^\s/\\?#]+$/, 'a login or Okta user id has no spaces, slashes, "?" or "#"')
    .describe('Okta login (usually the email address) or Okta user id.'),
});
/** Arguments of the IdP tools. */
export type IdpUserInput = z.output<typeof IdpUserInput>;

/** Arguments of `idp_disable_user`: also whether to end the user's sessions. */
export const IdpDisableUserInput = IdpUserInput.extend({
  clearSessions: z
    .boolean()
    .default(true)
    .describe('Also end every Okta session and revoke Okta-issued OAuth tokens (suspension alone keeps them).'),
});
/** Arguments of `idp_disable_user`, after defaults. */
export type IdpDisableUserInput = z.output<typeof IdpDisableUserInput>;

/** What the IdP tools return. */
export const IdpUserResult = z.object({
  vendor: z.literal('okta'),
  action: z.enum(['suspend', 'unsuspend']),
  userId: z.string(),
  login: z.string().optional(),
  changed: z.boolean().describe('false when the user already was in the requested state before this call'),
  appliedByEarlierAttempt: z
    .boolean()
    .optional()
    .describe('true when an earlier attempt of this call made the change and this retry found it done'),
  status: z.string().describe('Okta user status after the call'),
  sessionsCleared: z.boolean().optional(),
});
/** What the IdP tools return. */
export type IdpUserResult = z.infer<typeof IdpUserResult>;

/** Users who cannot sign in already: nothing left for `suspend` to do. */
const CANNOT_SIGN_IN: ReadonlySet<string> = new Set(['SUSPENDED', 'DEPROVISIONED']);

async function openCall(config: IdpToolsConfig, tool: string, ctx: ToolContext): Promise<[OktaClient, OktaCall]> {
  // Checked before a credential is leased: without an org URL there is nobody to send it to.
  if (!config.oktaBaseUrl)
    throw new ToolRefusedError(
      `okta: WARDEN_OKTA_BASE_URL is not set, so ${tool} has no Okta org to call; set it to your org URL (e.g. https://acme.okta.com)`,
    );
  const client = new OktaClient({
    baseUrl: config.oktaBaseUrl,
    ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
  });
  return [client, { token: await ctx.credential(OKTA_USERS_MANAGE), signal: ctx.signal }];
}

/**
 * Suspends a user (and by default ends their sessions). Naturally idempotent, since Okta takes no
 * idempotency key: a user who already cannot sign in is not suspended again, and clearing sessions
 * is idempotent, so a retry after a partial run completes it. The suspension is announced first, so a
 * retry after a crash or a lost answer reports it as this call's (`changed: true`).
 */
async function disableUser(
  config: IdpToolsConfig,
  args: IdpDisableUserInput,
  ctx: ToolContext,
): Promise<IdpUserResult> {
  const [client, call] = await openCall(config, 'idp_disable_user', ctx);
  const user = await client.getUser(call, args.user);
  const login = user.profile?.login;
  const base = { vendor: 'okta' as const, action: 'suspend' as const, userId: user.id, ...(login ? { login } : {}) };
  if (user.status === 'DEPROVISIONED') return { ...base, changed: false, status: user.status };
  const write = { action: 'suspend', target: user.id };
  const earlier = appliedByEarlierAttempt(ctx.priorWrite, write, user.status, (s) => s === 'SUSPENDED');
  const changed = !CANNOT_SIGN_IN.has(user.status);
  if (changed) {
    await ctx.announceWrite({ ...write, before: user.status });
    await client.suspendUser(call, user.id);
  }
  if (args.clearSessions) await client.clearUserSessions(call, user.id);
  ctx.logger.info(
    {
      tool: 'idp_disable_user',
      userId: user.id,
      changed: changed || earlier,
      appliedByEarlierAttempt: earlier,
      sessionsCleared: args.clearSessions,
    },
    'okta',
  );
  return {
    ...base,
    changed: changed || earlier,
    ...(earlier ? { appliedByEarlierAttempt: true } : {}),
    status: 'SUSPENDED',
    sessionsCleared: args.clearSessions,
  };
}

/** Unsuspends a SUSPENDED user; any other active state is left alone, a deactivated user is refused. */
async function enableUser(config: IdpToolsConfig, args: IdpUserInput, ctx: ToolContext): Promise<IdpUserResult> {
  const [client, call] = await openCall(config, 'idp_enable_user', ctx);
  const user = await client.getUser(call, args.user);
  const login = user.profile?.login;
  const base = { vendor: 'okta' as const, action: 'unsuspend' as const, userId: user.id, ...(login ? { login } : {}) };
  if (user.status === 'DEPROVISIONED')
    throw new VendorRefusedError(
      `okta: user ${login ?? user.id} is deactivated (DEPROVISIONED), not suspended; reactivating re-sends an ` +
        'activation and is left to an Okta admin',
      { vendor: 'okta' },
    );
  const write = { action: 'unsuspend', target: user.id };
  if (user.status !== 'SUSPENDED') {
    const outcome = alreadyInState(ctx.priorWrite, write, user.status, (s) => s !== 'SUSPENDED');
    if (outcome.changed)
      ctx.logger.info({ tool: 'idp_enable_user', userId: user.id }, 'okta: unsuspended by an earlier attempt');
    return { ...base, ...outcome, status: user.status };
  }
  await ctx.announceWrite({ ...write, before: user.status });
  await client.unsuspendUser(call, user.id);
  ctx.logger.info({ tool: 'idp_enable_user', userId: user.id }, 'okta: unsuspended');
  return { ...base, changed: true, status: 'ACTIVE' };
}

/**
 * Builds `idp_disable_user` and `idp_enable_user` on Okta.
 *
 * Disabling suspends rather than deactivates: a suspended user keeps their app assignments, groups and
 * factors and returns with one unsuspend, while deactivation deprovisions apps and needs a new activation.
 * Both tools are `write`; policy decides who may run them alone. Credentials come only through
 * `ctx.credential(OKTA_USERS_MANAGE)`; calls share the `okta` rate-limit class and circuit breaker.
 */
export function createIdpTools(config: IdpToolsConfig) {
  const common = {
    output: IdpUserResult,
    risk: 'write' as const,
    capabilities: [OKTA_USERS_MANAGE],
    rateLimitClass: 'okta',
    integration: 'okta',
    targets: (args: IdpUserInput) => [{ kind: 'user', value: args.user }],
  };
  return [
    defineTool({
      ...common,
      name: 'idp_disable_user',
      description:
        'Suspends an Okta user so they cannot sign in, and by default ends their sessions. Reversible with ' +
        'idp_enable_user. A user already suspended or deactivated is left as is (changed: false).',
      input: IdpDisableUserInput,
      summarize: (args) => `okta: suspend user ${args.user}`,
      execute: (args, ctx) => disableUser(config, args, ctx),
    }),
    defineTool({
      ...common,
      name: 'idp_enable_user',
      description: 'Unsuspends a suspended Okta user. A user who is not suspended is left as is (changed: false).',
      input: IdpUserInput,
      summarize: (args) => `okta: unsuspend user ${args.user}`,
      execute: (args, ctx) => enableUser(config, args, ctx),
    }),
  ];
}
