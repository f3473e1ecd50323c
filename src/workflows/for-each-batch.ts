import type { ForEachBatchInput, ForEachBatchResult } from './engine/types';
import { workflowInfo } from '@temporalio/workflow';
import { Run } from './engine/runner';

/**
 * One batch of a forEach step, as a child workflow: keeps every execution's history small however many
 * items a forEach has (10,000 items → 100 children of 100). Runs items `concurrency` at a time under the
 * same governance as the parent; its approvals and controls are addressed to this child's workflow id.
 */
export async function forEachBatch(input: ForEachBatchInput): Promise<ForEachBatchResult> {
  // Only a parent run (Temporal records it) establishes a batch's initiator; a batch started any other way is unverified.
  const fromParent = workflowInfo().parent !== undefined;
  const run = new Run({
    playbook: `${input.playbook}/${input.stepId}`,
    initiator:
      fromParent || input.initiator.startsWith('unverified:') ? input.initiator : `unverified:${input.initiator}`,
    tainted: input.tainted,
    controls: input.controls ?? 'legacy',
  });
  return run.runBatch(input);
}
