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
}

/** A fake Okta Management API speaking Okta's formats (SSWS auth, lifecycle operations, error bodies). */
export interface FakeOkta extends FakeHttpServer {
  /** API token → whether its admin may manage users (false answers 403 E0000006 on writes). */
  tokens: Map<string, { canManage: boolean }>;
  users: Map<string, FakeOktaUser>;
  /** Every lifecycle call and session clear that changed or was refused, in order. */
  operations: Array<{ userId: string; op: string; outcome: 'applied' | 'refused' }>;
  requests: Array<{ method: string; path: string }>;
  addUser(login: string, status?: FakeOktaUser['status']): string;
  /** Answer the next `n` requests with `status` (429 carries Okta's rate-limit headers and E0000047). */
  failNext(n: number, status?: number): void;
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
    // ['', 'api', 'v1', 'users', idOrLogin, ...rest]
    if (parts[1] !== 'api' || parts[2] !== 'v1' || parts[3] !== 'users' || !parts[4])
      return oktaError(404, 'E0000022', 'The endpoint does not support the provided HTTP method');
    const user = find(parts[4]);
    const rest = parts.slice(5).join('/');
    if (req.method === 'GET' && rest === '') {
      if (!user) return notFound(parts[4]);
      const { sessions: _sessions, ...visible } = user;
      return { status: 200, json: { ...visible, created: '2024-01-01T00:00:00.000Z', _links: {} } };
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

  return Object.assign(state, server, {
    addUser(login: string, status: FakeOktaUser['status'] = 'ACTIVE') {
      const id = `00u${crypto.randomBytes(8).toString('hex')}`;
      state.users.set(id, { id, status, profile: { login, email: login }, sessions: 2 });
      return id;
    },
    failNext(n: number, status = 429) {
      failures = { n, status };
    },
  });
}
