import { z } from 'zod';
import type { Assessment } from './scoring/assess-tool';
import type { ControlStatus } from './scoring/score';
import { totals } from './scoring/score';

/*
 * Drift between two assessments: controls newly failing (pass or needs-human before, fail or partial now)
 * and controls recovered. A drift with newly failing controls is written as a structured event
 * (events/drift.ndjson and a `compliance.drift` ledger record) that a threshold/event trigger can turn
 * into a remediation or ticket run (see `driftTriggerInput`).
 */

const FAILING: ReadonlySet<ControlStatus> = new Set(['fail', 'partial']);

/** One control whose status changed between runs. */
export const DriftedControl = z.object({
  framework: z.string(),
  controlId: z.string(),
  title: z.string(),
  was: z.string(),
  now: z.string(),
  /** Checks failing now, and the remediation the catalog gives for them. */
  failingChecks: z.array(z.string()),
  remediation: z.array(z.string()),
});
/** One control whose status changed. */
export type DriftedControl = z.infer<typeof DriftedControl>;

/** The structured drift event: what a trigger receives. */
export const ComplianceDriftEvent = z.object({
  type: z.literal('compliance.drift'),
  /** The run that found the drift, and the run it compares with. */
  workflowId: z.string(),
  previousWorkflowId: z.string(),
  at: z.string(),
  newlyFailing: z.array(DriftedControl),
  recovered: z.array(DriftedControl),
});
/** The structured drift event. */
export type ComplianceDriftEvent = z.infer<typeof ComplianceDriftEvent>;

/** Trend: counts by status per framework, now and in the previous run. */
export interface Trend {
  previousWorkflowId?: string;
  previousCompletedAt?: string;
  now: Record<string, Record<ControlStatus, number>>;
  previous?: Record<string, Record<ControlStatus, number>>;
}

/** Compares two assessments (pure). Controls only one run assessed are not drift. */
export function detectDrift(previous: Assessment, current: Assessment, at: string): ComplianceDriftEvent {
  const before = new Map(previous.controls.map((c) => [`${c.framework}\u0000${c.controlId}`, c]));
  const newlyFailing: DriftedControl[] = [];
  const recovered: DriftedControl[] = [];
  for (const c of current.controls) {
    const p = before.get(`${c.framework}\u0000${c.controlId}`);
    if (!p) continue;
    const entry = {
      framework: c.framework,
      controlId: c.controlId,
      title: c.title,
      was: p.status,
      now: c.status,
      failingChecks: c.checks.filter((k) => k.status === 'fail').map((k) => k.checkId),
      remediation: c.remediation,
    };
    if (FAILING.has(c.status) && !FAILING.has(p.status)) newlyFailing.push(entry);
    else if (c.status === 'fail' && p.status === 'partial') newlyFailing.push(entry);
    else if (!FAILING.has(c.status) && FAILING.has(p.status)) recovered.push(entry);
  }
  return {
    type: 'compliance.drift',
    workflowId: current.workflowId,
    previousWorkflowId: previous.workflowId,
    at,
    newlyFailing,
    recovered,
  };
}

/** The trend of `current` against `previous` (when there is one). */
export function trendOf(current: Assessment, previous: Assessment | undefined): Trend {
  return {
    now: totals(current.controls),
    ...(previous
      ? {
          previousWorkflowId: previous.workflowId,
          ...(previous.completedAt ? { previousCompletedAt: previous.completedAt } : {}),
          previous: totals(previous.controls),
        }
      : {}),
  };
}

/**
 * The input a remediation or ticket playbook gets for a drift event: one item per newly failing control,
 * with its failing checks and remediation. The event trigger (core) starts that playbook with it, with the
 * workflow id `compliance-drift-<workflowId>` so one drift starts one run.
 */
export function driftTriggerInput(event: ComplianceDriftEvent): {
  workflowId: string;
  input: { drift: ComplianceDriftEvent; controls: DriftedControl[] };
} {
  return { workflowId: `compliance-drift-${event.workflowId}`, input: { drift: event, controls: event.newlyFailing } };
}
