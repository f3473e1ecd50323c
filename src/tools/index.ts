import path from 'node:path';
import type { WardenConfig } from '../config';
import { createCaseTool } from '../usecases/alert-triage/tools/case';
import { createContainmentTools } from './containment';
import { createHttpRequestTool } from './http-request';
import { createAssetLookupTool } from '../usecases/alert-triage/tools/asset-lookup';
import { createIntelHttpLookupTool } from '../usecases/alert-triage/tools/intel-http-lookup';
import { createIntelLookupTool } from '../usecases/alert-triage/tools/intel-lookup';
import type { AnyTool } from './types';
import { ToolRegistry } from './types';

/**
 * The tools every Warden worker ships with: `http_request` (WARDEN_HTTP_* settings), the enrichment
 * lookups `intel_lookup` and `asset_lookup` (WARDEN_INTEL_*, WARDEN_ASSET_*; demo samples by default),
 * `intel_http_lookup` when WARDEN_INTEL_HTTP_URL is set, and the containment
 * tools (WARDEN_CROWDSTRIKE_BASE_URL, WARDEN_OKTA_BASE_URL). Policy still decides which may run.
 * Extra tools are added; one with a default's name replaces the default.
 */
export function createDefaultTools(config: WardenConfig, extra: AnyTool[] = []): ToolRegistry {
  // An extra tool with a default's name replaces it (embedders and tests bring their own implementations).
  const replaced = new Set(extra.map((t) => t.name));
  const defaults: AnyTool[] = [
    createHttpRequestTool(config.http_request),
    // Read-only enrichment; without configuration they use the demo samples in demo/.
    createIntelLookupTool(config.intel),
    createAssetLookupTool(config.assets),
    ...(config.intel.http.url ? [createIntelHttpLookupTool({ ...config.intel.http, url: config.intel.http.url })] : []),
    ...createContainmentTools(config.containment),
    createCaseTool(path.join(config.dataDir, 'cases')),
  ];
  return new ToolRegistry([...defaults.filter((t) => !replaced.has(t.name)), ...extra]);
}
