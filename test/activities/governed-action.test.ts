import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import {
  MANY_RESULT_BUDGET_BYTES,
  MANY_RESULT_MAX_BYTES,
  createGovernedActionActivities,
} from '../../src/activities/governed-action';
import type { DecideAndReadInput, DecideAndReadResult } from '../../src/activities/governed-action';
import type { DecideInput } from '../../src/activities/governance';
import type { ExecuteToolInput, InlineToolCall } from '../../src/activities/tools';
import type { Decision } from '../../src/governance/decision';
import type { GovernorState } from '../../src/workflows/contract';

/*
 * decideAndReadMany's own rules (one answer per call, in order; the forEach's cap; the time and size
 * budgets after which reads are left to activities), with the policy decision and the tool runner as
 * plain functions: the workflow tests (test/workflows/decide-and-read.test.ts) run the real ones.
 */
const allowRead = (input: DecideInput): Decision => ({
  effect: input.args && (input.args as { q?: string }).q === 'denied' ? 'deny' : 'allow',
  ruleId: 'test',
  reason: 'test',
  policyVersion: 'v',
  actionHash: `h-${input.callId}`,
  action: `read ${input.callId}`,
  tool: 'read',
  risk: 'read',
});

const governor = { killSwitch: { engaged: false }, breakers: {} } as unknown as GovernorState;

function call(q: string, i: number): DecideAndReadInput {
  const decide = { stepId: 's', callId: `${i}`, kind: 'action', tool: 'read', args: { q }, context: {} };
  return {
    decide: { ...decide, workflowId: 'wf', initiator: 'olivia', tainted: false, runInput: {} } as DecideInput,
    execute: {
      workflowId: 'wf',
      stepId: 's',
      callId: `${i}`,
      tool: 'read',
      args: { q },
      actor: 'system',
      onBehalfOf: 'olivia',
    },
  };
}

/** Runs decideAndReadMany in an activity context on task queue `q`, with `read` as the tool. */
async function many(
  qs: string[],
  concurrency: number,
  read: (input: ExecuteToolInput, inline: InlineToolCall) => Promise<unknown>,
  budgetMs = 1_000,
) {
  const decided: string[] = [];
  const activities = createGovernedActionActivities({
    decideAction: (input) => {
      decided.push(input.callId);
      return Promise.resolve(allowRead(input));
    },
    runTool: async (input, inline) => ({
      output: await read(input, inline!),
      durationMs: 1,
      outputDigest: 'd',
      capabilitiesUsed: [],
    }),
    governorState: () => Promise.resolve(governor),
    budgetMs,
  });
  const env = new MockActivityEnvironment({ taskQueue: 'q' }, { logger: new DefaultLogger('ERROR') });
  const results: DecideAndReadResult[] = await env.run(activities.decideAndReadMany, {
    calls: qs.map((q, i) => call(q, i)),
    concurrency,
  });
  return { results, decided };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    });
  });

describe('decideAndReadMany: an inline forEach’s calls in one local activity', () => {
  it('decides every call, reads the allowed ones at most `concurrency` at once, and answers in call order', async () => {
    let inFlight = 0;
    let most = 0;
    const { results, decided } = await many(['a', 'denied', 'b', 'c', 'd'], 2, async (input, inline) => {
      most = Math.max(most, ++inFlight);
      await sleep(10 + Math.random() * 20, inline.signal);
      inFlight--;
      return { q: (input.args as { q: string }).q };
    });
    expect(decided.sort()).toEqual(['0', '1', '2', '3', '4']);
    expect(most).toBe(2);
    expect(results.map((r) => (r.result?.output as { q?: string } | undefined)?.q ?? r.decision.effect)).toEqual([
      'a',
      'deny',
      'b',
      'c',
      'd',
    ]);
    expect(results[1]).toEqual({ decision: expect.objectContaining({ effect: 'deny' }) });
  });

  it('leaves reads to activities once twice the inline budget is spent: every call still decided, the rest not begun', async () => {
    const reads: string[] = [];
    const { results, decided } = await many(
      ['a', 'b', 'c', 'd', 'e'],
      1,
      async (input, inline) => {
        reads.push((input.args as { q: string }).q);
        await sleep(40, inline.signal);
        return { ok: true };
      },
      50,
    );
    expect(decided).toHaveLength(5);
    // a and b finish inside the 100 ms; c is stopped at it; d and e never begin.
    expect(results.slice(0, 2).every((r) => r.result)).toBe(true);
    expect(results.slice(2).every((r) => !r.result && r.deferred)).toBe(true);
    expect(results[2]!.deferred).toMatch(/budget|abandoned|aborted/);
    expect(results.slice(3).map((r) => r.deferred)).toEqual([
      'inline budget spent before the read began',
      'inline budget spent before the read began',
    ]);
    expect(reads).toEqual(['a', 'b', 'c']);
  });

  it('stops reading once the outputs gathered pass the size budget (one history payload holds them all)', async () => {
    const big = 'x'.repeat(Math.ceil(MANY_RESULT_BUDGET_BYTES / 3) + 1_000);
    const { results } = await many(['a', 'b', 'c', 'd', 'e'], 1, () => Promise.resolve({ big }));
    expect(results.map((r) => Boolean(r.result))).toEqual([true, true, true, false, false]);
    expect(results[3]!.deferred).toBe('inline budget spent before the read began');
    expect(results.every((r) => r.decision.effect === 'allow')).toBe(true);
  });

  it('never hands back more than the hard cap: reads already under way past it are made again as activities', async () => {
    const big = 'x'.repeat(Math.ceil(MANY_RESULT_MAX_BYTES * 0.4));
    const { results } = await many(['a', 'b', 'c', 'd'], 4, () => Promise.resolve({ big }));
    expect(results.map((r) => Boolean(r.result))).toEqual([true, true, false, false]);
    expect(results[2]!.deferred).toBe(`its output would take the batch past ${MANY_RESULT_MAX_BYTES} bytes`);
    expect(JSON.stringify(results).length).toBeLessThan(MANY_RESULT_MAX_BYTES + 10_000);
  });
});
