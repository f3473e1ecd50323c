import path from 'node:path';
import { z } from 'zod';
import type { SettingsTable } from '../contract';
import { FEED_KINDS } from './tools/intel-feeds';
import type { FeedFile, FeedKind } from './tools/intel-feeds';

/** The use case's own sample data (fictional, in vendor formats): alerts, intel feeds, an asset inventory. */
export const DEMO_DATA_DIR = path.join(__dirname, 'demo-data');

/** Alert triage settings, by environment-variable name (documented in docs/configuration.md). */
export const settings = {
  WARDEN_TRIAGE_CONFIDENCE_THRESHOLD: {
    schema: z.coerce.number().min(0).max(1).default(0.7),
    doc: 'Alert triage: verdicts with a lower confidence go to a human review step.',
  },
  WARDEN_INTEL_DIR: {
    schema: z.string().min(1).optional(),
    doc: 'Directory of threat-intel feed files for `intel_lookup`, recognized by name (names containing ipsum, urlhaus, maltrail, sha256/eset, benign/whitelist). Default: the demo samples in src/usecases/alert-triage/demo-data/intel, unless WARDEN_INTEL_FEEDS is set.',
  },
  WARDEN_INTEL_FEEDS: {
    schema: z
      .string()
      .default('')
      .refine(
        (v) =>
          v.trim() === '' ||
          v.split(',').every((p) => new RegExp(`^\\s*(${FEED_KINDS.join('|')})\\s*=\\s*\\S.*$`).test(p)),
        { message: `must be kind=path pairs, kind one of ${FEED_KINDS.join(', ')}; e.g. ipsum=/feeds/ipsum.txt` },
      ),
    doc: `Explicit feed files for \`intel_lookup\`, comma-separated \`kind=path\` (kinds: ${FEED_KINDS.join(', ')}); added to WARDEN_INTEL_DIR.`,
  },
  WARDEN_INTEL_HTTP_URL: {
    schema: z.url({ protocol: /^https?$/ }).optional(),
    doc: 'Lookup endpoint of an HTTP threat-intel provider; setting it registers `intel_http_lookup` (API key: `warden secrets set intel.api_token`).',
  },
  WARDEN_INTEL_HTTP_AUTH_HEADER: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
      .default('x-api-key'),
    doc: 'Header that carries the intel provider API key; `authorization` sends `Bearer <key>`.',
  },
  WARDEN_ASSET_INVENTORY_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Asset inventory for `asset_lookup` (YAML or JSON list of {hostname, ip, owner, criticality, tags}). Default: the demo inventory (sample data).',
  },
  WARDEN_ASSET_UNKNOWN_CRITICALITY: {
    schema: z.enum(['medium', 'high', 'critical']).default('high'),
    doc: 'Criticality `asset_lookup` reports for hosts missing from the inventory (never `low`: unknown hosts must not qualify for autonomous containment).',
  },
} satisfies SettingsTable;

/** Alert triage settings as the use case uses them. */
export interface TriageSettings {
  confidenceThreshold: number;
  intel: {
    /** Feed directory (WARDEN_INTEL_DIR, or the demo samples when no feed is configured). */
    dir: string | undefined;
    feeds: FeedFile[];
    http: { url: string | undefined; authHeader: string; timeoutMs: number };
  };
  assets: { inventoryFile: string; unknownCriticality: 'medium' | 'high' | 'critical' };
}

/**
 * Shapes the parsed settings (values keyed by setting name, as the core parsed them).
 * @param httpTimeoutMs the core's WARDEN_HTTP_TIMEOUT_MS, reused for the HTTP intel provider.
 */
export function triageSettings(values: Record<string, unknown>, httpTimeoutMs: number): TriageSettings {
  const v = values as { [K in keyof typeof settings]: z.output<(typeof settings)[K]['schema']> };
  const feeds = v.WARDEN_INTEL_FEEDS.split(',')
    .filter((p) => p.trim() !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      return { kind: p.slice(0, eq).trim() as FeedKind, file: path.resolve(p.slice(eq + 1).trim()) };
    });
  return {
    confidenceThreshold: v.WARDEN_TRIAGE_CONFIDENCE_THRESHOLD,
    intel: {
      dir:
        v.WARDEN_INTEL_DIR !== undefined
          ? path.resolve(v.WARDEN_INTEL_DIR)
          : feeds.length === 0
            ? path.join(DEMO_DATA_DIR, 'intel')
            : undefined,
      feeds,
      http: {
        url: v.WARDEN_INTEL_HTTP_URL,
        authHeader: v.WARDEN_INTEL_HTTP_AUTH_HEADER.toLowerCase(),
        timeoutMs: httpTimeoutMs,
      },
    },
    assets: {
      inventoryFile: path.resolve(v.WARDEN_ASSET_INVENTORY_FILE ?? path.join(DEMO_DATA_DIR, 'assets.yaml')),
      unknownCriticality: v.WARDEN_ASSET_UNKNOWN_CRITICALITY,
    },
  };
}
