import { z } from 'zod';
import { defineTool } from '../../../tools/types';
import type { ControlCatalog } from '../catalog/frameworks';
import type { CheckResult } from '../evidence/model';
import { evidenceHash } from '../evidence/model';
import type { EvidenceStore } from '../evidence/store';
import { callRef } from '../evidence/store';
import type { ControlResult } from './score';
import { ControlStatus, scoreControls, totals } from './score';

/** The scored assessment of a run, as stored (`assessed.json`, then `assessment.json` once reported). */
export interface Assessment {
  version: 1;
  workflowId: string;
  assessedAt: string;
  completedAt?: string;
  frameworks: { id: string; title: string; version?: string; controls: number; missing: number }[];
  /** Sources that yielded evidence, and those that were unavailable (with why). */
  sources: { source: string; bundle: string; bundleSha256: string; items: number; collectedAt: string }[];
  unavailable: { source: string; error: string }[];
  checks: CheckResult[];
  /** Every evidence item of the run: id → sha256, source, bundle. */
  evidence: Record<string, { sha256: string; source: string; bundle: string; subject: string }>;
  controls: ControlResult[];
  checkTitles: Record<string, { title: string; remediation: string }>;
}

/** A collector step that failed (`onError: continue` records its error in place of its output). */
const FailedCollection = z
  .object({
    source: z.string().optional(),
    error: z.object({ type: z.string().optional(), message: z.string().optional() }).loose(),
  })
  .loose();
/** A collector's output: the evidence bundle it stored, by name and digest. */
const StoredCollection = z.object({ source: z.string(), bundle: z.string(), bundleSha256: z.string() }).loose();
const Collection = z.union([StoredCollection, FailedCollection, z.null()]);

/** Arguments of `compliance_assess`: the collectors' outputs (or their errors), as the playbook passes them. */
export const AssessInput = z.object({
  collections: z.array(Collection).min(1).max(20),
  /** Controls handed to the narrator (partial or needs-human with evidence). @default 10 */
  maxJudgement: z.number().int().min(0).max(50).default(10),
});

/** A control as the narrator and the attestation approval see it: small. */
const ControlBrief = z.object({
  framework: z.string(),
  controlId: z.string(),
  title: z.string(),
  status: ControlStatus,
  reason: z.string(),
  checks: z.array(z.object({ checkId: z.string(), status: z.string(), summary: z.string() })),
  evidence: z.array(z.object({ id: z.string(), sha256: z.string() })),
});

/** What `compliance_assess` returns: totals and the controls that need people, never the whole assessment. */
export const AssessOutput = z.object({
  assessment: z.object({ name: z.literal('assessed.json'), sha256: z.string() }),
  totals: z.record(z.string(), z.record(ControlStatus, z.number())),
  judgement: z.array(ControlBrief),
  attest: z.array(ControlBrief),
  unavailable: z.array(z.object({ source: z.string(), error: z.string() })),
});
/** What `compliance_assess` returns. */
export type AssessOutput = z.infer<typeof AssessOutput>;

function brief(c: ControlResult, a: Assessment, maxEvidence: number): z.infer<typeof ControlBrief> {
  return {
    framework: c.framework,
    controlId: c.controlId,
    title: c.title,
    status: c.status,
    reason: c.reason,
    checks: c.checks.map((k) => ({ checkId: k.checkId, status: k.status, summary: k.summary.slice(0, 500) })),
    evidence: c.evidenceIds.slice(0, maxEvidence).map((id) => ({ id, sha256: a.evidence[id]?.sha256 ?? '' })),
  };
}

/**
 * Scores the run's evidence. It reads only bundles of its own run (the run id comes from the call, not the
 * arguments) and refuses a bundle whose hash differs from what its collector reported.
 */
export function createAssessTool(deps: { store: EvidenceStore; catalog: () => ControlCatalog; now?: () => Date }) {
  return defineTool({
    name: 'compliance_assess',
    description: 'Scores every control of the configured frameworks from the collected evidence (deterministic).',
    input: AssessInput,
    output: AssessOutput,
    risk: 'read',
    capabilities: [],
    summarize: (args) => `compliance: score ${args.collections.length} source(s)`,
    execute: (args, ctx) => Promise.resolve(assessRun(deps, ctx.idempotencyKey, args)),
  });
}

/** Scores a run's collected evidence, stores `assessed.json` and returns what the workflow needs. */
export function assessRun(
  deps: { store: EvidenceStore; catalog: () => ControlCatalog; now?: () => Date },
  idempotencyKey: string,
  args: z.output<typeof AssessInput>,
): AssessOutput {
  const { workflowId } = callRef(idempotencyKey);
  const catalog = deps.catalog();
  const sources: Assessment['sources'] = [];
  const unavailable: Assessment['unavailable'] = [];
  const checks: CheckResult[] = [];
  const evidence: Assessment['evidence'] = {};
  for (const item of args.collections) {
    if (!item) continue;
    const stored = 'error' in item ? undefined : StoredCollection.safeParse(item).data;
    if (!stored) {
      const f = FailedCollection.safeParse(item).data;
      unavailable.push({
        source: f?.source ?? 'a collector',
        error: f?.error.message ?? f?.error.type ?? 'failed (unreadable error)',
      });
      continue;
    }
    const c = stored;
    const bundle = deps.store.readBundle(workflowId, c.bundle, c.bundleSha256);
    sources.push({
      source: bundle.source,
      bundle: c.bundle,
      bundleSha256: c.bundleSha256,
      items: bundle.items.length,
      collectedAt: bundle.collectedAt,
    });
    for (const i of bundle.items)
      evidence[i.id] = { sha256: evidenceHash(i), source: i.source, bundle: c.bundle, subject: i.subject };
    checks.push(...bundle.checks);
  }
  const controls = scoreControls(catalog, checks);
  const assessment: Assessment = {
    version: 1,
    workflowId,
    assessedAt: (deps.now ?? (() => new Date()))().toISOString(),
    frameworks: catalog.frameworks.map((f) => ({
      id: f.id,
      title: f.title,
      ...(f.version ? { version: f.version } : {}),
      controls: f.controls.length,
      missing: f.missing.length,
    })),
    sources,
    unavailable,
    checks,
    evidence,
    controls,
    checkTitles: Object.fromEntries(
      Object.entries(catalog.checks).map(([k, v]) => [k, { title: v.title, remediation: v.remediation }]),
    ),
  };
  const text = JSON.stringify(assessment);
  deps.store.writeRunFile(workflowId, 'assessed.json', text);
  const judgement = controls
    .filter(
      (c) => !c.attest && (c.status === 'partial' || (c.status === 'needs-human' && c.decidedBy === 'manual-review')),
    )
    .slice(0, args.maxJudgement);
  return {
    assessment: { name: 'assessed.json', sha256: evidenceHash(assessment) },
    totals: totals(controls),
    judgement: judgement.map((c) => brief(c, assessment, 5)),
    attest: controls
      .filter((c) => c.attest)
      .slice(0, 40)
      .map((c) => brief(c, assessment, 10)),
    unavailable,
  };
}
