import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { WardenConfig } from '../config';
import { ConfigError, UserError } from '../errors';
import { createFileExclusive } from '../credentials/files';
import type { Logger } from '../telemetry/logger';
import { PayloadDecryptionError } from './payload-codec';

/*
 * A Temporal codec server: POST /encode and /decode with `{ "payloads": [...] }` (Temporal's proto-JSON:
 * metadata values and data base64), used by the Web UI (`--ui-codec-endpoint`) and the temporal CLI
 * (`--codec-endpoint`). Every encode/decode needs the bearer token; browsers may call it only from the
 * configured origins.
 */

/** Options for {@link createCodecServer}. */
export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Required in `Authorization: Bearer <token>` on /encode and /decode. */
  token: string;
  /**
   * Also accepted as a path prefix, `/ui/<token>/encode|decode`, for the Temporal Web UI, which cannot send
   * a static header. `warden dev` uses a fresh random one per run.
   */
  uiPathToken?: string;
  /** Browser origins allowed (the Web UI's), e.g. `http://127.0.0.1:8233`. */
  corsOrigins: readonly string[];
  logger: Logger;
  /** Request body limit in bytes. @default 8 MiB */
  bodyLimit?: number;
}

const JsonPayload = z.object({
  metadata: z.record(z.string(), z.string()).nullish(),
  data: z.string().nullish(),
});
const Body = z.object({ payloads: z.array(JsonPayload) });
type JsonPayload = z.infer<typeof JsonPayload>;

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
/** Constant-time token comparison (hashing first makes the lengths equal). */
function tokenMatches(given: string | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the codec server (not listening yet). */
export function createCodecServer(opts: CodecServerOptions): FastifyInstance {
  const log: FastifyBaseLogger = opts.logger.child({ component: 'codec-server' });
  // Request logging is off: a UI path token in the URL must not reach the log.
  const app: FastifyInstance = Fastify({
    loggerInstance: log,
    disableRequestLogging: true,
    bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024,
  });
  const origins = new Set(opts.corsOrigins.map((o) => o.replace(/\/+$/, '')));

  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin) return;
    if (!origins.has(origin)) {
      throw new HttpError(403, `origin ${origin} may not use this codec server — add it to WARDEN_CODEC_CORS_ORIGINS`);
    }
    reply
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-credentials', 'true')
      .header('vary', 'Origin');
  });

  app.options('/*', (_req, reply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', 'content-type, x-namespace, authorization')
      .header('access-control-max-age', '600')
      .send(),
  );
  app.get('/healthz', () => ({ ok: true }));

  const bearer = (req: FastifyRequest) => /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  const handle =
    (op: 'encode' | 'decode', auth: (req: FastifyRequest) => boolean) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      if (!auth(req)) {
        reply.header('www-authenticate', 'Bearer');
        throw new HttpError(
          401,
          'missing or wrong bearer token — send `Authorization: Bearer <WARDEN_CODEC_SERVER_TOKEN>`',
        );
      }
      const body = Body.safeParse(req.body);
      if (!body.success) {
        throw new HttpError(400, 'the body must be { "payloads": [{ "metadata": { key: base64 }, "data": base64 }] }');
      }
      const payloads = body.data.payloads.map(fromJson);
      const out = op === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
      return reply.send({ payloads: out.map(toJson) });
    };
  for (const op of ['encode', 'decode'] as const) {
    app.post(
      `/${op}`,
      handle(op, (req) => tokenMatches(bearer(req), opts.token)),
    );
    if (opts.uiPathToken) {
      const ui = opts.uiPathToken;
      app.post(
        `/ui/:token/${op}`,
        handle(op, (req) => tokenMatches((req.params as { token?: string }).token, ui)),
      );
    }
  }

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof PayloadDecryptionError) return reply.code(400).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: (err as Error).message });
    log.error({ err: { type: (err as Error).name, message: (err as Error).message } }, 'codec request failed');
    return reply.code(500).send({ error: 'internal error (Warden) — see the codec server log' });
  });
  return app;
}

/**
 * The codec server's bearer token: WARDEN_CODEC_SERVER_TOKEN, else the token file (default
 * `<dataDir>/codec-server.token`), generated (32 random bytes, base64url, mode 0600) when absent.
 * @throws ConfigError when the file exists but holds no usable token.
 */
export function loadCodecServerToken(config: WardenConfig): { token: string; file?: string; created: boolean } {
  const { token, tokenFile } = config.codec.server;
  if (token) return { token, created: false };
  const created = createFileExclusive(tokenFile, `${randomBytes(32).toString('base64url')}\n`);
  let text: string;
  try {
    text = fs.readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([
      `WARDEN_CODEC_SERVER_TOKEN_FILE=${tokenFile}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  if (text.length < 16) {
    throw new ConfigError([`WARDEN_CODEC_SERVER_TOKEN_FILE=${tokenFile}: the token must be at least 16 characters`]);
  }
  return { token: text, file: tokenFile, created };
}

/** A listening codec server. */
export interface RunningCodecServer {
  /** Base URL for `temporal --codec-endpoint` (with the bearer token). */
  url: string;
  /** Endpoint for the Web UI (`--ui-codec-endpoint`), when a UI path token was given. */
  uiEndpoint: string | undefined;
  /** Where the bearer token is, when it came from a file. */
  tokenFile: string | undefined;
  tokenCreated: boolean;
  close(): Promise<void>;
}

/**
 * Starts the codec server from configuration: the configured codec keys, token and CORS origins (plus
 * `extraOrigins`). `host`/`port` override the settings (`warden dev` forces loopback).
 * @throws ConfigError when the token file is unusable; UserError when the port is taken.
 */
export async function startCodecServer(
  config: WardenConfig,
  logger: Logger,
  codec: PayloadCodec,
  opts: { host?: string; port?: number; uiPathToken?: string; extraOrigins?: string[] } = {},
): Promise<RunningCodecServer> {
  const { token, file, created } = loadCodecServerToken(config);
  const app = createCodecServer({
    codec,
    token,
    ...(opts.uiPathToken ? { uiPathToken: opts.uiPathToken } : {}),
    corsOrigins: [...config.codec.server.corsOrigins, ...(opts.extraOrigins ?? [])],
    logger,
  });
  const host = opts.host ?? config.codec.server.host;
  const wanted = opts.port ?? config.codec.server.port;
  try {
    await app.listen({ host, port: wanted });
  } catch (err) {
    await app.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new UserError(
        `port ${wanted} (codec server) on ${host} is already in use — stop what holds it or set WARDEN_CODEC_SERVER_PORT`,
      );
    }
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.codec.server.port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}`;
  return {
    url,
    uiEndpoint: opts.uiPathToken ? `${url}/ui/${opts.uiPathToken}` : undefined,
    tokenFile: file,
    tokenCreated: created,
    close: () => app.close(),
  };
}
