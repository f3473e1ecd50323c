import { z } from 'zod';
import type { ControlCatalog } from '../catalog/frameworks';
import type { CheckResult, CheckStatus } from '../evidence/model';

/*
 * Scoring, pure: each control gets pass / fail / partial / needs-human from the checks mapped to it, with
 * the evidence that decided. Deterministic checks decide where they can; a control marked for attestation,
 * or with no automated evidence, or whose evidence a source marks for manual review, needs a human.
 */

/** A control's outcome. */
export const ControlStatus = z.enum(['pass', 'fail', 'partial', 'needs-human']);
/** A control's outcome. */
export type ControlStatus = z.infer<typeof ControlStatus>;

/** How a check came out across every source that evaluated it. */
export interface CombinedCheck {
  checkId: string;
  status: CheckStatus;
  results: CheckResult[];
}

/** What decided a control. */
export type DecidedBy = 'checks' | 'no-evidence' | 'manual-review' | 'attestation-required' | 'human-attestation';

/** One control's result with the evidence that decided it. */
export interface ControlResult {
  framework: string;
  controlId: string;
  label: string;
  title: string;
  family: string;
  familyTitle: string;
  status: ControlStatus;
  decidedBy: DecidedBy;
  reason: string;
  attest: boolean;
  /** Mapped checks and how each came out (`missing` when no source evaluated it). */
  checks: { checkId: string; status: CheckStatus | 'missing'; summary: string; failing: string[] }[];
  /** Evidence item ids behind the evaluated checks. */
  evidenceIds: string[];
  /** What to do, from the failing checks' remediation. */
  remediation: string[];
  attestedBy?: string[];
}

/** Combines per-source results of the same check: any fail fails; all pass passes; else manual (error if none evaluated). */
export function combineChecks(results: CheckResult[]): Map<string, CombinedCheck> {
  const by = new Map<string, CheckResult[]>();
  for (const r of results) by.set(r.checkId, [...(by.get(r.checkId) ?? []), r]);
  const out = new Map<string, CombinedCheck>();
  for (const [checkId, rs] of by) {
    const st = rs.map((r) => r.status);
    const status: CheckStatus = st.includes('fail')
      ? 'fail'
      : st.every((s) => s === 'pass')
        ? 'pass'
        : st.every((s) => s === 'error')
          ? 'error'
          : st.includes('manual')
            ? 'manual'
            : 'pass';
    out.set(checkId, { checkId, status, results: rs.filter((r) => r.status !== 'error' || status === 'error') });
  }
  return out;
}

/** Scores every control of every framework in the catalog against the collected check results. */
export function scoreControls(catalog: ControlCatalog, results: CheckResult[]): ControlResult[] {
  const combined = combineChecks(results);
  const out: ControlResult[] = [];
  for (const fw of catalog.frameworks) {
    for (const c of fw.controls) {
      const checks = c.checks.map((id) => {
        const got = combined.get(id);
        return {
          checkId: id,
          status: got?.status ?? ('missing' as const),
          summary: got
            ? got.results.map((r) => `${r.source}: ${r.summary}`).join('; ')
            : 'not evaluated by any configured source',
          failing: got ? got.results.flatMap((r) => r.failing).slice(0, 50) : [],
        };
      });
      const evaluated = checks.filter((k) => k.status === 'pass' || k.status === 'fail');
      const manual = checks.filter((k) => k.status === 'manual');
      const failed = evaluated.filter((k) => k.status === 'fail');
      const evidenceIds = [
        ...new Set(
          c.checks.flatMap((id) => {
            const got = combined.get(id);
            return got && got.status !== 'error' ? got.results.flatMap((r) => r.evidenceIds) : [];
          }),
        ),
      ];
      const remediation = [...new Set(failed.map((k) => catalog.checks[k.checkId]?.remediation ?? `fix ${k.checkId}`))];
      let status: ControlStatus;
      let decidedBy: DecidedBy;
      let reason: string;
      if (c.attest) {
        status = 'needs-human';
        decidedBy = 'attestation-required';
        reason = 'marked for attestation: a person must attest it with the evidence attached';
      } else if (!c.checks.length) {
        status = 'needs-human';
        decidedBy = 'no-evidence';
        reason = 'no automated check is mapped to this control';
      } else if (!evaluated.length && !manual.length) {
        status = 'needs-human';
        decidedBy = 'no-evidence';
        reason = `none of its ${c.checks.length} mapped check(s) was evaluated by a configured source`;
      } else if (failed.length && failed.length < evaluated.length) {
        status = 'partial';
        decidedBy = 'checks';
        reason = `${failed.length} of ${evaluated.length} evaluated check(s) fail`;
      } else if (failed.length) {
        status = 'fail';
        decidedBy = 'checks';
        reason = `every evaluated check fails (${failed.map((k) => k.checkId).join(', ')})`;
      } else if (manual.length) {
        status = 'needs-human';
        decidedBy = 'manual-review';
        reason = `${evaluated.length} check(s) pass, ${manual.length} need manual review (${manual.map((k) => k.checkId).join(', ')})`;
      } else {
        status = 'pass';
        decidedBy = 'checks';
        reason = `all ${evaluated.length} evaluated check(s) pass`;
      }
      out.push({
        framework: fw.id,
        controlId: c.id,
        label: c.label,
        title: c.title,
        family: c.family,
        familyTitle: c.familyTitle,
        status,
        decidedBy,
        reason,
        attest: c.attest,
        checks,
        evidenceIds,
        remediation,
      });
    }
  }
  return out;
}

/** Counts by status, per framework. */
export function totals(controls: ControlResult[]): Record<string, Record<ControlStatus, number>> {
  const out: Record<string, Record<ControlStatus, number>> = {};
  for (const c of controls) {
    const t = (out[c.framework] ??= { pass: 0, fail: 0, partial: 0, 'needs-human': 0 });
    t[c.status]++;
  }
  return out;
}

/** Counts by status per family of one framework, in first-seen order. */
export function familyTotals(controls: ControlResult[], framework: string) {
  const out = new Map<string, { family: string; title: string } & Record<ControlStatus, number>>();
  for (const c of controls.filter((x) => x.framework === framework)) {
    const f = out.get(c.family) ?? {
      family: c.family,
      title: c.familyTitle,
      pass: 0,
      fail: 0,
      partial: 0,
      'needs-human': 0,
    };
    f[c.status]++;
    out.set(c.family, f);
  }
  return [...out.values()];
}
