import { z } from 'zod';
import type { Capability } from '../../../tools/types';
import { ToolRefusedError } from '../../../tools/types';
import type { EvidenceItem } from '../evidence/model';
import { checkFromSubjects } from '../evidence/model';
import type { Collected, CollectorDeps } from './collector-tool';
import { defineCollector } from './collector-tool';
import type { OktaDirectoryUser, OktaFactor } from './okta-directory';
import { OktaDirectory } from './okta-directory';

/** The capability the Okta collector leases: the `okta.api_token` secret, read-only use. */
export const OKTA_USERS_READ: Capability = { provider: 'okta', scopes: ['users:read'] };

/** Statuses of users who can sign in (Okta's lifecycle): these must have MFA and must not be stale. */
const CAN_SIGN_IN = new Set(['ACTIVE', 'PASSWORD_EXPIRED', 'LOCKED_OUT', 'RECOVERY']);

/** Evidence (one item per user, with factors) and the MFA-coverage and stale-account checks. */
export function oktaEvidence(
  users: { user: OktaDirectoryUser; factors: OktaFactor[] | undefined }[],
  opts: { now: Date; staleDays: number; org: string },
): Collected {
  const collectedAt = opts.now.toISOString();
  const items: EvidenceItem[] = users.map(({ user, factors }) => ({
    id: `okta:user:${user.id}`,
    source: 'okta',
    kind: 'user',
    subject: user.profile?.login ?? user.id,
    collectedAt,
    data: {
      org: opts.org,
      id: user.id,
      login: user.profile?.login ?? null,
      status: user.status,
      created: user.created ?? null,
      lastLogin: user.lastLogin ?? null,
      factors:
        factors?.map((f) => ({ id: f.id, factorType: f.factorType, provider: f.provider ?? null, status: f.status })) ??
        null,
    },
  }));
  const active = users.map((u, i) => ({ ...u, i })).filter((u) => CAN_SIGN_IN.has(u.user.status));
  const cutoff = opts.now.getTime() - opts.staleDays * 86_400_000;
  const seen = (u: OktaDirectoryUser) => Date.parse(u.lastLogin ?? '') || Date.parse(u.created ?? '') || 0;
  return {
    items,
    checks: [
      checkFromSubjects(
        'okta_active_users_mfa_enrolled',
        'okta',
        active.map((u) => ({
          evidenceId: items[u.i]!.id,
          subject: items[u.i]!.subject,
          ok: (u.factors ?? []).some((f) => f.status === 'ACTIVE'),
        })),
        (f, t) => `${t - f} of ${t} active Okta user(s) have an active MFA factor (${f} without)`,
        { status: 'manual', summary: 'no active Okta users to evaluate' },
      ),
      checkFromSubjects(
        'okta_no_stale_active_accounts',
        'okta',
        active.map((u) => ({ evidenceId: items[u.i]!.id, subject: items[u.i]!.subject, ok: seen(u.user) >= cutoff })),
        (f, t) => `${f} of ${t} active Okta user(s) have not signed in for ${opts.staleDays}+ days`,
        { status: 'manual', summary: 'no active Okta users to evaluate' },
      ),
    ],
  };
}

/** `compliance_collect_okta`: users and factors from the Okta org at WARDEN_OKTA_BASE_URL. */
export function createOktaCollector(
  cfg: { oktaBaseUrl: string | undefined; staleDays: number; timeoutMs?: number },
  deps: CollectorDeps,
) {
  return defineCollector(
    {
      name: 'compliance_collect_okta',
      description: 'Lists Okta users and their enrolled factors (read-only) to check MFA coverage and stale accounts.',
      source: 'okta',
      input: z.object({}).strict(),
      capabilities: [OKTA_USERS_READ],
      integration: 'okta',
      summarize: () => 'okta: list users and factors',
      async collect(_args, ctx, now) {
        if (!cfg.oktaBaseUrl)
          throw new ToolRefusedError(
            'okta: WARDEN_OKTA_BASE_URL is not set; set it to your org URL to collect Okta evidence',
          );
        const dir = new OktaDirectory({
          baseUrl: cfg.oktaBaseUrl,
          ...(cfg.timeoutMs === undefined ? {} : { timeoutMs: cfg.timeoutMs }),
        });
        const call = { token: await ctx.credential(OKTA_USERS_READ), signal: ctx.signal };
        const users = await dir.listUsers(call, (page) => ctx.heartbeat({ usersPage: page }));
        const out: { user: OktaDirectoryUser; factors: OktaFactor[] | undefined }[] = [];
        for (const user of users) {
          // Factors matter only for users who can sign in; the others are listed without them.
          const factors = CAN_SIGN_IN.has(user.status) ? await dir.listFactors(call, user.id) : undefined;
          out.push({ user, factors });
          if (out.length % 50 === 0) ctx.heartbeat({ users: out.length });
        }
        return oktaEvidence(out, { now, staleDays: cfg.staleDays, org: new URL(cfg.oktaBaseUrl).host });
      },
    },
    deps,
  );
}
