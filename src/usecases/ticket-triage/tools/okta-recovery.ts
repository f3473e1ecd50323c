import { z } from 'zod';
import { DEFAULT_VENDOR_TIMEOUT_MS, errorForStatus, vendorFetch } from '../../../tools/containment/vendor-http';
import type { VendorRequest } from '../../../tools/containment/vendor-http';
import type { OktaCall } from '../../../tools/containment/okta';

/*
 * The two Okta lifecycle operations account recovery needs and the core Okta client (tools/containment/
 * okta.ts) does not offer yet: reset_password and unlock. User lookups go through that client; when it gains
 * these two methods, this file goes away.
 */

const OktaErrorBody = z.object({ errorCode: z.string().optional(), errorSummary: z.string().optional() }).loose();

async function lifecycle(
  baseUrl: string,
  call: OktaCall,
  userId: string,
  operation: 'reset_password' | 'unlock',
  timeoutMs = DEFAULT_VENDOR_TIMEOUT_MS,
): Promise<void> {
  const url = new URL(
    `api/v1/users/${encodeURIComponent(userId)}/lifecycle/${operation}`,
    baseUrl.replace(/\/+$/, '') + '/',
  );
  // sendEmail=true: Okta mails the reset link to the user's own primary address. The link never passes
  // through Warden (with sendEmail=false Okta would return it, and it would land in history).
  if (operation === 'reset_password') url.searchParams.set('sendEmail', 'true');
  const token = call.token.trim();
  const req: VendorRequest = {
    vendor: 'okta',
    operation: `${operation.replace('_', ' ')} for user ${userId}`,
    method: 'POST',
    url,
    headers: { authorization: `SSWS ${token}`, 'content-type': 'application/json' },
    signal: call.signal,
    timeoutMs,
    secrets: [token],
  };
  const res = await vendorFetch(req);
  if (res.status >= 200 && res.status < 300) return;
  const body = OktaErrorBody.safeParse(res.json);
  throw errorForStatus(req, res, {
    ...(body.success && body.data.errorCode ? { code: body.data.errorCode } : {}),
    ...(body.success && body.data.errorSummary ? { summary: body.data.errorSummary } : {}),
    hint:
      res.status === 401
        ? 'Okta rejected the API token: check the secret okta.api_token'
        : res.status === 403
          ? 'the API token’s admin may not manage this user (help-desk admin role needed)'
          : undefined,
  });
}

/** `POST /api/v1/users/{id}/lifecycle/reset_password?sendEmail=true`: the user gets a reset email; status RECOVERY. */
export function resetPassword(baseUrl: string, call: OktaCall, userId: string): Promise<void> {
  return lifecycle(baseUrl, call, userId, 'reset_password');
}

/** `POST /api/v1/users/{id}/lifecycle/unlock`: a LOCKED_OUT user is ACTIVE again with the same password. */
export function unlockUser(baseUrl: string, call: OktaCall, userId: string): Promise<void> {
  return lifecycle(baseUrl, call, userId, 'unlock');
}
