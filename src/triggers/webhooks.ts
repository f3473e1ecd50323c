import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** Header carrying `sha256=<hex>` over `${timestamp}.${rawBody}`. */
export const SIGNATURE_HEADER = 'x-warden-signature';
/** Header carrying the sender's Unix time in seconds (part of the MAC: stops replays of old requests). */
export const TIMESTAMP_HEADER = 'x-warden-timestamp';

/** Computes the signature header value a sender must send. */
export function signWebhook(secret: string, timestamp: number, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** The secret name holding a webhook source's HMAC key (`warden secrets set webhook.<source>`). */
export function webhookSecretName(source: string): string {
  return `webhook.${source}`;
}

/** What a webhook route hands to the use case once the request is authentic. */
export interface WebhookDelivery {
  source: string;
  body: unknown;
  rawBytes: number;
}

/** Options for {@link registerWebhooks}. */
export interface WebhookOptions {
  /** The per-source HMAC secret (from the vault); undefined = unknown source. */
  secretFor(source: string): Promise<string | undefined>;
  /** Starts (idempotently) the run for an authentic delivery. Throw a WebhookRejected for a 4xx. */
  deliver(d: WebhookDelivery): Promise<{ workflowId: string; duplicate: boolean }>;
  /** @default 256 KiB */
  maxBytes?: number;
  /** Allowed clock skew / replay window. @default 300000 (5 min) */
  maxSkewMs?: number;
  now?: () => number;
}

/** A delivery the use case refuses (bad payload); becomes a 4xx with this message. */
export class WebhookRejected extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Mounts `POST /v1/webhooks/:source`: verifies HMAC-SHA256 over the raw body and a timestamp
 * (`x-warden-timestamp`, `x-warden-signature: sha256=<hex>` of `${timestamp}.${body}`), limits the body
 * size, parses JSON, and starts the run idempotently. Malformed JSON, a bad or stale signature, an
 * unknown source or an oversized body → a clear 4xx and no run; success → 202 with the workflow id
 * (a duplicate delivery → 200 with the existing run's id).
 */
export function registerWebhooks(app: FastifyInstance, opts: WebhookOptions): void {
  const maxBytes = opts.maxBytes ?? 256 * 1024;
  const maxSkewMs = opts.maxSkewMs ?? 300_000;
  const now = opts.now ?? Date.now;
  void app.register((scope, _o, done) => {
    // The MAC is over the exact bytes received: keep the raw body, parse JSON only after verifying.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, cb) => cb(null, body));
    scope.post<{ Params: { source: string } }>('/v1/webhooks/:source', { bodyLimit: maxBytes }, async (req, reply) => {
      const { source } = req.params;
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(source))
        return reply.code(404).send({ error: `unknown webhook source "${source}"` });
      const secret = await opts.secretFor(source);
      if (!secret) {
        return reply.code(404).send({
          error: `unknown webhook source "${source}" — create its secret first: warden secrets set ${webhookSecretName(source)}`,
        });
      }
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const ts = Number(req.headers[TIMESTAMP_HEADER]);
      const sig = String(req.headers[SIGNATURE_HEADER] ?? '');
      if (!Number.isFinite(ts) || !sig) {
        return reply.code(401).send({
          error: `missing ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header (sha256=<hex HMAC of "<timestamp>.<body>">)`,
        });
      }
      if (Math.abs(now() - ts * 1000) > maxSkewMs) {
        return reply.code(401).send({
          error: `stale or future ${TIMESTAMP_HEADER}: more than ${maxSkewMs / 1000} s from the server's clock`,
        });
      }
      const expected = Buffer.from(signWebhook(secret, ts, raw));
      const given = Buffer.from(sig);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        return reply.code(401).send({
          error: 'bad signature: HMAC-SHA256 over "<timestamp>.<raw body>" with the source secret does not match',
        });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        return reply.code(400).send({ error: `body is not valid JSON: ${(err as Error).message}` });
      }
      try {
        const res = await opts.deliver({ source, body, rawBytes: raw.length });
        return reply.code(res.duplicate ? 200 : 202).send({ workflowId: res.workflowId, duplicate: res.duplicate });
      } catch (err) {
        if (err instanceof WebhookRejected) return reply.code(err.statusCode).send({ error: err.message });
        throw err;
      }
    });
    done();
  });
}
