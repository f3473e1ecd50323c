import http from 'node:http';
import { fleetSourceOf } from '../telemetry/fleet-metrics';
import { wardenMetrics } from '../telemetry/metrics';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { WardenClient } from '../client';
import type { WardenConfig } from '../config';
import { UserError } from '../errors';
import type { ApiAuthOptions } from './api-auth';
import { allowedHostNames, hostProblem, requireScope } from './api-auth';
import type { EventRouteOptions } from './event-routes';
import { registerEventRoutes } from './event-routes';
import { RunFilterError, WARDEN_WORKFLOW_TYPES, runsVisibilityQuery } from './run-filters';
import type { WebhookOptions } from './webhooks';
import { registerWebhooks } from './webhooks';
import type { Logger } from '../telemetry/logger';
import { Readiness, temporalCheck } from '../runtime/readiness';
import type { ReadinessCheck } from '../runtime/readiness';
import { RETRY_AFTER_SECONDS, boundedTemporalCall, isTemporalUnavailable } from './backpressure';

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
  /** How /v1/runs and /v1/whoami callers authenticate. Neither tokens nor OIDC: those routes answer 401. */
  auth?: ApiAuthOptions;
  /**
   * Host header values answered besides loopback names and `bindHost` (WARDEN_API_ALLOWED_HOSTS).
   * Others get 421; health probes answer any host.
   */
  allowedHosts?: string[];
  /** The address the server binds (WARDEN_HTTP_HOST), allowed as a Host name. @default 127.0.0.1 */
  bindHost?: string;
  /**
   * Backpressure: how Temporal's reachability is probed (in the background, every `intervalMs`) and how
   * long a request waits for Temporal. While the probe fails, routes that need Temporal answer 503 with
   * Retry-After at once, and `/readyz` answers 503. Default probe: DescribeNamespace through the client.
   */
  temporal?: { check?: ReadinessCheck; intervalMs?: number; callTimeoutMs?: number };
  /** More dependencies `/readyz` checks (e.g. the vault webhook secrets come from, the dev stack's ledger). */
  readinessChecks?: ReadinessCheck[];
  /**
   * Time limits for a slow or stalled client: the whole request (headers and body) must arrive within
   * `requestMs` (else 408 and the connection is closed), and an idle socket is closed after `idleMs`.
   * @default { requestMs: 15000, headersMs: 10000, idleMs: 60000 }
   */
  timeouts?: { requestMs?: number; headersMs?: number; idleMs?: number };
  /** Report fleet-wide gauges (runs, approvals waiting, kill switch, breakers) at /metrics, from this governor. */
  fleetMetrics?: { governorId: string };
}

/**
 * The server's limits from configuration (WARDEN_HTTP_BODY_LIMIT_BYTES, WARDEN_HTTP_BODY_TIMEOUT_MS,
 * WARDEN_HTTP_IDLE_TIMEOUT_MS, WARDEN_HTTP_TEMPORAL_TIMEOUT_MS), for `warden serve` and `warden dev`.
 */
export function httpServerLimits(
  config: Pick<WardenConfig, 'http'>,
): Pick<HttpServerOptions, 'bodyLimit' | 'timeouts' | 'temporal'> {
  const h = config.http;
  return {
    bodyLimit: h.bodyLimitBytes,
    timeouts: { requestMs: h.bodyTimeoutMs, idleMs: h.idleTimeoutMs },
    temporal: { callTimeoutMs: h.temporalTimeoutMs },
  };
}

/** Routes that need Temporal to answer (503 while it cannot be reached). */
const TEMPORAL_ROUTES = /^\/v1\/(runs|webhooks|events)([/?]|$)/;

/** Probes and the metrics scrape answer any Host (orchestrators and Prometheus use pod addresses). */
const HEALTH_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Warden's HTTP server: health probes, the runs API (authenticated: API tokens or OIDC bearer tokens, by
 * scope) and the HMAC-signed trigger routes (webhooks, threshold events). Binds where WARDEN_HTTP_HOST
 * says (loopback by default) and answers only Host names it knows.
 */
export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const httpLogger: FastifyBaseLogger = opts.logger.child({ component: 'http' });
  const requestMs = opts.timeouts?.requestMs ?? 15_000;
  const headersMs = Math.min(opts.timeouts?.headersMs ?? 10_000, requestMs);
  const idleMs = opts.timeouts?.idleMs ?? 60_000;
  const app: FastifyInstance = Fastify({
    loggerInstance: httpLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    connectionTimeout: idleMs,
    requestTimeout: requestMs,
    // Node checks request deadlines only every connectionsCheckingInterval (30 s by default): a body that
    // never completes would hold its connection far past requestTimeout.
    serverFactory: (handler) =>
      http.createServer(
        { requestTimeout: requestMs, headersTimeout: headersMs, connectionsCheckingInterval: 1_000 },
        handler,
      ),
  });
  const temporalProbe =
    opts.temporal?.check ??
    ((opts.client as Partial<WardenClient>).temporal?.connection
      ? temporalCheck(opts.client.temporal, opts.client.temporal.options.namespace)
      : undefined);
  const readiness = new Readiness(
    [...(temporalProbe ? [temporalProbe] : []), ...(opts.readinessChecks ?? [])],
    {},
    opts.temporal?.intervalMs ?? 2_000,
  );
  app.addHook('onReady', async () => {
    readiness.start();
    await readiness.refresh();
  });
  app.addHook('onClose', (_app, done) => {
    readiness.stop();
    done();
  });
  const bounded = <T>(fn: () => Promise<T>) => boundedTemporalCall(opts.client, fn, opts.temporal?.callTimeoutMs);
  const auth = opts.auth ?? {};
  const hosts = allowedHostNames(opts.bindHost ?? '127.0.0.1', opts.allowedHosts ?? []);

  app.addHook('onRequest', async (req, reply) => {
    if (HEALTH_PATHS.has(req.url.split('?')[0]!)) return;
    const problem = hostProblem(req.headers.host, hosts);
    if (problem) return reply.code(problem.statusCode).send({ error: problem.error });
    const down = TEMPORAL_ROUTES.test(req.url) ? readiness.failing('temporal') : undefined;
    if (down)
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error: `Temporal cannot be reached (${down}) — retry in ${RETRY_AFTER_SECONDS} s` });
  });

  app.get('/healthz', () => ({ ok: true }));
  // Prometheus: this process's metrics, plus fleet-wide gauges when a fleet source is set (serve, dev).
  if (opts.fleetMetrics) wardenMetrics().setFleetSource(fleetSourceOf(opts.client, opts.fleetMetrics.governorId));
  app.get('/metrics', async (_req, reply) => {
    const metrics = wardenMetrics();
    return reply.header('content-type', metrics.contentType).send(await metrics.render());
  });
  app.addHook('onResponse', (req, reply, done) => {
    if (req.routeOptions.url === '/v1/webhooks/:source') {
      const status = reply.statusCode;
      const outcome = status === 202 ? 'accepted' : status === 200 ? 'duplicate' : `refused_${status}`;
      // A source the server does not know is the sender's free text: one label for all of them.
      const source = status === 404 ? undefined : (req.params as { source?: string }).source;
      wardenMetrics().observeWebhook(source, outcome);
    }
    done();
  });
  if (opts.webhooks) registerWebhooks(app, opts.webhooks);
  if (opts.events) registerEventRoutes(app, opts.events);
  app.get('/readyz', (_req, reply) => {
    const snap = readiness.snapshot();
    const serving = opts.ready ? opts.ready() : true;
    const ready = serving && snap.ready;
    return reply.code(ready ? 200 : 503).send({ ready, checks: snap.checks });
  });

  app.get('/v1/whoami', { preHandler: requireScope(auth) }, (req) => {
    const p = req.principal!;
    return { id: p.id, kind: p.kind, scopes: p.scopes, groups: p.groups };
  });
  app.get<{ Querystring: Record<string, unknown> }>(
    '/v1/runs',
    { preHandler: requireScope(auth, 'runs:read') },
    async (req, reply) => {
      let q: { query: string; limit: number };
      try {
        q = runsVisibilityQuery(req.query, { taskQueue: opts.client.taskQueue });
      } catch (err) {
        if (err instanceof RunFilterError) return reply.code(400).send({ error: err.message });
        throw err;
      }
      return { runs: await bounded(() => opts.client.list(q)) };
    },
  );
  app.get<{ Params: { id: string } }>(
    '/v1/runs/:id',
    { preHandler: requireScope(auth, 'runs:read') },
    async (req, reply) => {
      const { raw: _raw, ...summary } = await bounded(() => opts.client.describe(req.params.id));
      // Only Warden's own runs: another application's workflow in the namespace reads as absent.
      if (summary.taskQueue !== opts.client.taskQueue || !WARDEN_WORKFLOW_TYPES.includes(summary.type))
        return reply.code(404).send({ error: `no run with id ${req.params.id}` });
      return summary;
    },
  );
  app.post<{ Body: unknown }>('/v1/runs', { preHandler: requireScope(auth, 'runs:start') }, async (req, reply) => {
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body))
      return reply
        .code(400)
        .send({ error: 'send a JSON object: {"type": "<workflow type>", "input": {...}, "workflowId"?: "..."}' });
    const { type, input, workflowId, ...rest } = body as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length)
      return reply.code(400).send({ error: `unknown field ${extra.join(', ')} — accepted: type, input, workflowId` });
    if (typeof type !== 'string')
      return reply.code(400).send({ error: 'type (the workflow type to start) is required' });
    if (workflowId !== undefined && typeof workflowId !== 'string')
      return reply.code(400).send({ error: 'workflowId must be a string' });
    if (input && typeof input === 'object' && 'initiator' in input)
      return reply.code(400).send({
        error: 'input.initiator is not accepted: the server records the authenticated caller as the initiator',
      });
    const initiator = req.principal!.id;
    const started = await bounded(() => opts.client.start(type, input ?? {}, { initiator, workflowId }));
    return reply.code(201).send({ ...started, initiator });
  });

  app.setErrorHandler((err, _req, reply) => {
    if (isTemporalUnavailable(err))
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error: `Temporal cannot be reached right now — retry in ${RETRY_AFTER_SECONDS} s` });
    if (err instanceof UserError)
      return reply.code(/^no run/.test(err.message) ? 404 : 400).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: (err as Error).message });
    opts.logger.error({ err }, 'http request failed');
    return reply.code(500).send({ error: 'internal error (Warden) — see the server log' });
  });
  return app;
}

/**
 * Listens on host:port.
 * @throws UserError naming the setting to change when the port is taken or not allowed (no stack trace).
 */
export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new UserError(
        `cannot listen on ${host}:${port} (${code === 'EADDRINUSE' ? 'port in use' : code}) — stop what uses it or set WARDEN_HTTP_PORT / WARDEN_HTTP_HOST`,
      );
    throw err;
  }
}
