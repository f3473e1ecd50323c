import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { WardenClient } from '../client';
import { codecFromConfig } from '../codec/codec-keys';
import { startCodecServer } from '../codec/codec-server';
import type { WardenConfig } from '../config';
import { ensureMasterKey } from '../credentials/from-config';
import { temporalAddress } from '../config';
import type { Logger } from '../telemetry/logger';
import { createHttpServer } from '../triggers/http-server';
import { createWardenWorker } from '../worker';
import type { DevServer } from './dev-server';
import { startDevServer } from './dev-server';
import { connectClient } from './connection';
import { resolveTemporalCli } from './temporal-binaries';

/** A running `warden dev` stack. */
export interface DevStack {
  temporalAddress: string;
  uiUrl: string | undefined;
  httpUrl: string;
  /** True when Warden started the Temporal server itself (no TEMPORAL_ADDRESS). */
  embedded: boolean;
  /** The loopback codec server, when a codec key is configured (payloads are encrypted). */
  codecServerUrl: string | undefined;
  /** Stops everything in order: HTTP, worker (drains), connections, Temporal server. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the local stack: the embedded Temporal dev server (SQLite in the data dir, so runs survive a
 * restart) unless TEMPORAL_ADDRESS is set, one worker, and the HTTP server. Generates the vault master key
 * on first run; with a codec key configured, also a loopback codec server that the Web UI is pointed at.
 */
export async function startDevStack(
  config: WardenConfig,
  logger: Logger,
  progress: (line: string) => void,
): Promise<DevStack> {
  fs.mkdirSync(path.join(config.dataDir, 'logs'), { recursive: true, mode: 0o700 });
  let server: DevServer | undefined;
  let http: FastifyInstance | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err }, 'error during shutdown');
      }
    }
    cleanups.length = 0;
  };

  let codecServerUrl: string | undefined;
  try {
    const master = ensureMasterKey(config);
    if (master.created) progress(`generated the vault master key ${master.file} (0600) — back it up`);
    const codec = codecFromConfig(config);
    let uiCodecEndpoint: string | undefined;
    if (codec) {
      // The Web UI cannot send a bearer header: it gets a per-run random path token instead.
      const ui = config.devServer.uiPort;
      const cs = await startCodecServer(config, logger, codec, {
        host: '127.0.0.1',
        uiPathToken: randomBytes(24).toString('base64url'),
        extraOrigins: ui ? [`http://127.0.0.1:${ui}`, `http://localhost:${ui}`] : [],
      });
      cleanups.push(() => cs.close());
      uiCodecEndpoint = cs.uiEndpoint;
      codecServerUrl = cs.url;
      progress(`payloads are encrypted (codec key ${codec.activeKeyId}); codec server on ${cs.url}`);
    }
    if (!config.temporal.address) {
      const cliPath = resolveTemporalCli(config.temporal.cliPath);
      progress(`starting Temporal dev server (${path.relative(process.cwd(), cliPath) || cliPath})…`);
      server = await startDevServer({
        cliPath,
        port: config.devServer.port,
        uiPort: config.devServer.uiPort,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        logFile: path.join(config.dataDir, 'logs', 'temporal.log'),
        ...(uiCodecEndpoint ? { uiCodecEndpoint } : {}),
      });
      const s = server;
      cleanups.push(() => s.stop());
    } else {
      progress(`using Temporal at ${config.temporal.address}`);
    }

    progress('bundling workflows and starting the worker…');
    const ww = await createWardenWorker({ config, logger });
    const { worker } = ww;
    const running = ww.run();
    cleanups.push(async () => {
      ww.shutdown();
      await running;
      await ww.close();
    });

    const temporalClient = await connectClient(config);
    const client = new WardenClient(temporalClient, config.taskQueue);
    cleanups.push(() => client.close());

    http = createHttpServer({ client, logger, ready: () => worker.getState() === 'RUNNING' });
    await http.listen({ host: config.http.host, port: config.http.port });
    const h = http;
    cleanups.push(() => h.close());
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    temporalAddress: server?.address ?? temporalAddress(config),
    uiUrl: server?.uiUrl,
    httpUrl: `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`,
    embedded: Boolean(server),
    codecServerUrl,
    stop: stopAll,
  };
}
