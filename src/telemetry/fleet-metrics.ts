import type { WardenClient } from '../client';
import type { FleetSource } from './metrics';

/** Warden's workflow types whose runs the `warden_runs` gauge counts. */
const RUN_TYPES = ['runPlaybook', 'forEachBatch'];

/**
 * The fleet-wide figures a scrape reads from Temporal through a client: runs by execution status
 * (visibility `GROUP BY ExecutionStatus`), pending approvals (the runs' own `pendingApprovals` queries,
 * capped), and the governor's kill switch and breakers.
 */
export function fleetSourceOf(client: WardenClient, governorId: string, maxApprovals = 500): FleetSource {
  return {
    async runsByStatus() {
      const types = RUN_TYPES.map((t) => `"${t}"`).join(', ');
      const res = await client.temporal.workflow.count(`WorkflowType IN (${types}) GROUP BY ExecutionStatus`);
      const runs: Record<string, number> = {};
      for (const g of res.groups) runs[String(g.groupValues[0] ?? 'Unknown')] = g.count;
      return runs;
    },
    async pendingApprovals() {
      return (await client.pendingApprovals(maxApprovals)).map((p) => ({ tier: p.tier, requestedAt: p.requestedAt }));
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
