import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import type { EvidenceItem } from '../evidence/model';
import { checkFromSubjects } from '../evidence/model';
import type { Collected, CollectorDeps } from './collector-tool';
import { defineCollector } from './collector-tool';

/*
 * The AWS IAM credential report (GenerateCredentialReport / GetCredentialReport): a CSV with one row per
 * IAM user and `<root_account>`, columns as AWS documents them (user, arn, password_enabled,
 * password_last_used, mfa_active, access_key_N_active, access_key_N_last_rotated,
 * access_key_N_last_used_date, …; N/A, no_information and not_supported as AWS writes them). Accepted as
 * the CSV or as the JSON `aws iam get-credential-report` prints (base64 Content). Checks carry Prowler's
 * check ids, so they serve the same controls Prowler's mappings name.
 */

/** The columns Warden needs; AWS's report has more. */
const REQUIRED = ['user', 'arn', 'password_enabled', 'mfa_active', 'access_key_1_active', 'access_key_2_active'];

/** One row of the credential report, as AWS writes it (strings). */
export type CredentialReportRow = Record<string, string>;

const GetCredentialReportOutput = z.object({ Content: z.string().min(1), ReportFormat: z.string().optional() }).loose();

/** Parses the report (CSV, or the JSON of `aws iam get-credential-report`). @throws Error saying what is missing. */
export function parseCredentialReport(text: string): CredentialReportRow[] {
  let csv = text;
  if (text.trim().startsWith('{')) {
    const out = GetCredentialReportOutput.safeParse(JSON.parse(text));
    if (!out.success)
      throw new Error('credential report: JSON without Content; expected `aws iam get-credential-report` output');
    csv = Buffer.from(out.data.Content, 'base64').toString('utf8');
  }
  const rows = parse<CredentialReportRow>(csv, { columns: true, skip_empty_lines: true, trim: true });
  const missing = REQUIRED.filter((c) => !(c in (rows[0] ?? {})));
  if (!rows.length || missing.length)
    throw new Error(
      `credential report: not an IAM credential report (missing columns: ${missing.join(', ') || 'all rows'})`,
    );
  return rows;
}

const isTrue = (v: string | undefined) => v?.toLowerCase() === 'true';
function dateOf(v: string | undefined): number | undefined {
  if (!v || ['n/a', 'no_information', 'not_supported'].includes(v.toLowerCase())) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** Evidence (one item per user row) and the checks it decides. */
export function credentialReportEvidence(
  rows: CredentialReportRow[],
  opts: { now: Date; staleDays: number; keyRotationDays: number },
): Collected {
  const collectedAt = opts.now.toISOString();
  const dayMs = 86_400_000;
  const within = (t: number | undefined, days: number) => t !== undefined && opts.now.getTime() - t <= days * dayMs;
  const items: EvidenceItem[] = rows.map((r) => ({
    id: `aws-credential-report:user:${r.arn || r.user}`,
    source: 'aws-credential-report',
    kind: 'iam-user',
    subject: r.user ?? '',
    collectedAt,
    data: r,
  }));
  const subject = (r: CredentialReportRow, i: number, ok: boolean) => ({
    evidenceId: items[i]!.id,
    subject: r.user!,
    ok,
  });
  const root = rows.map((r, i) => [r, i] as const).filter(([r]) => r.user === '<root_account>');
  const users = rows.map((r, i) => [r, i] as const).filter(([r]) => r.user !== '<root_account>');
  const keys = (r: CredentialReportRow) =>
    [1, 2]
      .filter((n) => isTrue(r[`access_key_${n}_active`]))
      .map((n) => ({
        rotated: dateOf(r[`access_key_${n}_last_rotated`]),
        used: dateOf(r[`access_key_${n}_last_used_date`]),
      }));
  const src = 'aws-credential-report';
  const checks = [
    checkFromSubjects(
      'iam_root_mfa_enabled',
      src,
      root.map(([r, i]) => subject(r, i, isTrue(r.mfa_active))),
      (f) => (f ? 'the root account has no MFA device' : 'the root account has MFA'),
      { status: 'error', summary: 'the report has no <root_account> row' },
    ),
    checkFromSubjects(
      'iam_no_root_access_key',
      src,
      root.map(([r, i]) => subject(r, i, keys(r).length === 0)),
      (f) => (f ? 'the root account has an active access key' : 'the root account has no active access key'),
      { status: 'error', summary: 'the report has no <root_account> row' },
    ),
    checkFromSubjects(
      'iam_user_mfa_enabled_console_access',
      src,
      users.filter(([r]) => isTrue(r.password_enabled)).map(([r, i]) => subject(r, i, isTrue(r.mfa_active))),
      (f, t) => `${f} of ${t} IAM user(s) with console access have no MFA`,
      { status: 'pass', summary: 'no IAM user has console access' },
    ),
    checkFromSubjects(
      'iam_rotate_access_key_90_days',
      src,
      users
        .filter(([r]) => keys(r).length)
        .map(([r, i]) =>
          subject(
            r,
            i,
            keys(r).every((k) => within(k.rotated, opts.keyRotationDays)),
          ),
        ),
      (f, t) => `${f} of ${t} IAM user(s) have an active access key older than ${opts.keyRotationDays} days`,
      { status: 'pass', summary: 'no IAM user has an active access key' },
    ),
    checkFromSubjects(
      'iam_user_accesskey_unused',
      src,
      users
        .filter(([r]) => keys(r).length)
        .map(([r, i]) =>
          subject(
            r,
            i,
            keys(r).every((k) => within(k.used ?? k.rotated, opts.staleDays)),
          ),
        ),
      (f, t) => `${f} of ${t} IAM user(s) have an active access key unused for ${opts.staleDays}+ days`,
      { status: 'pass', summary: 'no IAM user has an active access key' },
    ),
    checkFromSubjects(
      'iam_user_console_access_unused',
      src,
      users
        .filter(([r]) => isTrue(r.password_enabled))
        .map(([r, i]) =>
          subject(r, i, within(dateOf(r.password_last_used) ?? dateOf(r.user_creation_time), opts.staleDays)),
        ),
      (f, t) => `${f} of ${t} IAM user(s) with console access have not signed in for ${opts.staleDays}+ days`,
      { status: 'pass', summary: 'no IAM user has console access' },
    ),
  ];
  return { items, checks };
}

/** `compliance_collect_aws_credential_report`: reads the configured credential report. */
export function createCredentialReportCollector(
  reportPath: string,
  opts: { staleDays: number; keyRotationDays: number },
  deps: CollectorDeps,
) {
  return defineCollector(
    {
      name: 'compliance_collect_aws_credential_report',
      description:
        'Reads the AWS IAM credential report (CSV) and checks root MFA, root keys, user MFA, key age and use.',
      source: 'aws-credential-report',
      input: z.object({}).strict(),
      capabilities: [],
      summarize: () => 'aws: read IAM credential report',
      collect(_args, _ctx, now) {
        let text: string;
        try {
          text = fs.readFileSync(reportPath, 'utf8');
        } catch (err) {
          throw new Error(
            `credential report: cannot read ${reportPath} (${(err as NodeJS.ErrnoException).code ?? String(err)}); set WARDEN_COMPLIANCE_CREDENTIAL_REPORT`,
          );
        }
        return Promise.resolve(credentialReportEvidence(parseCredentialReport(text), { now, ...opts }));
      },
    },
    deps,
  );
}
