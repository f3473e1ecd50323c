import {
  CancellationScope,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { Decision } from '../../activities/governance';
import { FailureType } from '../../errors';
import type { ApprovalAttempt, ApprovalOutcome, PendingApproval } from '../../governance/approvals';
import { applyApprovalSignal } from '../../governance/approvals';
import { formatIssues } from '../../governance/issues';
import type { ExpressionScope } from '../../governance/expressions';
import { evaluate, render, truthy } from '../../governance/expressions';
import type { ActionStep, ApprovalStep, BranchStep, ForEachStep, Step } from '../../governance/steps';
import type { ControlSignal } from '../definitions';
import {
  ControlSignal as ControlSignalSchema,
  approvalAttemptsQuery,
  approvalSignal,
  controlSignal,
  pendingApprovalsQuery,
  runStateQuery,
} from '../definitions';
import type { forEachBatch } from '../for-each-batch';
import { runAgentLoop } from './agent-loop';
import { StepFailure, describeError, now } from './failures';
import { inSpan } from './tracing';
import { AuditTrail, actorOf } from './audit-trail';
import type { ForEachBatchInput, ForEachBatchResult, ItemResult } from './types';
import type { RunState, StepError, StepRecord } from './state';

/** Policy decisions run as local activities: pure, fast, and their result is recorded in history. */
const decideProxy = (summary: string) =>
  proxyLocalActivities<Activities>({ summary, startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });
const notifyProxy = (summary: string) =>
  proxyActivities<Activities>({ summary, startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });

/** Failures that retrying cannot fix. A plain ToolFailed (network error, 5xx) is retried with backoff. */
const NON_RETRYABLE = [FailureType.ValidationError, FailureType.PolicyDenied, FailureType.KillSwitchEngaged];

/** Tool-call proxies; `summary` is the line the Web UI shows for the activity. */
function toolActivities(taskQueue: string | undefined, summary: string) {
  return proxyActivities<Activities>({
    ...(taskQueue ? { taskQueue } : {}),
    summary,
    // Long enough for a kill-switch hold; a crashed worker is noticed through the heartbeat timeout.
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '1 second',
      maximumInterval: '30 seconds',
      maximumAttempts: 5,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
}

/** Shared per-execution inputs of the runner. */
export interface RunnerOptions {
  playbook: string;
  initiator: string;
  /** True in forEach children of a run that was already tainted. */
  tainted?: boolean;
  /** How the run was started (webhook source and id, schedule, CLI), for the audit record. */
  trigger?: { type: string; ref?: string };
}

/**
 * Runs steps under governance inside one workflow execution: policy decision for every action, approval
 * gates with escalation, pause/resume/cancel, and forEach fan-out through child workflows. Registers the
 * run's signal and query handlers; construct it first thing in the workflow function.
 */
export class StepRunner {
  readonly state: RunState;
  private readonly pending = new Map<string, PendingApproval>();
  private readonly decided = new Set<string>();
  private readonly outcomes = new Map<string, ApprovalOutcome>();
  private readonly attempts: ApprovalAttempt[] = [];
  private readonly children = new Set<string>();
  private paused = false;
  private cancelRequested = false;
  private readonly scope = new CancellationScope();
  readonly outputs: Record<string, unknown> = {};
  /** Set once the run has shown untrusted content to a model; policy then applies its `tainted` floors. */
  tainted: boolean;
  /** The run's records for the audit ledger. */
  readonly audit: AuditTrail;

  constructor(private readonly opts: RunnerOptions) {
    this.tainted = Boolean(opts.tainted);
    const info = workflowInfo();
    this.audit = new AuditTrail(info.workflowId);
    this.state = {
      workflowId: info.workflowId,
      playbook: opts.playbook,
      initiator: opts.initiator,
      status: 'running',
      startedAt: now(),
      steps: [],
      decisions: [],
      controls: [],
      events: [],
      agentTurns: [],
    };
    setHandler(approvalSignal, (raw) => this.onApproval(raw));
    setHandler(controlSignal, (raw) => this.onControl(raw));
    setHandler(pendingApprovalsQuery, () => [...this.pending.values()]);
    setHandler(approvalAttemptsQuery, (requestId?: string) =>
      requestId ? this.attempts.filter((a) => a.requestId === requestId) : this.attempts,
    );
    setHandler(runStateQuery, () => this.state);
  }

  /** Signal handlers never throw: a throw would fail the workflow task and wedge the run. */
  private onApproval(raw: unknown): void {
    try {
      const res = applyApprovalSignal(raw, this.pending, this.decided, now());
      this.attempts.push(res.attempt);
      if (res.outcome) this.outcomes.set(res.attempt.approvalId, res.outcome);
      const a = res.attempt;
      const type =
        a.outcome === 'refused'
          ? 'approval.refused'
          : res.outcome?.status === 'approved'
            ? 'approval.granted'
            : res.outcome?.status === 'rejected'
              ? 'approval.rejected'
              : 'approval.vote';
      this.audit.add(
        type,
        { kind: 'human', id: a.approver.slice(0, 256) || '(missing)' },
        {
          approvalId: a.approvalId,
          decision: a.decision,
          reason: a.reason,
          requestId: a.requestId ?? null,
          signed: a.signed,
          ...(res.outcome?.status === 'approved' ? { approvers: res.outcome.approvers } : {}),
        },
      );
    } catch (err) {
      this.attempts.push({
        approvalId: '(unknown)',
        approver: '(unknown)',
        decision: '(unknown)',
        outcome: 'refused',
        reason: `internal error: ${(err as Error).message}`,
        at: now(),
        signed: false,
      });
    }
  }

  private onControl(raw: unknown): void {
    const parsed = ControlSignalSchema.safeParse(raw);
    if (!parsed.success) {
      const r = (raw ?? {}) as Record<string, unknown>;
      this.state.controls.push({
        action: typeof r.action === 'string' ? r.action : '(missing)',
        by: typeof r.by === 'string' ? r.by : '(missing)',
        outcome: 'refused',
        note: `malformed control payload: ${formatIssues(parsed.error, '(payload)')}`,
        at: now(),
      });
      return;
    }
    const c: ControlSignal = parsed.data;
    const record = (outcome: 'accepted' | 'refused', note: string) => {
      this.state.controls.push({
        action: c.action,
        by: c.by,
        reason: c.reason,
        requestId: c.requestId,
        outcome,
        note,
        at: now(),
      });
      this.audit.add(
        'interrupt',
        { kind: 'human', id: c.by },
        { action: c.action, outcome, note, reason: c.reason ?? null },
      );
    };
    if (this.isFinished()) return void record('refused', `run already ${this.state.status}`);
    switch (c.action) {
      case 'pause':
        if (this.paused) return void record('refused', 'already paused');
        this.paused = true;
        this.state.status = 'paused';
        record('accepted', 'pauses before the next step');
        break;
      case 'resume':
        if (!this.paused) return void record('refused', 'not paused');
        this.paused = false;
        this.state.status = 'running';
        record('accepted', 'resumed');
        break;
      case 'cancel':
        if (this.cancelRequested) return void record('refused', 'cancel already requested');
        this.cancelRequested = true;
        record('accepted', 'cancelling at the next safe point; in-flight activities are cancelled');
        this.scope.cancel();
        break;
    }
    this.forwardToChildren(c);
  }

  private forwardToChildren(c: ControlSignal): void {
    for (const id of this.children) {
      // A failed forward (the child already closed) is harmless; it must not fail the workflow task.
      getExternalWorkflowHandle(id)
        .signal(controlSignal, c)
        .catch(() => undefined);
    }
  }

  private isFinished(): boolean {
    return this.state.status === 'completed' || this.state.status === 'failed' || this.state.status === 'cancelled';
  }

  /** Runs the steps inside the run's cancellation scope; resolves with the final status. */
  async run(steps: Step[], scope: ExpressionScope): Promise<{ status: RunState['status']; error?: StepError }> {
    this.audit.add(
      'run.started',
      { kind: 'human', id: this.opts.initiator },
      {
        playbook: this.opts.playbook,
        initiator: this.opts.initiator,
        trigger: this.opts.trigger ?? { type: 'manual' },
      },
    );
    try {
      return await this.runAndRecord(steps, scope);
    } finally {
      // Recorded even when the run was cancelled: the final flush must not be cancelled with it.
      this.audit.add(
        `run.${this.state.status === 'running' || this.state.status === 'paused' ? 'failed' : this.state.status}`,
        { kind: 'system', id: 'warden' },
        {
          status: this.state.status,
          steps: this.state.steps.length,
          decisions: this.state.decisions.length,
        },
      );
      await CancellationScope.nonCancellable(() => this.audit.flush());
    }
  }

  private async runAndRecord(
    steps: Step[],
    scope: ExpressionScope,
  ): Promise<{ status: RunState['status']; error?: StepError }> {
    try {
      await this.scope.run(() => this.runSteps(steps, scope));
      // A cancel that arrived while the last step finished still wins: the run did not complete cleanly.
      if (this.cancelRequested) throw new StepFailure(FailureType.RunCancelled, 'run cancelled');
      this.state.status = 'completed';
      return { status: 'completed' };
    } catch (err) {
      if (isCancellation(err) || this.cancelRequested) {
        this.state.status = 'cancelled';
        for (const s of this.state.steps)
          if (s.status === 'running' || s.status === 'waiting_approval') s.status = 'cancelled';
        if (!this.cancelRequested) throw err; // cancelled through Temporal itself: let the run end CANCELED
        return { status: 'cancelled' };
      }
      this.state.status = 'failed';
      return { status: 'failed', error: describeError(err) };
    } finally {
      this.state.currentStep = undefined;
    }
  }

  /** Runs steps in order; pause and cancel take effect between steps. */
  async runSteps(steps: Step[], scope: ExpressionScope): Promise<void> {
    for (const step of steps) {
      await this.checkpoint();
      // Expressions may read the run's own record (e.g. a case step renders `{{ run }}`).
      scope.run = {
        workflowId: this.state.workflowId,
        initiator: this.opts.initiator,
        decisions: this.state.decisions,
        steps: this.state.steps,
        agentTurns: this.state.agentTurns,
      };
      await this.runStep(step, scope);
      await this.audit.flush();
    }
  }

  /** Pause and cancel take effect here: between steps, items and agent turns. */
  async checkpoint(): Promise<void> {
    if (this.paused) await condition(() => !this.paused || this.cancelRequested);
    if (this.cancelRequested) throw new StepFailure(FailureType.RunCancelled, 'run cancelled');
  }

  private async runStep(step: Step, scope: ExpressionScope): Promise<void> {
    const record: StepRecord = { stepId: step.id, kind: step.kind, status: 'running', startedAt: now() };
    this.state.steps.push(record);
    this.state.currentStep = step.id;
    try {
      const output = await inSpan(`step ${step.id}`, { 'warden.step.id': step.id, 'warden.step.kind': step.kind }, () =>
        this.execute(step, scope, record),
      );
      this.outputs[step.id] = output;
      scope.steps[step.id] = output;
      record.status = 'completed';
    } catch (err) {
      if (isCancellation(err) || this.cancelRequested) {
        record.status = 'cancelled';
        throw err;
      }
      record.status = 'failed';
      record.error = describeError(err);
      if (step.onError === 'fail') throw new StepFailure(record.error.type, `step ${step.id}: ${record.error.message}`);
      scope.steps[step.id] = { error: record.error };
    } finally {
      record.endedAt = now();
    }
  }

  private async execute(step: Step, scope: ExpressionScope, record: StepRecord): Promise<unknown> {
    switch (step.kind) {
      case 'action':
        return this.runAction(step, scope, record, `${scope.index ?? 0}`);
      case 'approval':
        return this.runApprovalStep(step, scope, record);
      case 'branch':
        return this.runBranch(step, scope);
      case 'forEach':
        return this.runForEach(step, scope, record);
      case 'agent':
        return runAgentLoop(this, step, scope, record);
    }
  }

  /** One tool call of an action step: render, then the governed call. */
  async runAction(step: ActionStep, scope: ExpressionScope, record: StepRecord, callId: string): Promise<unknown> {
    const args = render(step.args, scope) as Record<string, unknown>;
    const context = render(step.context, scope);
    return (await this.governedCall({ stepId: step.id, callId, tool: step.tool, args, context, record })).output;
  }

  /**
   * The one path by which anything — a playbook step or an agent — acts: policy decision (recorded) →
   * deny, or an approval gate that waits durably → the tool activity. Throws StepFailure with the
   * failure type when policy denies, the arguments are invalid or a human rejects or times out.
   */
  async governedCall(call: {
    stepId: string;
    callId: string;
    tool: string;
    args: unknown;
    context: unknown;
    record: StepRecord;
    agent?: string;
  }): Promise<{ output: unknown; decision: Decision }> {
    const decision = await decideProxy(`policy: ${call.tool} (step ${call.stepId})`).decideAction({
      workflowId: this.state.workflowId,
      stepId: call.stepId,
      callId: call.callId,
      kind: 'action',
      tool: call.tool,
      args: call.args,
      context: call.context,
      initiator: this.opts.initiator,
      tainted: this.tainted,
      ...(call.agent ? { agent: call.agent } : {}),
    });
    this.recordDecision(call.stepId, call.callId, 'action', decision, call.tool, call.agent);
    if (decision.invalid) throw new StepFailure(FailureType.ValidationError, decision.reason);
    await this.enforce(decision, call.stepId, call.callId, call.record);
    const who = call.agent ? call.agent.replace(/^agent:/, 'agent ') : `step ${call.stepId}`;
    const { executeTool } = toolActivities(decision.taskQueue, `${who} → ${decision.action}`.slice(0, 200));
    const result = await executeTool({
      workflowId: this.state.workflowId,
      stepId: call.stepId,
      callId: call.callId,
      tool: call.tool,
      args: call.args,
      actionHash: decision.actionHash,
      policyVersion: decision.policyVersion,
      granted: decision.granted ?? [],
      actor: call.agent ?? 'system',
      onBehalfOf: this.opts.initiator,
    }).catch((err: unknown) => {
      if (!isCancellation(err)) {
        const e = describeError(err);
        this.audit.add('tool.failed', actorOf(call.agent ?? 'system'), {
          stepId: call.stepId,
          callId: call.callId,
          tool: call.tool,
          actionHash: decision.actionHash,
          errorType: e.type,
          error: e.message.slice(0, 2000),
        });
      }
      throw err;
    });
    this.audit.add('tool.executed', actorOf(call.agent ?? 'system'), {
      stepId: call.stepId,
      callId: call.callId,
      tool: call.tool,
      actionHash: decision.actionHash,
      outputDigest: result.outputDigest,
      capabilities: result.capabilitiesUsed,
      durationMs: result.durationMs,
      onBehalfOf: this.opts.initiator,
    });
    return { output: result.output, decision };
  }

  private async runApprovalStep(step: ApprovalStep, scope: ExpressionScope, record: StepRecord): Promise<unknown> {
    const details = render(step.details, scope);
    const rendered = render(step.title, scope);
    const title = (typeof rendered === 'string' ? rendered : JSON.stringify(rendered)).slice(0, 200);
    const decision = await decideProxy(`policy: approval "${title}"`.slice(0, 200)).decideAction({
      workflowId: this.state.workflowId,
      stepId: step.id,
      callId: `${scope.index ?? 0}`,
      kind: 'approval',
      title,
      tier: step.tier,
      args: details,
      context: {},
      initiator: this.opts.initiator,
      tainted: this.tainted,
    });
    this.recordDecision(step.id, `${scope.index ?? 0}`, 'approval', decision);
    const outcome = await this.enforce(decision, step.id, `${scope.index ?? 0}`, record);
    return { approved: true, approvers: outcome?.status === 'approved' ? outcome.approvers : [] };
  }

  private recordDecision(
    stepId: string,
    callId: string,
    kind: 'action' | 'approval',
    d: Decision,
    tool?: string,
    agent?: string,
  ): void {
    this.audit.add('policy.decision', actorOf(agent ?? 'system'), {
      stepId,
      callId,
      kind,
      tool: tool ?? null,
      action: d.action,
      effect: d.effect,
      tier: d.tier ?? null,
      ruleId: d.ruleId,
      reason: d.reason,
      policyVersion: d.policyVersion,
      actionHash: d.actionHash,
      tainted: this.tainted,
    });
    this.state.decisions.push({
      stepId,
      callId,
      kind,
      tool,
      actor: agent ?? 'system',
      action: d.action,
      effect: d.effect,
      ...(d.tier ? { tier: d.tier } : {}),
      ruleId: d.ruleId,
      reason: d.reason,
      policyVersion: d.policyVersion,
      actionHash: d.actionHash,
      at: now(),
    });
  }

  /** Records a refusal decided before policy was asked (an agent's call outside its allowlist, malformed arguments). */
  recordRefusal(r: {
    stepId: string;
    callId: string;
    tool: string;
    actor: string;
    ruleId: string;
    reason: string;
  }): void {
    this.audit.add('policy.decision', actorOf(r.actor), {
      stepId: r.stepId,
      callId: r.callId,
      kind: 'action',
      tool: r.tool,
      effect: 'deny',
      ruleId: r.ruleId,
      reason: r.reason,
      policyVersion: '-',
    });
    this.state.decisions.push({
      stepId: r.stepId,
      callId: r.callId,
      kind: 'action',
      tool: r.tool,
      actor: r.actor,
      action: `${r.tool} (refused before policy)`,
      effect: 'deny',
      ruleId: r.ruleId,
      reason: r.reason,
      policyVersion: '-',
      actionHash: '-',
      at: now(),
    });
  }

  /** Applies a decision: deny fails the step; require_approval waits for humans; allow passes. */
  private async enforce(
    d: Decision,
    stepId: string,
    callId: string,
    record: StepRecord,
  ): Promise<ApprovalOutcome | undefined> {
    switch (d.effect) {
      case 'allow':
        return undefined;
      case 'deny':
        throw new StepFailure(FailureType.PolicyDenied, `denied by policy (${d.ruleId}): ${d.reason}`);
      case 'require_approval': {
        if (!d.plan) throw new StepFailure(FailureType.PolicyDenied, 'approval required but no approval plan: denied');
        record.status = 'waiting_approval';
        const outcome = await inSpan(
          `approval wait ${stepId}.${callId}`,
          { 'warden.approval.tier': d.plan.tier, 'warden.approval.action': d.action },
          () => this.awaitApproval(d, stepId, callId),
        );
        record.approval = { ...outcome, approvalId: `${stepId}.${callId}` };
        record.status = 'running';
        if (outcome.status === 'rejected') {
          throw new StepFailure(
            FailureType.ApprovalRejected,
            `rejected by ${outcome.by}${outcome.reason ? `: ${outcome.reason}` : ''}`,
          );
        }
        if (outcome.status === 'timed_out') {
          throw new StepFailure(
            FailureType.ApprovalTimedOut,
            `no decision after ${d.plan.stages.length} escalation stage(s): denied`,
          );
        }
        return outcome;
      }
    }
  }

  private async awaitApproval(d: Decision, stepId: string, callId: string): Promise<ApprovalOutcome> {
    const plan = d.plan!;
    const approvalId = `${stepId}.${callId}`;
    const first = plan.stages[0]!;
    const p: PendingApproval = {
      approvalId,
      workflowId: this.state.workflowId,
      stepId,
      action: d.action,
      tool: d.tool,
      actionHash: d.actionHash,
      policyVersion: d.policyVersion,
      reason: d.reason,
      tier: plan.tier,
      required: plan.required,
      stage: 0,
      stages: plan.stages,
      eligible: first.approvers,
      approvals: [],
      requestedAt: now(),
      stageDeadline: new Date(Date.now() + first.timeoutMs).toISOString(),
      initiator: this.opts.initiator,
    };
    this.pending.set(approvalId, p);
    this.audit.add(
      'approval.requested',
      { kind: 'system', id: 'warden' },
      {
        approvalId,
        stepId,
        action: d.action,
        actionHash: d.actionHash,
        policyVersion: d.policyVersion,
        tier: plan.tier,
        required: plan.required,
        groups: first.groups,
        reason: d.reason,
      },
    );
    try {
      for (let i = 0; i < plan.stages.length; i++) {
        const stage = plan.stages[i]!;
        p.stage = i;
        p.eligible = stage.approvers;
        p.stageDeadline = new Date(Date.now() + stage.timeoutMs).toISOString();
        if (i > 0) {
          this.state.events.push({ at: now(), what: `approval ${approvalId} escalated to ${stage.groups.join(', ')}` });
          this.audit.add(
            'approval.escalated',
            { kind: 'system', id: 'warden' },
            { approvalId, stage: i, groups: stage.groups },
          );
        }
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
      if (outcome.status === 'timed_out') {
        this.state.events.push({ at: now(), what: `approval ${approvalId} timed out: denied` });
        this.audit.add(
          'approval.timed_out',
          { kind: 'system', id: 'warden' },
          { approvalId, stages: plan.stages.length },
        );
      }
      return outcome;
    } finally {
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
      await this.audit.flush();
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      if (!(await condition(() => this.outcomes.has(approvalId) || this.audit.pending, remaining))) return false;
      if (this.outcomes.has(approvalId)) return true;
    }
  }

  private async runBranch(step: BranchStep, scope: ExpressionScope): Promise<unknown> {
    const taken = truthy(evaluate(step.when, scope));
    await this.runSteps(taken ? step.then : step.else, scope);
    return { taken: taken ? 'then' : 'else' };
  }

  private async runForEach(step: ForEachStep, scope: ExpressionScope, record: StepRecord): Promise<unknown> {
    const items = evaluate(step.items, scope);
    if (!Array.isArray(items)) {
      throw new StepFailure(
        FailureType.ValidationError,
        `forEach items "${step.items}" must yield an array, got ${items === null ? 'null' : typeof items}`,
      );
    }
    record.items = { total: items.length, succeeded: 0, failed: 0 };
    const results: ItemResult[] = [];
    for (let offset = 0, batch = 0; offset < items.length; offset += step.batchSize, batch++) {
      await this.checkpoint();
      const childId = `${this.state.workflowId}--${step.id}--b${batch}`;
      const input: ForEachBatchInput = {
        playbook: this.opts.playbook,
        initiator: this.opts.initiator,
        tainted: this.tainted,
        stepId: step.id,
        steps: step.steps,
        items: items.slice(offset, offset + step.batchSize),
        offset,
        concurrency: step.concurrency,
        onItemFailure: step.onItemFailure,
        scope: { input: scope.input, steps: scope.steps, run: scope.run },
      };
      this.children.add(childId);
      let res: ForEachBatchResult;
      try {
        res = await executeChild<typeof forEachBatch>('forEachBatch', { workflowId: childId, args: [input] });
      } finally {
        this.children.delete(childId);
      }
      results.push(...(step.collect !== 'failures' ? res.items : res.items.filter((r) => r.status === 'failed')));
      // The child audited its own decisions; mirror them here so one runState shows the whole run.
      this.state.decisions.push(...(res.decisions ?? []));
      if (res.cancelled) throw new StepFailure(FailureType.RunCancelled, `forEach batch ${batch} was cancelled`);
      record.items.succeeded += res.items.filter((r) => r.status === 'completed').length;
      record.items.failed += res.items.filter((r) => r.status === 'failed').length;
      if (step.onItemFailure === 'failFast' && record.items.failed > 0) break;
    }
    const failed = results.filter((r) => r.status === 'failed');
    const processed = record.items.succeeded + record.items.failed;
    if (step.onItemFailure === 'failFast' && failed.length) {
      const f = failed[0]!;
      throw new StepFailure(
        f.error?.type ?? FailureType.ToolFailed,
        `item ${f.index} failed: ${f.error?.message ?? 'unknown error'}`,
      );
    }
    return { total: items.length, succeeded: processed - failed.length, failed: failed.length, results };
  }

  /** Runs one forEach item's steps (in a batch child). Returns the item's outputs by step id. */
  async runItem(steps: Step[], scope: ExpressionScope): Promise<Record<string, unknown>> {
    const itemScope: ExpressionScope = { ...scope, steps: { ...scope.steps } };
    const own: Record<string, unknown> = {};
    for (const step of steps) {
      await this.checkpoint();
      const record: StepRecord = {
        stepId: `${step.id}[${scope.index}]`,
        kind: step.kind,
        status: 'running',
        startedAt: now(),
      };
      this.state.steps.push(record);
      try {
        const out = await this.execute(step, itemScope, record);
        itemScope.steps[step.id] = out;
        own[step.id] = out;
        record.status = 'completed';
      } catch (err) {
        record.status = isCancellation(err) || this.cancelRequested ? 'cancelled' : 'failed';
        record.error = describeError(err);
        if (record.status === 'cancelled' || step.onError === 'fail') throw err;
        itemScope.steps[step.id] = { error: record.error };
      } finally {
        record.endedAt = now();
      }
    }
    return own;
  }

  /** Runs items with a concurrency cap inside the run's cancellation scope (batch children). */
  async runItems(input: ForEachBatchInput): Promise<ForEachBatchResult> {
    const results: ItemResult[] = new Array<ItemResult>(input.items.length);
    let next = 0;
    let stop = false;
    const lane = async () => {
      while (!stop && next < input.items.length) {
        const i = next++;
        const index = input.offset + i;
        try {
          const output = await this.runItem(input.steps, { ...input.scope, item: input.items[i], index });
          results[i] = { index, status: 'completed', output };
        } catch (err) {
          if (isCancellation(err) || this.cancelRequested) throw err;
          results[i] = { index, status: 'failed', error: describeError(err) };
          if (input.onItemFailure === 'failFast') stop = true;
        }
        await this.audit.flush();
      }
    };
    let cancelled = false;
    try {
      await this.scope.run(() =>
        Promise.all(Array.from({ length: Math.min(input.concurrency, input.items.length) }, lane)),
      );
      cancelled = this.cancelRequested;
    } catch (err) {
      if (!this.cancelRequested) throw err;
      cancelled = true;
    }
    this.state.status = cancelled ? 'cancelled' : 'completed';
    await CancellationScope.nonCancellable(() => this.audit.flush());
    return {
      items: results.filter((r): r is ItemResult => r !== undefined),
      cancelled,
      decisions: this.state.decisions,
    };
  }
}
