import { z } from 'zod';
import { ToolRefusedError, defineTool } from '../../../tools/types';
import type { Capability, ToolContext } from '../../../tools/types';
import { OktaClient } from '../../../tools/containment/okta';
import type { OktaCall, OktaUser } from '../../../tools/containment/okta';
import { VendorRefusedError } from '../../../tools/containment/vendor-http';
import { alreadyInState } from '../../../tools/write-intent';
import { TicketSystem } from '../ticket';
import type { TicketToolDeps } from './deps';
import { itsmCapabilities } from './deps';
import { resetPassword, unlockUser } from './okta-recovery';

/** Reading users (directory_lookup): the secret okta.api_token. */
export const OKTA_USERS_READ: Capability = { provider: 'okta', scopes: ['users:read'] };
/** Password reset and unlock: the secret okta.api_token, help-desk rights. */
export const OKTA_USERS_RECOVER: Capability = { provider: 'okta', scopes: ['users:recover'] };

/** What `directory_lookup` returns. */
export const DirectoryEntry = z.object({
  found: z.boolean(),
  id: z.string().nullable(),
  login: z.string().nullable(),
  status: z.string().nullable(),
  /** True when the directory's login or email equals the address looked up (case-insensitive). */
  emailMatches: z.boolean(),
});
/** What `directory_lookup` returns. */
export type DirectoryEntry = z.infer<typeof DirectoryEntry>;

const email = z.string().trim().toLowerCase().email().max(254);

function okta(deps: TicketToolDeps, tool: string): { client: OktaClient; baseUrl: string } {
  const baseUrl = deps.options.okta.baseUrl;
  if (!baseUrl)
    throw new ToolRefusedError(
      `okta: WARDEN_OKTA_BASE_URL is not set, so ${tool} has no directory to ask; set it to your org URL`,
    );
  return { client: new OktaClient({ baseUrl }), baseUrl };
}

function profileMatches(user: OktaUser, address: string): boolean {
  const p = (user.profile ?? {}) as { login?: unknown; email?: unknown };
  return [p.login, p.email].some((v) => typeof v === 'string' && v.toLowerCase() === address.toLowerCase());
}

/** Okta statuses in which a password reset makes sense. */
const RESETTABLE = new Set(['ACTIVE', 'LOCKED_OUT', 'PASSWORD_EXPIRED']);

/** Input of the account recovery tools. */
export const AccountActionInput = z.object({
  system: TicketSystem,
  ticketId: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._-]+$/),
  user: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[^\s/\\?#]+$/)
    .describe('Okta user id of the ticket’s requester.'),
  identityConfirmedBy: z
    .array(z.string().min(1).max(200))
    .max(10)
    .default([])
    .describe('Approvers who confirmed an unverified requester’s identity.'),
});
/** Input of the account recovery tools. */
export type AccountActionInput = z.output<typeof AccountActionInput>;

const AccountActionOutput = z.object({
  vendor: z.literal('okta'),
  action: z.enum(['reset_password', 'unlock']),
  userId: z.string(),
  ticket: z.string(),
  changed: z.boolean().describe('false when the user already was in the requested state before this call'),
  appliedByEarlierAttempt: z
    .boolean()
    .optional()
    .describe('true when an earlier attempt of this call made the change and this retry found it done'),
  status: z.string(),
});

/**
 * The binding that makes account recovery safe: re-read the ticket from its system (never the run's copy),
 * resolve its requester in Okta by the system's own email field, and refuse unless the target is exactly that
 * user and the ticket system authenticated them (or approvers confirmed them). Returns the Okta user.
 */
async function requesterOf(deps: TicketToolDeps, a: AccountActionInput, ctx: ToolContext, tool: string) {
  const { client, baseUrl } = okta(deps, tool);
  const connector = deps.connector(a.system);
  if (!connector.live)
    throw new ToolRefusedError(
      `${tool}: ${a.system} is in shadow mode, so the requester cannot be verified against the ticket system; no account action is taken`,
    );
  const ticket = await connector.get(ctx, a.ticketId);
  if (ticket.closed) throw new ToolRefusedError(`${tool}: ticket ${ticket.number} is already closed`);
  const address = ticket.requester.email;
  if (!address) throw new ToolRefusedError(`${tool}: ticket ${ticket.number} has no requester email in ${a.system}`);
  if (!ticket.requester.verified && a.identityConfirmedBy.length === 0)
    throw new ToolRefusedError(
      `${tool}: the requester of ${ticket.number} is not verified (${ticket.requester.reason}) and no approver confirmed them`,
    );
  const call: OktaCall = { token: await ctx.credential(OKTA_USERS_RECOVER), signal: ctx.signal };
  const user = await client.getUser(call, address);
  if (!profileMatches(user, address))
    throw new ToolRefusedError(
      `${tool}: the directory user found for the requester of ${ticket.number} does not carry their email`,
    );
  if (user.id !== a.user && user.profile?.login?.toLowerCase() !== a.user.toLowerCase())
    throw new ToolRefusedError(
      `${tool}: ${a.user} is not the requester of ${ticket.number}; account recovery is only for the ticket’s own requester`,
    );
  return { user, call, baseUrl, ticket };
}

/**
 * `directory_lookup` (read) and the account recovery tools `account_reset_password` and `account_unlock`
 * (write) on Okta. Recovery is scoped to the ticket's verified requester, checked here against the ticket
 * system on every call whatever policy decided; both are idempotent by Okta status (a user already in
 * RECOVERY gets no second email, an ACTIVE user needs no unlock), and announce their write first so a retry
 * after a crash or a lost answer reports the change as this call's (`changed: true`).
 */
export function createAccountTools(deps: TicketToolDeps) {
  const common = { rateLimitClass: 'okta', integration: 'okta' };
  const recovery = {
    ...common,
    output: AccountActionOutput,
    risk: 'write' as const,
    capabilities: [...itsmCapabilities('read'), OKTA_USERS_RECOVER],
  };
  return [
    defineTool({
      ...common,
      name: 'directory_lookup',
      description: 'Looks a person up in the directory (Okta) by email: user id, login and status.',
      input: z.object({ email }),
      output: DirectoryEntry,
      risk: 'read',
      capabilities: [OKTA_USERS_READ],
      summarize: (a) => `okta: look up ${a.email}`,
      async execute(a, ctx): Promise<DirectoryEntry> {
        const { client } = okta(deps, 'directory_lookup');
        try {
          const user = await client.getUser(
            { token: await ctx.credential(OKTA_USERS_READ), signal: ctx.signal },
            a.email,
          );
          return {
            found: true,
            id: user.id,
            login: user.profile?.login ?? null,
            status: user.status,
            emailMatches: profileMatches(user, a.email),
          };
        } catch (err) {
          if (err instanceof VendorRefusedError && err.details.status === 404)
            return { found: false, id: null, login: null, status: null, emailMatches: false };
          throw err;
        }
      },
    }),
    defineTool({
      ...recovery,
      name: 'account_reset_password',
      description:
        'Sends the ticket’s requester an Okta password-reset email (to their own address). Only for the requester ' +
        'the ticket system recorded, never a user named in the ticket text.',
      input: AccountActionInput,
      summarize: (a) => `okta: password reset for ${a.user} (ticket ${a.ticketId})`,
      async execute(a, ctx) {
        const { user, call, baseUrl, ticket } = await requesterOf(deps, a, ctx, 'account_reset_password');
        const base = {
          vendor: 'okta' as const,
          action: 'reset_password' as const,
          userId: user.id,
          ticket: ticket.number,
        };
        const write = { action: 'reset_password', target: user.id };
        if (user.status === 'RECOVERY')
          return {
            ...base,
            ...alreadyInState(ctx.priorWrite, write, user.status, (s) => s === 'RECOVERY'),
            status: user.status,
          };
        if (!RESETTABLE.has(user.status))
          throw new ToolRefusedError(
            `account_reset_password: user status is ${user.status}; a reset is left to an Okta admin`,
          );
        await ctx.announceWrite({ ...write, before: user.status });
        await resetPassword(baseUrl, call, user.id);
        ctx.logger.info(
          { tool: 'account_reset_password', userId: user.id, ticket: ticket.number },
          'okta: reset email sent',
        );
        return { ...base, changed: true, status: 'RECOVERY' };
      },
    }),
    defineTool({
      ...recovery,
      name: 'account_unlock',
      description:
        'Unlocks the ticket’s requester in Okta after a lockout. Only for the requester the ticket system recorded.',
      input: AccountActionInput,
      summarize: (a) => `okta: unlock ${a.user} (ticket ${a.ticketId})`,
      async execute(a, ctx) {
        const { user, call, baseUrl, ticket } = await requesterOf(deps, a, ctx, 'account_unlock');
        const base = { vendor: 'okta' as const, action: 'unlock' as const, userId: user.id, ticket: ticket.number };
        const write = { action: 'unlock', target: user.id };
        if (user.status === 'ACTIVE')
          return {
            ...base,
            ...alreadyInState(ctx.priorWrite, write, user.status, (s) => s === 'ACTIVE'),
            status: user.status,
          };
        if (user.status !== 'LOCKED_OUT')
          throw new ToolRefusedError(
            `account_unlock: user status is ${user.status}, not LOCKED_OUT; left to an Okta admin`,
          );
        await ctx.announceWrite({ ...write, before: user.status });
        await unlockUser(baseUrl, call, user.id);
        return { ...base, changed: true, status: 'ACTIVE' };
      },
    }),
  ];
}
