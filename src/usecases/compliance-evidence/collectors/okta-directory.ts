import parseLinkHeader from 'parse-link-header';
import { z } from 'zod';
import type { OktaCall, OktaClientOptions } from '../../../tools/containment/okta';
import { OktaUser } from '../../../tools/containment/okta';
import {
  DEFAULT_VENDOR_TIMEOUT_MS,
  VendorError,
  errorForStatus,
  vendorFetch,
} from '../../../tools/containment/vendor-http';
import type { VendorRequest } from '../../../tools/containment/vendor-http';
import { ToolRefusedError } from '../../../tools/types';

/*
 * Read-only Okta directory listing for evidence: GET /api/v1/users (cursor pagination through the `Link:
 * <…>; rel="next"` header, `limit` up to 200) and GET /api/v1/users/{id}/factors. Built on the same
 * vendor plumbing and user schema as the containment OktaClient (src/tools/containment/okta.ts), whose
 * request method is private and returns no headers; see the report to the lead about folding this in.
 */

/** An Okta user with the fields evidence needs (status, sign-in times). */
export const OktaDirectoryUser = OktaUser.extend({
  created: z.string().optional(),
  lastLogin: z.string().nullable().optional(),
  profile: z.object({ login: z.string().optional(), email: z.string().optional() }).loose().optional(),
});
/** An Okta user as listed. */
export type OktaDirectoryUser = z.infer<typeof OktaDirectoryUser>;

/** An enrolled factor (GET /api/v1/users/{id}/factors). */
export const OktaFactor = z
  .object({ id: z.string(), factorType: z.string(), provider: z.string().optional(), status: z.string() })
  .loose();
/** An enrolled factor. */
export type OktaFactor = z.infer<typeof OktaFactor>;

/** Upper bound on pages followed: a Link loop must not spin forever. */
const MAX_PAGES = 1000;

/** Okta's users and factors, read-only. */
export class OktaDirectory {
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(options: OktaClientOptions) {
    this.base = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  }

  /** Every user the default listing returns (all but DEPROVISIONED), following `rel="next"` links. */
  async listUsers(call: OktaCall, onPage?: (n: number) => void): Promise<OktaDirectoryUser[]> {
    const out: OktaDirectoryUser[] = [];
    let url: URL | undefined = new URL('api/v1/users?limit=200', this.base);
    for (let page = 0; url; page++) {
      if (page >= MAX_PAGES) throw new VendorError(`okta: more than ${MAX_PAGES} pages of users`, { vendor: 'okta' });
      const res = await this.get(call, 'list users', url);
      const users = z.array(OktaDirectoryUser).safeParse(res.json);
      if (!users.success)
        throw new VendorError('okta: list users: the answer is not a list of Okta users', { vendor: 'okta' });
      out.push(...users.data);
      onPage?.(page + 1);
      url = this.nextLink(res.headers.get('link'));
    }
    return out;
  }

  /** The user's enrolled factors. */
  async listFactors(call: OktaCall, userId: string): Promise<OktaFactor[]> {
    const res = await this.get(
      call,
      `factors of ${userId}`,
      new URL(`api/v1/users/${encodeURIComponent(userId)}/factors`, this.base),
    );
    const factors = z.array(OktaFactor).safeParse(res.json);
    if (!factors.success)
      throw new VendorError(`okta: factors of ${userId}: not a list of factors`, { vendor: 'okta' });
    return factors.data;
  }

  /** The next page, only when it stays on the org's own host (a Link elsewhere must not get the token). */
  private nextLink(header: string | null): URL | undefined {
    const next = parseLinkHeader(header)?.next?.url;
    if (!next) return undefined;
    const url = new URL(next, this.base);
    if (url.origin !== this.base.origin)
      throw new ToolRefusedError(
        `okta: the next-page link points at ${url.host}, not the org ${this.base.host}; refused`,
      );
    return url;
  }

  private async get(call: OktaCall, operation: string, url: URL) {
    const token = call.token.trim();
    if (token === '' || /[\s\p{Cc}]/u.test(token))
      throw new ToolRefusedError(
        'okta: the secret okta.api_token is empty or holds whitespace; store the bare API token (warden secrets set okta.api_token)',
      );
    const req: VendorRequest = {
      vendor: 'okta',
      operation,
      method: 'GET',
      url,
      headers: { authorization: `SSWS ${token}` },
      signal: call.signal,
      timeoutMs: this.timeoutMs,
      secrets: [token],
    };
    const res = await vendorFetch(req);
    if (res.status >= 200 && res.status < 300) return res;
    const body = (res.json ?? {}) as { errorCode?: unknown; errorSummary?: unknown };
    throw errorForStatus(req, res, {
      ...(typeof body.errorCode === 'string' ? { code: body.errorCode } : {}),
      ...(typeof body.errorSummary === 'string' ? { summary: body.errorSummary } : {}),
      hint:
        res.status === 401
          ? 'Okta rejected the API token: check the secret okta.api_token'
          : res.status === 403
            ? 'the token needs read access to users and factors (a read-only admin role is enough)'
            : undefined,
    });
  }
}
