import { createHash } from 'node:crypto';

/*
 * How an MCP tool is named inside Warden. Warden tool names are snake_case (`^[a-z][a-z0-9_]{0,63}$`); an
 * MCP tool `<tool>` of the server configured as `<server>` becomes `mcp__<server>__<tool'>`, where `<tool'>`
 * is the tool's name lower-cased with every run of other characters turned into `_` (`get-sum` →
 * `get_sum`). Humans read it as `mcp:<server>/<tool>`, the server's own spelling. A name that would exceed
 * 64 characters is cut and suffixed with 6 hex of its hash, so it stays unique and stable.
 */

/** A server's name in configuration and policy: snake_case without double underscores (they separate parts). */
export const SERVER_NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** Longest server name, so a tool name keeps room for the tool part. */
export const MAX_SERVER_NAME = 24;

/** The Warden tool name of MCP tool `tool` on server `server`. */
export function wardenToolName(server: string, tool: string): string {
  const part =
    tool
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'tool';
  const name = `mcp__${server}__${part}`;
  if (name.length <= 64) return name;
  const suffix = createHash('sha256').update(tool).digest('hex').slice(0, 6);
  return `${name.slice(0, 57)}_${suffix}`;
}

/** How people read an MCP tool: `mcp:<server>/<tool>`. */
export function mcpLabel(server: string, tool: string): string {
  return `mcp:${server}/${tool}`;
}

/** The breaker key (and metrics integration label) of a server's calls. */
export function mcpIntegration(server: string): string {
  return `mcp:${server}`;
}
