import { z } from 'zod';
import type { AuditLedger } from '../../../audit';
import { defineTool } from '../../../tools/types';
import type { ComplianceDriftEvent } from '../drift';
import { detectDrift, trendOf } from '../drift';
import { recordRunFact, runRecords } from '../evidence/ledger';
import { evidenceHash } from '../evidence/model';
import type { EvidenceStore } from '../evidence/store';
import { callRef } from '../evidence/store';
import { validateNarratives } from '../narrator/narratives';
import type { Assessment } from '../scoring/assess-tool';
import { renderHtml } from './html';
import { buildAssessmentResults, validateAssessmentResults } from './oscal';
import { renderPdf } from './pdf';

/** Arguments of `compliance_report`. */
export const ReportInput = z.object({
  assessment: z.object({ name: z.literal('assessed.json'), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** The narrator's output (or its step error): validated here and recorded as drafts only. */
  narratives: z.unknown().optional(),
  /** The approval step id whose decision attests the controls marked for attestation. @default attest */
  attestationStep: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/)
    .default('attest'),
  playbook: z.string().max(100).default('compliance-evidence'),
});

const Counts = z.record(z.string(), z.record(z.string(), z.number()));
/** What `compliance_report` returns. */
export const ReportOutput = z.object({
  reportDir: z.string(),
  files: z.object({ oscal: z.string(), html: z.string(), pdf: z.string() }),
  oscalValid: z.literal(true),
  totals: Counts,
  previousWorkflowId: z.string().optional(),
  narratives: z.object({ kept: z.number(), rejected: z.array(z.string()) }),
  attestation: z.object({ state: z.enum(['granted', 'rejected', 'none']), by: z.array(z.string()) }),
  drift: z.object({
    newlyFailing: z.array(z.object({ framework: z.string(), controlId: z.string(), was: z.string(), now: z.string() })),
    recovered: z.number(),
    eventFile: z.string().optional(),
    events: z.array(
      z.object({
        id: z.string(),
        time: z.string(),
        framework: z.string(),
        controlId: z.string(),
        was: z.string(),
        now: z.string(),
        workflowId: z.string(),
        previousWorkflowId: z.string(),
      }),
    ),
  }),
  ledgerSeq: z.number(),
});

type Attestation = { state: 'granted' | 'rejected'; by: string[]; reason?: string };

/** The attestation decision as the audit ledger recorded it (never as the playbook says). */
async function attestationFromLedger(
  ledger: AuditLedger,
  workflowId: string,
  step: string,
): Promise<Attestation | undefined> {
  const recs = await runRecords(ledger.store, workflowId);
  for (const r of recs.reverse()) {
    const d = r.data as { approvalId?: unknown; approvers?: unknown; reason?: unknown };
    if (typeof d.approvalId !== 'string' || !d.approvalId.startsWith(`${step}.`)) continue;
    if (r.type === 'approval.granted' && Array.isArray(d.approvers))
      return { state: 'granted', by: d.approvers.filter((x): x is string => typeof x === 'string') };
    if (r.type === 'approval.rejected')
      return {
        state: 'rejected',
        by: [r.actor.id],
        ...(typeof d.reason === 'string' && d.reason ? { reason: d.reason } : {}),
      };
  }
  return undefined;
}

/**
 * `compliance_report`: applies the recorded attestation, validates the narrator's drafts, writes the OSCAL
 * assessment results (validated against the schema; an invalid document fails the step), the HTML and PDF
 * report and the final assessment, records their hashes in the ledger, and compares with the previous run:
 * newly failing controls become a drift event.
 */
export function createReportTool(deps: { store: EvidenceStore; ledger: () => Promise<AuditLedger>; now?: () => Date }) {
  return defineTool({
    name: 'compliance_report',
    description:
      'Writes the OSCAL assessment results, HTML and PDF report of this run, and the drift against the previous run.',
    input: ReportInput,
    output: ReportOutput,
    risk: 'write',
    capabilities: [],
    summarize: () => 'compliance: write OSCAL results, HTML and PDF report',
    async execute(args, ctx) {
      const ref = callRef(ctx.idempotencyKey);
      const now = (deps.now ?? (() => new Date()))().toISOString();
      const assessed = deps.store.readRunJson<Assessment>(ref.workflowId, args.assessment.name);
      if (!assessed || evidenceHash(assessed) !== args.assessment.sha256)
        throw new Error(`the assessment of ${ref.workflowId} is missing or was altered after scoring (hash mismatch)`);
      const ledger = await deps.ledger();
      const attestation = await attestationFromLedger(ledger, ref.workflowId, args.attestationStep);
      const a: Assessment = { ...assessed, completedAt: now };
      if (attestation)
        a.controls = a.controls.map((c) =>
          c.attest
            ? {
                ...c,
                status: attestation.state === 'granted' ? 'pass' : 'fail',
                decidedBy: 'human-attestation',
                attestedBy: attestation.by,
                reason:
                  attestation.state === 'granted'
                    ? `attested by ${attestation.by.join(', ')} with the evidence attached`
                    : `attestation declined by ${attestation.by.join(', ')}${attestation.reason ? `: ${attestation.reason}` : ''}`,
              }
            : c,
        );
      // Drafts are judged against the scored assessment: attestation does not make a draft ineligible.
      const drafts = validateNarratives(args.narratives, assessed);
      const previousId = deps.store
        .assessedRuns()
        .filter((r) => r.workflowId !== ref.workflowId)
        .pop()?.workflowId;
      const previous = previousId ? deps.store.readRunJson<Assessment>(previousId, 'assessment.json') : undefined;
      const trend = trendOf(a, previous);
      const drift: ComplianceDriftEvent | undefined = previous ? detectDrift(previous, a, now) : undefined;

      const oscal = buildAssessmentResults(a, {
        narratives: drafts.narratives,
        ...(attestation ? { attestation } : {}),
        playbook: args.playbook,
        started: a.sources.map((s) => s.collectedAt).sort()[0] ?? a.assessedAt,
        ended: now,
      });
      const check = validateAssessmentResults(oscal);
      if (!check.valid)
        throw new Error(`the OSCAL assessment results do not validate (a Warden defect): ${check.errors.join('; ')}`);
      const model = {
        assessment: a,
        narratives: drafts.narratives,
        trend,
        ...(drift ? { drift } : {}),
        ...(attestation ? { attestation } : {}),
        generatedAt: now,
      };
      const files = {
        oscal: deps.store.writeRunFile(
          ref.workflowId,
          'report/assessment-results.json',
          JSON.stringify(oscal, null, 2),
        ),
        html: deps.store.writeRunFile(ref.workflowId, 'report/report.html', renderHtml(model)),
        pdf: deps.store.writeRunFile(ref.workflowId, 'report/report.pdf', await renderPdf(model)),
        narratives: deps.store.writeRunFile(ref.workflowId, 'report/narratives.json', JSON.stringify(drafts, null, 2)),
      };
      const final = deps.store.writeRunFile(ref.workflowId, 'assessment.json', JSON.stringify(a));
      const ledgerSeq = await recordRunFact(ledger, ref, 'compliance.report', {
        files: {
          'report/assessment-results.json': files.oscal.sha256,
          'report/report.html': files.html.sha256,
          'report/report.pdf': files.pdf.sha256,
          'report/narratives.json': files.narratives.sha256,
          'assessment.json': final.sha256,
        },
        totals: trend.now,
        previousWorkflowId: previousId ?? null,
      });
      let eventFile: string | undefined;
      if (drift?.newlyFailing.length) {
        eventFile = deps.store.appendEvent('drift', drift);
        await recordRunFact(ledger, ref, 'compliance.drift', {
          previousWorkflowId: drift.previousWorkflowId,
          newlyFailing: drift.newlyFailing.slice(0, 200).map((d) => `${d.framework}:${d.controlId}`),
          eventSha256: evidenceHash(drift),
        });
      }
      return {
        reportDir: deps.store.runDir(ref.workflowId),
        files: { oscal: files.oscal.path, html: files.html.path, pdf: files.pdf.path },
        oscalValid: true as const,
        totals: trend.now,
        ...(previousId ? { previousWorkflowId: previousId } : {}),
        narratives: { kept: drafts.narratives.length, rejected: drafts.rejected },
        attestation: attestation
          ? { state: attestation.state, by: attestation.by }
          : { state: 'none' as const, by: [] },
        drift: {
          newlyFailing: (drift?.newlyFailing ?? [])
            .slice(0, 100)
            .map((d) => ({ framework: d.framework, controlId: d.controlId, was: d.was, now: d.now })),
          recovered: drift?.recovered.length ?? 0,
          ...(eventFile ? { eventFile } : {}),
          // The drift as threshold-trigger events (stream `compliance-drift`): one per newly failing control,
          // its id naming this run, so a retried emission counts once.
          events: (drift?.newlyFailing ?? []).slice(0, 100).map((d) => ({
            id: `${ref.workflowId}:${d.framework}:${d.controlId}`.slice(0, 128),
            time: now,
            framework: d.framework,
            controlId: d.controlId,
            was: d.was,
            now: d.now,
            workflowId: ref.workflowId,
            previousWorkflowId: drift!.previousWorkflowId,
          })),
        },
        ledgerSeq,
      };
    },
  });
}
