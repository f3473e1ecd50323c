import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ToolRefusedError, defineTool } from '../../../tools/types';

const Json = z.unknown();

/**
 * Input of `case_write`: everything a responder needs, gathered by the triage playbook. Lenient on purpose:
 * the case is the alert's last record (written by a `finally` step whatever happened), so nothing an alert,
 * a model or the run's outcome can be makes it invalid — a refused case would be a dropped alert.
 */
export const CaseInput = z.object({
  /** The alert's title: attacker-controlled, so cut to length (or named for it) rather than refused. */
  title: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() ? v.trim().slice(0, 500) : 'untitled alert'),
    z.string().min(1).max(500),
  ),
  alert: Json,
  enrichment: Json,
  verdict: Json,
  /** The deterministic risk score and route (`triage_assess`). */
  assessment: Json.optional(),
  review: Json.optional(),
  containment: Json.optional(),
  /** The run's own record: decisions, steps, agent turns (`{{ run }}` in the playbook). */
  run: z.object({
    workflowId: z.string(),
    initiator: z.string(),
    decisions: z.array(z.record(z.string(), z.unknown())).default([]),
    steps: z.array(z.record(z.string(), z.unknown())).default([]),
    agentTurns: z.array(z.record(z.string(), z.unknown())).default([]),
    /** How the run's main steps ended, when the case is written by a `finally` step. */
    outcome: z.enum(['completed', 'completed_with_failures', 'failed', 'cancelled']).optional(),
    failure: z.object({ type: z.string(), message: z.string() }).optional(),
  }),
});
/** Input of `case_write`. */
export type CaseInput = z.infer<typeof CaseInput>;

/** A human's corrected verdict. */
export const Verdict = z.enum(['benign', 'suspicious', 'malicious']);
/** A human's corrected verdict. */
export type Verdict = z.infer<typeof Verdict>;

/**
 * Input of `case_write` for a correction: amends the case of run `amend.workflowId`. Who corrected it is
 * not an argument: it is the amending run's initiator, as that run established it (a signed start).
 */
export const CaseAmendmentInput = z.object({
  amend: z.object({
    workflowId: z.string().min(1).max(250),
    verdict: Verdict,
    reason: z.string().trim().min(1).max(2000),
  }),
  run: z.object({ workflowId: z.string().min(1), initiator: z.string().min(1) }),
});
/** Input of `case_write` for a correction. */
export type CaseAmendmentInput = z.infer<typeof CaseAmendmentInput>;

/** One recorded correction of a case's verdict. */
export interface CaseAmendment {
  verdict: Verdict;
  reason: string;
  /** The verified principal who started the amending run. */
  by: string;
  /** The amending run (its audit records name the same principal). */
  run: string;
  at: string;
}

/** A case file as written: the case, and the corrections made to it since. */
export type CaseFile = CaseInput & { amendments?: CaseAmendment[] };

/** The file-name-safe id of a run's case. */
export function caseIdOf(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]/g, '_');
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '-' : JSON.stringify(v);
const cell = (v: unknown): string => str(v).replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 300);

function assessmentLines(a: unknown): string[] {
  if (!a || typeof a !== 'object') return [];
  const { score, band, route, reasons } = a as { score?: unknown; band?: unknown; route?: unknown; reasons?: unknown };
  const why = Array.isArray(reasons) ? reasons.map((r) => str((r as { detail?: unknown }).detail)).join('; ') : '';
  return [
    `- Risk: ${str(band)} (score ${str(score)}); route: ${route === 'human' ? `human review (${why})` : 'automatic'}`,
  ];
}

/** Renders a case as Markdown: summary, verdict, indicators with enrichment, timeline, decisions and approvers. */
export function renderCaseMarkdown(c: CaseFile): string {
  const alert = (c.alert ?? {}) as Record<string, unknown>;
  const verdict = (c.verdict ?? {}) as Record<string, unknown>;
  const corrected = c.amendments?.at(-1);
  const lines: string[] = [
    `# Case: ${c.title}`,
    '',
    `- Run: \`${c.run.workflowId}\` (started by ${c.run.initiator})`,
    ...(c.run.outcome
      ? [`- Outcome: **${c.run.outcome}**${c.run.failure ? ` — ${c.run.failure.type}: ${c.run.failure.message}` : ''}`]
      : []),
    `- Source: ${str(alert.vendor)} ${str(alert.product)} — alert \`${str(alert.alertId)}\`, severity ${str(alert.severity)}`,
    `- Verdict: **${str(verdict.verdict)}** (confidence ${str(verdict.confidence)})${verdict.failed ? ` — the agent gave none: ${cell((verdict.error as { type?: string } | undefined)?.type)}` : ''}`,
    ...assessmentLines(c.assessment),
    ...(corrected
      ? [`- Corrected verdict: **${corrected.verdict}** by ${corrected.by} (${corrected.at}, run \`${corrected.run}\`)`]
      : []),
    '',
    '## Rationale',
    '',
    str(verdict.rationale),
    '',
    '## Evidence',
    '',
    str(alert.description),
    '',
    '## Indicators and enrichment',
    '',
    '```json',
    JSON.stringify(c.enrichment, null, 2).slice(0, 20_000),
    '```',
    '',
    '## Recommended and executed containment',
    '',
    '```json',
    JSON.stringify({ recommended: verdict.recommendedActions ?? [], executed: c.containment ?? null }, null, 2).slice(
      0,
      20_000,
    ),
    '```',
    '',
    '## Timeline',
    '',
    '| step | kind | status | started | ended | note |',
    '| --- | --- | --- | --- | --- | --- |',
    ...c.run.steps.map(
      (s) =>
        `| ${cell(s.stepId)} | ${cell(s.kind)} | ${cell(s.status)} | ${cell(s.startedAt)} | ${cell(s.endedAt)} | ${cell((s.error as { message?: string } | undefined)?.message ?? (s.approval ? `approval: ${JSON.stringify(s.approval)}` : ''))} |`,
    ),
    '',
    '## Decisions',
    '',
    '| step | actor | action | effect | tier | rule | reason | policy |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...c.run.decisions.map(
      (d) =>
        `| ${cell(d.stepId)} | ${cell(d.actor)} | ${cell(d.action)} | ${cell(d.effect)} | ${cell(d.tier ?? '')} | ${cell(d.ruleId)} | ${cell(d.reason)} | ${cell(str(d.policyVersion).slice(0, 19))} |`,
    ),
    '',
    '## Agent turns',
    '',
    ...c.run.agentTurns.map(
      (t) => `- turn ${str(t.turn)} (${str(t.model)}): ${cell(t.rationale ?? '')} — tools: ${cell(t.toolCalls)}`,
    ),
    '',
    ...(c.amendments?.length
      ? [
          '## Corrections',
          '',
          '| at | by | verdict | reason | run |',
          '| --- | --- | --- | --- | --- |',
          ...c.amendments.map(
            (a) => `| ${cell(a.at)} | ${cell(a.by)} | ${cell(a.verdict)} | ${cell(a.reason)} | ${cell(a.run)} |`,
          ),
          '',
        ]
      : []),
  ];
  return lines.join('\n');
}

/** Why an amendment is refused (the caller's fault), or undefined. */
function amendmentRefusal(by: string | undefined): string | undefined {
  if (!by) return 'a correction must come from a run (its initiator is who corrects)';
  if (by.startsWith('unverified:'))
    return `the run's initiator ${by} is not verified: start the correction with a signed start (\`warden triage verdict --as <you>\` with your key)`;
  if (by.includes(':')) return `a correction must come from a person, not ${by}`;
  return undefined;
}

/**
 * `case_write`: writes the run's case as JSON and Markdown under the cases directory, named by workflow
 * id (idempotent: a retry overwrites the same files with the same content). With `amend`, records a
 * corrected verdict on an existing case instead: by the amending run's verified initiator, once per
 * amending run (a retry replaces its own entry), keeping the case and every earlier correction.
 */
export function createCaseTool(casesDir: string) {
  return defineTool({
    name: 'case_write',
    description: 'Writes the incident case (JSON and Markdown) for this run, or records a corrected verdict on one',
    input: z.union([CaseInput, CaseAmendmentInput]),
    output: z.object({ caseId: z.string(), jsonPath: z.string(), markdownPath: z.string() }),
    risk: 'write',
    capabilities: [],
    // A run's own case file; an amendment names the case it corrects (the correction run's own target).
    targets: (a) => ('amend' in a ? [{ kind: 'case', value: a.amend.workflowId }] : []),
    summarize: (a) =>
      'amend' in a
        ? `correct the verdict of ${a.amend.workflowId}: ${a.amend.verdict}`
        : `case for ${a.run.workflowId}`,
    execute: async (args, ctx) => {
      // A case is named by the run Temporal says is calling, never by the arguments: a run cannot overwrite
      // another's case. An amendment (a verified human's correction run) names the case it amends.
      const caseId = caseIdOf('amend' in args ? args.amend.workflowId : ctx.workflowId);
      await fs.promises.mkdir(casesDir, { recursive: true, mode: 0o700 });
      const jsonPath = path.join(casesDir, `${caseId}.json`);
      const markdownPath = path.join(casesDir, `${caseId}.md`);
      let file: CaseFile;
      if ('amend' in args) {
        const refusal = amendmentRefusal(ctx.onBehalfOf);
        if (refusal) throw new ToolRefusedError(refusal);
        let existing: CaseFile;
        try {
          existing = JSON.parse(await fs.promises.readFile(jsonPath, 'utf8')) as CaseFile;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT')
            throw new ToolRefusedError(`run ${args.amend.workflowId} has no case to correct (the caller's input)`);
          throw err;
        }
        // The amending run as Temporal names it (never as its arguments say).
        const own = existing.amendments?.find((a) => a.run === ctx.workflowId);
        const entry: CaseAmendment = {
          verdict: args.amend.verdict,
          reason: args.amend.reason,
          by: ctx.onBehalfOf!,
          run: ctx.workflowId,
          at: own?.at ?? new Date().toISOString(),
        };
        file = {
          ...existing,
          amendments: [...(existing.amendments ?? []).filter((a) => a.run !== ctx.workflowId), entry],
        };
      } else {
        // A case rewritten by a retry or a later run keeps the corrections already made to it.
        const before = await fs.promises.readFile(jsonPath, 'utf8').then(
          (t) => (JSON.parse(t) as CaseFile).amendments,
          () => undefined,
        );
        file = { ...args, ...(before?.length ? { amendments: before } : {}) };
      }
      await fs.promises.writeFile(jsonPath, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
      await fs.promises.writeFile(markdownPath, renderCaseMarkdown(file), { mode: 0o600 });
      return { caseId, jsonPath, markdownPath };
    },
  });
}
