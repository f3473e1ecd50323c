import type http from 'node:http';
import { Runtime, Worker } from '@temporalio/worker';
import type { NativeConnection, WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from './activities';
import type { ExecuteToolInput } from './activities/tools';
import type { CallModelInput } from './activities/llm';
import type { WardenConfig } from './config';
import { loadConfig } from './config';
import { GovernorClient } from './activities/governor-client';
import { rateLimitedQueue } from './activities/governance';
import { llmTaskQueue } from './activities/llm';
import { createNotifier } from './activities/notify';
import type { Policy } from './governance/policy';
import type { AgentDefinition } from './agents/types';
import { AgentRegistry } from './agents/types';
import { createCredentialBroker, createSecretStore } from './credentials';
import { AuditLedger } from './audit';
import { connectClient, connectWorker } from './runtime/connection';
import { dataConverterOption } from './codec/codec-keys';
import { loadPolicy } from './runtime/policy-file';
import { loadFleetKey } from './identity/fleet-key';
import { buildToolRegistry, coreTools } from './tools';
import { createEventEmitTool } from './tools/event-emit';
import { thresholdIngestor } from './triggers/threshold-config';
import { temporalRunOrigins } from './triggers/run-origin';
import { connectMcpTools } from './mcp';
import { useCaseAgents, useCaseFactsProviders, useCaseTools } from './usecases/registry';
import type { AnyTool } from './tools/types';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { createWorkerTracing } from './telemetry/tracing';
import { wardenMetrics } from './telemetry/metrics';
import { freePort } from './runtime/dev-server';
import { WORKFLOWS_PATH, prebuiltWorkflowBundle } from './runtime/workflow-bundle';
import type { Logger } from './telemetry/logger';
import { createLogger, sdkLogger } from './telemetry/logger';
import type { Client } from '@temporalio/client';
import { UserError } from './errors';
import { startProbeServer } from './runtime/health-server';
import { Readiness, ledgerCheck, temporalCheck, vaultCheck } from './runtime/readiness';
import type { ReadinessCheck } from './runtime/readiness';

export { WORKFLOWS_PATH, bundleWorkflows } from './runtime/workflow-bundle';

let runtimeInstalled = false;
/**
 * Routes the Temporal SDK's (Rust core and TypeScript) logs into pino. Must run before the first
 * connection or worker is created; later calls are no-ops. Signal handling stays with Warden's entry
 * points (shutdownSignals: []), so they can drain in order.
 */
export function installRuntime(logger: Logger, sdkMetricsPort?: number): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: sdkLogger(logger),
      shutdownSignals: [],
      telemetryOptions: {
        // Forward the Rust core's own logs too, instead of letting it print to stderr.
        logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
        // The SDK's runtime metrics on loopback only; /metrics appends them to Warden's own.
        ...(sdkMetricsPort
          ? {
              metrics: {
                prometheus: {
                  bindAddress: `127.0.0.1:${sdkMetricsPort}`,
                  countersTotalSuffix: true,
                  useSecondsForDurations: true,
                },
              },
            }
          : {}),
      },
    });
    if (sdkMetricsPort) wardenMetrics().sdkMetricsUrl = `http://127.0.0.1:${sdkMetricsPort}/metrics`;
  } catch {
    // A runtime already exists (e.g. a test harness created one first): keep it.
  }
}

/** Options for {@link createWardenWorker}. */
export interface WardenWorkerOptions {
  config: WardenConfig;
  logger: Logger;
  /** Tools beyond the defaults (tests, embedders). */
  extraTools?: AnyTool[];
  /** Override the policy file (tests). */
  policy?: Policy;
  /** Agents beyond the enabled use cases' (tests, embedders; same name replaces). */
  agents?: AgentDefinition[];
  /** Extra span processor (tests read spans from an in-memory exporter). */
  spanProcessor?: SpanProcessor;
  /** Audit ledger to append to; otherwise opened from config (SQLite in the data dir, or PostgreSQL). */
  ledger?: AuditLedger;
  /** Reuse a connection (tests, `warden dev`); otherwise one is opened from config. */
  connection?: NativeConnection;
  /** A pre-built bundle; otherwise the build's dist/workflow-bundle.js when current, else bundled from WORKFLOWS_PATH. */
  workflowBundle?: WorkflowBundleOption;
  /** Worker identity shown in the Web UI. @default pid@hostname (the SDK's default) */
  identity?: string;
  /** Extra activity interceptors, after Warden's own (embedders; the upgrade test emulates an older build's activities). */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

/**
 * A created worker, plus one activity-only worker per rate-limited tool class, and what they own.
 * `run()` runs them all until `shutdown()`; `close()` releases the connections afterwards.
 */
export interface WardenWorker {
  worker: Worker;
  rateLimitedWorkers: Worker[];
  /** The activity-only worker of the LLM task queue (`<taskQueue>--llm`). */
  llmWorker: Worker;
  connection: NativeConnection;
  policy: Policy;
  /** The worker's Temporal client and audit ledger (readiness checks them). */
  client: Client;
  ledger: AuditLedger;
  run(): Promise<void>;
  shutdown(): void;
  close(): Promise<void>;
}

/** LLM calls a worker runs at once when WARDEN_LLM_CONCURRENCY is unset (a hosted endpoint). */
export const DEFAULT_LLM_CONCURRENCY = 8;

/** This worker's LLM call slots: WARDEN_LLM_CONCURRENCY, else {@link DEFAULT_LLM_CONCURRENCY}. */
export function llmConcurrency(config: WardenConfig): number {
  return config.llm.concurrency ?? DEFAULT_LLM_CONCURRENCY;
}

/** Creates (does not run) a worker polling the configured task queue with Warden's workflows and activities. */
export async function createWardenWorker(opts: WardenWorkerOptions): Promise<WardenWorker> {
  const { config, logger } = opts;
  installRuntime(logger, runtimeInstalled ? undefined : await freePort());
  const policy = opts.policy ?? loadPolicy(config);
  const connection = opts.connection ?? (await connectWorker(config));
  const client = await connectClient(config, 60_000); // a worker waits for its cluster longer than a CLI call
  const governor = new GovernorClient(client, config.governance.governorId, config.taskQueue, undefined, true);
  const ledger = opts.ledger ?? (await AuditLedger.open(config, logger.child({ component: 'audit' })));
  // MCP servers' tools (WARDEN_MCP_SERVERS_FILE), governed like every other tool (docs/mcp.md).
  const mcp = await connectMcpTools({
    config,
    policy: policy.document,
    logger,
    secrets: { get: (name) => createSecretStore(config).store.get(name) },
    audit: (rec) => ledger.append(rec),
  });
  const activities = createActivities({
    ledger,
    logger: logger.child({ component: 'activity' }),
    taskQueue: config.taskQueue,
    policy,
    tools: buildToolRegistry(
      coreTools(config),
      [createEventEmitTool(thresholdIngestor(config, client))],
      useCaseTools(config, logger),
      mcp.tools,
      opts.extraTools ?? [],
    ),
    governor,
    notify: createNotifier(logger.child({ component: 'notify' }), config.governance.approvalWebhookUrl),
    killSwitchMode: config.governance.killSwitchMode,
    broker: createCredentialBroker(config, createSecretStore(config).store, {
      onRefusal: (r) => logger.warn({ lease: { ...r } }, `credential lease refused: ${r.message}`),
    }),
    breakerThreshold: config.governance.breakerThreshold,
    breakerCooldownMs: config.governance.breakerCooldownMs,
    rateLimits: config.governance.rateLimits,
    // The enabled use cases' agents, plus the embedder's (same name replaces).
    agents: new AgentRegistry([
      ...useCaseAgents(config).filter((a) => !(opts.agents ?? []).some((o) => o.name === a.name)),
      ...(opts.agents ?? []),
    ]),
    llm: config.llm,
    llmTaskQueue: llmTaskQueue(config.taskQueue),
    fleetKey: loadFleetKey(config.fleetKeyFile),
    factsProviders: useCaseFactsProviders(config, logger),
    origins: temporalRunOrigins(client, config.taskQueue),
    // A RecordActivityTaskHeartbeat by task token, awaited: a tool's write intent is on the server before
    // the vendor write (the worker's own heartbeats are queued and throttled).
    recordHeartbeat: (info, details) =>
      client.activity.heartbeat(info.taskToken, details, {
        serializationContext: {
          type: 'activity',
          namespace: config.temporal.namespace,
          activityId: info.activityId,
          workflowId: info.workflowExecution?.workflowId,
          isLocal: info.isLocal,
        },
      }),
  });
  const tracing = createWorkerTracing({
    serviceName: config.otel.serviceName,
    otlpEndpoint: config.otel.endpoint,
    spanProcessor: opts.spanProcessor,
  });
  const workflowBundle = opts.workflowBundle ?? prebuiltWorkflowBundle();
  if (!workflowBundle) logger.info('no current prebuilt workflow bundle (npm run build makes one): bundling now');
  const common = {
    connection,
    // A prebuilt bundle already contains the workflow interceptors (bundleWorkflows adds them).
    interceptors: {
      ...tracing.interceptors,
      ...(workflowBundle ? { workflowModules: [] } : {}),
      activity: [...(tracing.interceptors.activity ?? []), ...(opts.activityInterceptors ?? [])],
    },
    sinks: tracing.sinks,
    namespace: config.temporal.namespace,
    shutdownGraceTime: config.shutdownGraceMs,
    ...(opts.identity ? { identity: opts.identity } : {}),
    // Worker Versioning: every task is tied to this build; runs auto-upgrade to the deployment's current
    // build on their next task, so runs waiting for approval move to a new release without a restart.
    // Compatibility across builds is proven by the replay and upgrade tests (docs/operations.md).
    ...(config.deployment
      ? {
          workerDeploymentOptions: {
            useWorkerVersioning: true as const,
            version: { deploymentName: config.deployment.name, buildId: config.deployment.buildId },
            defaultVersioningBehavior: 'AUTO_UPGRADE' as const,
          },
        }
      : {}),
    // Payload encryption when a codec key is configured; codecs run outside the workflow sandbox.
    ...dataConverterOption(config),
  };
  const worker = await Worker.create({
    ...common,
    taskQueue: config.taskQueue,
    // Bounded: the SDK's default sizes the cache from the heap (thousands of runs on a large machine), and a
    // cached run costs some 2 MB here; runs waiting for a human replay cheaply when their decision arrives.
    maxCachedWorkflows: config.maxCachedWorkflows,
    workflowThreadPoolSize: config.workflowThreads,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities,
  });
  // Rate limits are enforced by the Temporal server per task queue, so they hold across the whole fleet.
  const rateLimitedWorkers = await Promise.all(
    Object.entries(config.governance.rateLimits).map(([cls, perSecond]) =>
      Worker.create({
        ...common,
        taskQueue: rateLimitedQueue(config.taskQueue, cls),
        activities: { executeTool: (input: ExecuteToolInput) => activities.executeTool(input) },
        maxTaskQueueActivitiesPerSecond: perSecond,
      }),
    ),
  );
  // LLM calls: this worker runs at most the endpoint's capacity at once; the rest wait in Temporal, where
  // waiting is free and durable, instead of piling onto the model server until it answers 429.
  const llmWorker = await Worker.create({
    ...common,
    taskQueue: llmTaskQueue(config.taskQueue),
    activities: { callModel: (input: CallModelInput) => activities.callModel(input) },
    maxConcurrentActivityTaskExecutions: llmConcurrency(config),
    ...(config.llm.ratePerSecond ? { maxTaskQueueActivitiesPerSecond: config.llm.ratePerSecond } : {}),
  });
  const all = [worker, llmWorker, ...rateLimitedWorkers];
  logger.info({ policy: policy.document.name, policyVersion: policy.version }, 'policy loaded');
  return {
    worker,
    rateLimitedWorkers,
    llmWorker,
    connection,
    policy,
    client,
    ledger,
    run: async () => {
      await Promise.all(all.map((w) => w.run()));
    },
    shutdown: () => {
      for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
    },
    close: async () => {
      await tracing.shutdown();
      await mcp.close();
      if (!opts.ledger) await ledger.close();
      await governor.close();
      await client.connection.close();
      if (!opts.connection) await connection.close();
    },
  };
}

/**
 * Serves GET /healthz (process alive) and GET /readyz for orchestrator probes: ready while the worker polls
 * and, with `readiness`, while its dependencies (Temporal, ledger, vault) answer. `worker` may be a getter
 * that is undefined until the worker exists, so the port is bound (and a busy one refused) before start-up.
 */
export function startHealthServer(
  worker: Worker | (() => Worker | undefined),
  host: string,
  port: number,
  readiness?: Pick<Readiness, 'snapshot'>,
): Promise<http.Server> {
  const current = () => (typeof worker === 'function' ? worker() : worker);
  const polling = (): true | string => {
    const state = current()?.getState() ?? 'STARTING';
    return state === 'RUNNING' ? true : `worker is ${state}`;
  };
  return startProbeServer(
    host,
    port,
    () => {
      const snap = (readiness ?? new Readiness([])).snapshot();
      const gate = polling();
      const checks = {
        polling:
          gate === true
            ? { ok: true, at: new Date().toISOString() }
            : { ok: false, error: gate, at: new Date().toISOString() },
        ...snap.checks,
      };
      return { ready: snap.ready && gate === true, checks };
    },
    () => ({ state: current()?.getState() ?? 'STARTING' }),
  );
}

/**
 * Runs a fleet worker until SIGINT/SIGTERM, then drains: stops polling, lets running activities finish
 * within WARDEN_SHUTDOWN_GRACE_MS, closes the connection. Resolves with the process exit code.
 */
export async function runWorkerProcess(config: WardenConfig = loadConfig(), logger?: Logger): Promise<number> {
  const log = logger ?? createLogger({ level: config.logLevel });
  // The probe port first: a busy port fails the start-up before anything connects.
  let ww: WardenWorker | undefined;
  const checks: ReadinessCheck[] = [];
  const readiness = new Readiness(checks);
  const health = config.health.port
    ? await startHealthServer(() => ww?.worker, config.health.host, config.health.port, readiness)
    : undefined;
  try {
    ww = await createWardenWorker({ config, logger: log });
  } catch (err) {
    health?.close();
    throw err;
  }
  checks.push(
    temporalCheck(ww.client, config.temporal.namespace),
    ledgerCheck(ww.ledger),
    vaultCheck(createSecretStore(config).vault),
  );
  readiness.start();
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down worker: draining');
    ww.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log.info(
    { taskQueue: config.taskQueue, namespace: config.temporal.namespace, healthPort: config.health.port || undefined },
    'worker started',
  );
  try {
    await ww.run();
  } catch (err) {
    // A worker that stopped polling on its own (lost its cluster, namespace gone) must exit, not linger.
    throw new UserError(`the worker stopped polling: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    readiness.stop();
    health?.close();
    await ww.close();
  }
  log.info('worker stopped');
  return 0;
}

if (require.main === module) {
  runWorkerProcess().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(`warden worker: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}
