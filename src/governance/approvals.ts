import { z } from 'zod';
import type { KeyDirectory } from '../identity/directory';
import { Signature, digestText, verifySignedRequest } from '../identity/signed-request';
import type { ApprovalEvidence } from './approval-evidence';
import { formatIssues } from './issues';
import type { ApprovalPlan } from './policy';

/*
 * Approval rules, pure: who may decide a pending approval, and what a decision does to it. The workflow's
 * signal handler calls `applyApprovalSignal` and records whatever it returns; it never throws.
 */

/**
 * Payload of the `approval` signal: a decision signed by the approver's enrolled key. Send it with
 * `warden approve|reject`, or print it for the official CLI with `warden approve … --print-signal`
 * (`temporal workflow signal --workflow-id <id> --name approval --input '<payload>'`).
 */
export const ApprovalSignal = z.object({
  approvalId: z.string().min(1).max(200),
  decision: z.enum(['approve', 'reject']),
  approver: z.string().min(1).max(200),
  reason: z.string().max(2000).optional(),
  /** Required; must equal the pending approval's actionHash: the approver decides exactly what they saw. */
  actionHash: z.string().min(1).max(200).optional(),
  /** Correlates the sender with its recorded outcome (query `approvalAttempts`). Not signed. */
  requestId: z.string().max(200).optional(),
  /** The approver's signature over {@link approvalFields}; unsigned decisions are refused. */
  signature: Signature.optional(),
});
/** Payload of the `approval` signal. */
export type ApprovalSignal = z.infer<typeof ApprovalSignal>;

/** The fields an approval signature covers, in order. */
export function approvalFields(
  workflowId: string,
  s: Pick<ApprovalSignal, 'approvalId' | 'actionHash' | 'decision' | 'approver' | 'reason'>,
): string[] {
  return [workflowId, s.approvalId, s.actionHash ?? '', s.decision, s.approver, digestText(s.reason)];
}

/** An approval the run is waiting for, with the evidence an approver decides on (see ApprovalEvidence). */
export interface PendingApproval extends ApprovalEvidence {
  approvalId: string;
  workflowId: string;
  stepId: string;
  /** What is to be approved, for humans: "http_request POST api.example.com/v1/x". */
  action: string;
  tool?: string;
  /** sha256 over tool + canonical args + run + step + policy version. */
  actionHash: string;
  policyVersion: string;
  /** Why policy asked for approval (for approval steps, their title). */
  reason: string;
  /** The policy rule that required the approval (`approval-step` for a playbook's approval step). */
  ruleId?: string;
  tier: number;
  required: number;
  stage: number;
  stages: ApprovalPlan['stages'];
  /** Enrolled keys of every eligible approver (public), from the directory when approval was requested. */
  keys: KeyDirectory;
  /** Users who may decide at the current stage. */
  eligible: string[];
  approvals: { approver: string; at: string; reason?: string }[];
  requestedAt: string;
  /** When the current stage times out. */
  stageDeadline: string;
  initiator: string;
}

/**
 * Who may decide a pending approval now: the current stage's eligible approvers (from the policy's
 * approver groups) except the run's initiator and those who already approved.
 */
export function mayDecide(p: Pick<PendingApproval, 'eligible' | 'initiator' | 'approvals'>): string[] {
  const approved = new Set(p.approvals.map((a) => a.approver));
  return p.eligible.filter((u) => u !== p.initiator && !approved.has(u));
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
  /** True only when the signature was verified against the approver's enrolled key. */
  signed: boolean;
  /** The verified key. */
  keyId?: string;
  /** The reason the approver gave (`warden approve|reject --reason`), as signed. Untrusted text. */
  approverReason?: string;
}

/** How an approval ended. */
export type ApprovalOutcome =
  | {
      status: 'approved';
      approvers: string[];
      /** Each approval with the approver's reason (absent from runs before reasons were kept). */
      votes?: { approver: string; at: string; reason?: string }[];
    }
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
 * decided ids, a mismatched action hash, agents, non-members of the current stage's groups, a signature
 * that does not verify against the approver's enrolled, unrevoked key (unsigned, other key, other run,
 * action or decision, expired, replayed), self-approval by the run's verified initiator, and a second
 * approval by the same principal. Mutates the matching pending approval and records accepted nonces.
 */
export function applyApprovalSignal(
  raw: unknown,
  pending: Map<string, PendingApproval>,
  decided: Set<string>,
  now: string,
  usedNonces: Set<string>,
  /** Replaying a history from before signed approvals: decide as that build did (no signature check). */
  legacyUnsigned = false,
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
  const stated = s.reason ? { approverReason: s.reason } : {};
  const refuse = (reason: string): ApplyResult => ({
    attempt: {
      requestId: s.requestId,
      approvalId: s.approvalId,
      approver: s.approver,
      decision: s.decision,
      outcome: 'refused',
      reason,
      at: now,
      signed: false,
      ...stated,
    },
  });
  const p = pending.get(s.approvalId);
  if (!p)
    return refuse(
      decided.has(s.approvalId) ? 'stale: this approval was already decided' : 'unknown approvalId for this run',
    );
  if (s.actionHash === undefined && !legacyUnsigned)
    return refuse('actionHash is required: a decision names the exact action it decides (warden approve fills it in)');
  if (s.actionHash !== undefined && s.actionHash !== p.actionHash) {
    return refuse('action hash mismatch: the decision is for a different action than the one pending');
  }
  if (s.approver === p.initiator)
    return refuse(`self-approval: ${s.approver} initiated this run and cannot decide its approvals`);
  if (p.initiator.startsWith('unverified:')) {
    if (s.approver === p.initiator.slice('unverified:'.length))
      return refuse(`self-approval: ${s.approver} is named as this run's initiator and cannot decide its approvals`);
    return refuse(
      `this run's initiator is unverified (${p.initiator}): nobody can show the approver did not start it — start runs with a signed \`warden run\`, the authenticated API, or a trigger`,
    );
  }
  if (s.approver.startsWith('agent:')) return refuse('agents cannot approve actions');
  if (!p.eligible.includes(s.approver)) {
    return refuse(
      `${s.approver} is not in the approver groups for tier ${p.tier} (${p.stages[p.stage]?.groups.join(', ') ?? '-'})`,
    );
  }
  const verified: { ok: true; keyId?: string } | { ok: false; reason: string } = legacyUnsigned
    ? { ok: true }
    : verifySignedRequest({
        purpose: 'approval',
        fields: approvalFields(p.workflowId, s),
        signature: s.signature,
        principal: s.approver,
        // Approvals requested by a build before signed approvals have no key snapshot: nothing verifies.
        keys: p.keys && Object.hasOwn(p.keys, s.approver) ? p.keys[s.approver] : undefined,
        nowMs: Date.parse(now),
        usedNonces,
      });
  if (!verified.ok) return refuse(verified.reason);
  if (s.signature) usedNonces.add(s.signature.nonce);
  const accepted: ApprovalAttempt = {
    requestId: s.requestId,
    approvalId: s.approvalId,
    approver: s.approver,
    decision: s.decision,
    outcome: 'accepted',
    reason: '',
    at: now,
    signed: !legacyUnsigned,
    ...(verified.keyId ? { keyId: verified.keyId } : {}),
    ...stated,
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
      outcome: {
        status: 'approved',
        approvers: p.approvals.map((a) => a.approver),
        votes: p.approvals.map((a) => ({ ...a })),
      },
    };
  }
  return {
    attempt: {
      ...accepted,
      reason: `approval ${p.approvals.length} of ${p.required} recorded; waiting for another approver`,
    },
  };
}
