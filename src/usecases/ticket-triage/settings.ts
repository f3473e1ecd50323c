import { z } from 'zod';
import type { SettingsTable } from '../contract';

/*
 * Ticket triage settings (zod only: configuration reads this file without loading the use case). Okta comes
 * from the core's WARDEN_OKTA_BASE_URL; secrets from the vault: servicenow.api_token, jira.api_token,
 * okta.api_token, webhook.servicenow, webhook.jira.
 */

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
/** https, or http on loopback only (test servers): credentials never cross plain HTTP. */
const vendorUrl = z.url({ protocol: /^https?$/ }).refine(
  (v) => {
    if (!URL.canParse(v)) return true;
    const u = new URL(v);
    return u.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  },
  { message: 'must be an https:// URL (http:// only for a loopback test server)' },
);
const categorySpec = /^[a-z][a-z0-9_]{0,40}(=[^,=]{1,80})?$/i;

/** Ticket triage settings by environment-variable name. */
export const settings: SettingsTable = {
  WARDEN_TICKETS_SERVICENOW_URL: {
    schema: vendorUrl.optional(),
    doc: 'ServiceNow instance URL (https://<instance>.service-now.com). Unset: ServiceNow tickets run in shadow mode (webhook deliveries only; writes go to <data dir>/tickets/outbox).',
  },
  WARDEN_TICKETS_SERVICENOW_AUTH: {
    schema: z.enum(['basic', 'bearer']).default('basic'),
    doc: 'How the secret servicenow.api_token is sent: `basic` (it holds user:password) or `bearer` (an OAuth access token).',
  },
  WARDEN_TICKETS_SERVICENOW_FILTER: {
    schema: z.string().default('active=true'),
    doc: 'Encoded query every ServiceNow poll adds, e.g. `active=true^assignment_groupISEMPTY`.',
  },
  WARDEN_TICKETS_SERVICENOW_CLOSE_CODE: {
    schema: z.string().min(1).default('Solution provided'),
    doc: 'close_code of incidents Warden resolves (a value of your instance’s Resolution code choice list).',
  },
  WARDEN_TICKETS_JIRA_URL: {
    schema: vendorUrl.optional(),
    doc: 'Jira Cloud site URL (https://<site>.atlassian.net). Unset: Jira tickets run in shadow mode.',
  },
  WARDEN_TICKETS_JIRA_JQL: {
    schema: z.string().min(1).optional(),
    doc: 'JQL selecting the issues Jira polls consider tickets, e.g. `project = ITSD`. Polling Jira needs it.',
  },
  WARDEN_TICKETS_JIRA_DONE_TRANSITION: {
    schema: z.string().min(1).optional(),
    doc: 'Name of the Jira transition that resolves a request. Unset: the first transition into a done status.',
  },
  WARDEN_TICKETS_KB_DIR: {
    schema: z.string().min(1).optional(),
    doc: 'Folder of Markdown knowledge articles `kb_search` indexes (SQLite FTS5) and re-indexes when files change. Default: the bundled sample articles.',
  },
  WARDEN_TICKETS_KB_BASE_URL: {
    schema: z.url().optional(),
    doc: 'Base URL where the knowledge articles are published; replies cite <base>/<article path>. Unset: replies cite the article title and path.',
  },
  WARDEN_TICKETS_CATEGORIES: {
    schema: z
      .string()
      .optional()
      .refine((v) => v === undefined || v.split(',').every((p) => categorySpec.test(p.trim())), {
        message:
          'must be comma-separated `name` or `name=Queue` entries (name: letters, digits, _), e.g. hardware=Desktop Support',
      }),
    doc: 'Your ticket system’s categories, comma-separated `name=Queue` (queue: ServiceNow assignment group, Jira queue label). Default: password_reset, account_unlock, access_request, how_to, network_vpn, email, printer, software, hardware, security, other.',
  },
  WARDEN_TICKETS_AUTO_RESOLVE: {
    schema: list.default(['password_reset', 'account_unlock', 'how_to']),
    doc: 'Categories Warden may resolve without a human when confident and policy allows (password_reset and account_unlock also run the Okta recovery for the verified requester).',
  },
  WARDEN_TICKETS_DEFAULT_QUEUE: {
    schema: z.string().min(1).default('Service Desk'),
    doc: 'Queue for escalated tickets whose category names none.',
  },
  WARDEN_TICKETS_CONFIDENCE_THRESHOLD: {
    schema: z.coerce.number().min(0).max(1).default(0.75),
    doc: 'Classifications below this confidence wait for a human (tier-1 approval) before anything is done.',
  },
  WARDEN_TICKETS_VERIFIED_CHANNELS: {
    schema: list.default(['self-service', 'virtual_agent']),
    doc: 'ServiceNow contact_type values where the caller signed in themself; other channels (email, phone) need a human to confirm identity before an account action.',
  },
  WARDEN_TICKETS_JIRA_VERIFIED_ACCOUNT_TYPES: {
    schema: list.default(['atlassian']),
    doc: 'Jira reporter account types treated as signed-in identities (`customer` accounts created by email are not).',
  },
  WARDEN_TICKETS_POLL_LIMIT: {
    schema: z.coerce.number().int().min(1).max(500).default(50),
    doc: 'Most tickets one poll starts runs for; the rest wait for the next poll.',
  },
  WARDEN_TICKETS_POLL_SETTLE_SECONDS: {
    schema: z.coerce.number().int().min(0).max(3600).default(60),
    doc: 'Tickets younger than this are left for the next poll, so one committed late is never skipped.',
  },
  WARDEN_TICKETS_POLL_LOOKBACK_MINUTES: {
    schema: z.coerce.number().int().min(1).max(43_200).default(60),
    doc: 'How far back the very first poll of a source looks (later polls continue from the stored cursor).',
  },
};
