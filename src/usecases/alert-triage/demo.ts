import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PendingApproval } from '../../governance/approvals';
import { mayDecide } from '../../governance/approvals';
import type { PolicyDocument } from '../../governance/policy';
import { approvalPlan } from '../../governance/policy';
import { neutralizeUntrusted } from '../../governance/untrusted';
import { loadPolicy } from '../../runtime/policy-file';
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

/** How long the demo watches its runs for approvals to name their approvers. */
const WATCH_MS = 120_000;

/** Who decides each approval tier of the policy, stage by stage (names from its approver groups). */
export function tierGuide(doc: PolicyDocument): string[] {
  return Object.keys(doc.tiers)
    .map(Number)
    .sort((a, b) => a - b)
    .map((tier) => {
      const plan = approvalPlan(doc, tier);
      const stages = plan.stages.map((st, i) => {
        const added = i === 0 ? st.approvers : st.approvers.filter((u) => !plan.stages[i - 1]!.approvers.includes(u));
        const groups = i === 0 ? st.groups : st.groups.filter((g) => !plan.stages[i - 1]!.groups.includes(g));
        const after = i === 0 ? '' : `after ${Math.round(plan.stages[i - 1]!.timeoutMs / 60_000)} min also `;
        return `${after}${added.join(', ') || '(nobody)'} (${groups.join(', ')})`;
      });
      return `  tier ${tier} (${plan.required} approver${plan.required > 1 ? 's' : ''}): ${stages.join('; ')}`;
    });
}

/** The command to decide one pending approval, as someone the policy lets decide it now — never anyone else. */
export function approveHint(p: PendingApproval): string {
  const who = mayDecide(p);
  const needed = Math.max(0, p.required - p.approvals.length);
  const head = `  ${p.approvalId} in ${p.workflowId}: ${neutralizeUntrusted(p.action, 120)}`;
  if (!who.length)
    return `${head}\n    nobody the policy names may decide it at this stage (tier ${p.tier}); it escalates or times out`;
  return (
    `${head}\n    tier ${p.tier}, ${needed} approval${needed === 1 ? '' : 's'} needed; may decide: ${who.join(', ')}\n` +
    `    npx warden approve ${p.workflowId} ${p.approvalId} --as ${who[0]} --reason "<why>"`
  );
}

/** Watches the demo's runs for a while and names, for each approval they wait for, who may decide it. */
async function watchApprovals(ctx: DemoContext, workflowIds: string[]): Promise<void> {
  const shown = new Set<string>();
  const deadline = Date.now() + WATCH_MS;
  while (Date.now() < deadline && !ctx.signal.aborted) {
    const pending = await ctx.client.pendingApprovals().catch(() => [] as PendingApproval[]);
    for (const p of pending) {
      const key = `${p.workflowId}/${p.approvalId}/${p.stage}`;
      if (shown.has(key) || !workflowIds.some((id) => p.workflowId === id || p.workflowId.startsWith(`${id}--`)))
        continue;
      shown.add(key);
      ctx.say(approveHint(p));
    }
    const open = await Promise.all(
      workflowIds.map((id) =>
        ctx.client
          .describe(id)
          .then((d) => d.status === 'RUNNING')
          .catch(() => false),
      ),
    );
    if (!open.some(Boolean)) return;
    await sleep(2_000, undefined, { signal: ctx.signal, ref: false }).catch(() => undefined);
  }
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
    '  npx warden approvals                    # what waits for you, with the evidence and who may decide',
    '  npx warden approve <workflowId> <approvalId> --as <an approver it names> --reason "<why>"',
    `  ls ${cases}/                        # the cases (JSON + Markdown)`,
    `  npx warden audit verify --public-key ${pub}   # the tamper-evident trail`,
  ])
    ctx.say(line);
  let doc: PolicyDocument | undefined;
  try {
    doc = loadPolicy(ctx.config).document;
  } catch {
    doc = undefined; // the worker reported the policy problem already
  }
  if (doc) {
    ctx.say('Who may approve (from the policy; whoever started a run may not approve it):');
    for (const line of tierGuide(doc)) ctx.say(line);
  }
  const ids = demo.runs.flatMap((r) => (r.workflowId ? [r.workflowId] : []));
  if (!ids.length) return;
  ctx.say('Approvals the demo runs wait for, as they arrive:');
  // In the background: the other demos need not wait; it ends with the runs, the window or the stack.
  ctx.background(watchApprovals(ctx, ids));
}
