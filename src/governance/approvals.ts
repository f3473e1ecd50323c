import { z } from 'zod';
import { formatIssues } from './issues';
import type { ApprovalPlan } from './policy';

/*
 * Approval rules, pure: who may decide a pending approval, and what a decision does to it. The workflow's
 * signal handler calls `applyApprovalSignal` and records whatever it returns; it never throws.
 */

/**
 * Payload of the `approval` signal. Send it with `warden approve|reject`, or with the official CLI:
 * `temporal workflow signal --workflow-id <id> --name approval --input '{"approvalId":"…","decision":"approve","approver":"alice"}'`.
 */
export const ApprovalSignal = z.object({
  approvalId: z.string().min(1).max(200),
  decision: z.enum(['approve', 'reject']),
  approver: z.string().min(1).max(200),
  reason: z.string().max(2000).optional(),
  /** When present, must equal the pending approval's actionHash: the approver decides exactly what they saw. */
  actionHash: z.string().max(200).optional(),
  /** Correlates the sender with its recorded outcome (query `approvalAttempts`). */
  requestId: z.string().max(200).optional(),
  /** Reserved for signed approvals (approver key, verified against the directory); recorded, not yet verified. */
  signature: z.string().max(4000).optional(),
});
/** Payload of the `approval` signal. */
export type ApprovalSignal = z.infer<typeof ApprovalSignal>;

/** An approval the run is waiting for. */
export interface PendingApproval {
  approvalId: string;
  workflowId: string;
  stepId: string;
  /** What is to be approved, for humans: "http_request POST api.example.com/v1/x". */
  action: string;
  tool?: string;
  /** sha256 over tool + canonical args + run + step + policy version. */
  actionHash: string;
  policyVersion: string;
  reason: string;
  tier: number;
  required: number;
  stage: number;
  stages: ApprovalPlan['stages'];
  /** Users who may decide at the current stage. */
  eligible: string[];
  approvals: { approver: string; at: string; reason?: string }[];
  requestedAt: string;
  /** When the current stage times out. */
  stageDeadline: string;
  initiator: string;
}

/** One attempt to decide an approval, accepted or refused. */
export interface ApprovalAttempt {
  requestId?: string;
  approvalId: string;
  approver: string;
  decision: string;
  outcome: 'accepted' | 'refused';
  reason: string;
  at: string;
  signed: boolean;
}

/** How an approval ended. */
export type ApprovalOutcome =
  | { status: 'approved'; approvers: string[] }
  | { status: 'rejected'; by: string; reason?: string }
  | { status: 'timed_out' };

/** What applying one signal did. */
export interface ApplyResult {
  attempt: ApprovalAttempt;
  /** Set when this signal decided the approval. */
  outcome?: ApprovalOutcome;
}

/**
 * Applies one `approval` signal to the pending approvals. Refuses malformed payloads, unknown or already
 * decided ids, a mismatched action hash, self-approval by the run's initiator, agents, non-members of the
 * current stage's groups, and a second approval by the same person. Mutates the matching pending approval.
 */
export function applyApprovalSignal(
  raw: unknown,
  pending: Map<string, PendingApproval>,
  decided: Set<string>,
  now: string,
): ApplyResult {
  const parsed = ApprovalSignal.safeParse(raw);
  if (!parsed.success) {
    const r = (raw ?? {}) as Record<string, unknown>;
    return {
      attempt: {
        requestId: typeof r.requestId === 'string' ? r.requestId : undefined,
        approvalId: typeof r.approvalId === 'string' ? r.approvalId : '(missing)',
        approver: typeof r.approver === 'string' ? r.approver : '(missing)',
        decision: typeof r.decision === 'string' ? r.decision : '(missing)',
        outcome: 'refused',
        reason: `malformed approval payload: ${formatIssues(parsed.error, '(payload)')}`,
        at: now,
        signed: false,
      },
    };
  }
  const s = parsed.data;
  const refuse = (reason: string): ApplyResult => ({
    attempt: {
      requestId: s.requestId,
      approvalId: s.approvalId,
      approver: s.approver,
      decision: s.decision,
      outcome: 'refused',
      reason,
      at: now,
      signed: Boolean(s.signature),
    },
  });
  const p = pending.get(s.approvalId);
  if (!p)
    return refuse(
      decided.has(s.approvalId) ? 'stale: this approval was already decided' : 'unknown approvalId for this run',
    );
  if (s.actionHash !== undefined && s.actionHash !== p.actionHash) {
    return refuse('action hash mismatch: the decision is for a different action than the one pending');
  }
  if (s.approver === p.initiator)
    return refuse(`self-approval: ${s.approver} initiated this run and cannot decide its approvals`);
  if (s.approver.startsWith('agent:')) return refuse('agents cannot approve actions');
  if (!p.eligible.includes(s.approver)) {
    return refuse(
      `${s.approver} is not in the approver groups for tier ${p.tier} (${p.stages[p.stage]?.groups.join(', ') ?? '-'})`,
    );
  }
  const accepted: ApprovalAttempt = {
    requestId: s.requestId,
    approvalId: s.approvalId,
    approver: s.approver,
    decision: s.decision,
    outcome: 'accepted',
    reason: '',
    at: now,
    signed: Boolean(s.signature),
  };
  if (s.decision === 'reject') {
    return {
      attempt: { ...accepted, reason: 'rejected' },
      outcome: { status: 'rejected', by: s.approver, reason: s.reason },
    };
  }
  if (p.approvals.some((a) => a.approver === s.approver)) {
    return refuse(`${s.approver} already approved; tier ${p.tier} needs ${p.required} distinct approvers`);
  }
  p.approvals.push({ approver: s.approver, at: now, ...(s.reason ? { reason: s.reason } : {}) });
  if (p.approvals.length >= p.required) {
    return {
      attempt: { ...accepted, reason: 'approved' },
      outcome: { status: 'approved', approvers: p.approvals.map((a) => a.approver) },
    };
  }
  return {
    attempt: {
      ...accepted,
      reason: `approval ${p.approvals.length} of ${p.required} recorded; waiting for another approver`,
    },
  };
}
