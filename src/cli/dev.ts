import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { startDevStack } from '../runtime/dev-stack';
import { createLogger } from '../telemetry/logger';
import { createSecretStore } from '../credentials/from-config';
import { runTriageDemo } from '../usecases/alert-triage/demo';
import type { CliIO } from './output';

/** `warden dev` (what `npm start` runs): the whole stack on one machine until Ctrl-C / SIGTERM. */
export function registerDevCommand(program: Command, io: CliIO): void {
  program
    .command('dev')
    .description('run Temporal (embedded), a worker and the HTTP server locally until Ctrl-C')
    .action(async () => {
      const config = loadConfig();
      const logFile = path.join(config.dataDir, 'logs', 'warden.log');
      const logger = createLogger({ level: config.logLevel, file: logFile });
      const stack = await startDevStack(config, logger, (line) => io.out(`warden: ${line}`));
      const rel = (p: string) => path.relative(process.cwd(), p) || p;
      io.out(
        [
          '',
          'Warden is running.',
          stack.uiUrl ? `  Temporal Web UI   ${stack.uiUrl}` : undefined,
          `  Temporal gRPC     ${stack.temporalAddress}${stack.embedded ? `  (embedded; state in ${rel(path.join(config.dataDir, 'temporal.db'))})` : ''}`,
          `  Warden HTTP       ${stack.httpUrl}  (GET /readyz, /v1/runs)`,
          `  Logs              ${rel(logFile)}`,
          '',
          'Next steps, in another terminal:',
          '  npx warden run healthCheck --wait     # client → Temporal → worker → activity → back',
          '  npx warden ls                         # recent runs',
          '  npx warden status <workflowId>        # one run',
          '',
          'Press Ctrl-C to stop.',
        ]
          .filter((l) => l !== undefined)
          .join('\n'),
      );
      if (config.demo) {
        if (!stack.agentsReady) {
          io.out(
            '\nwarden: demo alerts not sent: agent steps need an LLM — set OPENAI_BASE_URL (and OPENAI_API_KEY) and restart.',
          );
        } else {
          const demo = await runTriageDemo(stack.httpUrl, createSecretStore(config).store);
          io.out('\nDemo: sample alerts (written by Warden, in vendor formats) sent to POST /v1/webhooks/<source>:');
          for (const r of demo.runs) {
            io.out(
              `  ${r.source.padEnd(12)} ${r.status === 202 || r.status === 200 ? `→ run ${r.workflowId}${r.status === 200 ? ' (already triaged)' : ''}` : `failed (${r.status}): ${r.error ?? ''}`}`,
            );
          }
          io.out(
            [
              '',
              'Each run enriches the alert, lets agent:alert-scorer judge it, and contains through policy:',
              'low confidence or a critical asset waits for a human. Watch them in the Web UI, then:',
              '  npx warden approvals                                              # what waits for you',
              '  npx warden approve <workflowId> <approvalId> --as carol           # soc-l2 (alice/bob: soc-l1)',
              `  ls ${rel(path.join(config.dataDir, 'cases'))}/                                 # the cases (JSON + Markdown)`,
              '  npx warden audit verify                                           # the tamper-evident trail',
              '(WARDEN_DEMO=off skips the demo alerts.)',
            ].join('\n'),
          );
        }
      }
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          io.out(`\nwarden: ${signal} received — draining the worker and stopping Temporal…`);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          // A second Ctrl-C while draining forces the exit.
          process.once('SIGINT', () => process.exit(130));
          stack.stop().then(resolve, resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      logger.flush();
      io.out('warden: stopped.');
    });
}
