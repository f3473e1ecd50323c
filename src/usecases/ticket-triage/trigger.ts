import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { WardenClient } from '../../client';
import { formatIssues } from '../../governance/issues';
import { Playbook } from '../../governance/steps';
import { WebhookRejected } from '../../triggers/webhooks';
import type { WebhookDelivery } from '../../triggers/webhooks';
import type { WebhookRoute } from '../contract';
import { JiraIssue } from './connectors/jira';
import { normalizeJiraIssue, normalizeServiceNowIncident } from './connectors/normalize';
import type { TicketTriageOptions } from './options';
import { resolveOptions } from './options';
import type { TicketRef, TicketSystem } from './ticket';

/** The bundled playbooks. */
export const PLAYBOOK_DIR = path.join(__dirname, 'playbooks');
/** The triage playbook a ticket run executes. */
export const TRIAGE_PLAYBOOK = 'ticket-triage';
/** The poll playbook the schedules run. */
export const POLL_PLAYBOOK = 'ticket-poll';

/** Loads and validates a bundled playbook by name. @throws Error naming the file and every problem. */
export function loadPlaybook(name: string): Playbook {
  const file = path.join(PLAYBOOK_DIR, `${name}.yaml`);
  const parsed = Playbook.safeParse(YAML.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`ticket playbook ${file} is invalid: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** The run of a ticket: its business key, so a duplicate delivery or poll maps to the same run. */
export function ticketWorkflowId(source: TicketSystem, id: string): string {
  return `ticket-${source}-${id}`.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 250);
}

/** The triage playbook's input: the ticket reference and the taxonomy the classifier chooses from. */
export function triageInput(ref: TicketRef, options: TicketTriageOptions): Record<string, unknown> {
  return { ticket: ref, categories: options.categories.map((c) => ({ name: c.name, description: c.description })) };
}

/**
 * Starts the triage of one ticket, idempotently: the workflow id is the ticket's business key and a
 * duplicate start returns the existing run (`duplicate: true`), even after it closed.
 */
export async function startTriage(
  client: WardenClient,
  ref: TicketRef,
  options: TicketTriageOptions,
  trigger: { type: string; ref?: string },
  playbook: Playbook = loadPlaybook(TRIAGE_PLAYBOOK),
): Promise<{ workflowId: string; duplicate: boolean }> {
  const workflowId = ticketWorkflowId(ref.source, ref.id);
  const started = await client.start(
    'runPlaybook',
    { playbook, input: triageInput(ref, options), initiator: `${trigger.type}:${ref.source}`, trigger },
    { workflowId, idempotent: true, summary: `triage ${ref.source} ticket ${ref.number ?? ref.id}` },
  );
  return { workflowId, duplicate: Boolean(started.duplicate) };
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * A webhook body → the ticket reference, with the delivered record normalized as a snapshot (used only while
 * the system runs in shadow mode; live runs re-read the ticket). ServiceNow: an outbound REST message whose
 * body is the incident record (Table API field names), bare or under `result` or `record`. Jira: the
 * platform webhook (`webhookEvent`, `issue`).
 * @throws WebhookRejected (400) saying what the payload lacks; (422) for a deleted Jira issue.
 */
export function ticketFromDelivery(source: TicketSystem, body: unknown, options: TicketTriageOptions): TicketRef {
  const rules = options.itsm.verification;
  if (source === 'servicenow') {
    const b = obj(body);
    const record = obj(b?.result) ?? obj(b?.record) ?? b;
    if (!record || typeof record.sys_id !== 'string' || typeof record.number !== 'string')
      throw new WebhookRejected(
        400,
        'servicenow: the body must be an incident record with sys_id and number (Table API field names)',
      );
    const snapshot = normalizeServiceNowIncident(record, rules, { readFrom: 'webhook' });
    return { source, id: snapshot.id, number: snapshot.number, snapshot };
  }
  const b = obj(body);
  const event = typeof b?.webhookEvent === 'string' ? b.webhookEvent : undefined;
  const issue = JiraIssue.safeParse(b?.issue);
  if (!event || !issue.success)
    throw new WebhookRejected(
      400,
      'jira: the body must be a Jira webhook with webhookEvent and issue { id, key, fields }',
    );
  if (event === 'jira:issue_deleted')
    throw new WebhookRejected(422, `jira: ${issue.data.key} was deleted; nothing to triage`);
  const snapshot = normalizeJiraIssue(issue.data, rules, { readFrom: 'webhook' });
  return { source, id: snapshot.id, number: snapshot.number, snapshot };
}

/** The sources ticket triage receives at `POST /v1/webhooks/:source` (secrets webhook.servicenow, webhook.jira). */
export const TICKET_SOURCES = ['servicenow', 'jira'] as const;

/** The use case's webhook route: an authentic delivery → an idempotent triage run `ticket-<source>-<id>`. */
export const ticketWebhooks: WebhookRoute = {
  sources: TICKET_SOURCES,
  async deliver(d: WebhookDelivery, ctx) {
    if (!(TICKET_SOURCES as readonly string[]).includes(d.source))
      throw new WebhookRejected(404, `ticket triage does not receive source "${d.source}"`);
    const options = resolveOptions(ctx.config, ctx.settings);
    const ref = ticketFromDelivery(d.source as TicketSystem, d.body, options);
    return startTriage(ctx.client, ref, options, { type: 'webhook', ref: `${ref.source}/${ref.number ?? ref.id}` });
  },
};
