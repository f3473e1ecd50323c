import type { WardenConfig } from '../config';
import { createContainmentTools } from './containment';
import { createHttpRequestTool } from './http-request';
import type { AnyTool } from './types';
import { ToolRegistry } from './types';

/**
 * The tools every Warden worker ships with: `http_request` (WARDEN_HTTP_* settings) and the containment
 * tools (WARDEN_CROWDSTRIKE_BASE_URL, WARDEN_OKTA_BASE_URL). Policy still decides which may run.
 */
export function createDefaultTools(config: WardenConfig, extra: AnyTool[] = []): ToolRegistry {
  return new ToolRegistry([
    createHttpRequestTool(config.http_request),
    ...createContainmentTools(config.containment),
    ...extra,
  ]);
}
