import { isCancellation, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { ExecuteToolResult } from '../../activities/tools';
import type { Activities } from '../../activities';
import type { DecideInput } from '../../activities/governance';
import { FailureType } from '../../errors';
import type { ApprovalOutcome } from '../../governance/approvals';
import type { Decision } from '../../governance/decision';
import type { ApprovalEvidence } from '../../governance/approval-evidence';
import { approvalTargets, boundedEvidence } from '../../governance/approval-evidence';
import { StepFailure, describeError } from './failures';
import type { GovernanceContext, GovernedCall } from './step-context';
import type { StepRecord } from './state';
import type { ExpressionScope } from '../../governance/expressions';
import { render } from '../../governance/expressions';
import type { ActionStep } from '../../governance/steps';
import { DECIDE_AND_READ_PATCH, DECISION_TOKENS_PATCH, isPatched } from './patches';

/** Policy decisions run as local activities: pure, fast, and their result is recorded in history. */
const decideProxy = (summary: string) =>
  proxyLocalActivities<Activities>({ summary, startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });

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

/** A decision's input as the step states it; the run's own facts are added by {@link withRunFacts}. */
type StepDecideInput = Omit<DecideInput, 'workflowId' | 'initiator' | 'tainted' | 'runInput'>;

/** Asks policy (a recorded local activity) and journals the decision. */
export async function decide(ctx: GovernanceContext, summary: string, input: StepDecideInput): Promise<Decision> {
  const decision = await decideProxy(summary.slice(0, 200)).decideAction(withRunFacts(ctx, input));
  journalDecision(ctx, decision, input);
  return decision;
}

/** What policy decides on that comes from the run itself, never from the step or the model. */
function withRunFacts(ctx: GovernanceContext, input: StepDecideInput): DecideInput {
  return {
    ...input,
    workflowId: ctx.workflowId,
    initiator: ctx.initiator,
    tainted: ctx.taint.tainted,
    runInput: ctx.runInput,
  };
}

function journalDecision(
  ctx: GovernanceContext,
  decision: Decision,
  input: Pick<DecideInput, 'stepId' | 'callId' | 'kind' | 'agent'>,
): void {
  ctx.journal.decision(decision, {
    stepId: input.stepId,
    callId: input.callId,
    kind: input.kind,
    actor: input.agent ?? 'system',
    tainted: ctx.taint.tainted,
  });
}

/** Applies a decision: deny fails the step; require_approval waits for humans; allow passes. */
export async function enforce(
  ctx: GovernanceContext,
  d: Decision,
  stepId: string,
  callId: string,
  record: StepRecord,
  evidence?: ApprovalEvidence,
): Promise<ApprovalOutcome | undefined> {
  switch (d.effect) {
    case 'allow':
      return undefined;
    case 'deny':
      throw new StepFailure(FailureType.PolicyDenied, `denied by policy (${d.ruleId}): ${d.reason}`);
    case 'require_approval':
      return ctx.gate.enforce(d, stepId, callId, record, evidence);
  }
}

/**
 * The one path by which anything — a playbook step or an agent — acts: policy decision (recorded) →
 * deny, or an approval gate that waits durably → the tool activity. Throws StepFailure with the
 * failure type when policy denies, the arguments are invalid or a human rejects or times out.
 */
export function governedCall(
  ctx: GovernanceContext,
  call: GovernedCall,
): Promise<{ output: unknown; decision: Decision }> {
  if (!ctx.lean) return decideAndAct(ctx, call);
  // Lean runs: the allow path of a read is the local activity's own promise, with no async wrapper around it.
  const decideInput = decideInputOf(call);
  return decideAndReadActivity(ctx, call, decideInput).then((r) => {
    const folded = settleFolded(ctx, call, decideInput, r);
    return 'output' in folded ? folded : decideAndAct(ctx, call, folded.decision);
  });
}

/** {@link governedCall} for a lean run's action step, which needs only the output: one promise fewer. */
export function governedOutput(ctx: GovernanceContext, call: GovernedCall): Promise<unknown> {
  const decideInput = decideInputOf(call);
  return decideAndReadActivity(ctx, call, decideInput).then((r) => {
    const folded = settleFolded(ctx, call, decideInput, r);
    return 'output' in folded ? folded.output : decideAndAct(ctx, call, folded.decision).then((d) => d.output);
  });
}

/** A call before its step record exists (rendered ahead, see {@link prefetchReads}). */
export type CallWithoutRecord = Omit<GovernedCall, 'record'> & { record?: StepRecord };

/** What a call decided ahead came to: its output, its final failure, or the decision its step acts on. */
export type Prefetched = { output: unknown } | { failure: unknown } | { decision: Decision };

/**
 * Decides `calls` (and makes those policy allows as reads on this queue) in one local activity,
 * `decideAndReadMany`, at most `concurrency` reading at once, and journals each as {@link governedCall}
 * would — its decision, then what the tool did — in call order. Each answer is then handed to its step
 * through {@link prefetchedOutput}.
 */
export async function prefetchReads(
  ctx: GovernanceContext,
  calls: CallWithoutRecord[],
  concurrency: number,
  summary: string,
): Promise<Prefetched[]> {
  const decideInputs = calls.map(decideInputOf);
  const inputs = calls.map((call, i) => ({
    decide: withRunFacts(ctx, decideInputs[i]!),
    execute: callInput(ctx, call),
  }));
  const results = await decideProxy(summary.slice(0, 200)).decideAndReadMany({ calls: inputs, concurrency });
  return results.map((r, i): Prefetched => {
    try {
      const folded = settleFolded(ctx, calls[i]!, decideInputs[i]!, r);
      return 'output' in folded ? { output: folded.output } : { decision: folded.decision };
    } catch (failure) {
      return { failure };
    }
  });
}

/**
 * An action step's output from its call decided ahead ({@link prefetchReads}): the read's output or failure,
 * or — for anything not read there (a denial, an approval, a write, a read left to an activity) — the rest
 * of the governed path from that decision, as {@link governedOutput} takes it.
 */
export function prefetchedOutput(ctx: GovernanceContext, call: GovernedCall, ahead: Prefetched): Promise<unknown> {
  if ('output' in ahead) return Promise.resolve(ahead.output);
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the call's own failure (a StepFailure)
  if ('failure' in ahead) return Promise.reject(ahead.failure);
  return decideAndAct(ctx, call, ahead.decision).then((d) => d.output);
}

/** An action step's tool call: its arguments and context rendered against the scope. */
export function renderCall(step: ActionStep, scope: ExpressionScope): CallWithoutRecord {
  const args = render(step.args, scope) as Record<string, unknown>;
  const context = render(step.context, scope);
  return { stepId: step.id, callId: `${scope.index ?? 0}`, tool: step.tool, args, context };
}

function decideInputOf(call: CallWithoutRecord): StepDecideInput {
  return {
    stepId: call.stepId,
    callId: call.callId,
    kind: 'action' as const,
    tool: call.tool,
    args: call.args,
    context: call.context,
    ...(call.agent ? { agent: call.agent } : {}),
  };
}

/** {@link governedCall}; `decided`: the decision `decideAndRead` already made and journalled (lean runs). */
async function decideAndAct(
  ctx: GovernanceContext,
  call: GovernedCall,
  decided?: Decision,
): Promise<{ output: unknown; decision: Decision }> {
  const decideInput = decideInputOf(call);
  let decision: Decision;
  if (decided) {
    decision = decided;
  } else if (isPatched(DECIDE_AND_READ_PATCH)) {
    const folded = await decideAndRead(ctx, call, decideInput);
    if ('output' in folded) return folded;
    decision = folded.decision;
  } else {
    decision = await decide(ctx, `policy: ${call.tool} (step ${call.stepId})`, decideInput);
  }
  if (decision.invalid) throw new StepFailure(FailureType.ValidationError, decision.reason);
  const approval = await enforce(ctx, decision, call.stepId, call.callId, call.record, {
    args: boundedEvidence(call.args),
    targets: approvalTargets(call.args, call.context),
    unlocks: `runs ${decision.action}`,
  });
  let token = decision.token;
  // An approved action gets its token only once the worker has re-verified the signed approvals.
  if (decision.effect === 'require_approval' && isPatched(DECISION_TOKENS_PATCH)) {
    const approvalId = `${call.stepId}.${call.callId}`;
    ({ token } = await decideProxy(`authorize approved ${call.tool} (step ${call.stepId})`.slice(0, 200))
      .authorizeApproved({
        decision: {
          effect: decision.effect,
          tool: decision.tool,
          tier: decision.tier,
          actionHash: decision.actionHash,
          policyVersion: decision.policyVersion,
          granted: decision.granted ?? [],
        },
        stepId: call.stepId,
        callId: call.callId,
        initiator: ctx.initiator,
        approvals: ctx.gate.votesFor(approvalId),
      })
      .catch((err: unknown) => {
        throw new StepFailure(FailureType.PolicyDenied, describeError(err).message);
      }));
  }
  const { executeTool } = toolActivities(decision.taskQueue, `${whoActs(call)} → ${decision.action}`.slice(0, 200));
  const result = await executeTool({
    ...callInput(ctx, call),
    actionHash: decision.actionHash,
    policyVersion: decision.policyVersion,
    granted: decision.granted ?? [],
    ...(token ? { token } : {}),
  }).catch((err: unknown) => {
    journalToolFailure(ctx, call, decision, err, approval?.status === 'approved' ? approval.approvers : undefined);
    throw err;
  });
  journalToolExecuted(ctx, call, decision, result);
  return { output: result.output, decision };
}

/**
 * The allow path in one local activity: the worker decides and, for a read policy allows on this queue,
 * reads (see `decideAndRead`). Returns the output when it read, else the decision for the caller's own
 * path. Either way the decision is journalled first, as `decide` does.
 */
async function decideAndRead(
  ctx: GovernanceContext,
  call: GovernedCall,
  decideInput: StepDecideInput,
): Promise<Folded> {
  return settleFolded(ctx, call, decideInput, await decideAndReadActivity(ctx, call, decideInput));
}

type Folded = { output: unknown; decision: Decision } | { decision: Decision };

function decideAndReadActivity(ctx: GovernanceContext, call: GovernedCall, decideInput: StepDecideInput) {
  return decideProxy(`policy: ${call.tool} (step ${call.stepId}), then the read`.slice(0, 200)).decideAndRead({
    decide: withRunFacts(ctx, decideInput),
    execute: callInput(ctx, call),
  });
}

/** Journals what `decideAndRead` decided and, if it read, the read; throws the read's final failure. */
function settleFolded(
  ctx: GovernanceContext,
  call: CallWithoutRecord,
  decideInput: StepDecideInput,
  { decision, result, failed }: Awaited<ReturnType<typeof decideAndReadActivity>>,
): Folded {
  journalDecision(ctx, decision, decideInput);
  if (failed) {
    const failure = new StepFailure(failed.type, failed.message);
    journalToolFailure(ctx, call, decision, failure, undefined);
    throw failure;
  }
  if (!result) return { decision };
  journalToolExecuted(ctx, call, decision, result);
  return { output: result.output, decision };
}

function whoActs(call: CallWithoutRecord): string {
  return call.agent ? call.agent.replace(/^agent:/, 'agent ') : `step ${call.stepId}`;
}

/** The part of `executeTool`'s input that is the call's, not the decision's. */
function callInput(ctx: GovernanceContext, call: CallWithoutRecord) {
  return {
    workflowId: ctx.workflowId,
    stepId: call.stepId,
    callId: call.callId,
    tool: call.tool,
    args: call.args,
    actor: call.agent ?? 'system',
    onBehalfOf: ctx.initiator,
  };
}

function journalToolExecuted(
  ctx: GovernanceContext,
  call: CallWithoutRecord,
  decision: Decision,
  result: ExecuteToolResult,
) {
  ctx.journal.toolExecuted(call.agent ?? 'system', {
    stepId: call.stepId,
    callId: call.callId,
    tool: call.tool,
    actionHash: decision.actionHash,
    outputDigest: result.outputDigest,
    capabilities: result.capabilitiesUsed,
    durationMs: result.durationMs,
    onBehalfOf: ctx.initiator,
  });
}

function journalToolFailure(
  ctx: GovernanceContext,
  call: CallWithoutRecord,
  decision: Decision,
  err: unknown,
  approvedBy: readonly string[] | undefined,
): void {
  if (isCancellation(err)) return;
  const e = describeError(err);
  const error = { type: e.type, message: e.message.slice(0, 2000) };
  // Reads that fail are the step's own business; a failed write or destructive action is the run's.
  const governed =
    decision.risk !== 'read'
      ? {
          workflowId: ctx.workflowId,
          stepId: call.stepId,
          callId: call.callId,
          tool: call.tool,
          action: decision.action,
          ...(approvedBy ? { approvedBy: [...approvedBy] } : {}),
          error,
          at: new Date().toISOString(),
        }
      : undefined;
  if (call.record?.approval) call.record.approval.actionError = error;
  ctx.journal.toolFailed(
    call.agent ?? 'system',
    {
      stepId: call.stepId,
      callId: call.callId,
      tool: call.tool,
      actionHash: decision.actionHash,
      errorType: e.type,
      error: error.message,
    },
    governed,
  );
}
