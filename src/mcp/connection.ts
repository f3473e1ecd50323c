import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { CallToolResultSchema, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../telemetry/logger';
import { WARDEN_VERSION } from '../version';
import type { McpServerConfig } from './servers-file';
import { isStdio } from './servers-file';

/** The `_meta` key that carries a call's idempotency key (workflowId/stepId/callId) to the server. */
export const IDEMPOTENCY_META_KEY = 'io.warden/idempotency-key';

/** Most tools read from one server's listing (pagination is followed up to this). */
const MAX_TOOLS = 1_000;

/** Options for {@link McpConnection}. */
export interface McpConnectionOptions {
  name: string;
  config: McpServerConfig;
  logger: Logger;
  /** Called when the server says its tool list changed (persistent connections only). */
  onToolsChanged?: () => void;
}

/**
 * One MCP server, through the official SDK client. A stdio server is one child process for the worker's
 * life (restarted on the next call if it dies); it inherits none of the worker's environment beyond the
 * SDK's safe default (PATH, HOME…) and its configured `env`. An HTTP server gets a connection per use when
 * it needs a credential (the header carries that call's lease), else one shared connection.
 */
export class McpConnection {
  private shared: Promise<Client> | undefined;

  constructor(private readonly opts: McpConnectionOptions) {}

  /** Server name as configured. */
  get name(): string {
    return this.opts.name;
  }

  private async open(header: string | undefined, persistent: boolean): Promise<Client> {
    const cfg = this.opts.config;
    const client = new Client({ name: 'warden', version: WARDEN_VERSION }, { capabilities: {} });
    if (isStdio(cfg)) {
      const transport = new StdioClientTransport({
        command: cfg.command,
        args: cfg.args,
        env: { ...getDefaultEnvironment(), ...cfg.env },
        ...(cfg.cwd ? { cwd: cfg.cwd } : {}),
        stderr: 'pipe',
      });
      // Drained (a full pipe would stall the server); kept out of Warden's logs beyond a short debug line.
      transport.stderr?.on('data', (chunk: Buffer) =>
        this.opts.logger.debug(
          { mcpServer: this.opts.name, stderr: chunk.toString('utf8').slice(0, 300) },
          'mcp stderr',
        ),
      );
      await client.connect(transport, { timeout: cfg.timeoutMs });
    } else {
      const headers: Record<string, string> = {};
      if (cfg.auth && header !== undefined) headers[cfg.auth.header] = `${cfg.auth.scheme} ${header}`.trim();
      const transport = new StreamableHTTPClientTransport(new URL(cfg.url), { requestInit: { headers } });
      await client.connect(transport, { timeout: cfg.timeoutMs });
    }
    if (persistent) {
      client.onclose = () => {
        this.shared = undefined;
      };
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.opts.onToolsChanged?.());
    }
    return client;
  }

  /**
   * Runs `fn` with a connected client. `credential` is the server's secret (from a lease or, for listing
   * tools outside a run, the secret store); with one, the connection is private to this use.
   */
  async use<T>(credential: string | undefined, fn: (c: Client) => Promise<T>): Promise<T> {
    const cfg = this.opts.config;
    if (!isStdio(cfg) && cfg.auth) {
      const client = await this.open(credential, false);
      try {
        return await fn(client);
      } finally {
        await client.close().catch(() => undefined);
      }
    }
    this.shared ??= this.open(undefined, true).catch((err: unknown) => {
      this.shared = undefined;
      throw err;
    });
    const client = await this.shared;
    try {
      return await fn(client);
    } catch (err) {
      // A broken connection (transport error, expired session, dead process) is replaced on the next use; a
      // protocol-level answer (McpError) is not a broken connection. The error still fails this use.
      if (!(err instanceof McpError)) {
        this.shared = undefined;
        await client.close().catch(() => undefined);
      }
      throw err;
    }
  }

  /** Every tool the server lists (following pagination). */
  async listTools(credential: string | undefined): Promise<Tool[]> {
    return this.use(credential, async (c) => {
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await c.listTools(cursor ? { cursor } : {}, { timeout: this.opts.config.timeoutMs });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor && tools.length < MAX_TOOLS);
      return tools;
    });
  }

  /**
   * Calls a tool, passing the idempotency key in `_meta`. The result is returned as the server sent it
   * (its structured content is validated by the caller, against the pinned output schema).
   */
  async callTool(
    credential: string | undefined,
    call: { name: string; args: unknown; idempotencyKey: string; signal?: AbortSignal },
  ): Promise<CallToolResult> {
    return this.use(credential, (c) =>
      c.request(
        {
          method: 'tools/call',
          params: {
            name: call.name,
            arguments: call.args as Record<string, unknown>,
            _meta: { [IDEMPOTENCY_META_KEY]: call.idempotencyKey },
          },
        },
        CallToolResultSchema,
        { timeout: this.opts.config.timeoutMs, ...(call.signal ? { signal: call.signal } : {}) },
      ),
    );
  }

  /** Closes the shared connection (stops a stdio server's process). */
  async close(): Promise<void> {
    const shared = this.shared;
    this.shared = undefined;
    if (shared) await (await shared.catch(() => undefined))?.close().catch(() => undefined);
  }
}
