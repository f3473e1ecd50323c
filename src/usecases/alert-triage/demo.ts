import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { postSignedWebhook, webhookSecretName } from '../../triggers/webhooks';
import type { DemoContext } from '../contract';
import { DEMO_DATA_DIR } from './settings';

/** The use case's own sample alerts (vendor formats, fictional data), by webhook source. */
export const DEMO_ALERTS_DIR = path.join(DEMO_DATA_DIR, 'alerts');
const DEMO_SOURCES: Record<string, string> = {
  'crowdstrike-detection.json': 'crowdstrike',
  'suricata-eve.json': 'suricata',
  'guardduty-finding.json': 'guardduty',
};

/** What the demo did, for the console. */
export interface DemoResult {
  runs: { source: string; file: string; workflowId?: string; status: number; error?: string }[];
}

/**
 * Seeds a webhook secret per demo source (first `warden dev` only; kept in the vault) and posts the
 * sample alerts to the local webhook endpoint, signed like any sender would.
 */
export async function sendDemoAlerts(ctx: Pick<DemoContext, 'httpUrl' | 'secrets'>): Promise<DemoResult> {
  const runs: DemoResult['runs'] = [];
  for (const [file, source] of Object.entries(DEMO_SOURCES)) {
    const name = webhookSecretName(source);
    let secret = await ctx.secrets.get(name);
    if (!secret) {
      secret = randomBytes(24).toString('base64url');
      await ctx.secrets.set(name, secret);
    }
    const body = fs.readFileSync(path.join(DEMO_ALERTS_DIR, file), 'utf8');
    try {
      runs.push({ source, file, ...(await postSignedWebhook(ctx.httpUrl, source, secret, body)) });
    } catch (err) {
      runs.push({ source, file, status: 0, error: (err as Error).message });
    }
  }
  return { runs };
}

/** `warden dev`'s alert-triage demo: sends the sample alerts and says what to do next. */
export async function runTriageDemo(ctx: DemoContext): Promise<void> {
  if (!ctx.agentsReady) {
    ctx.say('Alert triage: demo alerts not sent: agent steps need an LLM — set OPENAI_BASE_URL (and OPENAI_API_KEY).');
    return;
  }
  const demo = await sendDemoAlerts(ctx);
  ctx.say('Alert triage: sample alerts (written by Warden, in vendor formats) sent to POST /v1/webhooks/<source>:');
  for (const r of demo.runs) {
    const ok = r.status === 202 || r.status === 200;
    ctx.say(
      `  ${r.source.padEnd(12)} ${ok ? `→ run ${r.workflowId}${r.status === 200 ? ' (already triaged)' : ''}` : `failed (${r.status}): ${r.error ?? ''}`}`,
    );
  }
  const cases = path.relative(process.cwd(), path.join(ctx.config.dataDir, 'cases')) || '.';
  const pub = path.relative(process.cwd(), path.join(ctx.config.audit.keysDir, 'audit-signing.pub'));
  for (const line of [
    'Each run enriches the alert, lets agent:alert-scorer judge it, and contains through policy:',
    'low confidence or a critical asset waits for a human. Watch them in the Web UI, then:',
    '  npx warden approvals                                              # what waits for you',
    '  npx warden approve <workflowId> <approvalId> --as carol           # soc-l2 (alice/bob: soc-l1)',
    `  ls ${cases}/                                                  # the cases (JSON + Markdown)`,
    `  npx warden audit verify --public-key ${pub}   # the tamper-evident trail`,
  ])
    ctx.say(line);
}
