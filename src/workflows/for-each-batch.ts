import { proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ForEachBatchInput, ForEachBatchResult } from './engine/types';
import { BATCH_ATTESTATION_PATCH, isPatched } from './engine/patches';
import { Run } from './engine/runner';

const verifyProxy = proxyLocalActivities<Activities>({
  summary: 'check the parent vouched for this batch',
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/**
 * One batch of a forEach step, as a child workflow: keeps every execution's history small however many
 * items a forEach has (10,000 items → 100 children of 100). Runs items `concurrency` at a time under the
 * same governance as the parent; its approvals and controls are addressed to this child's workflow id.
 * It takes its initiator and control authority from its input only when its parent (as Temporal records
 * it) vouched for that input under the fleet key; otherwise its initiator is unverified and nobody may
 * control or approve it.
 */
export async function forEachBatch(input: ForEachBatchInput): Promise<ForEachBatchResult> {
  const parent = workflowInfo().parent?.workflowId;
  let trusted: boolean;
  if (input.attestation === undefined && !isPatched(BATCH_ATTESTATION_PATCH)) {
    trusted = parent !== undefined; // a history from before batch attestations replays as it ran
  } else {
    trusted =
      parent !== undefined && (await verifyProxy.verifyBatch({ parentWorkflowId: parent, batch: input })).trusted;
  }
  const initiator = input.initiator.startsWith('unverified:') ? input.initiator : `unverified:${input.initiator}`;
  const run = new Run({
    playbook: `${input.playbook}/${input.stepId}`,
    initiator: trusted ? input.initiator : initiator,
    tainted: input.tainted,
    controls: trusted
      ? (input.controls ?? 'legacy')
      : { runWorkflowId: parent ?? '-', authorised: { pause: [], resume: [], cancel: [] }, keys: {} },
  });
  return run.runBatch(input);
}
