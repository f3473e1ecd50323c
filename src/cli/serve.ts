import type { Command } from 'commander';
import { loadConfig } from '../config';
import type { CliIO } from './output';

/** `warden serve`: the HTTP server alone (API, health, webhook ingress) against TEMPORAL_ADDRESS, for fleets. */
export function registerServeCommand(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description('run the HTTP server alone against TEMPORAL_ADDRESS until SIGTERM')
    .action(async () => {
      const config = loadConfig();
      const [
        { WardenClient },
        { createLogger },
        { createHttpServer, httpServerLimits, listenHttp },
        { createSecretStore },
        { useCaseWebhooks },
        { httpApiAccess },
        { eventStreamSecrets },
        { thresholdIngestor },
        { vaultCheck },
      ] = await Promise.all([
        import('../client'),
        import('../telemetry/logger'),
        import('../triggers/http-server'),
        import('../credentials/from-config'),
        import('../triggers/webhook-ingress'),
        import('../triggers/api-auth-config'),
        import('../triggers/event-routes'),
        import('../triggers/threshold-config'),
        import('../runtime/readiness'),
      ]);
      const logger = createLogger({ level: config.logLevel });
      const client = await WardenClient.connect(config, { attestAs: 'http' });
      const access = httpApiAccess(config);
      const secrets = createSecretStore(config);
      const app = createHttpServer({
        client,
        logger,
        ...access.server,
        ...httpServerLimits(config),
        fleetMetrics: { governorId: config.governance.governorId },
        webhooks: useCaseWebhooks({ config, client, logger, secrets: secrets.store }),
        events: {
          secretFor: eventStreamSecrets(secrets.store, config.webhooks.secretCacheMs),
          ingestor: thresholdIngestor(config, client.temporal),
        },
        readinessChecks: [vaultCheck(secrets.vault)],
      });
      await listenHttp(app, config.http.host, config.http.port);
      io.out(`warden: HTTP server on http://${config.http.host}:${config.http.port}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await app.close();
      access.close();
      await client.close();
    });
}
