import type { WardenConfig } from '../config';
import { ConfigError } from '../errors';
import type { Logger } from '../telemetry/logger';
import { coreTools } from '../tools';
import { bundledPlaybookFiles, loadPlaybookFile } from '../triggers/playbook-source';
import { useCaseTools } from '../usecases/registry';
import type { WardenMcpOffer } from './warden-server';

/**
 * What `warden mcp serve` offers, from WARDEN_MCP_SERVE_TOOLS and WARDEN_MCP_SERVE_PLAYBOOKS (both empty by
 * default: nothing is offered until an operator says so). Tool definitions come from this build's
 * built-in and use-case tools; an MCP tool is listed by name (the workers hold its pinned schema).
 * @throws ConfigError for a playbook that no installed use case ships.
 */
export function wardenMcpOffer(config: WardenConfig, logger: Logger): WardenMcpOffer {
  const known = new Map([...coreTools(config), ...useCaseTools(config, logger)].map((t) => [t.name, t]));
  const bundled = bundledPlaybookFiles();
  const missing = config.mcp.serve.playbooks.filter((p) => !bundled[p]);
  if (missing.length)
    throw new ConfigError([
      `WARDEN_MCP_SERVE_PLAYBOOKS: no bundled playbook ${missing.join(', ')} (installed: ${Object.keys(bundled).join(', ') || 'none'})`,
    ]);
  return {
    tools: config.mcp.serve.tools.map((name) => ({ name, definition: known.get(name) })),
    playbooks: Object.fromEntries(config.mcp.serve.playbooks.map((p) => [p, () => loadPlaybookFile(bundled[p]!)])),
  };
}
