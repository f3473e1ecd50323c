import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HealthCheckInput, HealthCheckResult } from './catalog';

const { describeWorker } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * Proves a deployment end to end: client → Temporal → a worker's workflow → an activity on a worker → back.
 * `warden run healthCheck` is the first thing to try against a new worker fleet.
 */
export async function healthCheck(input: HealthCheckInput = {}): Promise<HealthCheckResult> {
  const info = workflowInfo();
  const started = Date.now(); // workflow time: deterministic under replay
  const worker = await describeWorker({ workflowId: info.workflowId });
  return {
    requestedBy: input.requestedBy ?? 'unknown',
    workflowId: info.workflowId,
    taskQueue: info.taskQueue,
    worker,
    roundTripMs: Date.now() - started,
  };
}
