import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseFile } from '../../../../src/usecases/alert-triage/tools/case';
import { createCaseTool } from '../../../../src/usecases/alert-triage/tools/case';
import { ToolRefusedError } from '../../../../src/tools/types';
import { testToolContext } from '../../../harness/tool-context';

const RUN = 'alert-crowdstrike-ldt:1';

describe('case_write', () => {
  let dir: string;
  let tool: ReturnType<typeof createCaseTool>;
  // The calling run as Temporal names it: the case is named by it, an amendment recorded under it.
  const as = (onBehalfOf?: string, run = RUN) => ({
    ...testToolContext({}, { idempotencyKey: `${run}/case/0` }).ctx,
    ...(onBehalfOf ? { onBehalfOf } : {}),
  });
  const read = () => JSON.parse(fs.readFileSync(path.join(dir, 'alert-crowdstrike-ldt_1.json'), 'utf8')) as CaseFile;
  const md = () => fs.readFileSync(path.join(dir, 'alert-crowdstrike-ldt_1.md'), 'utf8');
  const writeCase = (outcome?: 'completed' | 'failed') =>
    tool.execute(
      tool.input.parse({
        title: 'Beacon',
        alert: { alertId: 'ldt:1' },
        enrichment: {},
        verdict: { verdict: 'unscored', confidence: 0, failed: true, error: { type: 'LlmUnavailable', message: 'x' } },
        run: {
          workflowId: RUN,
          initiator: 'webhook:crowdstrike',
          ...(outcome ? { outcome } : {}),
          ...(outcome === 'failed' ? { failure: { type: 'ApprovalRejected', message: 'rejected by alice' } } : {}),
        },
      }),
      as('webhook:crowdstrike'),
    );
  const amend = (by: string | undefined, run = `${RUN}--verdict-1`, verdict = 'malicious') =>
    tool.execute(
      tool.input.parse({
        amend: { workflowId: RUN, verdict, reason: 'IR confirmed' },
        run: { workflowId: run, initiator: by ?? 'x' },
      }),
      as(by, run),
    );
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cases-'));
    tool = createCaseTool(dir);
  });

  it('writes the case of a run whose containment failed (completed_with_failures) and of an alert with a huge or empty title', async () => {
    // A burst of 50 alerts lost 11 cases: the run's outcome `completed_with_failures` was refused here.
    const input = (title: unknown) =>
      tool.input.parse({
        title,
        alert: { alertId: 'ldt:1' },
        enrichment: {},
        verdict: { verdict: 'malicious', confidence: 1, rationale: 'x', recommendedActions: [] },
        run: { workflowId: RUN, initiator: 'webhook:crowdstrike', outcome: 'completed_with_failures' },
      });
    await tool.execute(input('x'.repeat(5000)), as('webhook:crowdstrike'));
    expect(read().title).toHaveLength(500);
    expect(md()).toMatch(/Outcome: \*\*completed_with_failures\*\*/);
    await tool.execute(input('   '), as('webhook:crowdstrike'));
    expect(read().title).toBe('untitled alert');
  });

  it('writes the outcome and a verdict the agent did not give', async () => {
    await writeCase('failed');
    expect(md()).toMatch(/Outcome: \*\*failed\*\* — ApprovalRejected: rejected by alice/);
    expect(md()).toMatch(/Verdict: \*\*unscored\*\* \(confidence 0\) — the agent gave none: LlmUnavailable/);
  });

  it('records a correction by the amending run’s initiator; a retry replaces its own entry; a rewrite keeps it', async () => {
    await writeCase('completed');
    await amend('carol');
    await amend('carol');
    await amend('dave', `${RUN}--verdict-2`, 'benign');
    expect(read().amendments?.map((a) => [a.by, a.verdict, a.run])).toEqual([
      ['carol', 'malicious', `${RUN}--verdict-1`],
      ['dave', 'benign', `${RUN}--verdict-2`],
    ]);
    expect(md()).toMatch(/Corrected verdict: \*\*benign\*\* by dave/);
    await writeCase('completed');
    expect(read().amendments).toHaveLength(2);
  });

  it('refuses corrections from an unverified or non-human initiator, outside a run, or of a case that does not exist', async () => {
    await expect(amend('carol')).rejects.toThrow(/has no case to correct/);
    await writeCase();
    await expect(amend('unverified:carol')).rejects.toThrow(ToolRefusedError);
    await expect(amend('unverified:carol')).rejects.toThrow(/not verified/);
    await expect(amend('webhook:crowdstrike')).rejects.toThrow(/must come from a person/);
    await expect(amend(undefined)).rejects.toThrow(/must come from a run/);
    expect(read().amendments).toBeUndefined();
  });

  it('names a case by the calling run, whatever the arguments say', async () => {
    await tool.execute(
      tool.input.parse({
        title: 'Forged',
        alert: {},
        enrichment: {},
        verdict: {},
        run: { workflowId: 'someone-elses-run', initiator: 'webhook:crowdstrike' },
      }),
      as('webhook:crowdstrike'),
    );
    expect(fs.existsSync(path.join(dir, 'someone-elses-run.json'))).toBe(false);
    expect(read().title).toBe('Forged');
  });

  it('rejects a verdict outside benign, suspicious, malicious', () => {
    expect(() =>
      tool.input.parse({
        amend: { workflowId: RUN, verdict: 'maybe', reason: 'x' },
        run: { workflowId: 'r', initiator: 'c' },
      }),
    ).toThrow();
  });
});
