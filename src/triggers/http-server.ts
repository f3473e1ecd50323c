import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { WardenClient } from '../client';
import { UserError } from '../errors';
import type { EventRouteOptions } from './event-routes';
import { registerEventRoutes } from './event-routes';
import type { WebhookOptions } from './webhooks';
import { registerWebhooks } from './webhooks';
import type { Logger } from '../telemetry/logger';

/** Options for {@link createHttpServer}. */
export interface HttpServerOptions {
  client: WardenClient;
  logger: Logger;
  /** Readiness probe: true when the process can serve (e.g. its embedded worker is polling). */
  ready?: () => boolean;
  /** Request body limit in bytes. @default 1 MiB */
  bodyLimit?: number;
  /** Mounts POST /v1/webhooks/:source when given. */
  webhooks?: WebhookOptions;
  /** Mounts POST /v1/events/:stream (threshold triggers) when given. */
  events?: EventRouteOptions;
}

/**
 * Warden's HTTP server: health probes and a read-only runs API (webhook triggers mount here too).
 * Binds where WARDEN_HTTP_HOST says (loopback by default).
 */
export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const httpLogger: FastifyBaseLogger = opts.logger.child({ component: 'http' });
  const app: FastifyInstance = Fastify({
    loggerInstance: httpLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
  });

  app.get('/healthz', () => ({ ok: true }));
  if (opts.webhooks) registerWebhooks(app, opts.webhooks);
  if (opts.events) registerEventRoutes(app, opts.events);
  app.get('/readyz', (_req, reply) => {
    const ready = opts.ready ? opts.ready() : true;
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get<{ Querystring: { limit?: string; query?: string } }>('/v1/runs', async (req) => {
    const limit = Math.min(Math.max(Number(req.query.limit ?? 20) || 20, 1), 500);
    return { runs: await opts.client.list({ limit, query: req.query.query }) };
  });
  app.get<{ Params: { id: string } }>('/v1/runs/:id', async (req) => {
    const { raw: _raw, ...summary } = await opts.client.describe(req.params.id);
    return summary;
  });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof UserError)
      return reply.code(/^no run/.test(err.message) ? 404 : 400).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: (err as Error).message });
    opts.logger.error({ err }, 'http request failed');
    return reply.code(500).send({ error: 'internal error (Warden) — see the server log' });
  });
  return app;
}
