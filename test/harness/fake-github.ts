import { startJsonServer } from './fake-http';
import type { FakeHttpServer } from './fake-http';

/** Branch protection as the fake holds it (the parts of GitHub's BranchProtection the collector reads). */
export interface FakeProtection {
  requiredReviews?: number;
  enforceAdmins?: boolean;
  allowForcePushes?: boolean;
}

/** A fake GitHub REST API (2022-11-28): repositories and branch protection, Bearer tokens, GitHub's errors. */
export interface FakeGithub extends FakeHttpServer {
  /** `owner/repo` → default branch and protection per branch (undefined: not protected). */
  repos: Map<string, { defaultBranch: string; protection: Map<string, FakeProtection | undefined> }>;
  requests: Array<{ method: string; path: string; apiVersion?: string }>;
  addRepo(fullName: string, protection?: FakeProtection, defaultBranch?: string): void;
}

const err = (status: number, message: string) => ({
  status,
  json: { message, documentation_url: 'https://docs.github.com/rest', status: String(status) },
});

/** Starts a fake GitHub API on loopback; `token` is the valid token. */
export async function startFakeGithub(token = 'ghp_fakeTokenForComplianceTests000000000'): Promise<FakeGithub> {
  const state = { repos: new Map() as FakeGithub['repos'], requests: [] as FakeGithub['requests'] };
  const server = await startJsonServer((req) => {
    state.requests.push({
      method: req.method,
      path: req.url.pathname,
      apiVersion: req.headers['x-github-api-version'] as string | undefined,
    });
    if (req.headers.authorization !== `Bearer ${token}`) return err(401, 'Bad credentials');
    const m = /^\/repos\/([^/]+)\/([^/]+)(?:\/branches\/([^/]+)\/protection)?$/.exec(req.url.pathname);
    if (req.method !== 'GET' || !m) return err(404, 'Not Found');
    const repo = state.repos.get(`${m[1]}/${m[2]}`);
    if (!repo) return err(404, 'Not Found');
    if (!m[3])
      return { status: 200, json: { full_name: `${m[1]}/${m[2]}`, default_branch: repo.defaultBranch, private: true } };
    const p = repo.protection.get(decodeURIComponent(m[3]));
    if (!repo.protection.has(decodeURIComponent(m[3]))) return err(404, 'Branch not found');
    if (!p) return err(404, 'Branch not protected');
    const base = `https://api.github.com/repos/${m[1]}/${m[2]}/branches/${m[3]}/protection`;
    return {
      status: 200,
      json: {
        url: base,
        ...(p.requiredReviews
          ? {
              required_pull_request_reviews: {
                url: `${base}/required_pull_request_reviews`,
                dismiss_stale_reviews: true,
                require_code_owner_reviews: false,
                require_last_push_approval: false,
                required_approving_review_count: p.requiredReviews,
              },
            }
          : {}),
        required_signatures: { url: `${base}/required_signatures`, enabled: false },
        enforce_admins: { url: `${base}/enforce_admins`, enabled: p.enforceAdmins ?? false },
        required_linear_history: { enabled: false },
        allow_force_pushes: { enabled: p.allowForcePushes ?? false },
        allow_deletions: { enabled: false },
      },
    };
  });
  return Object.assign(state, server, {
    addRepo(fullName: string, protection?: FakeProtection, defaultBranch = 'main') {
      state.repos.set(fullName, { defaultBranch, protection: new Map([[defaultBranch, protection]]) });
    },
  });
}
