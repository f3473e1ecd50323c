import { z } from 'zod';
import { DEFAULT_VENDOR_TIMEOUT_MS, errorForStatus, vendorFetch } from '../../../tools/containment/vendor-http';
import type { VendorRequest } from '../../../tools/containment/vendor-http';
import type { Capability, ToolContext } from '../../../tools/types';
import { ToolRefusedError } from '../../../tools/types';
import type { EvidenceItem } from '../evidence/model';
import { checkFromSubjects } from '../evidence/model';
import type { Collected, CollectorDeps } from './collector-tool';
import { defineCollector } from './collector-tool';

/*
 * Code hosting evidence from the GitHub REST API (2022-11-28): GET /repos/{owner}/{repo} for the default
 * branch, GET /repos/{owner}/{repo}/branches/{branch}/protection for protection and required reviews
 * (404 "Branch not protected" is evidence, not an error).
 */

/** The capability the GitHub collector leases: the `github.api_token` secret (read access to administration). */
export const GITHUB_REPO_READ: Capability = { provider: 'github', scopes: ['repo:read'] };

const Protection = z
  .object({
    required_pull_request_reviews: z
      .object({
        required_approving_review_count: z.number().int().optional(),
        dismiss_stale_reviews: z.boolean().optional(),
        require_code_owner_reviews: z.boolean().optional(),
      })
      .loose()
      .optional(),
    enforce_admins: z.object({ enabled: z.boolean() }).loose().optional(),
    allow_force_pushes: z.object({ enabled: z.boolean() }).loose().optional(),
    required_status_checks: z.object({ strict: z.boolean().optional() }).loose().nullable().optional(),
  })
  .loose();

/** What was found about one repository's branch. */
export interface BranchEvidence {
  repo: string;
  branch: string;
  protected: boolean;
  requiredReviews: number;
  dismissStaleReviews: boolean;
  enforceAdmins: boolean;
  allowForcePushes: boolean;
}

/** Evidence (one item per repository branch) and the protection and review checks. */
export function githubEvidence(branches: BranchEvidence[], opts: { now: Date; requiredReviews: number }): Collected {
  const items: EvidenceItem[] = branches.map((b) => ({
    id: `github:branch:${b.repo}@${b.branch}`,
    source: 'github',
    kind: 'branch-protection',
    subject: `${b.repo}@${b.branch}`,
    collectedAt: opts.now.toISOString(),
    data: { ...b },
  }));
  const subj = (ok: (b: BranchEvidence) => boolean) =>
    branches.map((b, i) => ({ evidenceId: items[i]!.id, subject: items[i]!.subject, ok: ok(b) }));
  const none = { status: 'error' as const, summary: 'no repositories configured (WARDEN_COMPLIANCE_GITHUB_REPOS)' };
  return {
    items,
    checks: [
      checkFromSubjects(
        'github_default_branch_protected',
        'github',
        subj((b) => b.protected),
        (f, t) => `${f} of ${t} branch(es) are not protected`,
        none,
      ),
      checkFromSubjects(
        'github_required_reviews',
        'github',
        subj((b) => b.protected && b.requiredReviews >= opts.requiredReviews),
        (f, t) => `${f} of ${t} branch(es) do not require ${opts.requiredReviews}+ approving review(s)`,
        none,
      ),
      checkFromSubjects(
        'github_protection_enforced_for_admins',
        'github',
        subj((b) => b.protected && b.enforceAdmins && !b.allowForcePushes),
        (f, t) => `${f} of ${t} branch(es) let admins bypass protection or allow force pushes`,
        none,
      ),
    ],
  };
}

async function ghGet(base: string, token: string, path: string, ctx: ToolContext, operation: string) {
  const req: VendorRequest = {
    vendor: 'github',
    operation,
    method: 'GET',
    url: new URL(path, base.replace(/\/+$/, '') + '/'),
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${token}`,
      'x-github-api-version': '2022-11-28',
    },
    signal: ctx.signal,
    timeoutMs: DEFAULT_VENDOR_TIMEOUT_MS,
    secrets: [token],
  };
  const res = await vendorFetch(req);
  return { req, res };
}

/** Reads one repository branch's protection. */
async function branchEvidence(base: string, token: string, spec: string, ctx: ToolContext): Promise<BranchEvidence> {
  const [repo, pinned] = spec.split('@') as [string, string | undefined];
  let branch = pinned;
  const fail = (r: Awaited<ReturnType<typeof ghGet>>) => {
    const body = (r.res.json ?? {}) as { message?: unknown };
    return errorForStatus(r.req, r.res, {
      ...(typeof body.message === 'string' ? { summary: body.message } : {}),
      hint:
        r.res.status === 401
          ? 'GitHub rejected the token: check the secret github.api_token'
          : r.res.status === 403 || r.res.status === 404
            ? `the token cannot read ${repo}'s settings (it needs Administration: read) or the repository does not exist`
            : undefined,
    });
  };
  if (!branch) {
    const r = await ghGet(base, token, `repos/${repo}`, ctx, `repository ${repo}`);
    if (r.res.status !== 200) throw fail(r);
    const named = (r.res.json as { default_branch?: unknown } | null)?.default_branch;
    branch = typeof named === 'string' ? named : 'main';
  }
  const r = await ghGet(
    base,
    token,
    `repos/${repo}/branches/${encodeURIComponent(branch)}/protection`,
    ctx,
    `protection of ${repo}@${branch}`,
  );
  const unprotected = {
    repo,
    branch,
    protected: false,
    requiredReviews: 0,
    dismissStaleReviews: false,
    enforceAdmins: false,
    allowForcePushes: true,
  };
  const message = (r.res.json as { message?: unknown } | null)?.message;
  if (r.res.status === 404 && typeof message === 'string' && /not protected/i.test(message)) return unprotected;
  if (r.res.status !== 200) throw fail(r);
  const p = Protection.parse(r.res.json);
  return {
    repo,
    branch,
    protected: true,
    requiredReviews: p.required_pull_request_reviews?.required_approving_review_count ?? 0,
    dismissStaleReviews: p.required_pull_request_reviews?.dismiss_stale_reviews ?? false,
    enforceAdmins: p.enforce_admins?.enabled ?? false,
    allowForcePushes: p.allow_force_pushes?.enabled ?? false,
  };
}

/** `compliance_collect_github`: branch protection and required reviews of the configured repositories. */
export function createGithubCollector(
  cfg: { apiUrl: string; repos: string[]; requiredReviews: number },
  deps: CollectorDeps,
) {
  return defineCollector(
    {
      name: 'compliance_collect_github',
      description: 'Reads branch protection and required reviews of the configured GitHub repositories (read-only).',
      source: 'github',
      input: z.object({}).strict(),
      capabilities: [GITHUB_REPO_READ],
      integration: 'github',
      summarize: () => `github: branch protection of ${cfg.repos.length} repo(s)`,
      async collect(_args, ctx, now) {
        if (!cfg.repos.length)
          throw new ToolRefusedError(
            'github: WARDEN_COMPLIANCE_GITHUB_REPOS is not set; list owner/repo[@branch] to collect',
          );
        const token = (await ctx.credential(GITHUB_REPO_READ)).trim();
        const out: BranchEvidence[] = [];
        for (const spec of cfg.repos) {
          out.push(await branchEvidence(cfg.apiUrl, token, spec, ctx));
          ctx.heartbeat({ repos: out.length });
        }
        return githubEvidence(out, { now, requiredReviews: cfg.requiredReviews });
      },
    },
    deps,
  );
}
