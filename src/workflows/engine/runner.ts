import { CancellationScope, isCancellation, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ControlAuthority } from '../contract';
import type { IdentifyRunInput, RunIdentity } from '../../activities/identity';
import type { RunProvenance } from '../../triggers/run-provenance';
import { runProvenance } from '../../triggers/run-provenance';
import type { Decision } from '../../governance/decision';
import { FailureType } from '../../errors';
import type { ExpressionScope } from '../../governance/expressions';
import { evaluate, render, truthy } from '../../governance/expressions';
import { approvalTargets, boundedEvidence } from '../../governance/approval-evidence';
import type { ActionStep, ApprovalStep, BranchStep, Step } from '../../governance/steps';
import { runAgentLoop } from './agent-loop';
import { ApprovalGate } from './approval-gate';
import type { FanOutContext } from './fan-out';
import { runForEach, runItems } from './fan-out';
import { StepFailure, describeError, failedOutput, now } from './failures';
import { decide, enforce, governedCall, governedOutput, renderCall } from './governed-call';
import { registerRunHandlers } from './handlers';
import { Interrupts } from './interrupts';
import { Journal } from './journal';
import { oversizedResult } from './result-limit';
import { LEAN_STEPS_PATCH, VERIFIED_INITIATOR_PATCH, isPatched, settlePatchesAtStart } from './patches';
import type { RunState, StepError, StepRecord } from './state';
import { Taint } from './step-context';
import type { GovernedCall } from './step-context';
import { inSpan, inSpanLean } from './tracing';
import type { ForEachBatchInput, ForEachBatchResult } from './types';

const identifyProxy = proxyLocalActivities<Activities>({
  summary: 'identify the initiator',
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/** Who and what a run is. */
export interface RunOptions {
  playbook: string;
  initiator: string;
  /** True in forEach children of a run that was already tainted. */
  tainted?: boolean;
  /** How the run was started (webhook source and id, schedule, CLI), for the audit record. */
  trigger?: { type: string; ref?: string };
  /** forEach batches: who may control the parent run ('legacy' when the parent predates signed controls). */
  controls?: ControlAuthority | 'legacy';
}

/**
 * One governed run: its lifecycle (start, steps in order, end record) and the dispatch of each step to
 * its kind — action, approval, branch, forEach fan-out, agent. Governance lives in the pieces it owns:
 * the journal, the approval gate, the interrupts and the taint; step kinds see it only through the
 * narrow StepContext it implements. Construct it first thing in the workflow function (it registers the
 * run's message handlers).
 */
export class Run implements FanOutContext {
  readonly state: RunState;
  readonly journal: Journal;
  readonly gate: ApprovalGate;
  readonly interrupts: Interrupts;
  readonly taint: Taint;
  /** Each completed step's output, by step id. */
  readonly outputs: Record<string, unknown> = {};
  /** The run's input (a batch's: its parent's), for policy facts. */
  runInput: unknown = undefined;
  readonly lean: boolean;

  private identity: RunIdentity;
  /** Where the run came from, as Temporal recorded it (absent from histories before verified initiators). */
  private provenance?: RunProvenance;
  /** The steps still to come after the current one, innermost list first (what an approval step unlocks). */
  private readonly upcoming: Step[][] = [];
  /** Set once the main steps ended: the run is in its `finally` steps, which read it as `run.outcome`/`run.failure`. */
  private finalOutcome: { outcome: RunState['status']; failure?: StepError } | undefined;

  constructor(private readonly opts: RunOptions) {
    const info = workflowInfo();
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
    this.taint = new Taint(Boolean(opts.tainted));
    this.journal = new Journal(this.state);
    this.gate = new ApprovalGate(this.journal, opts.initiator);
    this.interrupts = new Interrupts(this.journal, opts.controls);
    // Before any local activity: every later patch is settled in the first workflow task (patches.ts).
    settlePatchesAtStart();
    this.lean = isPatched(LEAN_STEPS_PATCH);
    // A forEach child's initiator was established by its parent (Temporal records the parent; nothing else).
    this.identity = { initiator: opts.initiator, verified: !opts.initiator.startsWith('unverified:'), via: 'parent' };
    registerRunHandlers(this);
  }

  /**
   * Establishes who started this run (a local activity: the worker checks the attestation against its
   * directory and fleet key, or Temporal's record of a schedule or threshold start). Until it is proven,
   * the initiator is `unverified:<claim>` and nobody can approve the run's actions. Returns the initiator.
   */
  async identify(claim: Omit<IdentifyRunInput, 'provenance'>): Promise<string> {
    // Histories from before verified initiators replay with the claim, as that build ran them.
    if (!isPatched(VERIFIED_INITIATOR_PATCH)) {
      this.identity = { initiator: claim.claimed, verified: true, via: 'legacy' };
      this.interrupts.authorize('legacy');
    } else {
      const provenance = runProvenance(workflowInfo(), claim.trigger as { type: string; ref?: string } | undefined);
      this.provenance = provenance;
      this.identity = await identifyProxy.identifyRun({ ...claim, provenance });
      this.interrupts.authorize({
        runWorkflowId: this.workflowId,
        ...(this.identity.controls ?? { authorised: { pause: [], resume: [], cancel: [] }, keys: {} }),
      });
    }
    this.opts.initiator = this.identity.initiator;
    this.state.initiator = this.identity.initiator;
    this.gate.initiator = this.identity.initiator;
    return this.identity.initiator;
  }

  get workflowId(): string {
    return this.state.workflowId;
  }

  get initiator(): string {
    return this.opts.initiator;
  }

  get playbook(): string {
    return this.opts.playbook;
  }

  /** Who may control this run, for its forEach batches. */
  get controlAuthority(): ControlAuthority | undefined {
    return this.interrupts.controlAuthority;
  }

  /** A cancel accepted by this run (no longer in force once its `finally` steps run). */
  get cancelRequested(): boolean {
    return !this.finalOutcome && this.interrupts.cancelRequested;
  }

  get scope(): CancellationScope {
    return this.interrupts.scope;
  }

  checkpoint(): Promise<void> {
    // The finally steps run to their end: pause and cancel no longer apply.
    if (this.finalOutcome) return Promise.resolve();
    return this.interrupts.checkpoint(() => this.journal.flushIfBatched());
  }

  checkpointIfHeld(): Promise<void> | undefined {
    if (this.finalOutcome) return undefined;
    return this.interrupts.checkpointIfHeld(() => this.journal.flushIfBatched());
  }

  trackChild(workflowId: string): () => void {
    return this.interrupts.trackChild(workflowId);
  }

  call(call: GovernedCall): Promise<{ output: unknown; decision: Decision }> {
    return governedCall(this, call);
  }

  /**
   * Runs the steps inside the run's cancellation scope, then the `finally` steps whatever the outcome,
   * recording start and end; resolves with the final status. A failed or cancelled run stays failed or
   * cancelled whatever its `finally` steps do; a completed run whose `finally` step fails has failed.
   */
  async run(
    steps: Step[],
    scope: ExpressionScope,
    finallySteps: Step[] = [],
  ): Promise<{ status: RunState['status']; error?: StepError }> {
    this.runInput = scope.input;
    this.journal.runStarted({
      playbook: this.opts.playbook,
      initiator: this.opts.initiator,
      initiatorVerified: this.identity.verified,
      via: this.identity.via,
      ...(this.identity.reason ? { unverifiedBecause: this.identity.reason } : {}),
      trigger: this.opts.trigger ?? { type: 'manual' },
      ...(this.provenance
        ? {
            provenance: {
              type: this.provenance.type,
              evidence: this.provenance.evidence,
              ...(this.provenance.discrepancy ? { discrepancy: this.provenance.discrepancy } : {}),
            },
          }
        : {}),
    });
    try {
      let outcome: { status: RunState['status']; error?: StepError };
      try {
        outcome = await this.runToEnd(steps, scope);
      } catch (err) {
        // Cancelled through Temporal itself: the finally steps still run, then the run ends CANCELED.
        if (finallySteps.length && isCancellation(err))
          await this.runFinally(finallySteps, scope, { status: 'cancelled' });
        throw err;
      }
      const ended = finallySteps.length ? await this.runFinally(finallySteps, scope, outcome) : outcome;
      return this.resultMustFit(ended);
    } finally {
      // Recorded even when the run was cancelled: the final flush must not be cancelled with it.
      this.journal.runEnded();
      await CancellationScope.nonCancellable(() => this.journal.flush());
    }
  }

  /**
   * A run that completed with a result too large to return ends failed (BudgetExceeded) here, before its
   * end is recorded, so the ledger says how it ended; the result it would return is what run-playbook.ts
   * builds from the same state.
   */
  private resultMustFit(outcome: { status: RunState['status']; error?: StepError }): {
    status: RunState['status'];
    error?: StepError;
  } {
    if (outcome.status !== 'completed' && outcome.status !== 'completed_with_failures') return outcome;
    const s = this.state;
    const message = oversizedResult({
      status: outcome.status,
      outputs: this.outputs,
      steps: s.steps,
      decisions: s.decisions,
      ...(s.decisionsNotShown ? { decisionsNotShown: s.decisionsNotShown } : {}),
    });
    if (!message) return outcome;
    s.status = 'failed';
    s.error = { type: FailureType.BudgetExceeded, message };
    return { status: 'failed', error: s.error };
  }

  /**
   * The playbook's `finally` steps, after the main steps ended with `outcome`. They run in a scope no
   * cancel reaches and skip the pause/cancel checkpoints (a cancel already decided the outcome; what is
   * left is record-keeping), but every action still goes through policy like any other.
   */
  private async runFinally(
    steps: Step[],
    scope: ExpressionScope,
    outcome: { status: RunState['status']; error?: StepError },
  ): Promise<{ status: RunState['status']; error?: StepError }> {
    this.finalOutcome = { outcome: outcome.status, ...(outcome.error ? { failure: outcome.error } : {}) };
    try {
      await CancellationScope.nonCancellable(() => this.runSteps(steps, scope));
      return outcome;
    } catch (err) {
      if (outcome.status !== 'completed') return outcome;
      this.state.status = 'failed';
      return { status: 'failed', error: describeError(err) };
    } finally {
      this.state.currentStep = undefined;
    }
  }

  /** A batch of forEach items (the `forEachBatch` child workflow). */
  runBatch(input: ForEachBatchInput): Promise<ForEachBatchResult> {
    this.runInput = input.scope.input;
    return runItems(this, this.lean ? this.executeLean : this.execute, input);
  }

  private async runToEnd(
    steps: Step[],
    scope: ExpressionScope,
  ): Promise<{ status: RunState['status']; error?: StepError }> {
    try {
      await this.scope.run(() => this.runSteps(steps, scope));
      // A cancel that arrived while the last step finished still wins: the run did not complete cleanly.
      if (this.cancelRequested) throw new StepFailure(FailureType.RunCancelled, 'run cancelled');
      // Not a clean success when a governed action failed, even if the playbook carried on past it.
      const status = this.state.failedActions?.length ? 'completed_with_failures' : 'completed';
      this.state.status = status;
      return { status };
    } catch (err) {
      if (isCancellation(err) || this.cancelRequested) {
        this.state.status = 'cancelled';
        for (const s of this.state.steps)
          if (s.status === 'running' || s.status === 'waiting_approval') s.status = 'cancelled';
        if (!this.cancelRequested) throw err; // cancelled through Temporal itself: let the run end CANCELED
        return { status: 'cancelled' };
      }
      this.state.status = 'failed';
      this.state.error = describeError(err);
      return { status: 'failed', error: this.state.error };
    } finally {
      this.state.currentStep = undefined;
    }
  }

  /** Runs steps in order; pause and cancel take effect between steps. */
  private async runSteps(steps: Step[], scope: ExpressionScope): Promise<void> {
    const rest = [...steps];
    this.upcoming.unshift(rest);
    try {
      while (rest.length) {
        const step = rest.shift()!;
        await (this.lean ? this.runOneLean(step, scope) : this.runOne(step, scope));
      }
    } finally {
      this.upcoming.shift();
    }
  }

  private async runOne(step: Step, scope: ExpressionScope): Promise<void> {
    await this.checkpoint();
    this.exposeRun(scope);
    await this.runStep(step, scope);
    await this.journal.flushIfDue();
  }

  /**
   * {@link runOne} and {@link runStep} in one async function, without a promise where nothing waits (lean
   * runs: see LEAN_STEPS_PATCH).
   */
  private async runOneLean(step: Step, scope: ExpressionScope): Promise<void> {
    const held = this.checkpointIfHeld();
    if (held) await held;
    this.exposeRun(scope);
    const record = this.beginStep(step);
    try {
      const attributes = { 'warden.step.id': step.id, 'warden.step.kind': step.kind };
      this.stepCompleted(
        step,
        scope,
        record,
        await inSpanLean(`step ${step.id}`, attributes, () => this.executeLean(step, scope, record)),
      );
    } catch (err) {
      this.stepFailed(step, scope, record, err);
    } finally {
      record.endedAt = now();
    }
    const flush = this.journal.dueFlush();
    if (flush) await flush;
  }

  /** Expressions may read the run's own record (e.g. a case step renders `{{ run }}`). */
  private exposeRun(scope: ExpressionScope): void {
    scope.run = {
      workflowId: this.state.workflowId,
      initiator: this.opts.initiator,
      decisions: this.state.decisions,
      steps: this.state.steps,
      agentTurns: this.state.agentTurns,
      ...this.finalOutcome,
    };
  }

  private async runStep(step: Step, scope: ExpressionScope): Promise<void> {
    const record = this.beginStep(step);
    try {
      const output = await inSpan(`step ${step.id}`, { 'warden.step.id': step.id, 'warden.step.kind': step.kind }, () =>
        this.execute(step, scope, record),
      );
      this.stepCompleted(step, scope, record, output);
    } catch (err) {
      this.stepFailed(step, scope, record, err);
    } finally {
      record.endedAt = now();
    }
  }

  private beginStep(step: Step): StepRecord {
    const record: StepRecord = { stepId: step.id, kind: step.kind, status: 'running', startedAt: now() };
    this.journal.step(record);
    this.state.currentStep = step.id;
    return record;
  }

  private stepCompleted(step: Step, scope: ExpressionScope, record: StepRecord, output: unknown): void {
    this.outputs[step.id] = output;
    scope.steps[step.id] = output;
    record.status = 'completed';
  }

  /** Records a step's failure; rethrows a cancellation, or the failure when the step must not continue. */
  private stepFailed(step: Step, scope: ExpressionScope, record: StepRecord, err: unknown): void {
    if (isCancellation(err) || this.cancelRequested) {
      record.status = 'cancelled';
      throw err;
    }
    record.status = 'failed';
    record.error = describeError(err);
    if (step.onError === 'fail') throw new StepFailure(record.error.type, `step ${step.id}: ${record.error.message}`);
    scope.steps[step.id] = failedOutput(step, scope, record.error);
  }

  /** Dispatches one step to its kind (runs from before LEAN_STEPS_PATCH: inside one more promise). */
  private readonly execute = async (step: Step, scope: ExpressionScope, record: StepRecord): Promise<unknown> =>
    this.dispatch(step, scope, record, false);

  /** {@link execute} for lean runs: hands back the step kind's own promise instead of wrapping it in another. */
  private readonly executeLean = (step: Step, scope: ExpressionScope, record: StepRecord): Promise<unknown> =>
    this.dispatch(step, scope, record, true);

  private dispatch(step: Step, scope: ExpressionScope, record: StepRecord, lean: boolean): Promise<unknown> {
    switch (step.kind) {
      case 'action':
        return lean ? this.actionOutput(step, scope, record) : this.runAction(step, scope, record);
      case 'approval':
        return this.runApproval(step, scope, record);
      case 'branch':
        return this.runBranch(step, scope);
      case 'forEach':
        return runForEach(this, step, scope, record, lean ? this.executeLean : this.execute);
      case 'agent':
        return runAgentLoop(this, step, scope, record);
    }
  }

  /** {@link runAction} for lean runs: the governed call's own promise, resolving to the output. */
  private actionOutput(step: ActionStep, scope: ExpressionScope, record: StepRecord): Promise<unknown> {
    return governedOutput(this, actionCall(step, scope, record));
  }

  /** One tool call of an action step: render, then the governed call. */
  private async runAction(step: ActionStep, scope: ExpressionScope, record: StepRecord): Promise<unknown> {
    return (await this.call(actionCall(step, scope, record))).output;
  }

  /** A human gate: policy plans the approval (tier, stages); the gate waits. */
  private async runApproval(step: ApprovalStep, scope: ExpressionScope, record: StepRecord): Promise<unknown> {
    const details = render(step.details, scope);
    const rendered = render(step.title, scope);
    const title = (typeof rendered === 'string' ? rendered : JSON.stringify(rendered)).slice(0, 200);
    const callId = `${scope.index ?? 0}`;
    const next = this.upcoming
      .flat()
      .map((s) => s.id)
      .slice(0, 8);
    const decision = await decide(this, `policy: approval "${title}"`, {
      stepId: step.id,
      callId,
      kind: 'approval',
      title,
      tier: step.tier,
      args: details,
      context: {},
    });
    const outcome = await enforce(this, decision, step.id, callId, record, {
      title,
      details: boundedEvidence(details),
      targets: approvalTargets(details),
      unlocks: next.length
        ? `the run continues with step${next.length > 1 ? 's' : ''} ${next.join(', ')}`
        : `the run continues past step ${step.id}`,
    });
    return { approved: true, approvers: outcome?.status === 'approved' ? outcome.approvers : [] };
  }

  private async runBranch(step: BranchStep, scope: ExpressionScope): Promise<unknown> {
    const taken = truthy(evaluate(step.when, scope));
    await this.runSteps(taken ? step.then : step.else, scope);
    return { taken: taken ? 'then' : 'else' };
  }
}

/** An action step's tool call, with its step's record. */
function actionCall(step: ActionStep, scope: ExpressionScope, record: StepRecord): GovernedCall {
  return { ...renderCall(step, scope), record };
}
