import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { WardenConfig } from '../config';
import { defaultSecretName } from '../credentials/capabilities';
import { scrubValues } from '../credentials/scrub';
import { UserError } from '../errors';
import type { Logger } from '../telemetry/logger';
import { McpConnection } from './connection';
import type { PinComparison } from './pins';
import { comparePins, readPins } from './pins';
import { isStdio, loadServersFile } from './servers-file';

/** One server as `warden mcp ls|diff|pin` see it. */
export interface ServerInspection {
  server: string;
  tools: Tool[];
  comparison?: PinComparison;
  /** Why the server could not be listed. */
  error?: string;
}

/**
 * Connects the configured servers (or one), lists their tools and compares them with the pins. The
 * servers' credentials come from the secret store (listing happens outside any run).
 * @throws UserError when no servers file is configured or the named server is not in it.
 */
export async function inspectServers(
  config: WardenConfig,
  logger: Logger,
  secrets: { get(name: string): Promise<string | undefined> },
  only?: string,
): Promise<ServerInspection[]> {
  if (!config.mcp.serversFile)
    throw new UserError('no MCP servers configured: set WARDEN_MCP_SERVERS_FILE (see docs/mcp.md)');
  const file = loadServersFile(config.mcp.serversFile);
  const names = Object.keys(file.servers);
  if (only && !names.includes(only))
    throw new UserError(
      `no MCP server "${only}" in ${config.mcp.serversFile} (configured: ${names.join(', ') || 'none'})`,
    );
  const pins = readPins(config.mcp.pinsFile);
  const out: ServerInspection[] = [];
  for (const server of only ? [only] : names) {
    const cfg = file.servers[server]!;
    const connection = new McpConnection({ name: server, config: cfg, logger });
    let credential: string | undefined;
    try {
      credential =
        !isStdio(cfg) && cfg.auth
          ? await secrets.get(defaultSecretName({ provider: cfg.auth.provider, scopes: [] }))
          : undefined;
      const tools = await connection.listTools(credential);
      out.push({ server, tools, comparison: comparePins(pins, server, tools) });
    } catch (err) {
      out.push({ server, tools: [], error: scrubValues((err as Error).message, credential ? [credential] : []) });
    } finally {
      await connection.close();
    }
  }
  return out;
}
