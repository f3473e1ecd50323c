import type { WardenConfig } from '../config';
import { createHttpRequestTool } from './http-request';
import type { AnyTool } from './types';
import { ToolRegistry } from './types';

/** The tools every Warden worker ships with, configured from WARDEN_HTTP_* settings. */
export function createDefaultTools(config: WardenConfig, extra: AnyTool[] = []): ToolRegistry {
  return new ToolRegistry([createHttpRequestTool(config.http_request), ...extra]);
}
