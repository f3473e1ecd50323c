import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { defineTool } from '../../../tools/types';

const Json = z.unknown();

/** Input of `case_write`: everything a responder needs, gathered by the triage playbook. */
export const CaseInput = z.object({
  title: z.string().min(1).max(500),
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
  }),
});
/** Input of `case_write`. */
export type CaseInput = z.infer<typeof CaseInput>;

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
export function renderCaseMarkdown(c: CaseInput): string {
  const alert = (c.alert ?? {}) as Record<string, unknown>;
  const verdict = (c.verdict ?? {}) as Record<string, unknown>;
  const lines: string[] = [
    `# Case: ${c.title}`,
    '',
    `- Run: \`${c.run.workflowId}\` (started by ${c.run.initiator})`,
    `- Source: ${str(alert.vendor)} ${str(alert.product)} — alert \`${str(alert.alertId)}\`, severity ${str(alert.severity)}`,
    `- Verdict: **${str(verdict.verdict)}** (confidence ${str(verdict.confidence)})`,
    ...assessmentLines(c.assessment),
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
  ];
  return lines.join('\n');
}

/**
 * `case_write`: writes the run's case as JSON and Markdown under the cases directory, named by workflow
 * id (idempotent: a retry overwrites the same files with the same content).
 */
export function createCaseTool(casesDir: string) {
  return defineTool({
    name: 'case_write',
    description: 'Writes the incident case (JSON and Markdown) for this run',
    input: CaseInput,
    output: z.object({ caseId: z.string(), jsonPath: z.string(), markdownPath: z.string() }),
    risk: 'write',
    capabilities: [],
    // Writes only the calling run's own case file.
    targets: () => [],
    summarize: (a) => `case for ${a.run.workflowId}`,
    execute: async (args, ctx) => {
      // Named by the run Temporal says is calling, never by the arguments: a run cannot overwrite another's case.
      const caseId = ctx.workflowId.replace(/[^A-Za-z0-9._-]/g, '_');
      await fs.promises.mkdir(casesDir, { recursive: true, mode: 0o700 });
      const jsonPath = path.join(casesDir, `${caseId}.json`);
      const markdownPath = path.join(casesDir, `${caseId}.md`);
      await fs.promises.writeFile(jsonPath, `${JSON.stringify(args, null, 2)}\n`, { mode: 0o600 });
      await fs.promises.writeFile(markdownPath, renderCaseMarkdown(args), { mode: 0o600 });
      return { caseId, jsonPath, markdownPath };
    },
  });
}
