import type { Requester, Ticket } from '../ticket';
import { clipDescription } from '../ticket';
import type { ServiceNowRecord } from './servicenow';
import type { JiraIssue } from './jira';

/** What decides whether a ticket system authenticated the requester (WARDEN_TICKETS_VERIFIED_*). */
export interface VerificationRules {
  /** ServiceNow `contact_type` values where the caller signed in themselves. @default self-service, virtual_agent */
  servicenowChannels: readonly string[];
  /** Jira reporter account types that are managed, signed-in accounts. @default atlassian */
  jiraAccountTypes: readonly string[];
}

/** Default {@link VerificationRules}. */
export const DEFAULT_VERIFICATION: VerificationRules = {
  servicenowChannels: ['self-service', 'virtual_agent'],
  jiraAccountTypes: ['atlassian'],
};

const SN_STATES: Record<string, string> = {
  '1': 'New',
  '2': 'In Progress',
  '3': 'On Hold',
  '6': 'Resolved',
  '7': 'Closed',
  '8': 'Canceled',
};
const SN_PRIORITIES: Record<string, string> = {
  '1': '1 - Critical',
  '2': '2 - High',
  '3': '3 - Moderate',
  '4': '4 - Low',
  '5': '5 - Planning',
};

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
/** A reference field: a sys_id string, or `{ value }` when reference links were not excluded. */
const ref = (v: unknown): string | null =>
  str(v) ?? (v && typeof v === 'object' ? str((v as { value?: unknown }).value) : null);

/** ServiceNow stores `YYYY-MM-DD HH:mm:ss` in UTC; ISO-8601 for everyone else. */
export function servicenowTime(v: unknown): string | null {
  const s = str(v);
  if (!s) return null;
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(s);
  return m ? `${m[1]}T${m[2]}Z` : s;
}

/**
 * An incident record (Table API, `sysparm_display_value=false`) → Ticket. The requester is the caller
 * (`caller_id` and its dot-walked email); verified only when the caller opened it through a verified channel.
 * @throws Error naming what is missing when the record has no sys_id or number.
 */
export function normalizeServiceNowIncident(
  r: ServiceNowRecord,
  rules: VerificationRules,
  opts: { url?: string; readFrom: Ticket['readFrom'] },
): Ticket {
  const id = str(r.sys_id);
  const number = str(r.number);
  if (!id || !number) throw new Error('a ServiceNow incident needs sys_id and number');
  const callerId = ref(r.caller_id);
  const openedBy = ref(r.opened_by);
  const channel = str(r.contact_type);
  const email = str(r['caller_id.email']);
  const requester: Requester = {
    id: callerId,
    email: email?.toLowerCase() ?? null,
    name: str(r['caller_id.name']) ?? str(r['caller_id.user_name']),
    ...verdict([
      [!callerId, 'the incident has no caller'],
      [!email, 'the caller has no email address'],
      [
        !channel || !rules.servicenowChannels.includes(channel),
        `contact type "${channel ?? '(none)'}" is not a verified channel (${rules.servicenowChannels.join(', ')})`,
      ],
      [openedBy !== callerId, 'the incident was opened on the caller’s behalf by someone else'],
    ]),
  };
  const state = str(r.state) ?? '';
  return {
    system: 'servicenow',
    id,
    number,
    subject: str(r.short_description) ?? '',
    description: clipDescription(str(r.description) ?? ''),
    status: SN_STATES[state] ?? state,
    priority: SN_PRIORITIES[str(r.priority) ?? ''] ?? str(r.priority),
    category: str(r.category),
    channel,
    requester,
    createdAt: servicenowTime(r.sys_created_on) ?? '',
    updatedAt: servicenowTime(r.sys_updated_on),
    closed: ['6', '7', '8'].includes(state) || r.active === 'false' || r.active === false,
    url: opts.url ?? null,
    readFrom: opts.readFrom,
  };
}

/** Plain text of an Atlassian Document Format node (v3 descriptions), or the string itself (v2). */
export function adfToText(node: unknown): string {
  if (typeof node === 'string') return node;
  if (!node || typeof node !== 'object') return '';
  const n = node as { type?: string; text?: string; content?: unknown[] };
  if (n.type === 'text') return n.text ?? '';
  if (n.type === 'hardBreak') return '\n';
  const inner = (n.content ?? []).map(adfToText).join('');
  return ['paragraph', 'heading', 'listItem', 'codeBlock', 'blockquote'].includes(n.type ?? '') ? `${inner}\n` : inner;
}

interface JiraUser {
  accountId?: string;
  emailAddress?: string;
  displayName?: string;
  accountType?: string;
}
const user = (v: unknown): JiraUser => (v && typeof v === 'object' ? v : {});

/**
 * A Jira issue (REST v3 or a webhook's `issue`) → Ticket. The requester is the reporter; verified only when
 * the reporter created it themself from an account of a verified type. `reporterEmail` fills in an email the
 * issue hides (from the Service Management request).
 * @throws Error when the issue has no id or key.
 */
export function normalizeJiraIssue(
  issue: JiraIssue,
  rules: VerificationRules,
  opts: { url?: string; reporterEmail?: string; readFrom: Ticket['readFrom'] },
): Ticket {
  if (!issue.id || !issue.key) throw new Error('a Jira issue needs id and key');
  const f = issue.fields;
  const reporter = user(f.reporter);
  const creator = user(f.creator);
  const email = str(reporter.emailAddress) ?? str(opts.reporterEmail);
  const accountType = str(reporter.accountType);
  const requester: Requester = {
    id: str(reporter.accountId),
    email: email?.toLowerCase() ?? null,
    name: str(reporter.displayName),
    ...verdict([
      [!reporter.accountId, 'the issue has no reporter'],
      [!email, 'the reporter’s email address is not visible'],
      [
        !accountType || !rules.jiraAccountTypes.includes(accountType),
        `reporter account type "${accountType ?? '(none)'}" is not a verified type (${rules.jiraAccountTypes.join(', ')})`,
      ],
      [creator.accountId !== reporter.accountId, 'the request was raised on the reporter’s behalf by someone else'],
    ]),
  };
  const status = f.status as { name?: string; statusCategory?: { key?: string } } | undefined;
  const priority = f.priority as { name?: string } | undefined;
  const issueType = f.issuetype as { name?: string } | undefined;
  return {
    system: 'jira',
    id: issue.id,
    number: issue.key,
    subject: str(f.summary) ?? '',
    description: clipDescription(adfToText(f.description).trim()),
    status: status?.name ?? '',
    priority: str(priority?.name),
    category: str(issueType?.name),
    channel: accountType,
    requester,
    createdAt: str(f.created) ?? '',
    updatedAt: str(f.updated),
    closed: status?.statusCategory?.key === 'done' || Boolean(f.resolution),
    url: opts.url ?? null,
    readFrom: opts.readFrom,
  };
}

/** The first failed check names why the requester is not verified. */
function verdict(checks: [boolean, string][]): { verified: boolean; reason: string } {
  const failed = checks.find(([bad]) => bad);
  return failed
    ? { verified: false, reason: failed[1] }
    : { verified: true, reason: 'the ticket system authenticated the requester' };
}
