import type { Client } from '@temporalio/client';
import { ScheduleManager } from './schedules';

/*
 * Confirms, with Temporal's own answers, the origin a run's `workflowInfo()` suggests: search attributes
 * can be set by any client allowed to start workflows, and a parent id says nothing about what the parent
 * is. For `identifyRun` (worker side), before a schedule or threshold run is trusted as such.
 */

/** What Temporal says about a run's origin. */
export interface RunOrigins {
  /** Whether schedule `scheduleId` started this very run (its recent or running actions name it). */
  scheduleStarted(scheduleId: string, workflowId: string, runId: string): Promise<boolean>;
  /** Whether `parentWorkflowId` is a Warden threshold entity on this deployment's task queue. */
  isThresholdEntity(parentWorkflowId: string): Promise<boolean>;
}

/**
 * Origins as this worker's Temporal client sees them. A schedule records its action just after the start
 * succeeds, so a run that asks at once may need a moment: asked up to `attempts` times, `delayMs` apart.
 */
export function temporalRunOrigins(
  client: Client,
  taskQueue: string,
  opts: { attempts?: number; delayMs?: number } = {},
): RunOrigins {
  const schedules = new ScheduleManager(client, taskQueue);
  const attempts = opts.attempts ?? 10;
  const delayMs = opts.delayMs ?? 500;
  return {
    async scheduleStarted(scheduleId, workflowId, runId) {
      for (let i = 0; i < attempts; i++) {
        if (await schedules.confirmScheduledRun(scheduleId, workflowId, runId)) return true;
        if (i < attempts - 1) await new Promise((r) => setTimeout(r, delayMs));
      }
      return false;
    },
    async isThresholdEntity(parentWorkflowId) {
      try {
        const d = await client.workflow.getHandle(parentWorkflowId).describe();
        return d.type === 'thresholdEntity' && d.taskQueue === taskQueue;
      } catch {
        return false;
      }
    },
  };
}
