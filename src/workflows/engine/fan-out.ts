import { CancellationScope, executeChild, isCancellation, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { FailureType } from '../../errors';
import type { ExpressionScope } from '../../governance/expressions';
import { evaluate, scopeNamesRead } from '../../governance/expressions';
import type { ActionStep, ForEachStep, Step } from '../../governance/steps';
import { INLINE_MAX_ITEM_STEPS, stepsInRun } from '../../governance/steps';
import { StepFailure, describeError, failedOutput, now } from './failures';
import type { StepContext } from './step-context';
import type { StepRecord } from './state';
import type { ForEachBatchInput, ForEachBatchResult, ItemResult } from './types';
import type { ControlAuthority } from '../contract';
import { BATCH_ATTESTATION_PATCH, FAN_OUT_READS_PATCH, isPatched } from './patches';
import { prefetchReads, prefetchedOutput, renderCall } from './governed-call';
import type { CallWithoutRecord, Prefetched } from './governed-call';

/** Runs one step of a run (the runner's dispatch), handed to fan-out so it never depends on the runner. */
export type ExecuteStep = (step: Step, scope: ExpressionScope, record: StepRecord) => Promise<unknown>;

/** What fan-out needs beyond the step context: to register its children for the run's controls. */

const attestProxy = proxyLocalActivities<Activities>({
  summary: 'vouch for a forEach batch',
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

export interface FanOutContext extends StepContext {
  /** The run's controls reach this child while it runs; call the result when it ends. */
  trackChild(workflowId: string): () => void;
  /** The run's cancellation state (a cancel accepted by this run). */
  readonly cancelRequested: boolean;
  /** The run's cancellation scope. */
  readonly scope: CancellationScope;
  /** Who may control the run; its batches verify forwarded controls against it. */
  readonly controlAuthority: ControlAuthority | undefined;
}

/**
 * A forEach step, parent side: evaluates the items, then runs them in `forEachBatch` child workflows of
 * `batchSize` items each (keeping every history small however many items there are), one batch at a
 * time, `concurrency` items at a time inside each. Mirrors each batch's decisions into this run's state,
 * and its taint into this run's taint.
 */
export async function runForEach(
  ctx: FanOutContext,
  step: ForEachStep,
  scope: ExpressionScope,
  record: StepRecord,
  execute: ExecuteStep,
): Promise<unknown> {
  const items = evaluate(step.items, scope);
  if (!Array.isArray(items)) {
    throw new StepFailure(
      FailureType.ValidationError,
      `forEach items "${step.items}" must yield an array, got ${items === null ? 'null' : typeof items}`,
    );
  }
  record.items = { total: items.length, succeeded: 0, failed: 0 };
  const results: ItemResult[] = [];
  const keep = (items: ItemResult[]) =>
    results.push(...(step.collect !== 'failures' ? items : items.filter((r) => r.status === 'failed')));
  if (step.inline && items.length * stepsInRun(step.steps) <= INLINE_MAX_ITEM_STEPS) {
    // In this run's own history: decisions, taint and failed actions land in this run directly.
    const ahead = await firstCallsAhead(ctx, step, items, scope);
    const own =
      ahead?.settled && step.steps.length === 1
        ? await itemsSettled(ctx, ahead.first, ahead.answers)
        : await runLanes(ctx, ahead ? withAnswers(ctx, ahead, execute) : execute, {
            items,
            offset: 0,
            steps: step.steps,
            scope,
            concurrency: step.concurrency,
            onItemFailure: step.onItemFailure,
          });
    keep(own);
    record.items.succeeded = own.filter((r) => r.status === 'completed').length;
    record.items.failed = own.filter((r) => r.status === 'failed').length;
  } else
    for (let offset = 0, batch = 0; offset < items.length; offset += step.batchSize, batch++) {
      await ctx.checkpoint();
      const childId = `${ctx.workflowId}--${step.id}--b${batch}`;
      const input: ForEachBatchInput = {
        playbook: ctx.playbook,
        initiator: ctx.initiator,
        tainted: ctx.taint.tainted,
        stepId: step.id,
        steps: step.steps,
        items: items.slice(offset, offset + step.batchSize),
        offset,
        concurrency: step.concurrency,
        onItemFailure: step.onItemFailure,
        // The run's identity, not its record: `run.decisions`/`run.steps` grow with every batch (their
        // decisions are mirrored here), and carried into each child they outgrew Temporal's payload limit
        // part-way through a 10,000-item forEach.
        scope: batchScope(step.steps, scope),
        ...(ctx.controlAuthority ? { controls: ctx.controlAuthority } : {}),
      };
      if (isPatched(BATCH_ATTESTATION_PATCH))
        input.attestation = (await attestProxy.attestBatch({ childWorkflowId: childId, batch: input })).attestation;
      const untrack = ctx.trackChild(childId);
      let res: ForEachBatchResult;
      try {
        res = await executeChild<(i: ForEachBatchInput) => Promise<ForEachBatchResult>>('forEachBatch', {
          workflowId: childId,
          args: [input],
        });
      } finally {
        untrack();
      }
      keep(res.items);
      // The child audited its own decisions; mirror them here so one runState shows the whole run.
      ctx.journal.mirrorDecisions(res.decisions ?? []);
      ctx.journal.mirrorFailedActions(res.failedActions ?? []);
      if (res.tainted) ctx.taint.mark();
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

/** The first calls of an inline forEach's items, decided (and read) ahead: see {@link firstCallsAhead}. */
interface CallsAhead {
  first: ActionStep;
  calls: CallWithoutRecord[];
  answers: Prefetched[];
  /** Every call already came to its end (an output or a failure): nothing is left to decide or wait for. */
  settled: boolean;
}

/**
 * For an inline forEach whose items are action steps: the call each item begins with, decided (and, where
 * policy allows a read here, made) for every item in one local activity before the items run
 * (FAN_OUT_READS_PATCH); each item's step then takes its answer instead of a local activity of its own, and
 * anything not read there (a denial, an approval, a write, a read left to an activity) goes on from its
 * decision as it would have. Not for `failFast` (items after a failure must not act), for items that run
 * other step kinds (an agent step could taint the run between one item's decision and the next), or for
 * arguments that read `run` (the run's record changes while items run).
 */
async function firstCallsAhead(
  ctx: FanOutContext,
  step: ForEachStep,
  items: unknown[],
  scope: ExpressionScope,
): Promise<CallsAhead | undefined> {
  const first = step.steps[0];
  if (
    !ctx.lean ||
    !items.length ||
    first?.kind !== 'action' ||
    step.onItemFailure === 'failFast' ||
    !step.steps.every((s) => s.kind === 'action') ||
    !isPatched(FAN_OUT_READS_PATCH)
  )
    return undefined;
  const reads = scopeNamesRead([first.args, first.context]);
  if (!reads || reads.has('run')) return undefined;
  const calls = items.map((item, index) => renderCall(first, { ...scope, item, index }));
  const answers = await prefetchReads(
    ctx,
    calls,
    step.concurrency,
    `policy: ${first.tool} ×${items.length} (step ${step.id}), then the reads`,
  );
  return { first, calls, answers, settled: answers.every((a) => !('decision' in a)) };
}

/** Runs items' steps as `execute` does, except that each item's first step takes its answer from `ahead`. */
function withAnswers(ctx: FanOutContext, ahead: CallsAhead, execute: ExecuteStep): ExecuteStep {
  return (s, itemScope, record) =>
    s === ahead.first
      ? prefetchedOutput(ctx, { ...ahead.calls[itemScope.index!]!, record }, ahead.answers[itemScope.index!]!)
      : execute(s, itemScope, record);
}

/**
 * Items of one step whose calls all came to their end ahead ({@link CallsAhead.settled}): each item's record
 * and result as {@link runLanes} would make them, without a promise per item (nothing is left to wait for:
 * the pause/cancel check and a due flush happen once, before and after).
 */
async function itemsSettled(ctx: FanOutContext, step: ActionStep, answers: Prefetched[]): Promise<ItemResult[]> {
  const held = ctx.checkpointIfHeld();
  if (held) await held;
  const results = answers.map((answer, index): ItemResult => {
    const record = itemRecord(ctx, step, index);
    record.endedAt = now();
    if (!('failure' in answer)) {
      record.status = 'completed';
      return { index, status: 'completed', output: { [step.id]: 'output' in answer ? answer.output : undefined } };
    }
    record.status = 'failed';
    record.error = describeError(answer.failure);
    // As runItem: a step that may fail leaves its item completed (without its output); else the item fails.
    return step.onError === 'fail'
      ? { index, status: 'failed', error: record.error }
      : { index, status: 'completed', output: {} };
  });
  const flush = ctx.journal.dueFlush();
  if (flush) await flush;
  return results;
}

/** An item step's record, journalled as the step begins. */
function itemRecord(ctx: StepContext, step: Step, index: number | undefined): StepRecord {
  const record: StepRecord = { stepId: `${step.id}[${index}]`, kind: step.kind, status: 'running', startedAt: now() };
  ctx.journal.step(record);
  return record;
}

/**
 * What a batch child receives of the run's scope: the run's input always (policy decides the batch's actions
 * on facts from it, e.g. the alert's entities), earlier step outputs only when its steps' expressions may
 * read them (scopeNamesRead), and the run's identity.
 */
function batchScope(steps: Step[], scope: ExpressionScope): ForEachBatchInput['scope'] {
  const reads = scopeNamesRead(steps);
  return {
    input: scope.input,
    steps: !reads || reads.has('steps') ? scope.steps : {},
    run: runIdentity(scope.run),
  };
}

/** What a batch child sees of `run`: who and which run, and the outcome in `finally` steps. */
function runIdentity(run: ExpressionScope['run']): ExpressionScope['run'] {
  if (!run) return run;
  const { workflowId, initiator, outcome, failure } = run;
  return { workflowId, initiator, ...(outcome ? { outcome } : {}), ...(failure ? { failure } : {}) };
}

/** Runs one item's steps (in a batch child). Returns the item's outputs by step id. */
async function runItem(
  ctx: FanOutContext,
  execute: ExecuteStep,
  steps: Step[],
  scope: ExpressionScope,
): Promise<Record<string, unknown>> {
  const itemScope: ExpressionScope = { ...scope, steps: { ...scope.steps } };
  const own: Record<string, unknown> = {};
  for (const step of steps) {
    if (ctx.lean) {
      const held = ctx.checkpointIfHeld();
      if (held) await held;
    } else await ctx.checkpoint();
    const record = itemRecord(ctx, step, scope.index);
    try {
      const out = await execute(step, itemScope, record);
      itemScope.steps[step.id] = out;
      own[step.id] = out;
      record.status = 'completed';
    } catch (err) {
      record.status = isCancellation(err) || ctx.cancelRequested ? 'cancelled' : 'failed';
      record.error = describeError(err);
      if (record.status === 'cancelled' || step.onError === 'fail') throw err;
      itemScope.steps[step.id] = failedOutput(step, itemScope, record.error);
    } finally {
      record.endedAt = now();
    }
  }
  return own;
}

/** Items to run in lanes: a batch's (child side) or an inline forEach's (in the run itself). */
interface Lanes {
  items: unknown[];
  /** Index of the first item in the whole forEach. */
  offset: number;
  steps: Step[];
  scope: ExpressionScope;
  concurrency: number;
  onItemFailure: ForEachStep['onItemFailure'];
}

/** Runs items `concurrency` at a time; the journal flushes between items when a flush is due. */
async function runLanes(ctx: FanOutContext, execute: ExecuteStep, input: Lanes): Promise<ItemResult[]> {
  const results: ItemResult[] = new Array<ItemResult>(input.items.length);
  let next = 0;
  let stop = false;
  const lane = async () => {
    while (!stop && next < input.items.length) {
      const i = next++;
      const index = input.offset + i;
      try {
        const output = await runItem(ctx, execute, input.steps, { ...input.scope, item: input.items[i], index });
        results[i] = { index, status: 'completed', output };
      } catch (err) {
        if (isCancellation(err) || ctx.cancelRequested) throw err;
        results[i] = { index, status: 'failed', error: describeError(err) };
        if (input.onItemFailure === 'failFast') stop = true;
      }
      if (ctx.lean) {
        const flush = ctx.journal.dueFlush();
        if (flush) await flush;
      } else await ctx.journal.flushIfDue();
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.items.length) }, lane));
  return results.filter((r): r is ItemResult => r !== undefined);
}

/** A batch of forEach items, child side: runs them with a concurrency cap inside the run's cancellation scope. */
export async function runItems(
  ctx: FanOutContext,
  execute: ExecuteStep,
  input: ForEachBatchInput,
): Promise<ForEachBatchResult> {
  let results: ItemResult[] = [];
  let cancelled = false;
  try {
    results = await ctx.scope.run(() => runLanes(ctx, execute, input));
    cancelled = ctx.cancelRequested;
  } catch (err) {
    if (!ctx.cancelRequested) throw err;
    cancelled = true;
  }
  ctx.journal.state.status = cancelled
    ? 'cancelled'
    : ctx.journal.state.failedActions?.length
      ? 'completed_with_failures'
      : 'completed';
  await CancellationScope.nonCancellable(() => ctx.journal.flush());
  return {
    items: results,
    cancelled,
    decisions: ctx.journal.state.decisions,
    ...(ctx.journal.state.failedActions?.length ? { failedActions: ctx.journal.state.failedActions } : {}),
    tainted: ctx.taint.tainted,
  };
}
