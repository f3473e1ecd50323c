import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';

/*
 * Authentication shared by every inbound trigger (webhooks, threshold events): HMAC-SHA256 with a
 * per-sender secret over `${timestamp}.${raw body}`. The MAC covers the exact bytes received, and the
 * timestamp stops replays of an old request outside the skew window.
 */

/** Header carrying `sha256=<hex>` over `${timestamp}.${rawBody}`. */
export const SIGNATURE_HEADER = 'x-warden-signature';
/** Header carrying the sender's Unix time in seconds (part of the MAC: stops replays of old requests). */
export const TIMESTAMP_HEADER = 'x-warden-timestamp';

/** Computes the signature header value a sender must send. */
export function signRequest(secret: string, timestamp: number, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** Why a request was not authentic: the HTTP status and a message saying what to fix. */
export interface SignatureProblem {
  statusCode: 401;
  error: string;
}

/**
 * Checks what needs no secret: both headers present and the timestamp within the skew window. Runs before
 * any secret lookup, so unsigned, stale or replayed-late requests cost no vault work.
 * @returns the timestamp and signature, or the 401 to send.
 */
export function checkSignatureHeaders(opts: {
  headers: Record<string, string | string[] | undefined>;
  nowMs: number;
  maxSkewMs: number;
}): { ts: number; sig: string } | SignatureProblem {
  const ts = Number(opts.headers[TIMESTAMP_HEADER]);
  const sigHeader = opts.headers[SIGNATURE_HEADER];
  const sig = typeof sigHeader === 'string' ? sigHeader : '';
  if (!Number.isFinite(ts) || !sig) {
    return {
      statusCode: 401,
      error: `missing ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header (sha256=<hex HMAC of "<timestamp>.<body>">)`,
    };
  }
  if (Math.abs(opts.nowMs - ts * 1000) > opts.maxSkewMs) {
    return {
      statusCode: 401,
      error: `stale or future ${TIMESTAMP_HEADER}: more than ${opts.maxSkewMs / 1000} s from the server's clock`,
    };
  }
  return { ts, sig };
}

/**
 * Checks the timestamp and signature headers of a request against `secret`.
 * @returns undefined when authentic, otherwise the 401 to send (never says which byte differed).
 */
export function verifySignedRequest(opts: {
  secret: string;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  nowMs: number;
  maxSkewMs: number;
  /** What the secret is called, for the error message (e.g. "the source secret"). */
  secretLabel: string;
}): SignatureProblem | undefined {
  const headers = checkSignatureHeaders(opts);
  if ('error' in headers) return headers;
  return checkSignature(opts.secret, headers, opts.raw, opts.secretLabel);
}

function checkSignature(
  secret: string,
  { ts, sig }: { ts: number; sig: string },
  raw: Buffer,
  secretLabel: string,
): SignatureProblem | undefined {
  const expected = Buffer.from(signRequest(secret, ts, raw));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return {
      statusCode: 401,
      error: `bad signature: HMAC-SHA256 over "<timestamp>.<raw body>" with ${secretLabel} does not match`,
    };
  }
  return undefined;
}

/**
 * A sender-secret lookup with a short-lived cache in front of it: the vault is read (and decrypted) once per
 * sender per `ttlMs`, not once per request. An unknown sender is remembered for at most 5 s, so a secret
 * that was just created is found quickly; a rotated secret takes effect within `ttlMs`. `ttlMs` 0 = no cache.
 */
export function cachedSecretLookup(
  lookup: (sender: string) => Promise<string | undefined>,
  ttlMs: number,
  {
    maxSenders = 1_024,
    now,
  }: { maxSenders?: number; /** The clock (tests); default `performance.now`. */ now?: () => number } = {},
): (sender: string) => Promise<string | undefined> {
  if (ttlMs <= 0) return lookup;
  const cache = new LRUCache<string, { secret: string | undefined }>({
    max: maxSenders,
    ttl: ttlMs,
    ...(now ? { perf: { now }, ttlResolution: 0 } : {}), // a given clock is read at every check, never cached
  });
  return async (sender) => {
    const hit = cache.get(sender);
    if (hit) return hit.secret;
    const secret = await lookup(sender);
    cache.set(sender, { secret }, secret === undefined ? { ttl: Math.min(ttlMs, 5_000) } : {});
    return secret;
  };
}

/**
 * Makes a Fastify scope hand route handlers the raw request bytes (a Buffer) instead of parsed JSON, so
 * the MAC is checked over exactly what was received; JSON is parsed only after verifying.
 */
export function keepRawBody(scope: FastifyInstance, maxBytes: number): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, cb) => cb(null, body));
}

/**
 * The shared front half of every signed JSON route: checks the signature headers and timestamp, looks up
 * the sender's secret, checks the signature over the raw bytes, parses the body. Resolves with the body, or with undefined once it has sent the
 * 404/401/400 that says what to fix (the caller then returns the reply).
 */
export async function readSignedJson(
  req: FastifyRequest,
  reply: FastifyReply,
  opts: {
    /** The sender (webhook source, event stream) the route names. */
    sender: string;
    secretFor(sender: string): Promise<string | undefined>;
    /** The 404 when the sender has no secret, saying how to create it. */
    unknownSender: string;
    /** What the secret is called in a 401 (e.g. "the source secret"). */
    secretLabel: string;
    nowMs: number;
    maxSkewMs: number;
    /** Appended to the 400 for a body that is not JSON (e.g. " — nothing was recorded"). */
    nothingDone?: string;
  },
): Promise<{ body: unknown; raw: Buffer } | undefined> {
  // Headers and timestamp first: a request that cannot be authentic costs no secret lookup.
  const headers = checkSignatureHeaders({ headers: req.headers, nowMs: opts.nowMs, maxSkewMs: opts.maxSkewMs });
  if ('error' in headers) {
    await reply.code(headers.statusCode).send({ error: headers.error });
    return undefined;
  }
  const secret = await opts.secretFor(opts.sender);
  if (!secret) {
    await reply.code(404).send({ error: opts.unknownSender });
    return undefined;
  }
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const problem = checkSignature(secret, headers, raw, opts.secretLabel);
  if (problem) {
    await reply.code(problem.statusCode).send({ error: problem.error });
    return undefined;
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')) as unknown, raw };
  } catch (err) {
    await reply.code(400).send({ error: `body is not valid JSON: ${(err as Error).message}${opts.nothingDone ?? ''}` });
    return undefined;
  }
}
