import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { postSignedWebhook } from '../../triggers/webhooks';
import type { DemoContext } from '../contract';

/** The demo's sample tickets (written for Warden, in the formats the webhooks receive), by webhook source. */
export const DEMO_TICKETS: readonly { file: string; source: 'servicenow' | 'jira'; what: string }[] = [
  {
    file: 'servicenow-vpn-question.json',
    source: 'servicenow',
    what: 'how-to question: answered from the knowledge base',
  },
  { file: 'jira-laptop-broken.json', source: 'jira', what: 'broken laptop: escalated to Desktop Support with a case' },
  { file: 'jira-printer-german.json', source: 'jira', what: 'German how-to question: reply drafted in German' },
  {
    file: 'servicenow-password-by-email.json',
    source: 'servicenow',
    what: 'password reset asked by email: waits for a human to confirm the requester’s identity',
  },
];
/** Where they are. */
export const DEMO_DIR = path.join(__dirname, 'demo-data');

/** What the demo did. */
export interface TicketDemoResult {
  runs: { source: string; file: string; status: number; workflowId?: string; error?: string }[];
}

/**
 * Sends the sample tickets to the local webhook endpoint, signed like ServiceNow or Jira would be (seeding
 * the sources' webhook secrets on the first run), and says what to look at. With no ServiceNow or Jira URL
 * configured the runs work in shadow mode: what Warden would write lands in <data dir>/tickets/outbox.
 */
export async function runTicketDemo(ctx: DemoContext): Promise<TicketDemoResult> {
  const runs: TicketDemoResult['runs'] = [];
  for (const t of DEMO_TICKETS) {
    const name = `webhook.${t.source}`;
    let secret = await ctx.secrets.get(name);
    if (!secret) {
      secret = randomBytes(24).toString('base64url');
      await ctx.secrets.set(name, secret);
    }
    const body = fs.readFileSync(path.join(DEMO_DIR, t.file), 'utf8');
    try {
      const res = await postSignedWebhook(ctx.httpUrl, t.source, secret, body);
      runs.push({ source: t.source, file: t.file, ...res });
      ctx.say(
        res.status < 300
          ? `ticket ${t.source.padEnd(10)} → run ${res.workflowId ?? '?'}${res.status === 200 ? ' (already triaged)' : ''}: ${t.what}`
          : `ticket ${t.source.padEnd(10)} failed (${res.status}): ${res.error ?? ''}`,
      );
    } catch (err) {
      runs.push({ source: t.source, file: t.file, status: 0, error: (err as Error).message });
      ctx.say(`ticket ${t.source} not sent: ${(err as Error).message}`);
    }
  }
  const outbox = path.join(ctx.config.dataDir, 'tickets', 'outbox');
  ctx.say(
    'ticket triage: each run reads the ticket, searches the knowledge base, lets agent:ticket-classifier classify it,',
  );
  ctx.say('  then resolves it through policy or escalates it with a case. What waits for you: `npx warden approvals`;');
  ctx.say('  approve with `npx warden approve <workflowId> <approvalId> --as alice`.');
  ctx.say(`  Without WARDEN_TICKETS_SERVICENOW_URL / _JIRA_URL the runs are in shadow mode: see ${outbox}/`);
  return { runs };
}
