import crypto from 'node:crypto';
import { startJsonServer } from './fake-http';
import type { FakeHttpResponse, FakeHttpServer } from './fake-http';

/** A user in the fake Okta org. */
export interface FakeOktaUser {
  id: string;
  status:
    | 'STAGED'
    | 'PROVISIONED'
    | 'ACTIVE'
    | 'SUSPENDED'
    | 'DEPROVISIONED'
    | 'LOCKED_OUT'
    | 'RECOVERY'
    | 'PASSWORD_EXPIRED';
  profile: { login: string; email: string };
  /** Open sessions; cleared by DELETE /api/v1/users/{id}/sessions. */
  sessions: number;
  /** ISO times Okta reports (`created`, `lastLogin`: null when the user never signed in). */
  created?: string;
  lastLogin?: string | null;
  /** Enrolled factors (GET /api/v1/users/{id}/factors). */
  factors?: { id: string; factorType: string; provider: string; status: 'ACTIVE' | 'PENDING_ACTIVATION' }[];
}

/** A fake Okta Management API speaking Okta's formats (SSWS auth, lifecycle operations, error bodies). */
export interface FakeOkta extends FakeHttpServer {
  /** API token → whether its admin may manage users (false answers 403 E0000006 on writes). */
  tokens: Map<string, { canManage: boolean }>;
  users: Map<string, FakeOktaUser>;
  /** Every lifecycle call and session clear that changed or was refused, in order. */
  operations: Array<{ userId: string; op: string; outcome: 'applied' | 'refused' }>;
  requests: Array<{ method: string; path: string }>;
  addUser(login: string, status?: FakeOktaUser['status'], extra?: Partial<FakeOktaUser>): string;
  /** Page size cap of GET /api/v1/users (Okta's is 200); small values exercise Link pagination. */
  pageSize: number;
  /** Answer the next `n` requests with `status` (429 carries Okta's rate-limit headers and E0000047). */
  failNext(n: number, status?: number): void;
  /**
   * Apply the next `n` lifecycle operations, then answer `status` instead of Okta's 200: the change is made
   * but the caller never hears of it (a gateway timeout, a connection lost after the write).
   */
  loseNextLifecycleAnswers(n: number, status?: number): void;
}

function oktaError(status: number, errorCode: string, errorSummary: string, causes: string[] = []): FakeHttpResponse {
  return {
    status,
    json: {
      errorCode,
      errorSummary,
      errorLink: errorCode,
      errorId: `oae${crypto.randomBytes(8).toString('hex')}`,
      errorCauses: causes.map((c) => ({ errorSummary: c })),
    },
  };
}

const notFound = (what: string) => oktaError(404, 'E0000007', `Not found: Resource not found: ${what} (User)`);

/** Starts a fake Okta org on loopback; `token` is a valid API token with user-management rights. */
export async function startFakeOkta(token = 'fake-okta-token-00000000000000000000'): Promise<FakeOkta> {
  let failures = { n: 0, status: 429 };
  let lostAnswers = { n: 0, status: 502 };
  const state = {
    tokens: new Map([[token, { canManage: true }]]),
    users: new Map<string, FakeOktaUser>(),
    operations: [] as FakeOkta['operations'],
    requests: [] as FakeOkta['requests'],
  };
  const find = (idOrLogin: string) =>
    state.users.get(idOrLogin) ??
    [...state.users.values()].find((u) => u.profile.login.toLowerCase() === idOrLogin.toLowerCase());

  const server = await startJsonServer((req) => {
    state.requests.push({ method: req.method, path: req.url.pathname });
    if (failures.n > 0) {
      failures.n--;
      if (failures.status === 429)
        return {
          ...oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.'),
          headers: {
            'x-rate-limit-limit': '600',
            'x-rate-limit-remaining': '0',
            'x-rate-limit-reset': String(Math.ceil(Date.now() / 1000) + 1),
          },
        };
      return oktaError(failures.status, 'E0000009', 'Internal Server Error');
    }
    const presented = /^SSWS (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const rights = state.tokens.get(presented);
    if (!rights) return oktaError(401, 'E0000011', 'Invalid token provided');

    const parts = req.url.pathname.split('/').map((p) => decodeURIComponent(p));
    // GET /api/v1/users: Okta lists every user but DEPROVISIONED ones, paged by an opaque `after` cursor
    // and a `Link: <…>; rel="next"` header.
    if (req.method === 'GET' && parts[1] === 'api' && parts[2] === 'v1' && parts[3] === 'users' && !parts[4]) {
      const limit = Math.min(Number(req.url.searchParams.get('limit') ?? 200) || 200, 200, api.pageSize);
      const listed = [...state.users.values()].filter((u) => u.status !== 'DEPROVISIONED');
      const after = req.url.searchParams.get('after');
      const start = after ? listed.findIndex((u) => u.id === after) + 1 : 0;
      const page = listed.slice(start, start + limit);
      const self = `${api.url}/api/v1/users?limit=${limit}`;
      const links = [`<${self}>; rel="self"`];
      if (start + limit < listed.length) links.push(`<${self}&after=${page[page.length - 1]!.id}>; rel="next"`);
      return { status: 200, headers: { link: links.join(', ') }, json: page.map(visibleUser) };
    }
    if (req.method === 'GET' && parts[5] === 'factors' && !parts[6]) {
      const u = parts[4] ? state.users.get(parts[4]) : undefined;
      if (!u) return notFound(parts[4] ?? '');
      return { status: 200, json: (u.factors ?? []).map((f) => ({ ...f, created: u.created, _links: {} })) };
    }
    // ['', 'api', 'v1', 'users', idOrLogin, ...rest]
    if (parts[1] !== 'api' || parts[2] !== 'v1' || parts[3] !== 'users' || !parts[4])
      return oktaError(404, 'E0000022', 'The endpoint does not support the provided HTTP method');
    const user = find(parts[4]);
    const rest = parts.slice(5).join('/');
    if (req.method === 'GET' && rest === '') {
      if (!user) return notFound(parts[4]);
      return { status: 200, json: visibleUser(user) };
    }
    if (!user || user.id !== parts[4]) return notFound(parts[4]);
    if (!rights.canManage)
      return oktaError(403, 'E0000006', 'You do not have permission to perform the requested action');

    const lifecycle = (op: string, from: FakeOktaUser['status'], to: FakeOktaUser['status']): FakeHttpResponse => {
      if (user.status !== from) {
        state.operations.push({ userId: user.id, op, outcome: 'refused' });
        return oktaError(400, 'E0000001', 'Api validation failed: status', [
          `Cannot ${op} a user that is not ${from.toLowerCase()}.`,
        ]);
      }
      user.status = to;
      state.operations.push({ userId: user.id, op, outcome: 'applied' });
      if (lostAnswers.n > 0) {
        lostAnswers.n--;
        return oktaError(lostAnswers.status, 'E0000009', 'Internal Server Error');
      }
      return { status: 200, json: {} };
    };
    if (req.method === 'POST' && rest === 'lifecycle/suspend') return lifecycle('suspend', 'ACTIVE', 'SUSPENDED');
    if (req.method === 'POST' && rest === 'lifecycle/unsuspend') return lifecycle('unsuspend', 'SUSPENDED', 'ACTIVE');
    if (req.method === 'POST' && rest === 'lifecycle/unlock') return lifecycle('unlock', 'LOCKED_OUT', 'ACTIVE');
    if (req.method === 'POST' && rest === 'lifecycle/reset_password') {
      // Okta: with sendEmail=true the reset link goes to the user's primary email and the body is {}; with
      // false the body carries the link (which a caller must never do: it would be a secret in its output).
      if (!['ACTIVE', 'LOCKED_OUT', 'PASSWORD_EXPIRED'].includes(user.status)) {
        state.operations.push({ userId: user.id, op: 'reset_password', outcome: 'refused' });
        return oktaError(403, 'E0000016', 'Activation failed because the user is already active');
      }
      const sendEmail = req.url.searchParams.get('sendEmail') !== 'false';
      user.status = 'RECOVERY';
      state.operations.push({
        userId: user.id,
        op: sendEmail ? 'reset_password' : 'reset_password:link',
        outcome: 'applied',
      });
      return { status: 200, json: sendEmail ? {} : { resetPasswordUrl: `${server.url}/reset_password/drpFakeToken` } };
    }
    if (req.method === 'DELETE' && rest === 'sessions') {
      user.sessions = 0;
      state.operations.push({ userId: user.id, op: 'clear_sessions', outcome: 'applied' });
      return { status: 204 };
    }
    return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
  });

  const api = Object.assign(state, server, {
    pageSize: 200,
    addUser(login: string, status: FakeOktaUser['status'] = 'ACTIVE', extra: Partial<FakeOktaUser> = {}) {
      const id = `00u${crypto.randomBytes(8).toString('hex')}`;
      state.users.set(id, { id, status, profile: { login, email: login }, sessions: 2, ...extra });
      return id;
    },
    failNext(n: number, status = 429) {
      failures = { n, status };
    },
    loseNextLifecycleAnswers(n: number, status = 502) {
      lostAnswers = { n, status };
    },
  });
  return api;
}

/** A user as Okta's API shows it (no fake-only fields, Okta's timestamps). */
function visibleUser(user: FakeOktaUser) {
  const { sessions: _sessions, factors: _factors, ...visible } = user;
  return {
    ...visible,
    created: user.created ?? '2024-01-01T00:00:00.000Z',
    lastLogin: user.lastLogin === undefined ? '2024-06-01T00:00:00.000Z' : user.lastLogin,
    _links: {},
  };
}
