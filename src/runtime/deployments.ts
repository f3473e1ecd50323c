import type { Client } from '@temporalio/client';
import { UserError } from '../errors';

/** A Worker Deployment as operators see it: which build is current and which builds exist. */
export interface DeploymentStatus {
  name: string;
  currentBuildId: string | undefined;
  rampingBuildId: string | undefined;
  builds: { buildId: string; status: string }[];
}

function versionOf(v: { buildId?: string | null } | null | undefined): string | undefined {
  return v?.buildId || undefined;
}

/** Describes a Worker Deployment. @throws UserError when it does not exist (no versioned worker ever polled). */
export async function describeDeployment(client: Client, name: string): Promise<DeploymentStatus> {
  try {
    const res = await client.workflowService.describeWorkerDeployment({
      namespace: client.options.namespace,
      deploymentName: name,
    });
    const info = res.workerDeploymentInfo;
    return {
      name,
      currentBuildId: versionOf(info?.routingConfig?.currentDeploymentVersion),
      rampingBuildId: versionOf(info?.routingConfig?.rampingDeploymentVersion),
      builds: (info?.versionSummaries ?? []).map((v) => ({
        buildId: versionOf(v.deploymentVersion) ?? '?',
        status: String(v.status ?? '')
          .replace(/^WORKER_DEPLOYMENT_VERSION_STATUS_/, '')
          .toLowerCase(),
      })),
    };
  } catch (err) {
    if (/not found/i.test((err as Error).message))
      throw new UserError(
        `no worker deployment "${name}" — start a worker with WARDEN_WORKER_DEPLOYMENT=${name} and WARDEN_BUILD_ID=<build> first`,
      );
    throw err;
  }
}

/**
 * Makes `buildId` the deployment's current build: new runs start on it, and auto-upgrade runs (all of
 * Warden's) move to it on their next workflow task. Waits up to `timeoutMs` for the build's workers to be
 * seen polling (a just-started worker registers its version asynchronously).
 * @throws UserError when the build never appears.
 */
export async function setCurrentBuild(
  client: Client,
  name: string,
  buildId: string,
  opts: { identity?: string; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: client.options.namespace,
        deploymentName: name,
        buildId,
        identity: opts.identity ?? 'warden',
      });
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new UserError(
          `could not make ${buildId} the current build of ${name}: ${(err as Error).message} — is a worker with WARDEN_BUILD_ID=${buildId} polling?`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
