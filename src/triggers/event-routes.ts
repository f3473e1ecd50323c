import type { FastifyInstance } from 'fastify';
import type { EventIngestor } from './threshold-ingest';
import { EventsRejected } from './threshold-ingest';
import { STREAM_NAME } from './threshold-rule';
import { cachedSecretLookup, keepRawBody, readSignedJson } from './signed-request';

/** The secret-store name holding an event stream's HMAC key. */
export function eventStreamSecretName(stream: string): string {
  return `events.${stream}`;
}

/**
 * `secretFor` reading `events.<stream>` from Warden's secret store (environment, then vault), each kept for
 * `cacheMs` (WARDEN_WEBHOOK_SECRET_CACHE_MS).
 */
export function eventStreamSecrets(
  store: { get(name: string): Promise<string | undefined> },
  cacheMs: number,
): (stream: string) => Promise<string | undefined> {
  return cachedSecretLookup((stream) => store.get(eventStreamSecretName(stream)), cacheMs);
}

/** Options for {@link registerEventRoutes}. */
export interface EventRouteOptions {
  /** The per-stream HMAC secret (secret store entry `events.<stream>`); undefined = unknown stream. */
  secretFor(stream: string): Promise<string | undefined>;
  ingestor: EventIngestor;
  /** Largest request body. @default 1 MiB */
  maxBytes?: number;
  /** Allowed clock skew / replay window. @default 300000 (5 min) */
  maxSkewMs?: number;
  now?: () => number;
}

/**
 * Mounts `POST /v1/events/:stream` for threshold triggers, authenticated like webhooks: HMAC-SHA256 with
 * the stream's secret over `${x-warden-timestamp}.${raw body}` in `x-warden-signature: sha256=<hex>`.
 * The body is one event (`{"id": "...", "time": "...", ...}`) or an array of them. Answers:
 * 202 with what was counted; 400/413 for malformed events (nothing recorded); 401 for a bad or stale
 * signature; 404 for an unknown stream; 503 when Temporal cannot take them (retry: ids deduplicate).
 */
export function registerEventRoutes(app: FastifyInstance, opts: EventRouteOptions): void {
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const maxSkewMs = opts.maxSkewMs ?? 300_000;
  const now = opts.now ?? Date.now;
  void app.register((scope, _o, done) => {
    keepRawBody(scope, maxBytes);
    scope.post<{ Params: { stream: string } }>('/v1/events/:stream', { bodyLimit: maxBytes }, async (req, reply) => {
      const { stream } = req.params;
      if (!STREAM_NAME.test(stream)) return reply.code(404).send({ error: `unknown event stream "${stream}"` });
      const signed = await readSignedJson(req, reply, {
        sender: stream,
        secretFor: (n) => opts.secretFor(n),
        unknownSender: `unknown event stream "${stream}" — create its secret first: warden secrets set ${eventStreamSecretName(stream)}`,
        secretLabel: 'the stream secret',
        nowMs: now(),
        maxSkewMs,
        nothingDone: ' — nothing was recorded',
      });
      if (!signed) return reply;
      const { body } = signed;
      try {
        const result = await opts.ingestor.ingest(stream, body);
        return reply.code(202).send(result);
      } catch (err) {
        if (err instanceof EventsRejected) return reply.code(err.statusCode).send({ error: err.message });
        req.log.error({ err, stream }, 'events could not be recorded');
        return reply.code(503).send({
          error:
            'events could not be recorded (Temporal unavailable?) — retry with the same event ids; duplicates are counted once',
        });
      }
    });
    done();
  });
}
