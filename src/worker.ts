import http from 'node:http';
import { Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { NativeConnection, WorkflowBundleOption, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from './activities';
import type { WardenConfig } from './config';
import { loadConfig } from './config';
import { connectWorker } from './runtime/connection';
import type { Logger } from './telemetry/logger';
import { createLogger, sdkLogger } from './telemetry/logger';

/** The workflow barrel the worker loads (src/workflows/index.ts, or dist/workflows/index.js when built). */
export const WORKFLOWS_PATH = require.resolve('./workflows');

let runtimeInstalled = false;
/**
 * Routes the Temporal SDK's (Rust core and TypeScript) logs into pino. Must run before the first
 * connection or worker is created; later calls are no-ops. Signal handling stays with Warden's entry
 * points (shutdownSignals: []), so they can drain in order.
 */
export function installRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: sdkLogger(logger), shutdownSignals: [] });
  } catch {
    // A runtime already exists (e.g. a test harness created one first): keep it.
  }
}

/** Bundles workflow code once (webpack); pass the result to several workers to save seconds each. */
export async function bundleWorkflows(logger?: Logger): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: logger ? sdkLogger(logger.child({ component: 'bundler' })) : undefined,
  });
}

/** Options for {@link createWardenWorker}. */
export interface WardenWorkerOptions {
  config: WardenConfig;
  logger: Logger;
  /** Reuse a connection (tests, `warden dev`); otherwise one is opened from config. */
  connection?: NativeConnection;
  /** A pre-built bundle; otherwise workflows are bundled from WORKFLOWS_PATH. */
  workflowBundle?: WorkflowBundleOption;
  /** Worker identity shown in the Web UI. @default pid@hostname (the SDK's default) */
  identity?: string;
}

/** A created worker and the connection it owns (closed by {@link runUntilStopped}). */
export interface WardenWorker {
  worker: Worker;
  connection: NativeConnection;
  ownsConnection: boolean;
}

/** Creates (does not run) a worker polling the configured task queue with Warden's workflows and activities. */
export async function createWardenWorker(opts: WardenWorkerOptions): Promise<WardenWorker> {
  installRuntime(opts.logger);
  const connection = opts.connection ?? (await connectWorker(opts.config));
  const worker = await Worker.create({
    connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.config.taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      logger: opts.logger.child({ component: 'activity' }),
      taskQueue: opts.config.taskQueue,
    }),
    shutdownGraceTime: opts.config.shutdownGraceMs,
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
  return { worker, connection, ownsConnection: !opts.connection };
}

/** Serves GET /healthz (process alive) and GET /readyz (worker polling) for orchestrator probes. */
export function startHealthServer(worker: Worker, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const state = worker.getState();
    const ready = state === 'RUNNING';
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, state }));
    } else if (req.url === '/readyz') {
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready, state }));
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Runs a fleet worker until SIGINT/SIGTERM, then drains: stops polling, lets running activities finish
 * within WARDEN_SHUTDOWN_GRACE_MS, closes the connection. Resolves with the process exit code.
 */
export async function runWorkerProcess(config: WardenConfig = loadConfig(), logger?: Logger): Promise<number> {
  const log = logger ?? createLogger({ level: config.logLevel });
  const { worker, connection } = await createWardenWorker({ config, logger: log });
  const health = config.health.port
    ? await startHealthServer(worker, config.health.host, config.health.port)
    : undefined;
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down worker: draining');
    worker.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log.info(
    { taskQueue: config.taskQueue, namespace: config.temporal.namespace, healthPort: config.health.port || undefined },
    'worker started',
  );
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    health?.close();
    await connection.close();
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
