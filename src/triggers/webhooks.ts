import type { FastifyInstance } from 'fastify';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, keepRawBody, readSignedJson, signRequest } from './signed-request';

export { SIGNATURE_HEADER, TIMESTAMP_HEADER };

/** Computes the signature header value a sender must send. */
export const signWebhook = signRequest;

/** Sends one signed delivery to a Warden HTTP server's webhook route, as a vendor would (demos, scripts). */
export async function postSignedWebhook(
  httpUrl: string,
  source: string,
  secret: string,
  body: string,
): Promise<{ status: number; workflowId?: string; error?: string }> {
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`${httpUrl}/v1/webhooks/${source}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [TIMESTAMP_HEADER]: String(ts),
      [SIGNATURE_HEADER]: signRequest(secret, ts, body),
    },
    body,
  });
  const json = (await res.json()) as { workflowId?: string; error?: string };
  return { status: res.status, workflowId: json.workflowId, error: json.error };
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
    keepRawBody(scope, maxBytes);
    scope.post<{ Params: { source: string } }>('/v1/webhooks/:source', { bodyLimit: maxBytes }, async (req, reply) => {
      const { source } = req.params;
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(source))
        return reply.code(404).send({ error: `unknown webhook source "${source}"` });
      const signed = await readSignedJson(req, reply, {
        sender: source,
        secretFor: (n) => opts.secretFor(n),
        unknownSender: `unknown webhook source "${source}" — create its secret first: warden secrets set ${webhookSecretName(source)}`,
        secretLabel: 'the source secret',
        nowMs: now(),
        maxSkewMs,
      });
      if (!signed) return reply;
      const { body, raw } = signed;
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
