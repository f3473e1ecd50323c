import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../../src/runtime/dev-server';
import { resolveTemporalCli } from '../../src/runtime/temporal-binaries';
import { createLogger } from '../../src/telemetry/logger';
import { bundleWorkflows } from '../../src/worker';
import { HARNESS_ENV } from './env';

/**
 * One real Temporal dev server per test run (in memory, ephemeral ports so it never collides with a
 * running `warden dev`), and the workflow bundle built once for every suite.
 */
export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-test-'));
  // One retry: on a loaded machine the dev server occasionally dies while binding its internal ports.
  const start = () =>
    startDevServer({
      cliPath: resolveTemporalCli(process.env.TEMPORAL_CLI_PATH),
      port: 0,
      uiPort: 0,
      headless: true,
      logFile: path.join(dir, 'temporal.log'),
      startTimeoutMs: 120_000,
    });
  const server = await start().catch(start);
  const bundle = await bundleWorkflows(createLogger({ level: 'warn' }));
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);
  process.env[HARNESS_ENV.address] = server.address;
  process.env[HARNESS_ENV.bundle] = bundlePath;
  process.env[HARNESS_ENV.dir] = dir;
  (globalThis as { __wardenTestServer?: typeof server }).__wardenTestServer = server;
}
