import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors';

/**
 * Every Warden setting, by its environment-variable name.
 *
 * This table is the single source of truth: `loadConfig` parses it, the README documents it and the
 * compose-file test checks that docker-compose.yml names nothing else. Nothing below `src/config.ts`
 * reads `process.env`.
 */
const hostPort = z.string().refine((v) => parseHostPort(v) !== undefined, {
  message: 'must be host:port, e.g. 127.0.0.1:7233 or temporal.example.com:7233 ([::1]:7233 for IPv6)',
});
const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const SETTINGS = {
  TEMPORAL_ADDRESS: {
    schema: hostPort.optional(),
    doc: 'Temporal frontend (host:port). Unset: `warden dev` starts an embedded server; other commands use 127.0.0.1:<WARDEN_TEMPORAL_PORT>.',
  },
  TEMPORAL_NAMESPACE: { schema: z.string().min(1).default('default'), doc: 'Temporal namespace.' },
  TEMPORAL_API_KEY: {
    schema: z.string().min(1).optional(),
    doc: 'API key for Temporal Cloud (implies TLS). Secret: never logged.',
  },
  TEMPORAL_TLS: {
    schema: bool.optional(),
    doc: 'Force TLS on/off for the Temporal connection (default: on when a cert or API key is set).',
  },
  TEMPORAL_TLS_CERT_PATH: { schema: z.string().optional(), doc: 'mTLS client certificate (PEM file).' },
  TEMPORAL_TLS_KEY_PATH: { schema: z.string().optional(), doc: 'mTLS client private key (PEM file).' },
  TEMPORAL_TLS_CA_PATH: {
    schema: z.string().optional(),
    doc: 'CA bundle to verify the server (PEM file); default: system roots.',
  },
  TEMPORAL_TLS_SERVER_NAME: { schema: z.string().optional(), doc: 'TLS server name override (SNI).' },
  TEMPORAL_CLI_PATH: {
    schema: z.string().optional(),
    doc: 'Temporal CLI binary for `warden dev`; default .tools/temporal/bin/temporal, then `temporal` on PATH.',
  },
  WARDEN_TASK_QUEUE: {
    schema: z.string().min(1).default('warden'),
    doc: 'Task queue the workers poll and runs start on.',
  },
  WARDEN_DATA_DIR: {
    schema: z.string().min(1).default('.warden'),
    doc: 'Data directory (embedded Temporal database, logs, keys).',
  },
  WARDEN_HTTP_HOST: { schema: z.string().min(1).default('127.0.0.1'), doc: 'Bind address of the HTTP server.' },
  WARDEN_HTTP_PORT: { schema: port.default(8787), doc: 'Port of the HTTP server (API, health).' },
  WARDEN_TEMPORAL_PORT: {
    schema: port.default(7233),
    doc: 'gRPC port of the embedded Temporal server (`warden dev`).',
  },
  WARDEN_UI_PORT: { schema: port.default(8233), doc: 'Web UI port of the embedded Temporal server (`warden dev`).' },
  WARDEN_HEALTH_PORT: {
    schema: port.default(8788),
    doc: '`warden worker` readiness/liveness port (GET /readyz, /healthz); 0 disables it.',
  },
  WARDEN_HEALTH_HOST: {
    schema: z.string().min(1).default('0.0.0.0'),
    doc: 'Bind address of the worker health endpoint.',
  },
  WARDEN_LOG_LEVEL: {
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    doc: 'Log level (pino).',
  },
  WARDEN_SHUTDOWN_GRACE_MS: {
    schema: z.coerce.number().int().min(0).default(30_000),
    doc: 'How long a stopping worker lets running activities finish before cancelling them.',
  },
  WARDEN_POLICY_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Policy file (YAML or JSON): rules, approval tiers, approver groups. Default: policy/default.yaml.',
  },
  WARDEN_HTTP_ALLOWED_HOSTS: {
    schema: z.string().default(''),
    doc: 'Comma-separated hosts the http_request tool may call (host, host:port or *.example.com). Empty: none.',
  },
  WARDEN_HTTP_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).default(15_000),
    doc: 'http_request timeout cap (all redirects included).',
  },
  WARDEN_HTTP_MAX_RESPONSE_BYTES: {
    schema: z.coerce.number().int().min(1024).default(1_048_576),
    doc: 'http_request response size cap; larger bodies are truncated.',
  },
  WARDEN_KILL_SWITCH_MODE: {
    schema: z.enum(['wait', 'fail']).default('wait'),
    doc: 'While the kill switch is on, write/destructive tools `wait` until it is released or `fail` at once.',
  },
  WARDEN_GOVERNOR_ID: {
    schema: z.string().min(1).default('warden-governor'),
    doc: 'Workflow id of the governor (fleet-wide kill switch and circuit breakers).',
  },
  WARDEN_BREAKER_THRESHOLD: {
    schema: z.coerce.number().int().min(1).default(5),
    doc: "Consecutive failures that open an integration's circuit breaker.",
  },
  WARDEN_BREAKER_COOLDOWN_MS: {
    schema: z.coerce.number().int().min(100).default(30_000),
    doc: 'How long an open breaker refuses calls before letting a trial call through (half-open).',
  },
  WARDEN_RATE_LIMITS: {
    schema: z
      .string()
      .default('')
      .refine((v) => v.trim() === '' || v.split(',').every((p) => /^\s*[a-z0-9_-]+\s*=\s*\d+(\.\d+)?\s*$/.test(p)), {
        message: 'must be class=callsPerSecond pairs, e.g. edr=2,intel=10',
      }),
    doc: 'Fleet-wide calls per second per tool rate-limit class, e.g. `edr=2,intel=10` (enforced by the Temporal server).',
  },
  WARDEN_APPROVAL_WEBHOOK_URL: {
    schema: z.url().optional(),
    doc: 'Slack-compatible incoming-webhook URL notified when a run needs a human (the message names the exact `warden approve` command).',
  },
  OPENAI_API_KEY: {
    schema: z.string().min(1).optional(),
    doc: 'API key for the OpenAI-compatible LLM endpoint (agent steps). Secret: never logged.',
  },
  OPENAI_BASE_URL: {
    schema: z.url().optional(),
    doc: 'OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp, `warden model serve`). Default: OpenAI.',
  },
  WARDEN_LLM_MODEL: { schema: z.string().min(1).default('gpt-4o-mini'), doc: 'Model for agents that do not name one.' },
  WARDEN_LLM_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).default(60_000),
    doc: 'Timeout of one LLM call; a timed-out call is retried by Temporal.',
  },
  WARDEN_LLM_STRUCTURED_OUTPUT: {
    schema: z.enum(['json_schema', 'none']).default('json_schema'),
    doc: "Ask the endpoint to constrain final answers to the agent's output schema (`json_schema`), or rely on validation alone (`none`).",
  },
  WARDEN_CONFIG_FILE: {
    schema: z.string().optional(),
    doc: 'Optional YAML or JSON file with any of these settings; the environment wins.',
  },
} as const;

type Settings = typeof SETTINGS;
/** Names of every setting Warden knows. */
export type SettingName = keyof Settings;
/** Raw parsed values keyed by setting name. */
export type SettingValues = { [K in SettingName]: z.output<Settings[K]['schema']> };

/** Parsed configuration, as the rest of the program sees it. */
export interface WardenConfig {
  temporal: {
    /** Explicit cluster address, or undefined when none was configured. */
    address: string | undefined;
    namespace: string;
    apiKey: string | undefined;
    tls: boolean;
    tlsCertPath: string | undefined;
    tlsKeyPath: string | undefined;
    tlsCaPath: string | undefined;
    tlsServerName: string | undefined;
    cliPath: string | undefined;
  };
  taskQueue: string;
  dataDir: string;
  http: { host: string; port: number };
  devServer: { port: number; uiPort: number };
  health: { host: string; port: number };
  logLevel: SettingValues['WARDEN_LOG_LEVEL'];
  shutdownGraceMs: number;
  policyFile: string;
  llm: {
    apiKey: string | undefined;
    baseURL: string | undefined;
    model: string;
    timeoutMs: number;
    structuredOutput: 'json_schema' | 'none';
  };
  http_request: { allowedHosts: string[]; timeoutMs: number; maxResponseBytes: number; maxRedirects: number };
  governance: {
    killSwitchMode: 'wait' | 'fail';
    governorId: string;
    breakerThreshold: number;
    breakerCooldownMs: number;
    /** calls per second by rate-limit class */
    rateLimits: Record<string, number>;
    approvalWebhookUrl: string | undefined;
  };
}

/** Splits host:port; returns undefined when it is not a usable address. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(value.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const p = Number(m[2]);
  if (p < 1 || p > 65535) return undefined;
  return { host: m[1], port: p };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `WARDEN_CONFIG_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    ]);
  }
  let parsed: unknown;
  try {
    parsed = path.extname(file) === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError([
      `WARDEN_CONFIG_FILE: ${file} is not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    ]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`WARDEN_CONFIG_FILE: ${file} must hold a mapping of setting names to values`]);
  }
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!(k in SETTINGS)) problems.push(`${file}: unknown setting ${k} (known: see README "Configuration")`);
    else out[k] = typeof v === 'string' ? v : String(v);
  }
  if (problems.length) throw new ConfigError(problems);
  return out;
}

/**
 * Parses configuration once from the environment (and WARDEN_CONFIG_FILE when set).
 *
 * @throws ConfigError listing every problem found, one line each, naming the setting and what is expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WardenConfig {
  const fileName = env.WARDEN_CONFIG_FILE?.trim();
  const fromFile = fileName ? readConfigFile(fileName) : {};
  const raw: Record<string, unknown> = { ...fromFile };
  for (const key of Object.keys(SETTINGS)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const shape = Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.schema])) as {
    [K in SettingName]: Settings[K]['schema'];
  };
  const result = z.object(shape).safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = String(i.path[0] ?? '');
        const shown = key === 'TEMPORAL_API_KEY' || key === 'OPENAI_API_KEY' ? '(hidden)' : JSON.stringify(raw[key]);
        return `${key}=${shown}: ${i.message}`;
      }),
    );
  }
  const s = result.data;
  const problems: string[] = [];
  if (Boolean(s.TEMPORAL_TLS_CERT_PATH) !== Boolean(s.TEMPORAL_TLS_KEY_PATH)) {
    problems.push('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be set together (mTLS needs both)');
  }
  for (const key of ['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH', 'TEMPORAL_TLS_CA_PATH'] as const) {
    const file = s[key];
    if (file && !fs.existsSync(file)) problems.push(`${key}=${JSON.stringify(file)}: file not found`);
  }
  if (problems.length) throw new ConfigError(problems);

  return {
    temporal: {
      address: s.TEMPORAL_ADDRESS,
      namespace: s.TEMPORAL_NAMESPACE,
      apiKey: s.TEMPORAL_API_KEY,
      tls: s.TEMPORAL_TLS ?? Boolean(s.TEMPORAL_TLS_CERT_PATH || s.TEMPORAL_API_KEY),
      tlsCertPath: s.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: s.TEMPORAL_TLS_KEY_PATH,
      tlsCaPath: s.TEMPORAL_TLS_CA_PATH,
      tlsServerName: s.TEMPORAL_TLS_SERVER_NAME,
      cliPath: s.TEMPORAL_CLI_PATH,
    },
    taskQueue: s.WARDEN_TASK_QUEUE,
    dataDir: path.resolve(s.WARDEN_DATA_DIR),
    http: { host: s.WARDEN_HTTP_HOST, port: s.WARDEN_HTTP_PORT },
    devServer: { port: s.WARDEN_TEMPORAL_PORT, uiPort: s.WARDEN_UI_PORT },
    health: { host: s.WARDEN_HEALTH_HOST, port: s.WARDEN_HEALTH_PORT },
    logLevel: s.WARDEN_LOG_LEVEL,
    shutdownGraceMs: s.WARDEN_SHUTDOWN_GRACE_MS,
    llm: {
      apiKey: s.OPENAI_API_KEY,
      baseURL: s.OPENAI_BASE_URL,
      model: s.WARDEN_LLM_MODEL,
      timeoutMs: s.WARDEN_LLM_TIMEOUT_MS,
      structuredOutput: s.WARDEN_LLM_STRUCTURED_OUTPUT,
    },
    policyFile: path.resolve(s.WARDEN_POLICY_FILE ?? path.join(__dirname, '..', 'policy', 'default.yaml')),
    http_request: {
      allowedHosts: s.WARDEN_HTTP_ALLOWED_HOSTS.split(',')
        .map((h) => h.trim())
        .filter(Boolean),
      timeoutMs: s.WARDEN_HTTP_TIMEOUT_MS,
      maxResponseBytes: s.WARDEN_HTTP_MAX_RESPONSE_BYTES,
      maxRedirects: 3,
    },
    governance: {
      killSwitchMode: s.WARDEN_KILL_SWITCH_MODE,
      governorId: s.WARDEN_GOVERNOR_ID,
      breakerThreshold: s.WARDEN_BREAKER_THRESHOLD,
      breakerCooldownMs: s.WARDEN_BREAKER_COOLDOWN_MS,
      rateLimits: Object.fromEntries(
        s.WARDEN_RATE_LIMITS.split(',')
          .map((p) => p.split('=').map((x) => x.trim()))
          .filter((kv): kv is [string, string] => kv.length === 2 && Boolean(kv[0]))
          .map(([k, v]) => [k, Number(v)]),
      ),
      approvalWebhookUrl: s.WARDEN_APPROVAL_WEBHOOK_URL,
    },
  };
}

/** The address clients and workers connect to: the configured one, or the local dev server's. */
export function temporalAddress(config: WardenConfig): string {
  return config.temporal.address ?? `127.0.0.1:${config.devServer.port}`;
}
