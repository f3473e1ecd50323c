import type { NormalizedAlert } from './alert';

/*
 * Field-by-field grading of a normalized alert against a hand-checked expectation: what the measurement
 * suite and `npm run eval:normalize` share. Pure; no I/O.
 */

/** A hand-checked expectation for one alert (see test/fixtures/alert-normalization-expectations.json). */
export interface NormalizationExpectation {
  source: string;
  users: Array<{ name: string; trusted: boolean }>;
  hosts: Array<{ name: string; trusted: boolean }>;
  deviceIds: string[];
  severity: string;
  vendorSeverity: string | number | null;
  indicators: Array<{ type: string; value: string; trusted: boolean }>;
  note?: string;
}

/** A field's grade. */
export type Grade = 'right' | 'partial' | 'wrong';

/** The fields graded, in report order. */
export const GRADED_FIELDS = ['users', 'hosts', 'deviceIds', 'severity', 'indicators', 'title', 'trust'] as const;
/** A graded field. */
export type GradedField = (typeof GRADED_FIELDS)[number];

/** One alert's grades, with what differed. */
export interface AlertGrades {
  grades: Record<GradedField, Grade>;
  differences: string[];
}

function setGrade(field: string, expected: string[], actual: string[], differences: string[]): Grade {
  const want = new Set(expected.map((v) => v.toLowerCase()));
  const got = new Set(actual.map((v) => v.toLowerCase()));
  const missing = [...want].filter((v) => !got.has(v));
  const extra = [...got].filter((v) => !want.has(v));
  if (missing.length === 0 && extra.length === 0) return 'right';
  differences.push(`${field}: missing [${missing.join(', ')}] extra [${extra.join(', ')}]`);
  const common = [...want].filter((v) => got.has(v)).length;
  return common > 0 ? 'partial' : 'wrong';
}

/** Grades one normalized alert against its expectation. */
export function gradeNormalization(alert: NormalizedAlert, expected: NormalizationExpectation): AlertGrades {
  const differences: string[] = [];
  const users = setGrade(
    'users',
    expected.users.map((u) => u.name),
    alert.assets.users.map((u) => u.name),
    differences,
  );
  const hosts = setGrade(
    'hosts',
    expected.hosts.map((h) => h.name),
    alert.assets.hosts.map((h) => h.hostname),
    differences,
  );
  const deviceIds = setGrade(
    'deviceIds',
    expected.deviceIds,
    alert.assets.hosts.flatMap((h) => (h.deviceId === undefined ? [] : [h.deviceId])),
    differences,
  );
  const severityRight = alert.severity === expected.severity;
  const vendorRight = String(alert.vendorSeverity) === String(expected.vendorSeverity);
  if (!severityRight || !vendorRight)
    differences.push(
      `severity: expected ${expected.severity}/${String(expected.vendorSeverity)}, got ${alert.severity}/${String(alert.vendorSeverity)}`,
    );
  const severity: Grade = severityRight && vendorRight ? 'right' : severityRight || vendorRight ? 'partial' : 'wrong';
  const indicators = setGrade(
    'indicators',
    expected.indicators.map((i) => `${i.type}:${i.value}`),
    alert.observables.map((o) => `${o.type}:${o.value}`),
    differences,
  );
  const fallbackTitle = /^\S+(?: \S+)? alert$/.test(alert.title);
  const title: Grade = alert.title.trim() === '' ? 'wrong' : fallbackTitle ? 'partial' : 'right';
  if (title !== 'right') differences.push(`title: "${alert.title}"`);

  // Trust: over the entities both sides name, does the trusted flag agree?
  const pairs: Array<[string, boolean, boolean]> = [];
  const index = <T>(items: T[], key: (t: T) => string) => new Map(items.map((t) => [key(t).toLowerCase(), t]));
  const gotUsers = index(alert.assets.users, (u) => u.name);
  for (const u of expected.users) {
    const got = gotUsers.get(u.name.toLowerCase());
    if (got) pairs.push([`user ${u.name}`, u.trusted, got.trusted]);
  }
  const gotHosts = index(alert.assets.hosts, (h) => h.hostname);
  for (const h of expected.hosts) {
    const got = gotHosts.get(h.name.toLowerCase());
    if (got) pairs.push([`host ${h.name}`, h.trusted, got.trusted]);
  }
  const gotObs = index(alert.observables, (o) => `${o.type}:${o.value}`);
  for (const i of expected.indicators) {
    const got = gotObs.get(`${i.type}:${i.value}`.toLowerCase());
    if (got) pairs.push([`${i.type} ${i.value}`, i.trusted, got.trusted]);
  }
  const wrongTrust = pairs.filter(([, want, got]) => want !== got);
  for (const [what, want] of wrongTrust) differences.push(`trust: ${what} should be ${want ? 'trusted' : 'untrusted'}`);
  // Claiming trust the expectation withholds is the dangerous direction: any such case is wrong.
  const overTrusted = wrongTrust.some(([, want, got]) => !want && got);
  const trust: Grade = wrongTrust.length === 0 ? 'right' : overTrusted ? 'wrong' : 'partial';

  return { grades: { users, hosts, deviceIds, severity, indicators, title, trust }, differences };
}

/** Totals of grades per field over many alerts. */
export function gradeTotals(all: AlertGrades[]): Record<GradedField, Record<Grade, number>> {
  const totals = Object.fromEntries(GRADED_FIELDS.map((f) => [f, { right: 0, partial: 0, wrong: 0 }])) as Record<
    GradedField,
    Record<Grade, number>
  >;
  for (const a of all) for (const f of GRADED_FIELDS) totals[f][a.grades[f]]++;
  return totals;
}
