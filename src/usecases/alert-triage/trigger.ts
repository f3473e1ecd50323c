import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { WardenClient } from '../../client';
import { formatIssues } from '../../governance/issues';
import { Playbook } from '../../governance/steps';
import type { WebhookDelivery, WebhookOptions } from '../../triggers/webhooks';
import { normalizeAlert } from './normalize';

/** The bundled triage playbook. */
export const TRIAGE_PLAYBOOK_FILE = path.join(__dirname, 'playbooks', 'alert-triage.yaml');

/** Loads and validates a triage playbook. @throws Error naming the file and every problem. */
export function loadTriagePlaybook(file = TRIAGE_PLAYBOOK_FILE): Playbook {
  const parsed = Playbook.safeParse(YAML.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`triage playbook ${file} is invalid: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** The secret name holding a webhook source's HMAC key. */
export function webhookSecretName(source: string): string {
  return `webhook.${source}`;
}

/** A workflow id that is the business key of an alert: a duplicate delivery maps to the same run. */
export function alertWorkflowId(source: string, alertId: string): string {
  return `alert-${source}-${alertId}`.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 250);
}

/**
 * The webhook options for alert triage: per-source secrets from the secret store, normalization of the
 * vendor payload, and an idempotent start of `runPlaybook` with the triage playbook.
 */
export function triageWebhooks(opts: {
  client: WardenClient;
  secrets: { get(name: string): Promise<string | undefined> };
  confidenceThreshold: number;
  playbook?: Playbook;
}): Pick<WebhookOptions, 'secretFor' | 'deliver'> {
  const playbook = opts.playbook ?? loadTriagePlaybook();
  return {
    secretFor: (source) => opts.secrets.get(webhookSecretName(source)),
    deliver: async (d: WebhookDelivery) => {
      const alert = normalizeAlert(d.source, d.body);
      const workflowId = alertWorkflowId(d.source, alert.alertId);
      const started = await opts.client.start(
        'runPlaybook',
        {
          playbook,
          input: { alert, settings: { confidenceThreshold: opts.confidenceThreshold } },
          initiator: `webhook:${d.source}`,
          trigger: { type: 'webhook', ref: `${d.source}/${alert.alertId}` },
        },
        { workflowId, idempotent: true, summary: `triage ${alert.vendor} alert: ${alert.title}` },
      );
      return { workflowId, duplicate: Boolean(started.duplicate) };
    },
  };
}
