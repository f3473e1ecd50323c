import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import type { CliIO } from './output';

/** How long Ctrl-C waits for a demo in flight before stopping anyway. */
const DEMO_DRAIN_MS = 15_000;

/** `warden dev` (what `npm start` runs): the whole stack on one machine until Ctrl-C / SIGTERM. */
export function registerDevCommand(program: Command, io: CliIO): void {
  program
    .command('dev')
    .description('run Temporal (embedded), a worker and the HTTP server locally until Ctrl-C')
    .action(async () => {
      const config = loadConfig();
      // Loaded here, not at the top: every other command would otherwise pay for the whole stack.
      const [{ startDevStack }, { createLogger }, { createSecretStore }, { enabledUseCases, useCaseContext }] =
        await Promise.all([
          import('../runtime/dev-stack'),
          import('../telemetry/logger'),
          import('../credentials/from-config'),
          import('../usecases/registry'),
        ]);
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
          `  Warden HTTP       ${stack.httpUrl}  (GET /readyz; /v1/runs needs a token: warden tokens create)`,
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
      // Signals are handled from here on, demos included: Ctrl-C while a demo runs still drains in order.
      let stopping = false;
      // The demo in flight, if any: stopping waits for it (bounded), since closing the client under a
      // call it is retrying makes the SDK throw from a timer.
      let demoInFlight: Promise<unknown> = Promise.resolve();
      // Work demos leave running (watchers): aborted on stop, and waited for before the client closes.
      const demoAbort = new AbortController();
      const demoBackground: Promise<unknown>[] = [];
      const stopped = new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          stopping = true;
          io.out(`\nwarden: ${signal} received — draining the worker and stopping Temporal…`);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          // A second Ctrl-C while draining forces the exit.
          process.once('SIGINT', () => process.exit(130));
          demoAbort.abort();
          const settled = Promise.all([demoInFlight, ...demoBackground].map((p) => p.catch(() => undefined)));
          void Promise.race([settled, new Promise((r) => setTimeout(r, DEMO_DRAIN_MS).unref())])
            .then(() => stack.stop())
            .then(resolve, resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      if (config.demo) {
        const secrets = createSecretStore(config).store;
        for (const uc of enabledUseCases(config)) {
          if (!uc.demo || stopping) continue;
          io.out('');
          try {
            demoInFlight = uc.demo({
              ...useCaseContext(uc, config, logger),
              httpUrl: stack.httpUrl,
              client: stack.client,
              secrets,
              agentsReady: stack.agentsReady,
              say: (line) => io.out(line),
              signal: demoAbort.signal,
              background: (work) => void demoBackground.push(work.catch(() => undefined)),
            });
            await Promise.race([demoInFlight, stopped]);
          } catch (err) {
            if (!stopping) io.out(`warden: the ${uc.name} demo failed: ${(err as Error).message}`);
          }
        }
        if (!stopping) io.out('(WARDEN_DEMO=off skips the demos.)');
      }
      await stopped;
      logger.flush();
      io.out('warden: stopped.');
    });
}
