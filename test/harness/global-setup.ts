import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../../src/runtime/dev-server';
import { resolveTemporalCli } from '../../src/runtime/temporal-binaries';
import { createLogger } from '../../src/telemetry/logger';
import { bundleWorkflows, prebuiltWorkflowBundle } from '../../src/runtime/workflow-bundle';
import { HARNESS_ENV } from './env';

/**
 * One real Temporal dev server per test run (in memory, ephemeral ports so it never collides with a
 * running `warden dev`), and one workflow bundle for every suite: the build's when it matches the sources.
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
  // `npm test` builds first, so dist/ normally holds a bundle made from these very sources; else bundle now.
  const prebuilt = prebuiltWorkflowBundle('sources', path.resolve(__dirname, '..', '..', 'dist'));
  let bundlePath = prebuilt?.codePath;
  if (!bundlePath) {
    bundlePath = path.join(dir, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, (await bundleWorkflows(createLogger({ level: 'warn' }))).code);
  }
  process.env[HARNESS_ENV.address] = server.address;
  process.env[HARNESS_ENV.bundle] = bundlePath;
  process.env[HARNESS_ENV.dir] = dir;
  (globalThis as { __wardenTestServer?: typeof server }).__wardenTestServer = server;
}
