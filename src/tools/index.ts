import type { WardenConfig } from '../config';
import { createContainmentTools } from './containment';
import { createHttpRequestTool } from './http-request';
import type { AnyTool } from './types';
import { ToolRegistry } from './types';

/**
 * The core's integrations every worker ships with: `http_request` (WARDEN_HTTP_* settings) and the
 * containment tools (WARDEN_CROWDSTRIKE_BASE_URL, WARDEN_OKTA_BASE_URL). Use cases add their own tools.
 * Policy still decides which may run.
 */
export function coreTools(config: WardenConfig): AnyTool[] {
  return [createHttpRequestTool(config.http_request), ...createContainmentTools(config.containment)];
}

/**
 * The registry a worker runs: the core's tools, then the use cases', then extra tools (tests, embedders).
 * A later tool with an earlier one's name replaces it (embedders and tests bring their own implementations).
 */
export function buildToolRegistry(...groups: AnyTool[][]): ToolRegistry {
  const byName = new Map<string, AnyTool>();
  for (const tool of groups.flat()) byName.set(tool.name, tool);
  return new ToolRegistry([...byName.values()]);
}
