import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors';
import { MAX_SERVER_NAME, SERVER_NAME } from './names';

/*
 * The MCP servers a worker connects to (WARDEN_MCP_SERVERS_FILE, YAML or JSON). Configuration says how to
 * reach a server; policy (its `mcp` section) says what each of its tools may do; the pins file says which
 * tool definitions were reviewed. A tool needs all three to run.
 */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

const common = {
  /** Longest a call may take before it is abandoned (and retried by Temporal). @default 60000 */
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(15 * 60_000)
    .default(60_000),
  /** Largest result (JSON bytes) accepted from one call; a larger one fails the call. @default 262144 */
  maxResultBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(256 * 1024),
};

/** A server Warden starts as a child process and talks to over stdio. */
export const StdioServer = z
  .object({
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    /** Extra environment for the process; it does not inherit the worker's (which holds Warden's secrets). */
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    ...common,
  })
  .strict();

/** A server reached over Streamable HTTP; its credential, when it needs one, comes from a lease per call. */
export const HttpServer = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .refine((v) => !URL.canParse(v) || new URL(v).protocol === 'https:' || LOOPBACK.has(new URL(v).hostname), {
        message: 'must be an https:// URL (http:// only on loopback)',
      }),
    /**
     * The credential sent with every request: the secret `<provider>.api_token` (vault or
     * WARDEN_SECRET_* env), leased per call for the capability `{ provider, scopes: [tools.call] }`, sent as
     * `<header>: <scheme> <secret>`.
     */
    auth: z
      .object({
        provider: z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/, 'must be a provider name such as mcp_docs'),
        header: z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9-]*$/)
          .default('Authorization'),
        scheme: z.string().default('Bearer'),
      })
      .strict()
      .optional(),
    ...common,
  })
  .strict();

/** One configured server. */
export const McpServerConfig = z.union([StdioServer, HttpServer]);
/** One configured server. */
export type McpServerConfig = z.infer<typeof McpServerConfig>;

/** The servers file. */
export const McpServersFile = z
  .object({
    servers: z.record(
      z
        .string()
        .max(MAX_SERVER_NAME)
        .regex(SERVER_NAME, 'server names are snake_case (a-z, 0-9, single _), e.g. docs or ticket_api'),
      McpServerConfig,
    ),
  })
  .strict();
/** The servers file. */
export type McpServersFile = z.infer<typeof McpServersFile>;

/** Whether a server is reached over stdio. */
export function isStdio(s: McpServerConfig): s is z.infer<typeof StdioServer> {
  return 'command' in s;
}

/**
 * Reads and validates the servers file. Relative `cwd` values resolve against the file's folder.
 * @throws ConfigError naming the file and every problem.
 */
export function loadServersFile(file: string): McpServersFile {
  let raw: unknown;
  try {
    const text = fs.readFileSync(file, 'utf8');
    raw = path.extname(file) === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError([
      `WARDEN_MCP_SERVERS_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    ]);
  }
  const parsed = McpServersFile.safeParse(raw ?? { servers: {} });
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map(
        (i) =>
          `${file}: ${i.path.join('.') || '(document)'}: ${
            i.code === 'invalid_key'
              ? `server names are snake_case (a-z, 0-9, single _), at most ${MAX_SERVER_NAME} characters, e.g. docs or ticket_api`
              : i.message
          }`,
      ),
    );
  for (const s of Object.values(parsed.data.servers))
    if (isStdio(s) && s.cwd) s.cwd = path.resolve(path.dirname(file), s.cwd);
  return parsed.data;
}
