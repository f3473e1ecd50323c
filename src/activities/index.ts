import os from 'node:os';
import { Context } from '@temporalio/activity';
import type { WorkerDescription } from '../workflows/catalog';
import type { Logger } from '../telemetry/logger';
import { SDK_VERSION, WARDEN_VERSION } from '../version';

/** What the activities need from the outside world; the worker passes real ones, tests pass fakes. */
export interface ActivityDeps {
  logger: Logger;
  taskQueue: string;
}

/**
 * Builds the activity implementations. Every side effect Warden performs happens in one of these.
 */
export function createActivities(deps: ActivityDeps) {
  return {
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
