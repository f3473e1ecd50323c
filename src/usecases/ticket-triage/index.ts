import path from 'node:path';
import type { UseCase } from '../contract';
import type { WardenClient } from '../../client';
import { ticketClassifier } from './agent';
import { runTicketDemo } from './demo';
import { resolveOptions } from './options';
import { ticketSchedules } from './schedules';
import { settings } from './settings';
import { createTicketTriageTools } from './tools';
import { PLAYBOOK_DIR, POLL_PLAYBOOK, TRIAGE_PLAYBOOK, ticketWebhooks } from './trigger';

/**
 * IT ticket triage: tickets from ServiceNow and Jira Service Management (webhook or scheduled poll) are
 * classified by agent:ticket-classifier, matched to knowledge articles and the requester's directory entry,
 * then resolved through policy (a reply citing an article; an Okta password reset or unlock for the verified
 * requester only) or escalated to their queue with a complete case. Low confidence waits for a human.
 */
export const useCase: UseCase = {
  name: 'ticket-triage',
  description:
    'IT ticket triage for ServiceNow and Jira: classify, search knowledge, auto-resolve through policy or escalate',
  settings,
  agents: [ticketClassifier],
  tools(ctx) {
    const options = resolveOptions(ctx.config, ctx.settings);
    let client: Promise<WardenClient> | undefined;
    return createTicketTriageTools(options, {
      // The poll starts runs; its client connects on first use and lives as long as the worker.
      // The Temporal client loads on first use, so loading the use case (every CLI start) stays cheap.
      client: () =>
        (client ??= import('../../client').then((m) =>
          m.WardenClient.connect(ctx.config, { attestAs: 'ticket-poll' }),
        )),
      eager: true,
    });
  },
  playbooks: {
    [TRIAGE_PLAYBOOK]: path.join(PLAYBOOK_DIR, `${TRIAGE_PLAYBOOK}.yaml`),
    [POLL_PLAYBOOK]: path.join(PLAYBOOK_DIR, `${POLL_PLAYBOOK}.yaml`),
  },
  policyRules: path.join(__dirname, 'policy.yaml'),
  webhooks: ticketWebhooks,
  schedules: ticketSchedules,
  demo: runTicketDemo,
};
