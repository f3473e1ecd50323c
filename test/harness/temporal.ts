import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Worker, WorkflowBundleOption } from '@temporalio/worker';
import { WardenClient } from '../../src/client';
import type { WardenConfig } from '../../src/config';
import { loadConfig } from '../../src/config';
import { connectClient } from '../../src/runtime/connection';
import { createLogger } from '../../src/telemetry/logger';
import type { Logger } from '../../src/telemetry/logger';
import { createWardenWorker } from '../../src/worker';
import type { Policy } from '../../src/governance/policy';
import type { AnyTool } from '../../src/tools/types';
import type { AgentDefinition } from '../../src/agents/types';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { AuditLedger } from '../../src/audit';
import { HARNESS_ENV } from './env';
import { loadFleetKey } from '../../src/identity/fleet-key';

/** The address of the run's shared Temporal dev server. */
export function testServerAddress(): string {
  const address = process.env[HARNESS_ENV.address];
  if (!address) throw new Error('the Temporal test server is not running (jest globalSetup did not run)');
  return address;
}

/** A config pointing at the shared test server, on a task queue of its own. */
export function testConfig(env: Record<string, string> = {}): WardenConfig {
  return loadConfig({
    TEMPORAL_ADDRESS: testServerAddress(),
    WARDEN_TASK_QUEUE: `test-${randomUUID()}`,
    // Breakers and the kill switch are fleet-wide: each suite gets its own governor so none inherits another's.
    WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
    WARDEN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'warden-stack-')),
    WARDEN_LOG_LEVEL: 'debug',
    WARDEN_SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
}

/** A logger whose lines are kept in memory, for assertions about what was logged. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', stream }), lines };
}

/** A running worker on the test server, its client, and how to stop both. */
export interface TestStack {
  config: WardenConfig;
  client: WardenClient;
  worker: Worker;
  logLines: string[];
  policyVersion: string;
  stop(): Promise<void>;
}

/** Starts a worker with the pre-built workflow bundle, and a client, on a fresh task queue. */
export async function startTestStack(
  env: Record<string, string> = {},
  opts: {
    extraTools?: AnyTool[];
    policy?: Policy;
    agents?: AgentDefinition[];
    spanProcessor?: SpanProcessor;
    ledger?: AuditLedger;
    /** Another build's workflow code (the upgrade test); default: this build's bundle. */
    workflowBundle?: WorkflowBundleOption;
    activityInterceptors?: ActivityInterceptorsFactory[];
  } = {},
): Promise<TestStack> {
  const config = testConfig(env);
  const { logger, lines } = memoryLogger();
  const bundlePath = process.env[HARNESS_ENV.bundle];
  if (!bundlePath) throw new Error('no workflow bundle (jest globalSetup did not run)');
  const ww = await createWardenWorker({
    config,
    logger,
    workflowBundle: { codePath: bundlePath },
    ...opts,
  });
  const { worker } = ww;
  const running = ww.run();
  // The harness's client plays a Warden service: it vouches for the initiators tests name (as the HTTP
  // server does for the callers it authenticates), so runs it starts have a verified initiator.
  const client = new WardenClient(await connectClient(config, 60_000), config.taskQueue, {
    key: loadFleetKey(config.fleetKeyFile),
    service: 'test-harness',
  });
  return {
    config,
    client,
    worker,
    logLines: lines,
    policyVersion: ww.policy.version,
    async stop() {
      ww.shutdown();
      await running;
      await ww.close();
      await client.close();
    },
  };
}
