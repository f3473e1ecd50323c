import { Worker } from '@temporalio/worker';
import type { Playbook } from '../../src/governance/steps';
import { INLINE_MAX_ITEM_STEPS, Playbook as PlaybookSchema } from '../../src/governance/steps';
import { HARNESS_ENV } from '../harness/env';
import { testPolicy } from '../harness/policies';
import { hostLookups } from '../harness/playbooks';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';

const lookups = (inline: boolean): Playbook => hostLookups('inline', { concurrency: 4, collect: 'all', inline });

describe('inline forEach: small fan-outs run in the run itself (real Temporal dev server)', () => {
  jest.setTimeout(120_000);
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({}, { extraTools: vendorTools('http://127.0.0.1:9'), policy: testPolicy() });
  });
  afterAll(async () => {
    await stack.stop();
  });

  const run = async (hosts: string[], inline: boolean) => {
    const { workflowId } = await stack.client.start(
      'runPlaybook',
      { playbook: lookups(inline), input: { hosts }, initiator: 'olivia' },
      { workflowId: `inline-${inline}-${hosts.length}-${Date.now()}` },
    );
    const result = await stack.client.result<{
      outputs: {
        each: { total: number; succeeded: number; results: { index: number; output: { lookup: { host: string } } }[] };
      };
    }>(workflowId);
    return { workflowId, result };
  };
  const childExists = (id: string) =>
    stack.client.temporal.workflow
      .getHandle(id)
      .describe()
      .then(
        () => true,
        () => false,
      );

  it('runs every item with no batch child, its decisions and steps in the run’s own record, and replays', async () => {
    const hosts = ['ws1', 'ws2', 'ws3'];
    const { workflowId, result } = await run(hosts, true);
    expect(result.outputs.each).toMatchObject({ total: 3, succeeded: 3 });
    expect(result.outputs.each.results.map((r) => r.output.lookup.host)).toEqual(hosts);
    expect(await childExists(`${workflowId}--each--b0`)).toBe(false);
    const state = await stack.client.runState(workflowId);
    expect(state.steps.map((s) => s.stepId)).toEqual(
      expect.arrayContaining(['each', 'lookup[0]', 'lookup[1]', 'lookup[2]']),
    );
    expect(state.decisions.filter((d) => d.tool === 'asset_lookup')).toHaveLength(3);
    // Each item's call is its own action: distinct idempotency keys, nothing deduplicated away.
    expect(new Set(state.decisions.map((d) => d.callId)).size).toBe(state.decisions.length);
    const history = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: process.env[HARNESS_ENV.bundle]! } }, history, workflowId),
    ).resolves.toBeUndefined();
  });

  it('falls back to batch children above the inline limit, and without `inline`', async () => {
    const many = Array.from({ length: INLINE_MAX_ITEM_STEPS + 1 }, (_, i) => `ws${i}`);
    const big = await run(many, true);
    expect(big.result.outputs.each).toMatchObject({ total: many.length, succeeded: many.length });
    expect(await childExists(`${big.workflowId}--each--b0`)).toBe(true);
    const plain = await run(['ws1', 'ws2'], false);
    expect(await childExists(`${plain.workflowId}--each--b0`)).toBe(true);
  });

  it('refuses an inline forEach that holds another forEach, saying which', () => {
    const playbook = lookups(true);
    const outer = playbook.steps[0] as Extract<Playbook['steps'][number], { kind: 'forEach' }>;
    outer.steps = [{ ...outer, id: 'inner', inline: false }];
    const parsed = PlaybookSchema.safeParse(playbook);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/forEach \\"inner\\" is inside an inline forEach/);
  });
});
