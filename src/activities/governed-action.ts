import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../errors';
import type { Decision } from '../governance/decision';
import type { GovernorState } from '../workflows/contract';
import type { DecideInput } from './governance';
import type { ExecuteToolInput, ExecuteToolResult, ToolRunner } from './tools';

/**
 * How long a read may run inside `decideAndRead` (ms). The local activity holds its run's workflow task
 * (and one of the worker's workflow-task slots) while it runs: a read that takes longer is stopped and made
 * as its own `executeTool` activity instead, where waiting holds nothing else.
 */
export const INLINE_READ_BUDGET_MS = 1_000;

/** How long `decideAndRead` waits for governor state it does not hold (ms) before leaving the read to an activity. */
export const GOVERNOR_WAIT_MS = 500;

/** Input of `decideAndRead`: the decision's input, and the call to make if policy allows it as a read. */
export interface DecideAndReadInput {
  decide: DecideInput;
  execute: Omit<ExecuteToolInput, 'actionHash' | 'policyVersion' | 'granted' | 'token'>;
}

/**
 * What `decideAndRead` did: always the decision; the tool's result when it made the call. Without one the
 * workflow takes the decision's own path (deny, approval, another task queue, a write, or a read to make
 * as an activity), and `deferred` says why a read was not made here.
 */
export interface DecideAndReadResult {
  decision: Decision;
  result?: ExecuteToolResult;
  /** The read failed in a way another attempt cannot change (a refusal, an invalid result): the call's end. */
  failed?: { type: string; message: string };
  deferred?: string;
}

/**
 * The allow path of a read in one local activity. A policy decision is a local activity of the run (only a
 * Warden workflow on a Warden worker can obtain one, which is what lets it mint decision tokens), and the
 * tool call was a remote activity after it: a workflow task, three history events and a round trip to the
 * server per lookup. For a read that policy allows on this queue nothing happens between the two, so both
 * run here, in the same worker code: `decideAction` decides (and refuses to run as anything but a local
 * activity), the tool runner checks the token and acts. Anything else — denial, invalid arguments, approval,
 * a write or destructive action, a rate-limited queue — is only decided here, and the workflow records the
 * decision before anything acts, as before.
 *
 * The read never waits on Temporal here: the local activity holds its run's workflow task, and a query to
 * the governor needs a workflow task of its own — a burst of runs holding every workflow-task slot while
 * their reads wait for the governor would wait for each other. So the read is made here only when the
 * worker has governor state at hand (cached, or answered within {@link GOVERNOR_WAIT_MS}), within
 * {@link INLINE_READ_BUDGET_MS}; a failure no retry would change (a refusal, an invalid result) is the call's
 * outcome, as it would be from `executeTool`, and any other failure, or a read given up inline, is made again
 * as an `executeTool` activity, with that activity's retries and breaker reports (the inline attempt reports
 * nothing to the breaker).
 */
export function createGovernedActionActivities(deps: {
  decideAction: (input: DecideInput) => Promise<Decision>;
  runTool: ToolRunner;
  /** Governor state within a short wait, or undefined (see GovernorClient.stateWithin). */
  governorState: () => Promise<GovernorState | undefined>;
  budgetMs?: number;
}) {
  const budgetMs = deps.budgetMs ?? INLINE_READ_BUDGET_MS;

  /** One call: decide, and read when policy allows it as a read here, within the budget `budget()` gives then. */
  async function decideAndReadOne(
    input: DecideAndReadInput,
    governorState: () => Promise<GovernorState | undefined>,
    readBudget: () => AbortSignal,
  ): Promise<DecideAndReadResult> {
    const decision = await deps.decideAction(input.decide);
    const here = Context.current().info.taskQueue;
    const foldable =
      decision.effect === 'allow' &&
      !decision.invalid &&
      decision.risk === 'read' &&
      (decision.taskQueue === undefined || decision.taskQueue === here);
    if (!foldable) return { decision };
    const state = await governorState();
    if (!state) return { decision, deferred: 'governor state not at hand on this worker' };
    const budget = readBudget();
    if (budget.aborted) return { decision, deferred: 'inline budget spent before the read began' };
    try {
      const result = await deps.runTool(
        {
          ...input.execute,
          actionHash: decision.actionHash,
          policyVersion: decision.policyVersion,
          granted: decision.granted ?? [],
          ...(decision.token ? { token: decision.token } : {}),
        },
        { governorState: state, signal: budget },
      );
      return { decision, result };
    } catch (err) {
      // Cancellation of the run ends this activity as it would the tool's.
      if (Context.current().cancellationSignal.aborted) throw err;
      // What no retry changes is the call's outcome (as it would be from executeTool); anything else, and
      // a call given up inline, is made again as an activity, with its retries and breaker reports.
      if (err instanceof ApplicationFailure && err.nonRetryable)
        return { decision, failed: { type: err.type ?? FailureType.ToolFailed, message: err.message } };
      return { decision, deferred: (err as Error).message.slice(0, 500) };
    }
  }

  return {
    decideAndRead(input: DecideAndReadInput): Promise<DecideAndReadResult> {
      return decideAndReadOne(input, deps.governorState, () => AbortSignal.timeout(budgetMs));
    },

    /**
     * {@link decideAndRead} for the calls of an inline forEach's items (their first step), in one local
     * activity instead of one each: each call is decided on its own, as it would be alone, and read here
     * under the same conditions; at most `concurrency` at once (the forEach's cap). The whole takes at most
     * twice the inline budget: a call not begun by then is only decided, and its read made as an activity;
     * so is any call once the results gathered pass {@link MANY_RESULT_BUDGET_BYTES}, and any read whose
     * output would take them past {@link MANY_RESULT_MAX_BYTES} (a local activity's result is one payload in
     * the run's history). One answer per call, in order.
     */
    async decideAndReadMany(input: DecideAndReadManyInput): Promise<DecideAndReadResult[]> {
      const results = new Array<DecideAndReadResult>(input.calls.length);
      const whole = AbortSignal.timeout(budgetMs * 2);
      // One governor lookup for every call of the batch.
      let state: Promise<GovernorState | undefined> | undefined;
      const governorState = () => (state ??= deps.governorState());
      let bytes = 0;
      let next = 0;
      const lane = async () => {
        while (next < input.calls.length) {
          const i = next++;
          const call = input.calls[i]!;
          const budget = () =>
            bytes > MANY_RESULT_BUDGET_BYTES
              ? AbortSignal.abort()
              : AbortSignal.any([whole, AbortSignal.timeout(budgetMs)]);
          const r = await decideAndReadOne(call, governorState, budget);
          const size = r.result ? JSON.stringify(r.result.output ?? null).length : 0;
          // Reads already under way when the size budget was passed still end here; one that would take the
          // whole past the hard cap is made again as an activity (its output would not fit in one payload).
          results[i] =
            r.result && bytes + size > MANY_RESULT_MAX_BYTES
              ? {
                  decision: r.decision,
                  deferred: `its output would take the batch past ${MANY_RESULT_MAX_BYTES} bytes`,
                }
              : r;
          if (results[i].result) bytes += size;
        }
      };
      const lanes = Math.max(1, Math.min(input.concurrency, input.calls.length));
      await Promise.all(Array.from({ length: lanes }, lane));
      return results;
    },
  };
}

/** Input of `decideAndReadMany`: the calls, and how many may read at once. */
export interface DecideAndReadManyInput {
  calls: DecideAndReadInput[];
  concurrency: number;
}

/** Past this much output gathered (bytes of JSON), `decideAndReadMany` begins no more reads. */
export const MANY_RESULT_BUDGET_BYTES = 256 * 1024;
/**
 * What `decideAndReadMany` hands back at most (bytes of JSON output): well inside Temporal's 2 MB payload
 * limit, since its result is one marker in the run's history. A read in flight past it is made as an activity.
 */
export const MANY_RESULT_MAX_BYTES = 1024 * 1024;
