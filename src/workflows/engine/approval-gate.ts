import { condition, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { FailureType } from '../../errors';
import type { ApprovalAttempt, ApprovalOutcome, ApprovalSignal, PendingApproval } from '../../governance/approvals';
import { applyApprovalSignal } from '../../governance/approvals';
import type { ApprovalEvidence } from '../../governance/approval-evidence';
import type { Decision } from '../../governance/decision';
import { StepFailure, now } from './failures';
import type { Journal } from './journal';
import type { StepRecord } from './state';
import { inSpan } from './tracing';
import { SIGNED_APPROVALS_PATCH, isPatched } from './patches';

const notifyProxy = (summary: string) =>
  proxyActivities<Activities>({ summary, startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });

/**
 * The approval gate of one run: what it waits for, every attempt to decide (accepted or refused), and the
 * staged wait itself — notify the stage's groups, wait durably until decided or the stage times out,
 * escalate to the next stage, and deny when the last one times out. Decisions arrive through
 * {@link ApprovalGate.decide} (the `approval` signal and the `decideApproval` update).
 */
export class ApprovalGate {
  private readonly pending = new Map<string, PendingApproval>();
  private readonly decided = new Set<string>();
  private readonly outcomes = new Map<string, ApprovalOutcome>();
  private readonly attempts: ApprovalAttempt[] = [];
  /** The accepted signed approvals of each approval id (re-verified by the worker before the action runs). */
  private readonly votes = new Map<string, ApprovalSignal[]>();
  /** Nonces of accepted signed decisions: a signed request is used once. */
  private readonly nonces = new Set<string>();
  private waited = 0;

  constructor(
    private readonly journal: Journal,
    /** The run's initiator once established (`unverified:<claim>` when it could not be). */
    public initiator: string,
  ) {}

  /** Workflow time spent waiting for humans so far (agents' wall-time budgets exclude it). */
  get waitedMs(): number {
    return this.waited;
  }

  /** What the run waits for. */
  waitingFor(): PendingApproval[] {
    return [...this.pending.values()];
  }

  /** The accepted signed approvals of one approval. */
  votesFor(approvalId: string): ApprovalSignal[] {
    return this.votes.get(approvalId) ?? [];
  }

  /** Every attempt so far, or only the one sent with `requestId`. */
  attemptsFor(requestId?: string): ApprovalAttempt[] {
    return requestId ? this.attempts.filter((a) => a.requestId === requestId) : this.attempts;
  }

  /** Applies one decision (signal or update payload) and returns the attempt as recorded. Never throws. */
  decide(raw: unknown): ApprovalAttempt {
    let attempt: ApprovalAttempt;
    try {
      // Histories from before signed approvals replay as they were decided; every live decision is verified.
      const legacy = !isPatched(SIGNED_APPROVALS_PATCH);
      const res = applyApprovalSignal(raw, this.pending, this.decided, now(), this.nonces, legacy);
      attempt = res.attempt;
      if (attempt.outcome === 'accepted' && attempt.decision === 'approve') {
        const vote = raw as ApprovalSignal;
        this.votes.set(attempt.approvalId, [...(this.votes.get(attempt.approvalId) ?? []), vote]);
      }
      if (res.outcome) this.outcomes.set(attempt.approvalId, res.outcome);
      this.journal.approvalAttempt(attempt, res.outcome);
    } catch (err) {
      attempt = {
        approvalId: '(unknown)',
        approver: '(unknown)',
        decision: '(unknown)',
        outcome: 'refused',
        reason: `internal error: ${(err as Error).message}`,
        at: now(),
        signed: false,
      };
    }
    this.attempts.push(attempt);
    return attempt;
  }

  /**
   * Applies a `require_approval` decision: waits for humans and returns the approval, or throws
   * StepFailure (ApprovalRejected, ApprovalTimedOut, or PolicyDenied without a plan). `evidence` is shown
   * to approvers with the pending approval (targets, arguments or details, what approving unlocks).
   */
  async enforce(
    d: Decision,
    stepId: string,
    callId: string,
    record: StepRecord,
    evidence: ApprovalEvidence = {},
  ): Promise<ApprovalOutcome> {
    if (!d.plan) throw new StepFailure(FailureType.PolicyDenied, 'approval required but no approval plan: denied');
    const plan = d.plan;
    record.status = 'waiting_approval';
    const outcome = await inSpan(
      `approval wait ${stepId}.${callId}`,
      { 'warden.approval.tier': plan.tier, 'warden.approval.action': d.action },
      () => this.wait(d, stepId, callId, evidence),
    );
    record.approval = { ...outcome, approvalId: `${stepId}.${callId}` };
    record.status = 'running';
    if (outcome.status === 'rejected')
      throw new StepFailure(
        FailureType.ApprovalRejected,
        `rejected by ${outcome.by}${outcome.reason ? `: ${outcome.reason}` : ''}`,
      );
    if (outcome.status === 'timed_out')
      throw new StepFailure(
        FailureType.ApprovalTimedOut,
        `no decision after ${plan.stages.length} escalation stage(s): denied`,
      );
    return outcome;
  }

  private async wait(
    d: Decision,
    stepId: string,
    callId: string,
    evidence: ApprovalEvidence,
  ): Promise<ApprovalOutcome> {
    const plan = d.plan!;
    const approvalId = `${stepId}.${callId}`;
    const first = plan.stages[0]!;
    const p: PendingApproval = {
      approvalId,
      workflowId: this.journal.state.workflowId,
      stepId,
      action: d.action,
      tool: d.tool,
      actionHash: d.actionHash,
      policyVersion: d.policyVersion,
      reason: d.reason,
      ruleId: d.ruleId,
      ...evidence,
      tier: plan.tier,
      required: plan.required,
      stage: 0,
      stages: plan.stages,
      keys: plan.keys,
      eligible: first.approvers,
      approvals: [],
      requestedAt: now(),
      stageDeadline: new Date(Date.now() + first.timeoutMs).toISOString(),
      initiator: this.initiator,
    };
    this.pending.set(approvalId, p);
    const since = Date.now();
    this.journal.approvalRequested({
      approvalId,
      stepId,
      action: d.action,
      actionHash: d.actionHash,
      policyVersion: d.policyVersion,
      tier: plan.tier,
      required: plan.required,
      groups: first.groups,
      reason: d.reason,
      ruleId: d.ruleId,
      ...(evidence.targets?.length ? { targets: evidence.targets } : {}),
      ...(evidence.unlocks ? { unlocks: evidence.unlocks } : {}),
    });
    try {
      for (let i = 0; i < plan.stages.length; i++) {
        const stage = plan.stages[i]!;
        p.stage = i;
        p.eligible = stage.approvers;
        p.stageDeadline = new Date(Date.now() + stage.timeoutMs).toISOString();
        if (i > 0) this.journal.approvalEscalated(approvalId, i, stage.groups);
        const waiting = `waiting for tier-${plan.tier} approval (${stage.groups.join(', ')}): ${d.action}`.slice(
          0,
          200,
        );
        setCurrentDetails(waiting);
        await notifyProxy(`notify ${stage.groups.join(', ')}: ${waiting}`.slice(0, 200))
          .notifyApprovers({ pending: { ...p }, escalated: i > 0 })
          .catch(() => undefined);
        if (await this.waitForDecision(approvalId, stage.timeoutMs)) break;
      }
      const outcome = this.outcomes.get(approvalId) ?? { status: 'timed_out' as const };
      if (outcome.status === 'timed_out') this.journal.approvalTimedOut(approvalId, plan.stages.length);
      await this.journal.flushIfBatched();
      return outcome;
    } finally {
      this.waited += Date.now() - since;
      setCurrentDetails('');
      this.pending.delete(approvalId);
      this.decided.add(approvalId);
    }
  }

  /**
   * Waits (a durable timer) until the approval is decided or `timeoutMs` passes; refused attempts that
   * arrive meanwhile are flushed to the audit ledger at once rather than when the wait ends.
   */
  private async waitForDecision(approvalId: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.journal.flush();
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      if (!(await condition(() => this.outcomes.has(approvalId) || this.journal.pending, remaining))) return false;
      if (this.outcomes.has(approvalId)) return true;
    }
  }
}
