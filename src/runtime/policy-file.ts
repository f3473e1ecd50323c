import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import canonicalize from 'canonicalize';
import YAML from 'yaml';
import { ConfigError } from '../errors';
import type { Policy } from '../governance/policy';
import { PolicyDocument } from '../governance/policy';

/** sha256 of a value's RFC 8785 canonical JSON, as `sha256:<hex>`. */
export function canonicalHash(value: unknown): string {
  return `sha256:${createHash('sha256')
    .update(canonicalize(value) ?? 'null')
    .digest('hex')}`;
}

/**
 * Parses a policy document (already-decoded YAML/JSON) and stamps its version.
 * @throws ConfigError listing every problem with its path in the file.
 */
export function parsePolicy(raw: unknown, source = 'policy'): Policy {
  const parsed = PolicyDocument.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(document)'}: ${i.message}`),
    );
  }
  return { document: parsed.data, version: canonicalHash(parsed.data) };
}

/** Reads and validates a policy file (YAML or JSON). @throws ConfigError saying what is wrong and where. */
export function loadPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `WARDEN_POLICY_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    ]);
  }
  let raw: unknown;
  try {
    raw = path.extname(file) === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError([`WARDEN_POLICY_FILE: ${file} does not parse: ${(err as Error).message}`]);
  }
  return parsePolicy(raw, path.basename(file));
}
