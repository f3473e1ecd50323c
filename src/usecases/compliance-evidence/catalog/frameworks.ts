import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { ComplianceSettings } from '../settings';
import type { CheckSpec, FrameworkId, MappingFile as MappingFileType } from './mappings';
import { FRAMEWORK_IDS, MappingFile, ProwlerCompliance, prowlerChecks, prowlerFramework } from './mappings';
import type { BaselineControl } from './oscal';
import { CatalogDocument, ProfileDocument, catalogBaseline, importTarget, resolveProfile } from './oscal';

/** A control of an assessed framework, with the checks that serve it. */
export interface FrameworkControl extends BaselineControl {
  checks: string[];
  attest: boolean;
}

/** A framework as assessed: its controls (a resolved baseline for 800-53, the criteria for SOC 2). */
export interface Framework {
  id: FrameworkId;
  title: string;
  version?: string;
  controls: FrameworkControl[];
  /** Controls the profile selects that the catalog lacks (a partial catalog). */
  missing: string[];
}

/** Every framework to assess and every check's description. */
export interface ControlCatalog {
  frameworks: Framework[];
  checks: Record<string, CheckSpec>;
  /** Files read, for the report (paths as configured). */
  sources: string[];
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the WARDEN_COMPLIANCE_* path settings`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what}: ${file} is not JSON (${(err as Error).message})`);
  }
}

function parseWith<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  value: unknown,
  what: string,
): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new Error(
      `${what}: ${r.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`)
        .join('; ')}`,
    );
  return r.data;
}

/** Reads our mapping file. @throws Error naming the file and the bad entries. */
export function loadMappingFile(file: string): MappingFileType {
  let raw: unknown;
  try {
    raw = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`compliance mapping ${file}: ${(err as Error).message}`);
  }
  return parseWith(MappingFile, raw, `compliance mapping ${file}`);
}

/**
 * The SP 800-53 baseline: the catalog, resolved through the profile when one is set. Every profile
 * import resolves to the configured catalog when that file exists (the published profiles point at
 * paths of the NIST repository layout); otherwise the import's own path, relative to the profile.
 */
export function loadNistBaseline(catalogFile: string, profileFile: string | undefined) {
  const catalogRaw = readJson(catalogFile, 'SP 800-53 catalog');
  const catalog = parseWith(CatalogDocument, catalogRaw, `SP 800-53 catalog ${catalogFile}`);
  if (!profileFile) return catalogBaseline(catalog);
  const profile = parseWith(ProfileDocument, readJson(profileFile, 'SP 800-53 profile'), `profile ${profileFile}`);
  return resolveProfile(profile, (href, from) => {
    if (from === profile) return catalogRaw;
    const target = importTarget(href, from);
    return readJson(path.resolve(path.dirname(profileFile), target), `profile import ${href}`);
  });
}

const SOC2_FAMILY = /^(CC\d+|PI\d+|A\d+|C\d+|P\d+)\./;

/** Assembles the configured frameworks from the catalog, profile, our mapping and Prowler's mappings. */
export function loadControlCatalog(
  s: Pick<ComplianceSettings, 'nistCatalog' | 'nistProfile' | 'prowlerMappings' | 'mappingFile' | 'frameworks'>,
): ControlCatalog {
  const unknown = s.frameworks.filter((f) => !(FRAMEWORK_IDS as readonly string[]).includes(f));
  if (unknown.length)
    throw new Error(
      `WARDEN_COMPLIANCE_FRAMEWORKS: unknown framework ${unknown.join(', ')}; known: ${FRAMEWORK_IDS.join(', ')}`,
    );
  const mapping = loadMappingFile(s.mappingFile);
  const prowler = new Map<FrameworkId, Map<string, string[]>>();
  for (const file of s.prowlerMappings) {
    const doc = parseWith(ProwlerCompliance, readJson(file, 'Prowler compliance file'), `Prowler compliance ${file}`);
    const fw = prowlerFramework(doc);
    if (!fw) continue; // a framework we do not assess (CIS, ISO …): its checks still serve others through ours
    const into = prowler.get(fw) ?? new Map<string, string[]>();
    for (const [id, checks] of prowlerChecks(doc)) into.set(id, [...new Set([...(into.get(id) ?? []), ...checks])]);
    prowler.set(fw, into);
  }
  const checksFor = (fw: FrameworkId, id: string, own: string[]) => [
    ...new Set([...own, ...(prowler.get(fw)?.get(id) ?? [])]),
  ];
  const frameworks: Framework[] = [];
  const sources = [s.mappingFile, ...s.prowlerMappings];
  if (s.frameworks.includes('nist-800-53-rev5')) {
    const baseline = loadNistBaseline(s.nistCatalog, s.nistProfile);
    sources.push(s.nistCatalog, ...(s.nistProfile ? [s.nistProfile] : []));
    const own = mapping.frameworks['nist-800-53-rev5'].controls;
    frameworks.push({
      id: 'nist-800-53-rev5',
      title: baseline.title,
      ...(baseline.version ? { version: baseline.version } : {}),
      missing: baseline.missing,
      controls: baseline.controls.map((c) => ({
        ...c,
        checks: checksFor('nist-800-53-rev5', c.id, own[c.id]?.checks ?? []),
        attest: own[c.id]?.attest ?? false,
      })),
    });
  }
  if (s.frameworks.includes('soc2')) {
    const own = mapping.frameworks.soc2;
    const ids = new Set([...Object.keys(own.controls), ...(prowler.get('soc2')?.keys() ?? [])]);
    const order = (id: string) => id.replace(/\d+/g, (d) => d.padStart(3, '0'));
    frameworks.push({
      id: 'soc2',
      title: own.title,
      missing: [],
      controls: [...ids]
        .sort((a, b) => order(a).localeCompare(order(b)))
        .map((id) => {
          const family = SOC2_FAMILY.exec(id)?.[1] ?? id;
          return {
            id,
            label: id,
            // Our own summary, never the AICPA criterion text (see SOURCES of the shared data).
            title: own.controls[id]?.summary ?? `Trust Services Criterion ${id}`,
            family,
            familyTitle: own.families[family] ?? family,
            checks: checksFor('soc2', id, own.controls[id]?.checks ?? []),
            attest: own.controls[id]?.attest ?? false,
          };
        }),
    });
  }
  return { frameworks, checks: mapping.checks, sources };
}
