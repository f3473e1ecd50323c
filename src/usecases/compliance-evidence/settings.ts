import path from 'node:path';
import { z } from 'zod';
import type { SettingsTable } from '../contract';

/*
 * Settings of the compliance-evidence use case (zod only, so configuration can read them without loading
 * the use case). Paths are where the deployment keeps its sources; nothing a run's input says can point a
 * collector elsewhere.
 */

/** Where the bundled sample catalog, mappings and sample sources live. */
export const SAMPLE_DIR = path.join(__dirname, 'sample-catalog');

const days = z.coerce.number().int().min(1).max(3650);
const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const githubRepo = z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(@[^\s@]+)?$/, 'owner/repo or owner/repo@branch');

/** Settings by environment-variable name. */
export const settings: SettingsTable = {
  WARDEN_COMPLIANCE_CATALOG_DIR: {
    schema: z.string().min(1).optional(),
    doc: 'Folder with the real control catalogs and mappings (OSCAL SP 800-53 catalog + profile, Prowler compliance JSON). File settings below are relative to it. Unset: the bundled sample catalog.',
  },
  WARDEN_COMPLIANCE_NIST_CATALOG: {
    schema: z.string().min(1).optional(),
    doc: 'OSCAL SP 800-53 rev5 catalog JSON (the full catalog or a resolved baseline catalog). Default: sample-catalog/sample-800-53-catalog.json.',
  },
  WARDEN_COMPLIANCE_NIST_PROFILE: {
    schema: z.string().min(1).optional(),
    doc: 'OSCAL profile JSON selecting the baseline (e.g. NIST_SP-800-53_rev5_MODERATE-baseline_profile.json); its imports resolve to WARDEN_COMPLIANCE_NIST_CATALOG. Unset: every control of the catalog.',
  },
  WARDEN_COMPLIANCE_PROWLER_MAPPINGS: {
    schema: csv.optional(),
    doc: 'Comma-separated Prowler compliance files (prowler/compliance/<provider>/*.json) whose control → check mappings are merged into ours; a SOC2 file also defines the SOC 2 criteria.',
  },
  WARDEN_COMPLIANCE_MAPPING_FILE: {
    schema: z.string().min(1).optional(),
    doc: 'Our control → evidence-check mapping (YAML). Default: the bundled checks.yaml.',
  },
  WARDEN_COMPLIANCE_FRAMEWORKS: {
    schema: csv.default(['nist-800-53-rev5', 'soc2']),
    doc: 'Frameworks to assess: nist-800-53-rev5, soc2.',
  },
  WARDEN_COMPLIANCE_PROWLER_OUTPUT: {
    schema: z.string().min(1).optional(),
    doc: 'Prowler OCSF JSON output (`prowler aws -M json-ocsf`): a file or the output folder (newest *.ocsf.json). Default: the bundled sample.',
  },
  WARDEN_COMPLIANCE_CREDENTIAL_REPORT: {
    schema: z.string().min(1).optional(),
    doc: 'AWS IAM credential report (CSV, or the JSON of `aws iam get-credential-report`). Default: the bundled sample.',
  },
  WARDEN_COMPLIANCE_GITHUB_API_URL: {
    schema: z.url().default('https://api.github.com'),
    doc: 'GitHub REST API base URL (GitHub Enterprise: https://<host>/api/v3).',
  },
  WARDEN_COMPLIANCE_GITHUB_REPOS: {
    schema: csv.pipe(z.array(githubRepo)).optional(),
    doc: 'Repositories whose branch protection is evidence: owner/repo or owner/repo@branch (default branch otherwise). Secret: github.api_token. Unset: the GitHub collector reports it is not configured.',
  },
  WARDEN_COMPLIANCE_STALE_DAYS: {
    schema: days.default(90),
    doc: 'An active account without a sign-in for this many days is stale (Okta, IAM console/keys).',
  },
  WARDEN_COMPLIANCE_KEY_ROTATION_DAYS: {
    schema: days.default(90),
    doc: 'Access keys older than this fail iam_rotate_access_key_90_days.',
  },
  WARDEN_COMPLIANCE_DRILL_MAX_AGE_DAYS: {
    schema: days.default(90),
    doc: 'A kill-switch drill (engaged, then released) must have happened within this many days.',
  },
  WARDEN_COMPLIANCE_REQUIRED_REVIEWS: {
    schema: z.coerce.number().int().min(1).max(6).default(1),
    doc: 'Minimum required approving reviews on protected branches.',
  },
  WARDEN_COMPLIANCE_EVIDENCE_DIR: {
    schema: z.string().min(1).optional(),
    doc: 'Where evidence bundles, assessments, reports and drift events are kept (a shared volume for a worker fleet). Default: <WARDEN_DATA_DIR>/compliance.',
  },
  WARDEN_COMPLIANCE_SCHEDULE: {
    schema: z.string().min(9).default('0 6 * * *'),
    doc: 'Cron (UTC) of the continuous collection schedule.',
  },
};

/** The settings as the use case's code reads them. */
export interface ComplianceSettings {
  catalogDir: string | undefined;
  nistCatalog: string;
  nistProfile: string | undefined;
  prowlerMappings: string[];
  mappingFile: string;
  frameworks: string[];
  prowlerOutput: string;
  credentialReport: string;
  githubApiUrl: string;
  githubRepos: string[];
  staleDays: number;
  keyRotationDays: number;
  drillMaxAgeDays: number;
  requiredReviews: number;
  evidenceDir: string;
  oktaBaseUrl: string | undefined;
  schedule: string;
}

/**
 * Parses raw values (environment strings, or values the core already parsed) into {@link ComplianceSettings}.
 * @throws Error naming every bad setting and what it must be.
 */
export function parseComplianceSettings(
  raw: Record<string, unknown>,
  core: { dataDir: string; oktaBaseUrl?: string | undefined },
): ComplianceSettings {
  const v: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(settings)) {
    const value = raw[name];
    // Already-parsed values (arrays, numbers) pass through; strings are parsed by the schema.
    const parsed = spec.schema.safeParse(value === '' ? undefined : value);
    if (parsed.success) v[name] = parsed.data;
    else if (Array.isArray(value) || typeof value === 'number') v[name] = value;
    else problems.push(`${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length) throw new Error(`invalid compliance settings: ${problems.join(' | ')}`);
  const dir = v.WARDEN_COMPLIANCE_CATALOG_DIR as string | undefined;
  const inCatalog = (file: string | undefined, fallback: string) =>
    file ? path.resolve(dir ?? '.', file) : path.join(SAMPLE_DIR, fallback);
  return {
    catalogDir: dir,
    nistCatalog: inCatalog(v.WARDEN_COMPLIANCE_NIST_CATALOG as string | undefined, 'sample-800-53-catalog.json'),
    nistProfile: dir
      ? v.WARDEN_COMPLIANCE_NIST_PROFILE
        ? path.resolve(dir, v.WARDEN_COMPLIANCE_NIST_PROFILE as string)
        : undefined
      : v.WARDEN_COMPLIANCE_NIST_PROFILE
        ? path.resolve(v.WARDEN_COMPLIANCE_NIST_PROFILE as string)
        : path.join(SAMPLE_DIR, 'sample-800-53-profile.json'),
    prowlerMappings: ((v.WARDEN_COMPLIANCE_PROWLER_MAPPINGS as string[] | undefined) ?? []).map((f) =>
      path.resolve(dir ?? '.', f),
    ),
    mappingFile: inCatalog(v.WARDEN_COMPLIANCE_MAPPING_FILE as string | undefined, 'checks.yaml'),
    frameworks: v.WARDEN_COMPLIANCE_FRAMEWORKS as string[],
    prowlerOutput: v.WARDEN_COMPLIANCE_PROWLER_OUTPUT
      ? path.resolve(v.WARDEN_COMPLIANCE_PROWLER_OUTPUT as string)
      : path.join(SAMPLE_DIR, 'sources', 'prowler-output.ocsf.json'),
    credentialReport: v.WARDEN_COMPLIANCE_CREDENTIAL_REPORT
      ? path.resolve(v.WARDEN_COMPLIANCE_CREDENTIAL_REPORT as string)
      : path.join(SAMPLE_DIR, 'sources', 'credential-report.csv'),
    githubApiUrl: v.WARDEN_COMPLIANCE_GITHUB_API_URL as string,
    githubRepos: (v.WARDEN_COMPLIANCE_GITHUB_REPOS as string[] | undefined) ?? [],
    staleDays: v.WARDEN_COMPLIANCE_STALE_DAYS as number,
    keyRotationDays: v.WARDEN_COMPLIANCE_KEY_ROTATION_DAYS as number,
    drillMaxAgeDays: v.WARDEN_COMPLIANCE_DRILL_MAX_AGE_DAYS as number,
    requiredReviews: v.WARDEN_COMPLIANCE_REQUIRED_REVIEWS as number,
    evidenceDir: path.resolve(
      (v.WARDEN_COMPLIANCE_EVIDENCE_DIR as string | undefined) ?? path.join(core.dataDir, 'compliance'),
    ),
    oktaBaseUrl: core.oktaBaseUrl,
    schedule: v.WARDEN_COMPLIANCE_SCHEDULE as string,
  };
}
