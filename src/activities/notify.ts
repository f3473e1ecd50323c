import type { PendingApproval } from '../governance/approvals';
import { targetLabel } from '../governance/approval-evidence';
import { neutralizeUntrusted, showUntrusted } from '../governance/untrusted';
import type { Logger } from '../telemetry/logger';

/** What approvers are told when a run waits for them. */
export interface ApprovalPendingNotice {
  pending: PendingApproval;
  escalated: boolean;
}

/** The exact command an approver runs. */
export function approveCommand(p: PendingApproval): string {
  return `warden approve ${p.workflowId} ${p.approvalId} --as <you> --reason "<why>"`;
}

/** Slack (and compatible) message text: `&`, `<`, `>` escaped, so no text becomes a mention or a link. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The message approvers get: what waits, the evidence (untrusted parts neutralised and marked), who may
 * decide, the deadline and the exact commands. One field a line; no field can add lines of its own.
 */
export function approvalNoticeText(p: PendingApproval, escalated: boolean): string {
  const who = p.stages[p.stage]?.groups.join(', ') ?? '';
  const eligible = p.eligible.filter((u) => u !== p.initiator).join(', ');
  const lines = [
    `${escalated ? 'ESCALATED: ' : ''}Warden run ${p.workflowId} needs tier-${p.tier} approval (${p.required} approver${p.required > 1 ? 's' : ''}, ${who}): ${p.approvalId}`,
    p.tool ? `Action: ${neutralizeUntrusted(p.action)}` : `Approval step: ${p.stepId}`,
    ...(p.title !== undefined ? [`Title: ${showUntrusted(p.title)}`] : []),
    ...(p.targets ?? []).map((t) => `Target: ${showUntrusted(targetLabel(t), 200)}`),
    ...(p.details !== undefined && p.details !== null ? [`Details: ${showUntrusted(p.details, 500)}`] : []),
    p.ruleId === 'approval-step' || p.ruleId === undefined
      ? 'Policy: approval step of the playbook'
      : `Policy: ${p.ruleId}: ${neutralizeUntrusted(p.reason)}`,
    `May decide: ${eligible || '(nobody eligible)'}`,
    ...(p.unlocks ? [`Approving ${neutralizeUntrusted(p.unlocks)}`] : []),
    `Deadline: ${p.stageDeadline}`,
    `Approve: ${approveCommand(p)}`,
    `Reject:  ${approveCommand(p).replace('approve', 'reject')}`,
  ];
  return lines.join('\n');
}

/**
 * Builds the approver notifier: always a structured log line; with a webhook URL, also a Slack-compatible
 * message (`{ text }`) naming the exact `warden approve` command. A failing webhook is logged, not fatal:
 * the approval stays pending and visible through `warden approvals`.
 */
export function createNotifier(logger: Logger, webhookUrl?: string): (n: ApprovalPendingNotice) => Promise<void> {
  return async ({ pending: p, escalated }) => {
    const who = p.stages[p.stage]?.groups.join(', ') ?? '';
    const text = slackEscape(approvalNoticeText(p, escalated));
    logger.info(
      { workflowId: p.workflowId, approvalId: p.approvalId, tier: p.tier, groups: who, escalated },
      'approval needed',
    );
    if (!webhookUrl) return;
    try {
      const res = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) logger.warn({ status: res.status }, 'approval webhook answered with an error');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'approval webhook failed');
    }
  };
}
