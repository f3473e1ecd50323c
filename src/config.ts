// Just over 300 lines: loading, validation and the shaped configuration object are one contract
// (the setting table itself lives in settings.ts).
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors';
import { defaultKeysDir } from './identity/keyring';
import { SETTINGS, parseHostPort } from './settings';
import { WARDEN_VERSION } from './version';
import type { SettingSpec } from './settings';
import { installedSettingTables } from './usecases/discovery';

export { SETTINGS, parseHostPort };

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
  /** Worker Versioning: the deployment and this build, when WARDEN_WORKER_DEPLOYMENT is set. */
  deployment: { name: string; buildId: string } | undefined;
  dataDir: string;
  /** The HTTP server (`warden serve`, `warden dev`): where it binds, and its limits for slow or large requests. */
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    /** Headers and body of one request must arrive within this. */
    bodyTimeoutMs: number;
    idleTimeoutMs: number;
    /** Bound on each Temporal call a request makes. */
    temporalTimeoutMs: number;
  };
  /** The HTTP API's callers: Host allowlist, API-token store, OIDC issuer. */
  api: {
    /** WARDEN_API_ALLOWED_HOSTS: Host names answered besides loopback and the bind host. */
    allowedHosts: string[];
    tokensFile: string;
    /** Set when WARDEN_OIDC_ISSUER (and its audience) are. */
    oidc:
      | {
          issuer: string;
          audience: string;
          userClaim: string;
          groupsClaim: string;
          groupMap: Record<string, string>;
          defaultScopes: ('runs:read' | 'runs:start')[];
        }
      | undefined;
  };
  devServer: { port: number; uiPort: number };
  health: { host: string; port: number };
  logLevel: SettingValues['WARDEN_LOG_LEVEL'];
  shutdownGraceMs: number;
  /** The worker's sticky cache of runs (WARDEN_WORKER_MAX_CACHED_WORKFLOWS). */
  maxCachedWorkflows: number;
  /** Threads running workflow code (WARDEN_WORKER_WORKFLOW_THREADS). */
  workflowThreads: number;
  policyFile: string;
  /** Principals directory merged into the policy (WARDEN_PRINCIPALS_FILE). */
  principalsFile: string | undefined;
  /** WARDEN_THRESHOLD_RULES_FILE, resolved. */
  thresholdRulesFile: string | undefined;
  /** MCP servers as tool sources, and Warden as an MCP server (docs/mcp.md). */
  mcp: {
    serversFile: string | undefined;
    pinsFile: string;
    serve: { tools: string[]; playbooks: string[]; port: number };
  };
  /** Where this user's signing keys live (WARDEN_KEYS_DIR). */
  keysDir: string;
  /** The fleet key file (decision tokens, service attestations). */
  fleetKeyFile: string;
  /** `warden dev` runs the enabled use cases' demos. */
  demo: boolean;
  webhooks: {
    maxBytes: number;
    /** How long a signing secret read from the vault is reused (ms; 0 = every request). */
    secretCacheMs: number;
  };
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
    /** WARDEN_LLM_CONCURRENCY; unset: 1 on the embedded local model (`warden dev` sets it), else 8. */
    concurrency: number | undefined;
    /** Fleet-wide calls per second on the LLM task queue (unset: no cap). */
    ratePerSecond: number | undefined;
    /** How long one call keeps retrying an unavailable endpoint, from its first attempt. */
    availabilityWindowMs: number;
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
    /** Operator-provided signing key; unset: generated in `keysDir`. */
    signingKeyFile: string | undefined;
    /** External signer command; wins over the key file. */
    signerCommand: string | undefined;
    /** The signer command's public key (PEM file). */
    signerPublicKeyFile: string | undefined;
    /** Zero-config key and published public key, outside the data dir. */
    keysDir: string;
    /** Where every checkpoint is also written; undefined when `off`. */
    witnessDir: string | undefined;
    /** Keys `warden audit verify` trusts without --public-key. */
    publicKeyFiles: string[];
    checkpointEvery: number;
    checkpointIntervalMs: number;
    /** WARDEN_HEC_TOKEN (a secret). */
    hecToken: string | undefined;
  };
}

/** Every setting this installation knows: the core's, then each installed use case's, with its owner. */
export function allSettings(): { name: string; owner: string; spec: SettingSpec }[] {
  const out: { name: string; owner: string; spec: SettingSpec }[] = Object.entries(SETTINGS).map(([name, spec]) => ({
    name,
    owner: 'core',
    spec,
  }));
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
  if (Boolean(s.WARDEN_OIDC_ISSUER) !== Boolean(s.WARDEN_OIDC_AUDIENCE)) {
    problems.push(
      "WARDEN_OIDC_ISSUER and WARDEN_OIDC_AUDIENCE must be set together (a token is accepted only for this API's audience)",
    );
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
    deployment: s.WARDEN_WORKER_DEPLOYMENT
      ? { name: s.WARDEN_WORKER_DEPLOYMENT, buildId: s.WARDEN_BUILD_ID ?? WARDEN_VERSION }
      : undefined,
    dataDir: path.resolve(s.WARDEN_DATA_DIR),
    http: {
      host: s.WARDEN_HTTP_HOST,
      port: s.WARDEN_HTTP_PORT,
      bodyLimitBytes: s.WARDEN_HTTP_BODY_LIMIT_BYTES,
      bodyTimeoutMs: s.WARDEN_HTTP_BODY_TIMEOUT_MS,
      idleTimeoutMs: s.WARDEN_HTTP_IDLE_TIMEOUT_MS,
      temporalTimeoutMs: s.WARDEN_HTTP_TEMPORAL_TIMEOUT_MS,
    },
    api: {
      allowedHosts: s.WARDEN_API_ALLOWED_HOSTS.split(',')
        .map((h) => h.trim())
        .filter(Boolean),
      tokensFile: path.resolve(s.WARDEN_API_TOKENS_FILE ?? path.join(s.WARDEN_DATA_DIR, 'api-tokens.db')),
      oidc:
        s.WARDEN_OIDC_ISSUER && s.WARDEN_OIDC_AUDIENCE
          ? {
              issuer: s.WARDEN_OIDC_ISSUER,
              audience: s.WARDEN_OIDC_AUDIENCE,
              userClaim: s.WARDEN_OIDC_USER_CLAIM,
              groupsClaim: s.WARDEN_OIDC_GROUPS_CLAIM,
              groupMap: Object.fromEntries(
                s.WARDEN_OIDC_GROUP_MAP.split(',')
                  .map((p) => p.split('=').map((x) => x.trim()))
                  .filter((kv): kv is [string, string] => kv.length === 2 && Boolean(kv[0]) && Boolean(kv[1])),
              ),
              defaultScopes: s.WARDEN_OIDC_SCOPES.split(/[\s,]+/).filter(Boolean) as ('runs:read' | 'runs:start')[],
            }
          : undefined,
    },
    devServer: { port: s.WARDEN_TEMPORAL_PORT, uiPort: s.WARDEN_UI_PORT },
    health: { host: s.WARDEN_HEALTH_HOST, port: s.WARDEN_HEALTH_PORT },
    logLevel: s.WARDEN_LOG_LEVEL,
    shutdownGraceMs: s.WARDEN_SHUTDOWN_GRACE_MS,
    maxCachedWorkflows: s.WARDEN_WORKER_MAX_CACHED_WORKFLOWS,
    workflowThreads: s.WARDEN_WORKER_WORKFLOW_THREADS,
    llm: {
      apiKey: s.OPENAI_API_KEY,
      baseURL: s.OPENAI_BASE_URL,
      model: s.WARDEN_LLM_MODEL,
      timeoutMs: s.WARDEN_LLM_TIMEOUT_MS,
      structuredOutput: s.WARDEN_LLM_STRUCTURED_OUTPUT,
      concurrency: s.WARDEN_LLM_CONCURRENCY,
      ratePerSecond: s.WARDEN_LLM_RATE_PER_SECOND,
      availabilityWindowMs: s.WARDEN_LLM_AVAILABILITY_WINDOW_MS,
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
    webhooks: { maxBytes: s.WARDEN_WEBHOOK_MAX_BYTES, secretCacheMs: s.WARDEN_WEBHOOK_SECRET_CACHE_MS },
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
    principalsFile: s.WARDEN_PRINCIPALS_FILE ? path.resolve(s.WARDEN_PRINCIPALS_FILE) : undefined,
    thresholdRulesFile: s.WARDEN_THRESHOLD_RULES_FILE ? path.resolve(s.WARDEN_THRESHOLD_RULES_FILE) : undefined,
    mcp: {
      serversFile: s.WARDEN_MCP_SERVERS_FILE ? path.resolve(s.WARDEN_MCP_SERVERS_FILE) : undefined,
      pinsFile: path.resolve(
        s.WARDEN_MCP_PINS_FILE ??
          (s.WARDEN_MCP_SERVERS_FILE
            ? path.join(path.dirname(s.WARDEN_MCP_SERVERS_FILE), 'mcp-pins.json')
            : 'mcp-pins.json'),
      ),
      serve: {
        tools: commaList(s.WARDEN_MCP_SERVE_TOOLS),
        playbooks: commaList(s.WARDEN_MCP_SERVE_PLAYBOOKS),
        port: s.WARDEN_MCP_PORT,
      },
    },
    keysDir: path.resolve(s.WARDEN_KEYS_DIR ?? defaultKeysDir(env)),
    fleetKeyFile: path.resolve(s.WARDEN_FLEET_KEY_FILE ?? path.join(s.WARDEN_DATA_DIR, 'fleet.key')),
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
      signerCommand: s.WARDEN_AUDIT_SIGNER_COMMAND,
      signerPublicKeyFile: s.WARDEN_AUDIT_SIGNER_PUBLIC_KEY
        ? path.resolve(s.WARDEN_AUDIT_SIGNER_PUBLIC_KEY)
        : undefined,
      keysDir: path.resolve(s.WARDEN_AUDIT_KEYS_DIR ?? `${path.resolve(s.WARDEN_DATA_DIR)}-keys`),
      witnessDir:
        s.WARDEN_AUDIT_WITNESS_DIR === 'off'
          ? undefined
          : path.resolve(s.WARDEN_AUDIT_WITNESS_DIR ?? `${path.resolve(s.WARDEN_DATA_DIR)}-witness`),
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

function commaList(v: string): string[] {
  return v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}
