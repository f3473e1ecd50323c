import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { canonicalHash } from '../audit/hash';
import type { WardenConfig } from '../config';
import { ConfigError } from '../errors';
import type { Policy } from '../governance/policy';
import { PolicyDocument, PolicyFragment } from '../governance/policy';
import { useCasePolicyFragments } from '../usecases/registry';

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

function readDocument(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  try {
    return path.extname(file) === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError([`${what}: ${file} does not parse: ${(err as Error).message}`]);
  }
}

/**
 * Reads and validates a policy file (YAML or JSON); when it sets `useCaseRules: true`, the given use-case
 * fragments' rules are merged in before hashing, so the policy version covers them.
 * @throws ConfigError saying what is wrong and where.
 */
export function loadPolicyFile(
  file: string,
  fragments: { usecase: string; file: string }[] = [],
  principalsFile?: string,
): Policy {
  let raw = readDocument(file, 'WARDEN_POLICY_FILE');
  if (principalsFile) raw = withPrincipals(raw, principalsFile);
  if (raw && typeof raw === 'object' && (raw as { useCaseRules?: unknown }).useCaseRules === true) {
    const doc = raw as { rules?: unknown[] };
    const merged: unknown[] = Array.isArray(doc.rules) ? [...doc.rules] : [];
    for (const f of fragments) {
      const parsed = PolicyFragment.safeParse(readDocument(f.file, `use case ${f.usecase} policy`));
      if (!parsed.success)
        throw new ConfigError(
          parsed.error.issues.map((i) => `${f.file}: ${i.path.join('.') || '(document)'}: ${i.message}`),
        );
      merged.push(...parsed.data.rules);
    }
    return parsePolicy({ ...doc, rules: merged }, path.basename(file));
  }
  return parsePolicy(raw, path.basename(file));
}

/** Reads a principals file (user → { keys }); a missing file is an empty directory. */
export function readPrincipalsFile(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  const doc = readDocument(file, 'WARDEN_PRINCIPALS_FILE');
  if (doc === null || doc === undefined) return {};
  const principals = (doc as { principals?: unknown }).principals;
  if (!principals || typeof principals !== 'object' || Array.isArray(principals))
    throw new ConfigError([
      `WARDEN_PRINCIPALS_FILE: ${file} must hold a mapping \`principals: { <user>: { keys: [...] } }\``,
    ]);
  return principals as Record<string, unknown>;
}

function withPrincipals(raw: unknown, principalsFile: string): unknown {
  const extra = readPrincipalsFile(principalsFile);
  const doc = (raw ?? {}) as { principals?: Record<string, unknown> };
  const inline = doc.principals ?? {};
  const both = Object.keys(extra).filter((u) => u in inline);
  if (both.length)
    throw new ConfigError([
      `principals ${both.join(', ')} are defined both in the policy and in ${principalsFile}: keep each in one place`,
    ]);
  return { ...doc, principals: { ...inline, ...extra } };
}

/** The policy a worker enforces: WARDEN_POLICY_FILE (or the default) with the enabled use cases' rules and WARDEN_PRINCIPALS_FILE. */
export function loadPolicy(config: WardenConfig): Policy {
  return loadPolicyFile(config.policyFile, useCasePolicyFragments(config), config.principalsFile);
}
