import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CheckResult, EvidenceItem } from '../evidence/model';
import type { Collected, CollectorDeps } from './collector-tool';
import { defineCollector } from './collector-tool';

/*
 * Cloud posture from Prowler's OCSF output (`prowler <provider> -M json-ocsf`): a JSON array (or NDJSON)
 * of OCSF Detection Findings (class_uid 2004), one per check and resource, with status_code PASS, FAIL
 * or MANUAL and the check id in metadata.event_code.
 */

/** The fields of a Prowler OCSF finding that Warden reads. */
export const ProwlerOcsfFinding = z
  .object({
    metadata: z.object({ event_code: z.string().min(1) }).loose(),
    status_code: z.string(),
    status_detail: z.string().optional(),
    severity: z.string().optional(),
    finding_info: z.object({ uid: z.string().optional(), title: z.string().optional() }).loose().optional(),
    resources: z.array(z.object({ uid: z.string().optional(), name: z.string().optional() }).loose()).optional(),
    cloud: z
      .object({ provider: z.string().optional(), account: z.object({ uid: z.string().optional() }).loose().optional() })
      .loose()
      .optional(),
    remediation: z.object({ desc: z.string().optional() }).loose().optional(),
  })
  .loose();
/** A Prowler OCSF finding. */
export type ProwlerOcsfFinding = z.infer<typeof ProwlerOcsfFinding>;

/** The newest `*.ocsf.json` in a folder, or the file itself. @throws Error when there is none. */
export function prowlerOutputFile(p: string): string {
  const stat = fs.statSync(p, { throwIfNoEntry: false });
  if (!stat) throw new Error(`prowler: ${p} does not exist; set WARDEN_COMPLIANCE_PROWLER_OUTPUT to Prowler's output`);
  if (stat.isFile()) return p;
  const files = fs
    .readdirSync(p)
    .filter((f) => f.endsWith('.ocsf.json'))
    .map((f) => ({ f: path.join(p, f), t: fs.statSync(path.join(p, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  if (!files[0]) throw new Error(`prowler: no *.ocsf.json in ${p}; run prowler with -M json-ocsf`);
  return files[0].f;
}

/** Parses Prowler OCSF output (JSON array or NDJSON). @throws Error naming the first bad finding. */
export function parseProwlerOcsf(text: string): ProwlerOcsfFinding[] {
  const trimmed = text.trim();
  const raw: unknown[] = trimmed.startsWith('[')
    ? (JSON.parse(trimmed) as unknown[])
    : trimmed
        .split(/\r?\n/)
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as unknown);
  return raw.map((r, i) => {
    const f = ProwlerOcsfFinding.safeParse(r);
    if (!f.success)
      throw new Error(
        `prowler: finding ${i} is not an OCSF Detection Finding from Prowler (${f.error.issues[0]?.message})`,
      );
    return f.data;
  });
}

const statusOf = (code: string): 'PASS' | 'FAIL' | 'MANUAL' => {
  const c = code.toUpperCase();
  return c === 'PASS' || c === 'FAIL' ? c : 'MANUAL';
};

/** Evidence items (one per finding) and check results (one per Prowler check id). */
export function prowlerEvidence(findings: ProwlerOcsfFinding[], collectedAt: string): Collected {
  const items: EvidenceItem[] = [];
  const byCheck = new Map<string, { item: EvidenceItem; status: 'PASS' | 'FAIL' | 'MANUAL'; subject: string }[]>();
  const used = new Set<string>();
  for (const f of findings) {
    const check = f.metadata.event_code;
    const subject = f.resources?.[0]?.uid ?? f.resources?.[0]?.name ?? f.cloud?.account?.uid ?? 'account';
    let id = `prowler:${check}:${subject}`.slice(0, 280);
    for (let n = 2; used.has(id); n++) id = `prowler:${check}:${subject}#${n}`.slice(0, 290);
    used.add(id);
    const item: EvidenceItem = { id, source: 'prowler', kind: 'finding', subject, collectedAt, data: f as never };
    items.push(item);
    byCheck.set(check, [...(byCheck.get(check) ?? []), { item, status: statusOf(f.status_code), subject }]);
  }
  const checks: CheckResult[] = [...byCheck].map(([checkId, rows]) => {
    const failed = rows.filter((r) => r.status === 'FAIL');
    const passed = rows.filter((r) => r.status === 'PASS');
    const status = failed.length ? 'fail' : passed.length === rows.length ? 'pass' : 'manual';
    return {
      checkId: checkId.replace(/[^a-z0-9_]/gi, '_').toLowerCase(),
      source: 'prowler',
      status,
      summary:
        status === 'manual'
          ? `Prowler marks ${checkId} for manual review (${rows.length - passed.length - failed.length} finding(s))`
          : `Prowler ${checkId}: ${failed.length} of ${rows.length} resource(s) fail`,
      passed: passed.length,
      failed: failed.length,
      total: rows.length,
      evidenceIds: rows.map((r) => r.item.id),
      failing: failed.slice(0, 50).map((r) => r.subject),
    };
  });
  return { items, checks };
}

/** `compliance_collect_prowler`: reads the configured Prowler OCSF output. */
export function createProwlerCollector(outputPath: string, deps: CollectorDeps) {
  return defineCollector(
    {
      name: 'compliance_collect_prowler',
      description: 'Reads cloud posture findings from Prowler OCSF JSON output (the configured file or folder).',
      source: 'prowler',
      input: z.object({}).strict(),
      capabilities: [],
      summarize: () => 'prowler: read OCSF findings',
      collect(_args, _ctx, now) {
        const file = prowlerOutputFile(outputPath);
        return Promise.resolve(prowlerEvidence(parseProwlerOcsf(fs.readFileSync(file, 'utf8')), now.toISOString()));
      },
    },
    deps,
  );
}
