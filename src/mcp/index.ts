import type { AppendInput } from '../audit/record';
import type { WardenConfig } from '../config';
import { defaultSecretName } from '../credentials/capabilities';
import { scrubValues } from '../credentials/scrub';
import type { PolicyDocument } from '../governance/policy';
import type { Logger } from '../telemetry/logger';
import type { AnyTool } from '../tools/types';
import { McpConnection } from './connection';
import { mcpLabel } from './names';
import type { McpServersFile } from './servers-file';
import { loadServersFile } from './servers-file';
import { McpServerTools, PinsReader } from './tool-source';

/*
 * MCP servers as governed tool sources (docs/mcp.md). The worker connects the servers named in
 * WARDEN_MCP_SERVERS_FILE, lists their tools and registers each as `mcp__<server>__<tool>`: from then on an
 * MCP tool goes the way every tool goes (allowlist, schema, policy, approval, lease, kill switch, breaker
 * `mcp:<server>`, rate limit, output validation, audit, traces), and is denied until policy classifies it
 * and the operator pins its server.
 */

export { wardenToolName, mcpLabel, mcpIntegration } from './names';

/** Tool names Warden accepts from a server (the MCP specification's recommendation). */
const TOOL_NAME = /^[A-Za-z0-9_.\-/]{1,128}$/;

/** Dependencies of {@link connectMcpTools}. */
export interface McpToolsDeps {
  config: WardenConfig;
  policy: PolicyDocument;
  logger: Logger;
  /** Reads the servers' own credentials for listing tools outside a run (calls lease them instead). */
  secrets?: { get(name: string): Promise<string | undefined> };
  audit?: (input: AppendInput) => Promise<unknown>;
  /** The servers file, parsed (tests); otherwise read from WARDEN_MCP_SERVERS_FILE. */
  servers?: McpServersFile;
}

/** The connected servers' tools, and how to disconnect them. */
export interface McpTools {
  tools: AnyTool[];
  servers: McpServerTools[];
  close(): Promise<void>;
}

/**
 * Connects every configured MCP server and lists its tools. A server that cannot be reached is logged and
 * contributes no tools (its calls are then denied as unknown tools); the worker still starts.
 * @throws ConfigError when the servers or pins file is malformed.
 */
export async function connectMcpTools(deps: McpToolsDeps): Promise<McpTools> {
  const file = deps.config.mcp.serversFile;
  const servers = deps.servers ?? (file ? loadServersFile(file) : undefined);
  if (!servers || !Object.keys(servers.servers).length) return { tools: [], servers: [], close: async () => {} };
  const pins = new PinsReader(deps.config.mcp.pinsFile);
  pins.current(); // a malformed pins file stops the worker here, with its problems listed
  const log = deps.logger.child({ component: 'mcp' });
  const connections: McpConnection[] = [];
  const sources: McpServerTools[] = [];
  const tools: AnyTool[] = [];
  for (const [name, config] of Object.entries(servers.servers)) {
    const ref: { source?: McpServerTools } = {};
    const connection = new McpConnection({
      name,
      config,
      logger: log,
      onToolsChanged: () => {
        connection.listTools(undefined).then(
          (listed) => {
            const cmp = ref.source?.refresh(listed);
            if (cmp && ref.source)
              void ref.source.reportDrift(cmp, { workflowId: 'warden', idempotencyKey: `mcp/${name}` });
          },
          (err: unknown) => log.warn({ mcpServer: name, err: (err as Error).message }, 'could not re-list MCP tools'),
        );
      },
    });
    connections.push(connection);
    const source = new McpServerTools({
      name,
      config,
      connection,
      policy: deps.policy,
      pins,
      logger: log,
      audit: deps.audit,
    });
    ref.source = source;
    let credential: string | undefined;
    try {
      const cap = source.capability;
      credential = cap ? await deps.secrets?.get(defaultSecretName(cap)) : undefined;
      const listed = await connection.listTools(credential);
      const cmp = source.refresh(listed);
      await source.reportDrift(cmp, { workflowId: 'warden', idempotencyKey: `mcp/${name}` });
      const seen = new Set<string>();
      for (const t of listed) {
        // The name reaches people and models (in `mcp:<server>/<tool>`): the MCP spec's characters only.
        if (!TOOL_NAME.test(t.name)) {
          log.warn(
            { mcpServer: name, tool: t.name.slice(0, 80) },
            `MCP server ${name} offers a tool with a malformed name: skipped`,
          );
          continue;
        }
        const tool = source.toolFor(t.name);
        if (seen.has(tool.name)) {
          log.warn(
            { mcpServer: name, tool: t.name },
            `${mcpLabel(name, t.name)} maps to a Warden name already taken: skipped`,
          );
          continue;
        }
        seen.add(tool.name);
        tools.push(tool);
      }
      sources.push(source);
      log.info(
        { mcpServer: name, tools: listed.length, pins: cmp.status, unpinned: cmp.added, changed: cmp.changed },
        `MCP server ${name}: ${listed.length} tools (${cmp.status})`,
      );
    } catch (err) {
      log.error(
        { mcpServer: name, err: scrubValues((err as Error).message, credential ? [credential] : []) },
        `MCP server ${name} unavailable: no tools from it`,
      );
      await connection.close();
    }
  }
  return {
    tools,
    servers: sources,
    close: async () => {
      await Promise.all(connections.map((c) => c.close()));
    },
  };
}
