import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { Playbook } from '../governance/steps';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';
import type { RunPlaybookInput, RunPlaybookResult } from './catalog';
import { Run } from './engine/runner';
import { CANCELLED_RUN_FAILS_PATCH, isPatched } from './engine/patches';
import { oversizedResult } from './engine/result-limit';

/**
 * Runs a playbook — action, approval, branch and forEach steps — under one governance layer: every
 * action goes through policy (allow, approval or deny), approvals escalate on timeout, and the run can be
 * paused, resumed or cancelled with the `control` signal. Fails with the failing step's type when a step
 * with `onError: fail` fails; `runState` shows every step and decision.
 */
export async function runPlaybook(input: RunPlaybookInput): Promise<RunPlaybookResult> {
  // Parse in the workflow too: a run started by another client must not run an unvalidated playbook.
  const parsed = Playbook.safeParse(input.playbook);
  const runner = new Run({
    playbook: parsed.success ? parsed.data.name : '(invalid)',
    initiator: input.initiator,
    ...(input.trigger ? { trigger: input.trigger } : {}),
  });
  if (!parsed.success) {
    runner.state.status = 'failed';
    throw ApplicationFailure.create({
      type: FailureType.ValidationError,
      message: `invalid playbook (the caller's input): ${formatIssues(parsed.error, '(playbook)')}`,
      nonRetryable: true,
    });
  }
  const { workflowId } = workflowInfo();
  const initiator = await runner.identify({
    claimed: input.initiator,
    ...(input.attestation ? { attestation: input.attestation } : {}),
    playbook: input.playbook,
    input: input.input ?? {},
    ...(input.trigger ? { trigger: input.trigger } : {}),
  });
  const outcome = await runner.run(
    parsed.data.steps,
    { input: input.input ?? {}, steps: {}, run: { workflowId, initiator } },
    parsed.data.finally ?? [],
  );
  if (outcome.status === 'failed') {
    throw ApplicationFailure.create({
      type: outcome.error?.type ?? FailureType.ToolFailed,
      message: outcome.error?.message ?? 'run failed',
      nonRetryable: true,
    });
  }
  // Earlier builds completed a cancelled run with status 'cancelled'; their histories replay that way.
  if (outcome.status === 'cancelled' && isPatched(CANCELLED_RUN_FAILS_PATCH)) {
    const accepted = runner.state.controls.find((c) => c.action === 'cancel' && c.outcome === 'accepted');
    throw ApplicationFailure.create({
      type: FailureType.RunCancelled,
      message: `run cancelled${accepted ? ` by ${accepted.by}${accepted.reason ? `: ${accepted.reason}` : ''}` : ''}`,
      nonRetryable: true,
      details: [
        { status: 'cancelled', by: accepted?.by ?? null, reason: accepted?.reason ?? null, steps: runner.state.steps },
      ],
    });
  }
  return resultThatFits({
    status: outcome.status,
    outputs: runner.outputs,
    steps: runner.state.steps,
    decisions: runner.state.decisions,
    ...(runner.state.decisionsNotShown ? { decisionsNotShown: runner.state.decisionsNotShown } : {}),
  });
}

export { RESULT_MAX_CHARS } from './engine/result-limit';

/**
 * The run's result, or a clear failure when it is too large to return. The runner already ends such a run
 * as failed (so its ledger says so); this is the last guard before Temporal would refuse the completion.
 */
export function resultThatFits(result: RunPlaybookResult): RunPlaybookResult {
  const message = oversizedResult(result);
  if (!message) return result;
  throw ApplicationFailure.create({ type: FailureType.BudgetExceeded, nonRetryable: true, message });
}
