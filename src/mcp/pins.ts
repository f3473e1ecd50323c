import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { canonicalHash } from '../audit/hash';
import { ConfigError } from '../errors';

/*
 * Pins: the operator's record of which tool definitions of each MCP server were reviewed, by hash, in a file
 * they commit (WARDEN_MCP_PINS_FILE). A server whose pinned tool changes its description, schemas or
 * annotations afterwards (a "rug pull") is refused as a whole until someone looks and re-pins; a tool that
 * appears later is unusable until pinned. `warden mcp ls|diff|pin` read and write this file.
 */

/** What of a tool is pinned: everything the server says about it that a model or an operator reads. */
export interface McpToolListing {
  name: string;
  title?: string;
  description?: string;
  inputSchema: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
}

/** The hash of one tool definition. */
export function toolFingerprint(t: McpToolListing): string {
  return canonicalHash({
    name: t.name,
    title: t.title ?? null,
    description: t.description ?? null,
    inputSchema: t.inputSchema ?? null,
    outputSchema: t.outputSchema ?? null,
    annotations: t.annotations ?? null,
  });
}

const ServerPins = z
  .object({
    pinnedAt: z.string(),
    pinnedBy: z.string().optional(),
    /** MCP tool name → fingerprint. */
    tools: z.record(z.string(), z.string().regex(/^sha256:[0-9a-f]{64}$/)),
    /** The pinned definitions themselves, so `warden mcp diff` can say what changed (not trusted for anything else). */
    definitions: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** The pins file. */
export const PinsFile = z.object({ version: z.literal(1), servers: z.record(z.string(), ServerPins) }).strict();
/** The pins file. */
export type PinsFile = z.infer<typeof PinsFile>;

/** Reads the pins file; a missing file pins nothing. @throws ConfigError for a file that does not parse. */
export function readPins(file: string): PinsFile {
  if (!fs.existsSync(file)) return { version: 1, servers: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`WARDEN_MCP_PINS_FILE: ${file} is not JSON: ${(err as Error).message}`]);
  }
  const parsed = PinsFile.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(document)'}: ${i.message}`));
  return parsed.data;
}

/** Writes the pins file (sorted, one key per line, so a re-pin reads well in a diff), atomically. */
export function writePins(file: string, pins: PinsFile): void {
  const sorted: PinsFile = {
    version: 1,
    servers: Object.fromEntries(
      Object.keys(pins.servers)
        .sort()
        .map((s) => {
          const p = pins.servers[s]!;
          const byName = <T>(r: Record<string, T>) =>
            Object.fromEntries(
              Object.keys(r)
                .sort()
                .map((t) => [t, r[t]!]),
            );
          return [
            s,
            { ...p, tools: byName(p.tools), ...(p.definitions ? { definitions: byName(p.definitions) } : {}) },
          ];
        }),
    ),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(sorted, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** How a server's current tools compare with its pins. */
export interface PinComparison {
  /**
   * `pinned`: every pinned tool is unchanged; `changed`: a pinned tool differs (the server is refused);
   * `unpinned`: the server was never pinned (every tool is unusable).
   */
  status: 'pinned' | 'changed' | 'unpinned';
  /** Pinned tools whose definition differs now. */
  changed: string[];
  /** Tools the server offers that are not pinned (unusable until pinned). */
  added: string[];
  /** Pinned tools the server no longer offers. */
  removed: string[];
  /** Current fingerprints by tool name. */
  current: Record<string, string>;
}

/** Compares a server's listing with its pins. */
export function comparePins(pins: PinsFile, server: string, tools: McpToolListing[]): PinComparison {
  const current = Object.fromEntries(tools.map((t) => [t.name, toolFingerprint(t)]));
  const pinned = pins.servers[server]?.tools;
  if (!pinned) return { status: 'unpinned', changed: [], added: Object.keys(current).sort(), removed: [], current };
  const changed = Object.keys(current)
    .filter((t) => pinned[t] !== undefined && pinned[t] !== current[t])
    .sort();
  const added = Object.keys(current)
    .filter((t) => pinned[t] === undefined)
    .sort();
  const removed = Object.keys(pinned)
    .filter((t) => current[t] === undefined)
    .sort();
  return { status: changed.length ? 'changed' : 'pinned', changed, added, removed, current };
}

/** The pins of one server for a listing, as `warden mcp pin` records them. */
export function pinServer(
  tools: McpToolListing[],
  by: string | undefined,
  now = new Date(),
): PinsFile['servers'][string] {
  const listing = (t: McpToolListing): McpToolListing => ({
    name: t.name,
    ...(t.title !== undefined ? { title: t.title } : {}),
    ...(t.description !== undefined ? { description: t.description } : {}),
    inputSchema: t.inputSchema,
    ...(t.outputSchema !== undefined ? { outputSchema: t.outputSchema } : {}),
    ...(t.annotations !== undefined ? { annotations: t.annotations } : {}),
  });
  return {
    pinnedAt: now.toISOString(),
    ...(by ? { pinnedBy: by } : {}),
    tools: Object.fromEntries(tools.map((t) => [t.name, toolFingerprint(t)])),
    definitions: Object.fromEntries(tools.map((t) => [t.name, listing(t)])),
  };
}

/** Which parts of a pinned definition differ in the current one (for `warden mcp diff`). */
export function changedFields(pinned: unknown, current: McpToolListing): string[] {
  if (!pinned || typeof pinned !== 'object') return ['(definition not stored with the pin)'];
  const p = pinned as Record<string, unknown>;
  const fields = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;
  return fields.filter(
    (f) => canonicalHash(p[f] ?? null) !== canonicalHash((current as unknown as Record<string, unknown>)[f] ?? null),
  );
}
