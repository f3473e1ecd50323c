import { z } from 'zod';
import { ToolRefusedError } from '../types';

/**
 * CrowdStrike Falcon API client credentials, as held in the secret `crowdstrike.api_token`.
 *
 * The secret is either JSON `{"client_id": "...", "client_secret": "...", "member_cid": "..."}`
 * (`member_cid` optional, for a Flight Control child CID) or the short form `client_id:client_secret`.
 */
export interface FalconCredentials {
  clientId: string;
  clientSecret: string;
  memberCid?: string;
}

const CredentialJson = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  member_cid: z.string().min(1).optional(),
});

/**
 * Reads the `crowdstrike.api_token` secret (JSON or `client_id:client_secret`).
 * @throws ToolRefusedError naming the expected format, never the value.
 */
export function parseFalconCredential(secret: string): FalconCredentials {
  const text = secret.trim();
  const bad = () =>
    new ToolRefusedError(
      'crowdstrike: the secret crowdstrike.api_token is not a Falcon API client credential; store ' +
        '`client_id:client_secret` or JSON {"client_id":"...","client_secret":"..."} (warden secrets set crowdstrike.api_token)',
    );
  let creds: FalconCredentials;
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw bad();
    }
    const r = CredentialJson.safeParse(parsed);
    if (!r.success) throw bad();
    creds = { clientId: r.data.client_id, clientSecret: r.data.client_secret };
    if (r.data.member_cid) creds.memberCid = r.data.member_cid;
  } else {
    const colon = text.indexOf(':');
    if (colon <= 0 || colon === text.length - 1) throw bad();
    creds = { clientId: text.slice(0, colon), clientSecret: text.slice(colon + 1) };
  }
  if (/[\s\p{Cc}]/u.test(creds.clientId + creds.clientSecret)) throw bad();
  return creds;
}
