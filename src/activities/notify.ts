import type { PendingApproval } from '../governance/approvals';
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

/**
 * Builds the approver notifier: always a structured log line; with a webhook URL, also a Slack-compatible
 * message (`{ text }`) naming the exact `warden approve` command. A failing webhook is logged, not fatal:
 * the approval stays pending and visible through `warden approvals`.
 */
export function createNotifier(logger: Logger, webhookUrl?: string): (n: ApprovalPendingNotice) => Promise<void> {
  return async ({ pending: p, escalated }) => {
    const who = p.stages[p.stage]?.groups.join(', ') ?? '';
    const text =
      `${escalated ? 'ESCALATED: ' : ''}Warden run ${p.workflowId} needs tier-${p.tier} approval (${p.required} approver${p.required > 1 ? 's' : ''}, ${who}): ${p.action}\n` +
      `Reason: ${p.reason}\nApprove: ${approveCommand(p)}\nReject:  ${approveCommand(p).replace('approve', 'reject')}`;
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
