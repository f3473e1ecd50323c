import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../../audit';

/*
 * Evidence as collected: items (one subject each: a finding, a user, a branch, a ledger check) and the
 * check results they decided. A collector writes them as one bundle; workflow payloads carry only a
 * summary and hashes (large payloads stay out of history).
 */

/** How one check came out in one source. `manual`: the source says a person must judge; `error`: not evaluated. */
export const CheckStatus = z.enum(['pass', 'fail', 'manual', 'error']);
/** How one check came out. */
export type CheckStatus = z.infer<typeof CheckStatus>;

/** One piece of evidence: what was seen about one subject, when, from which source. */
export const EvidenceItem = z.object({
  /** Unique within the run: `<source>:<subject kind>:<subject>`. */
  id: z.string().min(1).max(300),
  source: z.string().min(1),
  kind: z.string().min(1),
  subject: z.string(),
  collectedAt: z.string(),
  data: z.json(),
});
/** One piece of evidence. */
export type EvidenceItem = z.infer<typeof EvidenceItem>;

/** A check's outcome in one source, with the evidence that decided it. */
export const CheckResult = z.object({
  checkId: z.string().regex(/^[a-z0-9_]+$/),
  source: z.string().min(1),
  status: CheckStatus,
  /** One sentence a person can read: what was found. */
  summary: z.string().max(2000),
  passed: z.number().int().min(0),
  failed: z.number().int().min(0),
  total: z.number().int().min(0),
  evidenceIds: z.array(z.string()),
  /** Subjects that failed (capped), for the report's remediation list. */
  failing: z.array(z.string()).default([]),
});
/** A check's outcome in one source. */
export type CheckResult = z.infer<typeof CheckResult>;

/** What one collector call stored. */
export const EvidenceBundle = z.object({
  version: z.literal(1),
  workflowId: z.string(),
  stepId: z.string(),
  callId: z.string(),
  source: z.string(),
  collectedAt: z.string(),
  items: z.array(EvidenceItem),
  checks: z.array(CheckResult),
});
/** What one collector call stored. */
export type EvidenceBundle = z.infer<typeof EvidenceBundle>;

/** What a collector tool returns: small, for workflow history; the bundle holds the rest. */
export const CollectionSummary = z.object({
  source: z.string(),
  collectedAt: z.string(),
  /** Bundle file name within the run's evidence folder. */
  bundle: z.string().regex(/^[a-z0-9_-]+\.json$/),
  bundleSha256: z.string().regex(/^[0-9a-f]{64}$/),
  items: z.number().int().min(0),
  checks: z.array(
    CheckResult.pick({ checkId: true, status: true, summary: true, passed: true, failed: true, total: true }),
  ),
  /** Ledger sequence numbers of the `compliance.evidence` records holding the item hashes. */
  ledgerSeqs: z.array(z.number().int()),
});
/** What a collector tool returns. */
export type CollectionSummary = z.infer<typeof CollectionSummary>;

/** sha256 (hex) over the RFC 8785 canonical JSON of a value: the hash an auditor recomputes. */
export function evidenceHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** Builds a check result from per-subject outcomes: pass when every subject passes (and there is one). */
export function checkFromSubjects(
  checkId: string,
  source: string,
  subjects: { evidenceId: string; subject: string; ok: boolean }[],
  describe: (failed: number, total: number) => string,
  empty: { status: CheckStatus; summary: string } = { status: 'manual', summary: 'no subjects to evaluate' },
): CheckResult {
  const failedSubjects = subjects.filter((s) => !s.ok);
  if (!subjects.length)
    return { checkId, source, ...empty, passed: 0, failed: 0, total: 0, evidenceIds: [], failing: [] };
  return {
    checkId,
    source,
    status: failedSubjects.length ? 'fail' : 'pass',
    summary: describe(failedSubjects.length, subjects.length),
    passed: subjects.length - failedSubjects.length,
    failed: failedSubjects.length,
    total: subjects.length,
    evidenceIds: subjects.map((s) => s.evidenceId),
    failing: failedSubjects.slice(0, 50).map((s) => s.subject),
  };
}
