import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { defineTool } from '../../../tools/types';

/** How much harm losing an asset does; policy rules read it (e.g. critical → two approvers). */
export const Criticality = z.enum(['low', 'medium', 'high', 'critical']);
/** How much harm losing an asset does. */
export type Criticality = z.infer<typeof Criticality>;

const RANK: Record<Criticality, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** One inventory entry. `ip` may list several addresses; `aliases` are other names of the same host. */
export const InventoryAsset = z.object({
  hostname: z.string().trim().min(1),
  ip: z.union([z.string().trim().min(1), z.array(z.string().trim().min(1))]).optional(),
  aliases: z.array(z.string().trim().min(1)).default([]),
  owner: z.string().trim().min(1),
  criticality: Criticality,
  tags: z.array(z.string()).default([]),
});
/** One inventory entry. */
export type InventoryAsset = z.infer<typeof InventoryAsset>;

/** An inventory file: a YAML or JSON list of assets, or `{ assets: [...] }`. */
export const AssetInventory = z.union([z.array(InventoryAsset), z.object({ assets: z.array(InventoryAsset) })]);

/** Arguments of `asset_lookup`. */
export const AssetLookupInput = z.object({
  host: z.string().trim().min(1).max(255).describe('Hostname (short or fully qualified) or IP address.'),
});
/** Arguments of `asset_lookup`. */
export type AssetLookupInput = z.infer<typeof AssetLookupInput>;

/**
 * What `asset_lookup` returns. An unknown host has `found: false`, owner `unknown`, no tags and the
 * configured criticality for unknown assets (`high` by default), never `low`: a host nobody vouched for
 * must not qualify for autonomous containment, which policy reserves for known low-criticality assets.
 */
export const AssetLookupResult = z.object({
  host: z.string(),
  found: z.boolean(),
  /** The inventory's name for the host, when found. */
  hostname: z.string().optional(),
  owner: z.string(),
  criticality: Criticality,
  tags: z.array(z.string()),
});
/** What `asset_lookup` returns. */
export type AssetLookupResult = z.infer<typeof AssetLookupResult>;

/** Settings of `asset_lookup` (WARDEN_ASSET_*). */
export interface AssetLookupConfig {
  /** YAML or JSON inventory. */
  inventoryFile: string;
  /** Criticality reported for hosts not in the inventory. @default 'high' */
  unknownCriticality?: Criticality;
}

function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function shortName(name: string): string {
  return name.split('.')[0] ?? name;
}

/**
 * Reads and validates an inventory file.
 *
 * @throws Error listing every problem (file, entry index and field), so the operator can fix it at once.
 */
export function loadAssetInventory(file: string): InventoryAsset[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `asset inventory: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); set WARDEN_ASSET_INVENTORY_FILE to a YAML or JSON list of assets`,
    );
  }
  let doc: unknown;
  try {
    doc = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new Error(`asset inventory: ${file} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  const parsed = AssetInventory.safeParse(doc);
  if (!parsed.success) {
    // The union's per-branch issues are noisy; validate as the shape the file chose for precise paths.
    const entries = Array.isArray(doc) ? doc : (doc as { assets?: unknown } | null)?.assets;
    const issues = z.array(InventoryAsset).safeParse(entries).error?.issues ?? parsed.error.issues;
    const problems = issues.slice(0, 20).map((i) => `entry ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new Error(
      `asset inventory: ${file} is invalid (expected a list of {hostname, ip?, owner, criticality: low|medium|high|critical, tags?}):\n  - ${problems.join('\n  - ')}`,
    );
  }
  return Array.isArray(parsed.data) ? parsed.data : parsed.data.assets;
}

/**
 * Finds a host in an inventory: by IP, by hostname or alias (case-insensitive, trailing dot ignored), then
 * by short name when either side is unqualified (`WEB-01` finds `web-01.corp.example.com`). Among several
 * matches the most critical wins, so an ambiguous name never lowers the stakes.
 */
export function findAsset(assets: InventoryAsset[], host: string): InventoryAsset | undefined {
  const wanted = normalizeName(host);
  const bare = wanted.replace(/^\[|\]$/g, '');
  const byRank = (matches: InventoryAsset[]) => matches.sort((a, b) => RANK[b.criticality] - RANK[a.criticality])[0];
  if (net.isIP(bare)) {
    return byRank(
      assets.filter((a) => [a.ip ?? []].flat().some((ip) => ip.toLowerCase() === bare) || a.hostname === bare),
    );
  }
  const names = (a: InventoryAsset) => [a.hostname, ...a.aliases].map(normalizeName);
  const exact = assets.filter((a) => names(a).includes(wanted));
  if (exact.length > 0) return byRank(exact);
  const short = shortName(wanted);
  return byRank(
    assets.filter((a) =>
      names(a).some((n) => (!n.includes('.') || !wanted.includes('.')) && shortName(n) === short && short !== ''),
    ),
  );
}

/**
 * Builds the `asset_lookup` tool: owner, criticality and tags of a host from the asset inventory file.
 * The file is read and validated now, so a broken inventory stops the worker at start; it is not re-read.
 *
 * @throws Error when the inventory cannot be read or is invalid.
 */
export function createAssetLookupTool(config: AssetLookupConfig) {
  const assets = loadAssetInventory(config.inventoryFile);
  const unknown = config.unknownCriticality ?? 'high';
  return defineTool({
    name: 'asset_lookup',
    description:
      `Looks a host (name or IP) up in the asset inventory (${assets.length} assets) and returns its owner, ` +
      `criticality (low, medium, high, critical) and tags. Unknown hosts: found=false, criticality ${unknown}.`,
    input: AssetLookupInput,
    output: AssetLookupResult,
    risk: 'read',
    capabilities: [],
    integration: 'asset_inventory',
    summarize: (args) => `asset lookup ${args.host}`,
    execute(args): Promise<AssetLookupResult> {
      const asset = findAsset(assets, args.host);
      if (!asset)
        return Promise.resolve({ host: args.host, found: false, owner: 'unknown', criticality: unknown, tags: [] });
      return Promise.resolve({
        host: args.host,
        found: true,
        hostname: asset.hostname,
        owner: asset.owner,
        criticality: asset.criticality,
        tags: asset.tags,
      });
    },
  });
}
