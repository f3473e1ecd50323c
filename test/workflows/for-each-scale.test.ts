import { AuditLedger } from '../../src/audit';
import type { Playbook } from '../../src/governance/steps';
import { MIRRORED_DECISIONS_MAX } from '../../src/workflows/engine/journal';
import { testPolicy } from '../harness/policies';
import { hostLookups } from '../harness/playbooks';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';

describe('forEach at scale: histories stay bounded (real Temporal dev server)', () => {
  jest.setTimeout(180_000);
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({}, { extraTools: vendorTools('http://127.0.0.1:9'), policy: testPolicy() });
  });
  afterAll(async () => {
    await stack.stop();
  });

  /** The input a batch child was started with, from its history. */
  const batchInput = async (id: string) => {
    const history = await stack.client.temporal.workflow.getHandle(id).fetchHistory();
    const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    return JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { scope: Record<string, unknown> };
  };

  it('a batch child gets the run input and earlier step outputs its templates read', async () => {
    const playbook: Playbook = {
      name: 'batch-scope',
      steps: [
        {
          id: 'first',
          kind: 'action',
          tool: 'asset_lookup',
          args: { host: '{{ input.base }}' },
          context: {},
          onError: 'fail',
        },
        {
          id: 'each',
          kind: 'forEach',
          items: 'input.hosts',
          concurrency: 2,
          batchSize: 2,
          onItemFailure: 'continue',
          onError: 'fail',
          steps: [
            {
              id: 'lookup',
              kind: 'action',
              tool: 'asset_lookup',
              args: { host: '{{ input.prefix }}-{{ item }}-{{ steps.first.host }}' },
              context: {},
              onError: 'fail',
            },
          ],
        },
      ],
    };
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook,
      input: { base: 'dc01', prefix: 'site', hosts: ['a', 'b', 'c'] },
      initiator: 'olivia',
    });
    const result = await stack.client.result<{
      outputs: { each: { succeeded: number; results: { output: { lookup: { host: string } } }[] } };
    }>(workflowId);
    expect(result.outputs.each.succeeded).toBe(3);
    expect(result.outputs.each.results.map((r) => r.output.lookup.host)).toEqual([
      'site-a-dc01',
      'site-b-dc01',
      'site-c-dc01',
    ]);
    expect((await batchInput(`${workflowId}--each--b1`)).scope).toMatchObject({
      input: { prefix: 'site' },
      steps: { first: { host: 'dc01' } },
    });
  });

  it('1,000 items run in batch children; no execution history grows with the item count', async () => {
    const n = 1_000;
    const batchSize = 100;
    const playbook = hostLookups('scale', { concurrency: 25, batchSize });
    const hosts = Array.from({ length: n }, (_, i) => `ws${i}`);
    const { workflowId } = await stack.client.start('runPlaybook', { playbook, input: { hosts }, initiator: 'olivia' });
    const result = await stack.client.result<{
      outputs: {
        each: { total: number; succeeded: number; results: { index: number; output: { lookup: { host: string } } }[] };
      };
      decisions: unknown[];
      decisionsNotShown?: number;
    }>(workflowId);
    expect(result.outputs.each).toMatchObject({ total: n, succeeded: n });
    // The run's own record shows a bounded number of its batches' decisions and counts the rest: mirrored
    // whole, 10,000 items' decisions made the result too large for Temporal and the run could not complete.
    expect(result.decisions).toHaveLength(MIRRORED_DECISIONS_MAX);
    expect(result.decisionsNotShown).toBe(n - MIRRORED_DECISIONS_MAX);
    expect((await stack.client.runState(workflowId)).decisionsNotShown).toBe(n - MIRRORED_DECISIONS_MAX);
    expect(result.outputs.each.results[999]).toMatchObject({ index: 999, output: { lookup: { host: 'ws999' } } });

    const length = async (id: string) => (await stack.client.temporal.workflow.getHandle(id).describe()).historyLength;
    const batches = n / batchSize;
    const parent = await length(workflowId);
    const child = await length(`${workflowId}--each--b0`);
    // Parent: a constant plus a few events per batch child (its start, result, attestation marker, audit).
    // 10,000 items = 100 batches ≈ 1,200 events.
    expect(parent).toBeLessThan(20 + 12 * batches);
    // A child: bounded by its batch size, not by the item count (Temporal's limit is 51,200 events).
    expect(child).toBeLessThan(12 * batchSize);
    // Nor does a batch's input grow with the batches before it (it once carried the run's whole record, every
    // decision mirrored so far, and a 10,000-item forEach outgrew Temporal's payload limit at batch ~37).
    const size = async (id: string) =>
      Number(
        (await stack.client.temporal.workflow.getHandle(id).describe()).raw.workflowExecutionInfo?.historySizeBytes ??
          0,
      );
    // Its items read only `{{ item }}`: the batch gets no earlier step outputs; the run's input it always gets
    // (policy decides on facts from it).
    expect((await batchInput(`${workflowId}--each--b0`)).scope).toMatchObject({ input: { hosts }, steps: {} });
    const first = await size(`${workflowId}--each--b0`);
    const last = await size(`${workflowId}--each--b${batches - 1}`);
    expect(first).toBeGreaterThan(0);
    expect(last).toBeLessThan(first * 1.25);
  });

  it('a run whose result is too large to return ends failed (BudgetExceeded), and its ledger says so', async () => {
    // Four lookups of a 400 kB host name: each output echoes it, 1.6 MB of outputs in all.
    const big = 'h'.repeat(400_000);
    const steps: Playbook['steps'] = ['a', 'b', 'c', 'd'].map((id) => ({
      id,
      kind: 'action' as const,
      tool: 'asset_lookup',
      args: { host: '{{ input.big }}' },
      context: {},
      onError: 'fail' as const,
    }));
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook: { name: 'too-large', steps },
      input: { big },
      initiator: 'olivia',
    });
    const failure = await stack.client.result(workflowId).then(
      () => undefined,
      (err: unknown) => err as { cause?: { type?: string; message?: string } },
    );
    expect(failure?.cause).toMatchObject({
      type: 'BudgetExceeded',
      message: expect.stringMatching(/^the run's result is 1\.6 MB, over the 1\.5 MB a run can return/),
    });
    const ledger = await AuditLedger.open(stack.config);
    try {
      const types = (await ledger.store.list({ workflowId })).map((r) => r.type);
      expect(types.filter((t) => t.startsWith('run.'))).toEqual(['run.started', 'run.failed']);
      const ended = (await ledger.store.list({ workflowId })).find((r) => r.type === 'run.failed')!;
      expect(ended.data).toMatchObject({ status: 'failed', error: { type: 'BudgetExceeded' } });
    } finally {
      await ledger.close();
    }
    expect(await stack.client.runState(workflowId)).toMatchObject({
      status: 'failed',
      error: { type: 'BudgetExceeded' },
    });
  });
});
