import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors';
import { KEY_BYTES, keyIdFor } from './aead';
import { writeFileAtomic } from './files';

/*
 * Key rings for the vault master key and the payload codec. Both come from an environment variable or a
 * key file in the same formats, and both keep older keys for decryption while one key (the first) encrypts.
 * Nothing here ever puts key material into an error message.
 */

/** One key and its id. */
export interface KeyEntry {
  id: string;
  key: Buffer;
  /** When Warden generated it (key files only). */
  createdAt?: string;
}

/** Keys by id; the active one encrypts, the others only decrypt (kept until rotation has finished). */
export interface KeyRing {
  /** Id of the key new data is encrypted under. */
  readonly activeId: string;
  /** Every usable key by id, the active one included. */
  readonly keys: ReadonlyMap<string, Buffer>;
  /** The entries in order, active first. */
  readonly entries: readonly KeyEntry[];
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const WITH_ID = /^([A-Za-z0-9._-]{1,64})=([A-Za-z0-9+/_-]{40,}={0,2})$/;

/** Builds a ring; the first entry is active. @throws Error on an empty list or a duplicate id. */
export function keyRing(entries: KeyEntry[]): KeyRing {
  const first = entries[0];
  if (!first) throw new Error('a key ring needs at least one key');
  const keys = new Map<string, Buffer>();
  for (const e of entries) {
    if (keys.has(e.id)) throw new Error(`key id "${e.id}" appears twice`);
    keys.set(e.id, e.key);
  }
  return { activeId: first.id, keys, entries: [...entries] };
}

function decodeKey(b64: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) return undefined;
  const key = Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === KEY_BYTES ? key : undefined;
}

/**
 * Parses a key list: entries separated by commas or newlines, each `base64key` or `id=base64key`
 * (32 bytes, standard or URL-safe base64). The first entry is active. Ids default to a fingerprint with
 * `prefix`.
 * @returns the entries, or a problem description (never containing key material).
 */
export function parseKeyList(text: string, prefix: string): KeyEntry[] | string {
  const parts = text
    .split(/[,\s]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (!parts.length) return 'no key given';
  const out: KeyEntry[] = [];
  for (const [i, part] of parts.entries()) {
    const m = WITH_ID.exec(part);
    const key = decodeKey(m?.[2] ?? part);
    if (!key)
      return `entry ${i + 1} is not a base64-encoded 32-byte key (generate one with \`openssl rand -base64 32\`)`;
    const id = m?.[1] ?? keyIdFor(key, prefix);
    if (out.some((e) => e.id === id)) return `entry ${i + 1} repeats key id "${id}"`;
    out.push({ id, key });
  }
  return out;
}

/** For config validation: undefined when `text` is a valid key list, else what is wrong. */
export function keyListProblem(text: string): string | undefined {
  const parsed = parseKeyList(text, 'k-');
  return typeof parsed === 'string' ? parsed : undefined;
}

const KeyFile = z.object({
  version: z.literal(1),
  keys: z.array(z.object({ id: z.string().regex(ID), key: z.string(), createdAt: z.string().optional() })).min(1),
});

/**
 * Reads a key file: Warden's JSON format (`{ "version": 1, "keys": [{ "id", "key", "createdAt" }] }`,
 * first key active) or a plain key list (see {@link parseKeyList}), e.g. a mounted Kubernetes secret.
 * @returns undefined when the file does not exist.
 * @throws ConfigError naming the file and what is wrong with it.
 */
export function readKeyFile(file: string, prefix: string): KeyRing | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError([`${file}: cannot read key file (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  if (text.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ConfigError([`${file}: key file is not valid JSON — restore it from your backup`]);
    }
    const parsed = KeyFile.safeParse(json);
    if (!parsed.success)
      throw new ConfigError([`${file}: not a Warden key file (expected { version: 1, keys: [...] })`]);
    const entries: KeyEntry[] = [];
    for (const [i, k] of parsed.data.keys.entries()) {
      const key = decodeKey(k.key);
      if (!key) throw new ConfigError([`${file}: key ${i + 1} ("${k.id}") is not a base64-encoded 32-byte key`]);
      entries.push({ id: k.id, key, ...(k.createdAt ? { createdAt: k.createdAt } : {}) });
    }
    try {
      return keyRing(entries);
    } catch (err) {
      throw new ConfigError([`${file}: ${(err as Error).message}`]);
    }
  }
  const entries = parseKeyList(text, prefix);
  if (typeof entries === 'string') throw new ConfigError([`${file}: ${entries}`]);
  return keyRing(entries);
}

/** Renders entries in Warden's JSON key-file format (first entry active). */
export function formatKeyFile(entries: readonly KeyEntry[]): string {
  const doc = {
    version: 1,
    keys: entries.map((e) => ({
      id: e.id,
      key: e.key.toString('base64'),
      ...(e.createdAt ? { createdAt: e.createdAt } : {}),
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Writes a key file in Warden's JSON format, atomically, mode 0600. The first entry is active. */
export function writeKeyFile(file: string, entries: readonly KeyEntry[]): void {
  writeFileAtomic(file, formatKeyFile(entries));
}
