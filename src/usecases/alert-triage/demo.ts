import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SecretStore } from '../../credentials';
import { signWebhook } from '../../triggers/webhooks';
import { webhookSecretName } from './trigger';

/** The project's own sample alerts (vendor formats, fictional data), by webhook source. */
export const DEMO_ALERTS_DIR = path.join(__dirname, 'demo-data', 'alerts');
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
export async function runTriageDemo(httpUrl: string, secrets: SecretStore): Promise<DemoResult> {
  const runs: DemoResult['runs'] = [];
  for (const [file, source] of Object.entries(DEMO_SOURCES)) {
    const name = webhookSecretName(source);
    let secret = await secrets.get(name);
    if (!secret) {
      secret = randomBytes(24).toString('base64url');
      await secrets.set(name, secret);
    }
    const body = fs.readFileSync(path.join(DEMO_ALERTS_DIR, file), 'utf8');
    const ts = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(`${httpUrl}/v1/webhooks/${source}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-warden-timestamp': String(ts),
          'x-warden-signature': signWebhook(secret, ts, body),
        },
        body,
      });
      const json = (await res.json()) as { workflowId?: string; error?: string };
      runs.push({ source, file, status: res.status, workflowId: json.workflowId, error: json.error });
    } catch (err) {
      runs.push({ source, file, status: 0, error: (err as Error).message });
    }
  }
  return { runs };
}
