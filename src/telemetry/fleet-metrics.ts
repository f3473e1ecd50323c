import { temporal } from '@temporalio/proto';
import type { WardenClient } from '../client';
import type { FleetSource } from './metrics';

/** Warden's workflow types whose runs the `warden_runs` gauge counts. */
const RUN_TYPES = ['runPlaybook', 'forEachBatch'];

/**
 * The fleet-wide figures a scrape reads from Temporal through a client: runs by execution status
 * (visibility `GROUP BY ExecutionStatus`), pending approvals (the runs' own `pendingApprovals` queries,
 * capped), task-queue backlogs (DescribeTaskQueue stats: what an autoscaler scales workers on), and the
 * governor's kill switch and breakers.
 */
export function fleetSourceOf(
  client: WardenClient,
  governorId: string,
  taskQueues: string[] = [client.taskQueue],
  maxApprovals = 500,
): FleetSource {
  return {
    async runsByStatus() {
      const types = RUN_TYPES.map((t) => `"${t}"`).join(', ');
      const res = await client.temporal.workflow.count(`WorkflowType IN (${types}) GROUP BY ExecutionStatus`);
      const runs: Record<string, number> = {};
      for (const g of res.groups) runs[String(g.groupValues[0] ?? 'Unknown')] = g.count;
      return runs;
    },
    async pendingApprovals() {
      return (await client.pendingApprovals(maxApprovals, { taskQueue: client.taskQueue })).map((p) => ({
        tier: p.tier,
        requestedAt: p.requestedAt,
      }));
    },
    async taskQueueBacklog() {
      const backlog: Record<string, Record<string, number>> = {};
      const kinds = [
        ['workflow', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
        ['activity', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
      ] as const;
      for (const queue of taskQueues) {
        for (const [kind, taskQueueType] of kinds) {
          const res = await client.temporal.workflowService.describeTaskQueue({
            namespace: client.temporal.options.namespace,
            taskQueue: { name: queue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            taskQueueType,
            reportStats: true,
          });
          (backlog[queue] ??= {})[kind] = Number(res.stats?.approximateBacklogCount ?? 0);
        }
      }
      return backlog;
    },
    async governor() {
      const state = await client.governor(governorId).state();
      return {
        killSwitch: state.killSwitch.engaged,
        breakers: Object.fromEntries(Object.entries(state.breakers).map(([k, b]) => [k, b.state])),
      };
    },
  };
}
