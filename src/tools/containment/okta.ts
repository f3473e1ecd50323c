import { z } from 'zod';
import { ToolRefusedError } from '../types';
import { DEFAULT_VENDOR_TIMEOUT_MS, VendorError, errorForStatus, vendorFetch } from './vendor-http';
import type { VendorRequest } from './vendor-http';

/** What an Okta call needs besides its arguments: the leased API token and the activity's signal. */
export interface OktaCall {
  /** An Okta API token (the secret `okta.api_token`), sent as `Authorization: SSWS <token>`. */
  token: string;
  signal: AbortSignal;
}

/** Where and how long: from WARDEN_OKTA_BASE_URL. */
export interface OktaClientOptions {
  /** The Okta org URL, e.g. https://acme.okta.com. */
  baseUrl: string;
  /** Limit for one request. @default 15000 */
  timeoutMs?: number;
}

/** The fields of an Okta user Warden reads. */
export const OktaUser = z
  .object({
    id: z.string(),
    status: z.string(),
    profile: z.object({ login: z.string().optional() }).loose().optional(),
  })
  .loose();
/** An Okta user (GET /api/v1/users/{id}); `status` is ACTIVE, SUSPENDED, DEPROVISIONED, STAGED, ... */
export type OktaUser = z.infer<typeof OktaUser>;

/** Okta's error body. */
const OktaErrorBody = z
  .object({
    errorCode: z.string().optional(),
    errorSummary: z.string().optional(),
    errorId: z.string().optional(),
    errorCauses: z.array(z.object({ errorSummary: z.string().optional() }).loose()).optional(),
  })
  .loose();

/** Operator hints by Okta error code. */
const HINTS: Record<string, string> = {
  E0000011: 'Okta rejected the API token: check the secret okta.api_token and that the token is not revoked or expired',
  E0000006:
    'The API token belongs to an admin who may not manage this user; use a token of an admin with user management rights',
  E0000007: 'Check the login or user id',
};

/**
 * A small Okta Management API client in Okta's own format: `SSWS` API-token auth, user lookup by id or
 * login, lifecycle operations, and `{ errorCode, errorSummary }` error bodies turned into messages that
 * name the code and what to do. Nothing is retried here; failures are thrown as retryable `VendorError`
 * (429, 5xx, network) or `VendorRefusedError` (other 4xx) for Temporal to handle.
 */
export class OktaClient {
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(options: OktaClientOptions) {
    this.base = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  }

  /** The Okta org host, for messages. */
  get host(): string {
    return this.base.host;
  }

  /** The user with this id or login (`GET /api/v1/users/{idOrLogin}`). @throws VendorRefusedError when unknown. */
  async getUser(call: OktaCall, idOrLogin: string): Promise<OktaUser> {
    const json = await this.request(
      call,
      `user lookup of ${idOrLogin}`,
      'GET',
      `users/${encodeURIComponent(idOrLogin)}`,
    );
    const user = OktaUser.safeParse(json);
    if (!user.success)
      throw new VendorError(`okta: user lookup of ${idOrLogin}: the answer is not an Okta user`, { vendor: 'okta' });
    return user.data;
  }

  /** Suspends an ACTIVE user: no sign-in until unsuspended; apps and group memberships are kept. */
  async suspendUser(call: OktaCall, userId: string): Promise<void> {
    await this.request(call, `suspend user ${userId}`, 'POST', `users/${encodeURIComponent(userId)}/lifecycle/suspend`);
  }

  /** Returns a SUSPENDED user to ACTIVE. */
  async unsuspendUser(call: OktaCall, userId: string): Promise<void> {
    await this.request(
      call,
      `unsuspend user ${userId}`,
      'POST',
      `users/${encodeURIComponent(userId)}/lifecycle/unsuspend`,
    );
  }

  /** Ends every Okta session of the user and revokes the OAuth tokens Okta issued to them. Idempotent. */
  async clearUserSessions(call: OktaCall, userId: string): Promise<void> {
    await this.request(
      call,
      `clear sessions of user ${userId}`,
      'DELETE',
      `users/${encodeURIComponent(userId)}/sessions`,
      {
        oauthTokens: 'true',
      },
    );
  }

  private async request(
    call: OktaCall,
    operation: string,
    method: VendorRequest['method'],
    path: string,
    query: Record<string, string> = {},
  ): Promise<unknown> {
    const token = call.token.trim();
    if (token === '' || /[\s\p{Cc}]/u.test(token))
      throw new ToolRefusedError(
        'okta: the secret okta.api_token is empty or holds whitespace; store the bare API token (warden secrets set okta.api_token)',
      );
    const url = new URL(`api/v1/${path}`, this.base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const req: VendorRequest = {
      vendor: 'okta',
      operation,
      method,
      url,
      headers: { authorization: `SSWS ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      signal: call.signal,
      timeoutMs: this.timeoutMs,
      secrets: [token],
    };
    const res = await vendorFetch(req);
    if (res.status >= 200 && res.status < 300) return res.json;
    const body = OktaErrorBody.safeParse(res.json);
    const err = body.success ? body.data : {};
    const causes = (err.errorCauses ?? []).map((c) => c.errorSummary).filter(Boolean);
    const summary = [err.errorSummary, ...causes].filter(Boolean).join(': ');
    throw errorForStatus(req, res, {
      ...(err.errorCode ? { code: err.errorCode } : {}),
      ...(summary ? { summary: err.errorId ? `${summary}; errorId ${err.errorId}` : summary } : {}),
      hint:
        (err.errorCode ? HINTS[err.errorCode] : undefined) ??
        (res.status === 401
          ? HINTS.E0000011
          : res.status === 403
            ? HINTS.E0000006
            : res.status === 404
              ? `Okta (${this.host}) does not know it`
              : undefined),
    });
  }
}
