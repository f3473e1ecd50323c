import type { Command } from 'commander';
import { WardenClient } from '../client';
import { loadConfig } from '../config';
import { createLogger } from '../telemetry/logger';
import { createHttpServer } from '../triggers/http-server';
import { createSecretStore } from '../credentials/from-config';
import { useCaseWebhooks } from '../triggers/webhook-ingress';
import type { CliIO } from './output';

/** `warden serve`: the HTTP server alone (API, health, webhook ingress) against TEMPORAL_ADDRESS, for fleets. */
export function registerServeCommand(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description('run the HTTP server alone against TEMPORAL_ADDRESS until SIGTERM')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel });
      const client = await WardenClient.connect(config);
      const app = createHttpServer({
        client,
        logger,
        webhooks: useCaseWebhooks({ config, client, logger, secrets: createSecretStore(config).store }),
      });
      await app.listen({ host: config.http.host, port: config.http.port });
      io.out(`warden: HTTP server on http://${config.http.host}:${config.http.port}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await app.close();
      await client.close();
    });
}
