// A `warden worker` (from dist/) running the workflow bundle jest's global setup built from src/, as its
// own process so crash tests can kill it; configured from the environment like the real worker.
'use strict';
const path = require('node:path');
const dist = path.join(__dirname, '..', '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { createLogger } = require(path.join(dist, 'telemetry', 'logger'));
const { createWardenWorker } = require(path.join(dist, 'worker'));

async function main() {
  const codePath = process.env.WARDEN_TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('WARDEN_TEST_WORKFLOW_BUNDLE is not set');
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const ww = await createWardenWorker({ config, logger, workflowBundle: { codePath } });
  process.once('SIGTERM', () => ww.shutdown());
  console.log('worker ready');
  await ww.run();
  await ww.close();
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
