import type { RunOrigins } from '../triggers/run-origin';
import os from 'node:os';
import { Context } from '@temporalio/activity';
import type { Policy } from '../governance/policy';
import type { CredentialBroker } from '../credentials';
import type { Logger } from '../telemetry/logger';
import type { ToolRegistry } from '../tools/types';
import { SDK_VERSION, WARDEN_VERSION } from '../version';
import type { WorkerDescription } from '../workflows/catalog';
import type { GovernorClient } from './governor-client';
import { createGovernanceActivities } from './governance';
import type { ApprovalPendingNotice } from './notify';
import { createToolActivities, createToolRunner } from './tools';
import { GOVERNOR_WAIT_MS, createGovernedActionActivities } from './governed-action';
import { createAuditActivities } from './audit';
import { createIdentityActivities } from './identity';
import type { AuditLedger } from '../audit';
import type { LlmSettings } from './llm';
import { createLlmActivities } from './llm';
import type { AgentRegistry } from '../agents/types';
import type { FleetKey } from '../identity/fleet-key';
import type { PolicyFactsProvider } from '../governance/facts';
import type { RecordHeartbeat } from './tool-heartbeat';

/** What the activities need from the outside world; the worker passes real ones, tests pass their own. */
export interface ActivityDeps {
  logger: Logger;
  taskQueue: string;
  policy: Policy;
  tools: ToolRegistry;
  governor: GovernorClient;
  notify: (notice: ApprovalPendingNotice) => Promise<void>;
  killSwitchMode: 'wait' | 'fail';
  broker: CredentialBroker;
  breakerThreshold: number;
  breakerCooldownMs: number;
  rateLimits: Record<string, number>;
  agents: AgentRegistry;
  llm: LlmSettings;
  /** The queue LLM calls go to (a worker serves it with the endpoint's capacity); unset: the main queue. */
  llmTaskQueue?: string;
  ledger: AuditLedger;
  fleetKey: FleetKey;
  /** The enabled use cases' policy-facts providers. */
  factsProviders?: readonly PolicyFactsProvider[];
  /** Temporal's own answers about where a run came from (schedule, threshold entity). */
  origins: RunOrigins;
  /** Records a tool's write intent with the Temporal server before it writes; see `ToolActivityDeps`. */
  recordHeartbeat?: RecordHeartbeat;
}

/** Builds every activity implementation. Every side effect Warden performs happens in one of these. */
export function createActivities(deps: ActivityDeps) {
  const governance = createGovernanceActivities(deps);
  const runTool = createToolRunner(deps);
  return {
    ...governance,
    ...createToolActivities(deps, runTool),
    ...createGovernedActionActivities({
      decideAction: (input) => governance.decideAction(input),
      runTool,
      governorState: () => deps.governor.stateWithin(GOVERNOR_WAIT_MS),
    }),
    ...createLlmActivities(deps),
    ...createAuditActivities(deps),
    ...createIdentityActivities(deps),

    /** Reports which worker process ran this activity (used by `healthCheck`). */
    describeWorker(input: { workflowId: string }): Promise<WorkerDescription> {
      const ctx = Context.current();
      deps.logger.debug({ workflowId: input.workflowId, activityId: ctx.info.activityId }, 'describeWorker');
      return Promise.resolve({
        identity: `${process.pid}@${os.hostname()}`,
        hostname: os.hostname(),
        pid: process.pid,
        taskQueue: deps.taskQueue,
        sdkVersion: SDK_VERSION,
        nodeVersion: process.version,
        wardenVersion: WARDEN_VERSION,
      });
    },
  };
}

/** The activity interface workflows proxy (`proxyActivities<Activities>`). */
export type Activities = ReturnType<typeof createActivities>;
