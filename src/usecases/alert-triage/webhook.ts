import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { formatIssues } from '../../governance/issues';
import { Playbook } from '../../governance/steps';
import type { WebhookRoute } from '../contract';
import { normalizeAlert } from './normalize';
import { triageSettings } from './settings';

/** The bundled triage playbook. */
export const TRIAGE_PLAYBOOK_FILE = path.join(__dirname, 'playbooks', 'alert-triage.yaml');

/** Loads and validates a triage playbook. @throws Error naming the file and every problem. */
export function loadTriagePlaybook(file = TRIAGE_PLAYBOOK_FILE): Playbook {
  const parsed = Playbook.safeParse(YAML.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`triage playbook ${file} is invalid: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** A workflow id that is the business key of an alert: a duplicate delivery maps to the same run. */
export function alertWorkflowId(source: string, alertId: string): string {
  return `alert-${source}-${alertId}`.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 250);
}

/**
 * Alert triage's webhooks: every source no other use case claims is an alert vendor. The vendor payload
 * is normalized, then `runPlaybook` starts idempotently with the triage playbook under the alert's
 * business key (a duplicate delivery returns the existing run).
 */
export function triageWebhookRoute(playbook: () => Playbook = loadTriagePlaybook): WebhookRoute {
  let loaded: Playbook | undefined;
  return {
    sources: '*',
    deliver: async (d, ctx) => {
      loaded ??= playbook();
      const s = triageSettings(ctx.settings, ctx.config.http_request.timeoutMs);
      const alert = normalizeAlert(d.source, d.body);
      const workflowId = alertWorkflowId(d.source, alert.alertId);
      const started = await ctx.client.start(
        'runPlaybook',
        {
          playbook: loaded,
          input: { alert, settings: { confidenceThreshold: s.confidenceThreshold } },
          initiator: `webhook:${d.source}`,
          trigger: { type: 'webhook', ref: `${d.source}/${alert.alertId}` },
        },
        { workflowId, idempotent: true, summary: `triage ${alert.vendor} alert: ${alert.title}` },
      );
      return { workflowId, duplicate: Boolean(started.duplicate) };
    },
  };
}
