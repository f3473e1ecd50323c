import { ToolRefusedError } from '../../../tools/types';
import type { ToolContext } from '../../../tools/types';
import { VendorRefusedError } from '../../../tools/containment/vendor-http';
import type { Ticket } from '../ticket';
import type { ItsmConnector, ItsmSettings, PollCursor, PollWindow, TicketKey, WriteResult } from './itsm';
import { ITSM_CAPABILITIES } from './itsm';
import { JiraClient } from './jira';
import type { JiraCall, JiraIssue, JiraTransition } from './jira';
import { wardenRef, withRef } from './marker';
import { normalizeJiraIssue } from './normalize';

/** A queue name as a Jira label (labels hold no spaces): "Desktop Support" → `desktop-support`. */
export function queueLabel(queue: string): string {
  return queue
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The JQL of one poll page: issues after the cursor by issue id (Jira's ids grow with creation), older than
 * the settle time, oldest first. Relative dates ("-2m") avoid the API user's time zone.
 */
export function pollJql(jql: string, cursor: PollCursor | null, window: PollWindow): string {
  const settle = Math.max(1, Math.ceil(window.settleSeconds / 60));
  const after = cursor ? `id > ${Number(cursor.id)}` : `created >= "-${window.lookbackMinutes}m"`;
  return `(${jql}) AND ${after} AND created <= "-${settle}m" ORDER BY id ASC`;
}

/** The transition that resolves: the configured name, else the first into a status of the done category. */
export function doneTransition(transitions: JiraTransition[], name: string | undefined): JiraTransition | undefined {
  if (name) return transitions.find((t) => t.name.toLowerCase() === name.toLowerCase());
  return transitions.find((t) => t.to?.statusCategory?.key === 'done');
}

/** Jira Service Management requests through the Jira and Service Management REST APIs. */
export class JiraConnector implements ItsmConnector {
  readonly system = 'jira' as const;
  readonly live = true;
  private readonly client: JiraClient;

  constructor(private readonly settings: ItsmSettings) {
    this.client = new JiraClient({
      baseUrl: settings.jira.url!,
      ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
    });
  }

  private async call(ctx: ToolContext, kind: 'read' | 'write'): Promise<JiraCall> {
    return { credential: await ctx.credential(ITSM_CAPABILITIES.jira[kind]), signal: ctx.signal };
  }

  private async normalize(call: JiraCall, issue: JiraIssue): Promise<Ticket> {
    const reporter = issue.fields.reporter as { accountId?: string; emailAddress?: string } | undefined;
    // Jira Cloud hides emails under profile privacy; the Service Management request shows agents the reporter's.
    const reporterEmail =
      reporter?.accountId && !reporter.emailAddress
        ? await this.client.getRequestReporterEmail(call, issue.key).catch((err: unknown) => {
            if (err instanceof VendorRefusedError) return undefined; // not a service request: no email to find
            throw err;
          })
        : undefined;
    return normalizeJiraIssue(issue, this.settings.verification, {
      url: this.client.browseUrl(issue.key),
      ...(reporterEmail ? { reporterEmail } : {}),
      readFrom: 'api',
    });
  }

  async get(ctx: ToolContext, id: string): Promise<Ticket> {
    const call = await this.call(ctx, 'read');
    return this.normalize(call, await this.client.getIssue(call, id));
  }

  private result(t: TicketKey, operation: WriteResult['operation'], applied: boolean, ref: string): WriteResult {
    return { system: 'jira', number: t.number, operation, applied, ref, mode: 'live' };
  }

  private async commentOnce(call: JiraCall, t: TicketKey, body: string, isPublic: boolean, ref: string) {
    const existing = await this.client.listComments(call, t.number);
    if (existing.some((c) => c.body.includes(ref))) return false;
    await this.client.addComment(call, t.number, withRef(body, ref), isPublic);
    return true;
  }

  async comment(ctx: ToolContext, t: TicketKey, body: string, visibility: 'internal' | 'public') {
    const ref = wardenRef(ctx.idempotencyKey);
    const applied = await this.commentOnce(await this.call(ctx, 'write'), t, body, visibility === 'public', ref);
    return this.result(t, 'comment', applied, ref);
  }

  async assign(ctx: ToolContext, t: TicketKey, to: { queue?: string; assignee?: string }) {
    const call = await this.call(ctx, 'write');
    // Adding a label it has and assigning the current assignee change nothing: both are idempotent.
    if (to.queue) await this.client.addLabels(call, t.number, [queueLabel(to.queue)]);
    if (to.assignee) await this.client.assign(call, t.number, to.assignee);
    return this.result(t, 'assign', Boolean(to.queue || to.assignee), wardenRef(ctx.idempotencyKey));
  }

  async resolve(ctx: ToolContext, t: TicketKey, r: { reply: string; closeNotes: string }) {
    const call = await this.call(ctx, 'write');
    const ref = wardenRef(ctx.idempotencyKey);
    const replied = await this.commentOnce(call, t, r.reply, true, ref);
    const issue = await this.normalize(call, await this.client.getIssue(call, t.number));
    if (issue.closed) return this.result(t, 'resolve', replied, ref);
    const transition = doneTransition(
      await this.client.getTransitions(call, t.number),
      this.settings.jira.doneTransition,
    );
    if (!transition)
      throw new VendorRefusedError(
        `jira: ${t.number} has no transition ${this.settings.jira.doneTransition ? `named "${this.settings.jira.doneTransition}"` : 'into a done status'} available to the API user; ` +
          'set WARDEN_TICKETS_JIRA_DONE_TRANSITION or give the account the Transition Issues permission',
        { vendor: 'jira' },
      );
    await this.client.transition(call, t.number, transition.id);
    return this.result(t, 'resolve', true, ref);
  }

  async listNew(ctx: ToolContext, cursor: PollCursor | null, window: PollWindow): Promise<Ticket[]> {
    if (!this.settings.jira.jql)
      throw new ToolRefusedError(
        'jira: polling needs WARDEN_TICKETS_JIRA_JQL (which issues are tickets, e.g. `project = ITSD`); it never polls all of Jira',
      );
    const call = await this.call(ctx, 'read');
    const page = await this.client.searchIssues(call, pollJql(this.settings.jira.jql, cursor, window), {
      maxResults: window.limit,
    });
    const out: Ticket[] = [];
    for (const issue of page.issues) out.push(await this.normalize(call, issue));
    return out;
  }
}
