import type { ApprovalAttempt, ApprovalOutcome } from '../../governance/approvals';
import type { Decision, DecisionRecord, DecisionSite } from '../../governance/decision';
import { decisionRecord } from '../../governance/decision';

import { AuditTrail, actorOf } from './audit-trail';
import { AUDIT_BATCHES_PATCH, LOCAL_AUDIT_FLUSH_PATCH, isPatched } from './patches';
import { now } from './failures';
import type { AgentTurnRecord, ControlRecord, FailedAction, RunState, StepRecord } from './state';

/** A flush is due once this many records wait… */
export const FLUSH_AT_RECORDS = 64;
/** …or once the oldest has waited this long in workflow time. */
export const FLUSH_AFTER_MS = 2_000;

/** Batch decisions a run's own record shows (the rest are counted in `decisionsNotShown`; all are audited). */
export const MIRRORED_DECISIONS_MAX = 500;

/**
 * The run's journal: each event is recorded once, here, and projected into both the audit ledger (buffered
 * with exactly-once keys, flushed at safe points) and the queryable `runState`. Nothing else in the engine
 * writes to either, so the ledger and `runState` cannot disagree.
 */
export class Journal {
  private readonly ledger: AuditTrail;
  /** Records flushed in batches at natural points (runs started before this flushed after every step). */
  private readonly batched: boolean;

  constructor(readonly state: RunState) {
    this.ledger = new AuditTrail(state.workflowId, isPatched(LOCAL_AUDIT_FLUSH_PATCH));
    this.batched = isPatched(AUDIT_BATCHES_PATCH);
  }

  /** True when ledger records wait to be flushed. */
  get pending(): boolean {
    return this.ledger.pending;
  }

  /** Appends the buffered ledger records (one activity); a no-op when nothing waits. */
  flush(): Promise<void> {
    return this.ledger.flush();
  }

  /**
   * The flush between steps and items: every step's records in runs started before batching; otherwise
   * only when `FLUSH_AT_RECORDS` records wait or the oldest has waited `FLUSH_AFTER_MS` of workflow time.
   * Records are durable in the run's history from the moment they are added (replay rebuilds the buffer
   * with the same exactly-once keys), so batching changes when they reach the ledger, never whether:
   * every wait (approval, pause) and the run's end flush whatever is left.
   */
  flushIfDue(): Promise<void> {
    if (this.batched && !this.ledger.due(FLUSH_AT_RECORDS, FLUSH_AFTER_MS)) return Promise.resolve();
    return this.ledger.flush();
  }

  /** {@link flushIfDue} for lean runs: undefined when no flush is due, so there is no promise to wait on. */
  dueFlush(): Promise<void> | undefined {
    return this.batched && !this.ledger.due(FLUSH_AT_RECORDS, FLUSH_AFTER_MS) ? undefined : this.ledger.flush();
  }

  /**
   * At a natural point — before the run waits (pause), after a human decided an approval — what is buffered
   * reaches the ledger now: an operator sees the run's record while it waits, and steps that read the
   * ledger (a compliance report takes its attestation from the recorded approval, never from the playbook)
   * find the decision there. Runs from before batching flushed after every step instead.
   */
  flushIfBatched(): Promise<void> {
    return this.batched ? this.ledger.flush() : Promise.resolve();
  }

  runStarted(data: {
    playbook: string;
    initiator: string;
    initiatorVerified: boolean;
    via: string;
    unverifiedBecause?: string;
    trigger: { type: string; ref?: string };
    /** Where the run came from by Temporal's record, and what that rests on (src/triggers/run-provenance.ts). */
    provenance?: { type: string; evidence: string; discrepancy?: string };
  }): void {
    const kind = /^(schedule|threshold|webhook):/.test(data.initiator) ? 'system' : 'human';
    this.ledger.add('run.started', { kind, id: data.initiator.slice(0, 256) }, data);
  }

  runEnded(): void {
    const s = this.state;
    const status =
      s.status === 'running' || s.status === 'paused'
        ? 'failed'
        : s.status === 'completed_with_failures'
          ? 'completed'
          : s.status;
    const failed = s.failedActions ?? [];
    this.ledger.add(
      `run.${status}`,
      { kind: 'system', id: 'warden' },
      {
        status: s.status,
        steps: s.steps.length,
        decisions: s.decisions.length + (s.decisionsNotShown ?? 0),
        ...(s.error ? { error: s.error } : {}),
        ...(failed.length
          ? {
              failedActions: failed.slice(0, 20).map((f) => ({
                workflowId: f.workflowId,
                stepId: f.stepId,
                tool: f.tool,
                errorType: f.error.type,
              })),
            }
          : {}),
      },
    );
  }

  /** A policy decision (or a refusal decided before policy): one record in the ledger and in `runState`. */
  decision(d: Decision, site: DecisionSite): void {
    const record = decisionRecord(d, site, now());
    this.state.decisions.push(record);
    const { at: _at, actor: _actor, ...data } = record;
    this.ledger.add('policy.decision', actorOf(site.actor), data);
  }

  /**
   * Decisions a forEach batch already recorded in the ledger, shown in this run's `runState` too — up to
   * {@link MIRRORED_DECISIONS_MAX}; beyond that only counted. A forEach over 10,000 items mirrored some 5 MB of
   * decisions, and the run's result (and `runState`) outgrew Temporal's 2 MB payload limit: the run could
   * never complete. Every decision stays in the audit ledger.
   */
  mirrorDecisions(records: DecisionRecord[]): void {
    const room = Math.max(0, MIRRORED_DECISIONS_MAX - this.state.decisions.length);
    this.state.decisions.push(...records.slice(0, room));
    const left = records.length - Math.min(room, records.length);
    if (left > 0) this.state.decisionsNotShown = (this.state.decisionsNotShown ?? 0) + left;
  }

  /** A step (or forEach item step) starts: its record is updated in place as it runs (`runState` only). */
  step(record: StepRecord): void {
    this.state.steps.push(record);
  }

  /** A tool call that ran (digest of its output, capabilities it leased). */
  toolExecuted(actor: string, data: Record<string, unknown>): void {
    this.ledger.add('tool.executed', actorOf(actor), data);
  }

  /**
   * A tool call that failed, with its failure type; `governed` (a write or destructive action that policy
   * allowed or humans approved) also lands in `runState.failedActions`.
   */
  toolFailed(actor: string, data: Record<string, unknown>, governed?: FailedAction): void {
    if (governed) (this.state.failedActions ??= []).push(governed);
    this.ledger.add('tool.failed', actorOf(actor), data);
  }

  /** Failed actions a forEach batch already recorded in the ledger, shown in this run's `runState` too. */
  mirrorFailedActions(failed: FailedAction[]): void {
    if (failed.length) (this.state.failedActions ??= []).push(...failed);
  }

  /** One LLM call of an agent step; `turn.toolCalls` fills in as its calls are handled. */
  agentTurn(turn: AgentTurnRecord, toolsChosen: string[]): void {
    this.state.agentTurns.push(turn);
    this.ledger.add(
      'agent.turn',
      { kind: 'agent', id: turn.agent },
      {
        stepId: turn.stepId,
        turn: turn.turn,
        model: turn.model,
        promptDigest: turn.promptDigest,
        contextSources: turn.contextSources,
        reply: turn.reply,
        toolsChosen,
        rationale: turn.rationale ?? null,
        usage: turn.usage,
      },
    );
  }

  /** A pause/resume/cancel request, accepted or refused; malformed ones are kept in `runState` only. */
  control(record: ControlRecord, audited = true): void {
    this.state.controls.push(record);
    if (!audited) return;
    this.ledger.add(
      'interrupt',
      { kind: 'human', id: record.by },
      { action: record.action, outcome: record.outcome, note: record.note, reason: record.reason ?? null },
    );
  }

  /** An attempt to decide an approval and, when it decided it, the outcome. */
  approvalAttempt(a: ApprovalAttempt, outcome: ApprovalOutcome | undefined): void {
    const type =
      a.outcome === 'refused'
        ? 'approval.refused'
        : outcome?.status === 'approved'
          ? 'approval.granted'
          : outcome?.status === 'rejected'
            ? 'approval.rejected'
            : 'approval.vote';
    this.ledger.add(
      type,
      // Only a verified signature makes the approver the actor; otherwise the name is just a claim.
      { kind: 'human', id: (a.signed ? a.approver : `unverified:${a.approver}`).slice(0, 256) || '(missing)' },
      {
        approvalId: a.approvalId,
        decision: a.decision,
        reason: a.reason,
        requestId: a.requestId ?? null,
        signed: a.signed,
        ...(a.keyId ? { keyId: a.keyId } : {}),
        ...(a.approverReason !== undefined ? { approverReason: a.approverReason } : {}),
        ...(outcome?.status === 'approved' ? { approvers: outcome.approvers } : {}),
      },
    );
  }

  approvalRequested(data: Record<string, unknown>): void {
    this.ledger.add('approval.requested', { kind: 'system', id: 'warden' }, data);
  }

  approvalEscalated(approvalId: string, stage: number, groups: string[]): void {
    this.state.events.push({ at: now(), what: `approval ${approvalId} escalated to ${groups.join(', ')}` });
    this.ledger.add('approval.escalated', { kind: 'system', id: 'warden' }, { approvalId, stage, groups });
  }

  approvalTimedOut(approvalId: string, stages: number): void {
    this.state.events.push({ at: now(), what: `approval ${approvalId} timed out: denied` });
    this.ledger.add('approval.timed_out', { kind: 'system', id: 'warden' }, { approvalId, stages });
  }
}
