import type { WardenConfig } from '../../../../src/config';
import { loadConfig } from '../../../../src/config';

/** A Warden config with its data directory in `dir` (tool tests need no Temporal server). */
export function testConfigFor(dir: string, env: Record<string, string> = {}): WardenConfig {
  return loadConfig({ WARDEN_DATA_DIR: dir, ...env });
}
