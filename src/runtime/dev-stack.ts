import { eventStreamSecrets } from '../triggers/event-routes';
import { thresholdIngestor } from '../triggers/threshold-config';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { WardenClient } from '../client';
import { codecFromConfig } from '../codec/codec-keys';
import { startCodecServer } from '../codec/codec-server';
import type { WardenConfig } from '../config';
import { ensureMasterKey } from '../credentials/from-config';
import { enrolLocalApprovers } from '../identity/local-enrolment';
import { loadFleetKey } from '../identity/fleet-key';
import { UserError } from '../errors';
import { temporalAddress } from '../config';
import type { Logger } from '../telemetry/logger';
import { httpApiAccess } from '../triggers/api-auth-config';
import { createHttpServer, httpServerLimits, listenHttp } from '../triggers/http-server';
import { createWardenWorker } from '../worker';
import type { DevServer } from './dev-server';
import { startDevServer } from './dev-server';
import { ledgerCheck, vaultCheck } from './readiness';
import { connectClient } from './connection';
import { LOCAL_MODEL_SLOTS, startLocalModel, wantsLocalModel } from './local-model';
import { resolveTemporalCli } from './temporal-binaries';
import { createSecretStore } from '../credentials/from-config';
import { useCaseWebhooks } from '../triggers/webhook-ingress';

/** How to move agents off the embedded model; printed by `warden dev`. */
const SWITCH_HINT =
  'Stronger model: set OPENAI_API_KEY (OpenAI), or OPENAI_BASE_URL + OPENAI_API_KEY + WARDEN_LLM_MODEL for ' +
  'Azure OpenAI (https://<resource>.openai.azure.com/openai/v1), Ollama (http://127.0.0.1:11434/v1) or vLLM ' +
  '(http://<host>:8000/v1), then restart `warden dev`.';

/** A running `warden dev` stack. */
export interface DevStack {
  temporalAddress: string;
  uiUrl: string | undefined;
  httpUrl: string;
  /** True when Warden started the Temporal server itself (no TEMPORAL_ADDRESS). */
  embedded: boolean;
  /** False when agent steps have no LLM (no endpoint configured and the local model could not start). */
  agentsReady: boolean;
  /** The loopback codec server, when a codec key is configured (payloads are encrypted). */
  codecServerUrl: string | undefined;
  /** A client of the stack's Temporal (closed by `stop`). */
  client: WardenClient;
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
  let agentsReady = true;
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
  let client: WardenClient | undefined;
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
        onOrphanReaped: (pids) =>
          progress(`stopped a Temporal server an earlier, killed \`warden dev\` left running (pid ${pids.join(', ')})`),
        ...(uiCodecEndpoint ? { uiCodecEndpoint } : {}),
      });
      const s = server;
      cleanups.push(() => s.stop());
    } else {
      progress(`using Temporal at ${config.temporal.address}`);
    }

    // No LLM endpoint configured: agents reason on the embedded local model, through the same openai client.
    let workerConfig = config;
    if (wantsLocalModel(config)) {
      agentsReady = false;
      try {
        progress('no OPENAI_API_KEY/OPENAI_BASE_URL: starting the embedded local model…');
        const lm = await startLocalModel(config);
        cleanups.push(() => lm.stop());
        workerConfig = {
          ...config,
          // The embedded server generates one answer at a time: more calls at once would only queue there.
          llm: {
            ...config.llm,
            baseURL: lm.baseURL,
            apiKey: undefined,
            model: lm.model.id,
            concurrency: config.llm.concurrency ?? LOCAL_MODEL_SLOTS,
          },
        };
        agentsReady = true;
        progress(`agents run on the local model ${lm.model.description}, served at ${lm.baseURL}`);
        progress(
          '  it is tiny and CPU-only: structure is guaranteed by a grammar, judgement is weak (low confidence → a human).',
        );
        progress(`  ${SWITCH_HINT}`);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        progress(`WARNING: agent steps have no LLM and will fail: ${err.message}`);
      }
    } else {
      progress(`agents use ${config.llm.baseURL ?? 'OpenAI (api.openai.com)'}, model ${config.llm.model}`);
    }

    // Signed approvals work out of the box: the policy's approvers get local keys (dev only).
    const local = enrolLocalApprovers(workerConfig);
    workerConfig = local.config;
    if (local.enrolled.length)
      progress(`approvers ${local.enrolled.join(', ')} sign with keys in ${config.keysDir} (demo enrolment)`);

    progress('bundling workflows and starting the worker…');
    const ww = await createWardenWorker({ config: workerConfig, logger });
    const { worker } = ww;
    const running = ww.run();
    cleanups.push(async () => {
      ww.shutdown();
      await running;
      await ww.close();
    });

    const temporalClient = await connectClient(config, 60_000);
    const c = new WardenClient(temporalClient, config.taskQueue, {
      key: loadFleetKey(config.fleetKeyFile),
      service: 'http',
    });
    client = c;
    cleanups.push(() => c.close());

    const access = httpApiAccess(config);
    cleanups.push(() => Promise.resolve(access.close()));
    http = createHttpServer({
      client: c,
      logger,
      ...access.server,
      ...httpServerLimits(config),
      fleetMetrics: { governorId: config.governance.governorId },
      ready: () => worker.getState() === 'RUNNING',
      webhooks: useCaseWebhooks({ config, client: c, logger, secrets: createSecretStore(config).store }),
      events: {
        secretFor: eventStreamSecrets(createSecretStore(config).store, config.webhooks.secretCacheMs),
        ingestor: thresholdIngestor(config, temporalClient),
      },
      readinessChecks: [ledgerCheck(ww.ledger), vaultCheck(createSecretStore(config).vault)],
    });
    await listenHttp(http, config.http.host, config.http.port);
    const h = http;
    cleanups.push(() => h.close());
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    client: client,
    temporalAddress: server?.address ?? temporalAddress(config),
    uiUrl: server?.uiUrl,
    httpUrl: `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`,
    embedded: Boolean(server),
    agentsReady,
    codecServerUrl,
    stop: stopAll,
  };
}
