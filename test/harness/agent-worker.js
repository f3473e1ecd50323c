// A `warden worker` with one extra test agent, run as its own process (from dist/) so crash tests can
// kill it. Configured entirely from the environment, like the real worker.
'use strict';
const path = require('node:path');
const { z } = require('zod');
const dist = path.join(__dirname, '..', '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { createLogger } = require(path.join(dist, 'telemetry', 'logger'));
const { createWardenWorker } = require(path.join(dist, 'worker'));

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const ww = await createWardenWorker({
    config,
    logger,
    agents: [
      {
        name: 'crash-agent',
        description: 'posts one effect, then concludes',
        model: 'model-crash',
        instructions: 'Record the alert, then answer.',
        allowedTools: ['http_request'],
        output: z.object({
          verdict: z.enum(['benign', 'suspicious', 'malicious']),
          confidence: z.number(),
          rationale: z.string(),
        }),
      },
    ],
  });
  process.once('SIGTERM', () => ww.shutdown());
  await ww.run();
  await ww.close();
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
