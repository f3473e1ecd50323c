import { z } from 'zod';
import { AuditLedger } from '../../src/audit';
import type { AuditRecord } from '../../src/audit';
import type { Playbook } from '../../src/governance/steps';
import { defineTool } from '../../src/tools/types';
import { INLINE_READ_BUDGET_MS } from '../../src/activities/governed-action';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack, testConfig } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';

/*
 * Allowed reads are decided and made in one local activity (`decideAndRead`); anything else, and any read
 * that cannot be made there at once, takes the activity path. Real Temporal server, real SQLite ledger.
 */
describe('decide and read in one local activity (real Temporal dev server)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  let ledger: AuditLedger;
  const calls: Record<string, number> = { slow_read: 0, flaky_read: 0, bad_read: 0 };
  const slowRead = defineTool({
    name: 'slow_read',
    description: 'A lookup slower than the inline budget',
    input: z.object({ q: z.string() }),
    output: z.object({ q: z.string(), slow: z.literal(true) }),
    risk: 'read',
    capabilities: [],
    execute: async (args, ctx) => {
      calls.slow_read!++;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, INLINE_READ_BUDGET_MS * 2);
        ctx.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new Error('aborted'));
        });
      });
      return { q: args.q, slow: true as const };
    },
  });
  const flakyRead = defineTool({
    name: 'flaky_read',
    description: 'A lookup that fails its first call',
    input: z.object({ q: z.string() }),
    output: z.object({ q: z.string() }),
    risk: 'read',
    capabilities: [],
    execute: (args) => {
      calls.flaky_read!++;
      if (calls.flaky_read === 1) return Promise.reject(new Error('lookup backend hiccup'));
      return Promise.resolve({ q: args.q });
    },
  });

  const badRead = defineTool({
    name: 'bad_read',
    description: 'A lookup whose answer breaks its own output schema (a tool defect: no retry helps)',
    input: z.object({ q: z.string() }),
    output: z.object({ q: z.string() }),
    risk: 'read',
    capabilities: [],
    execute: () => {
      calls.bad_read!++;
      return Promise.resolve({ nope: true } as unknown as { q: string });
    },
  });

  beforeAll(async () => {
    vendor = await startFakeVendor();
    const config = testConfig();
    ledger = await AuditLedger.open(config);
    stack = await startTestStack(
      { WARDEN_HTTP_ALLOWED_HOSTS: vendor.host, WARDEN_DATA_DIR: config.dataDir },
      { extraTools: [...vendorTools(vendor.url), slowRead, flakyRead, badRead], policy: testPolicy(), ledger },
    );
  });
  afterAll(async () => {
    await stack.stop();
    await ledger.close();
    await vendor.close();
  });

  /** The tools each step ran as an `executeTool` activity, from the run's history. */
  async function activityCalls(workflowId: string): Promise<string[]> {
    const history = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    return history
      .events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeTool')
      .map((e) => {
        const payload = e.activityTaskScheduledEventAttributes!.input!.payloads![0]!;
        return (JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { stepId: string }).stepId;
      });
  }

  it('reads inline when it can, and takes the activity path for writes, slow reads and failed reads', async () => {
    const playbook: Playbook = {
      name: 'reads',
      steps: [
        // The first read may find the worker without governor state yet (it then asks for it).
        { id: 'warm', kind: 'action', tool: 'asset_lookup', args: { host: 'ws01' }, context: {}, onError: 'fail' },
        { id: 'fast', kind: 'action', tool: 'asset_lookup', args: { host: 'ws02' }, context: {}, onError: 'fail' },
        { id: 'slow', kind: 'action', tool: 'slow_read', args: { q: 'a' }, context: {}, onError: 'fail' },
        { id: 'flaky', kind: 'action', tool: 'flaky_read', args: { q: 'b' }, context: {}, onError: 'fail' },
        { id: 'again', kind: 'action', tool: 'asset_lookup', args: { host: 'ws03' }, context: {}, onError: 'fail' },
        { id: 'bad', kind: 'action', tool: 'bad_read', args: { q: 'c' }, context: {}, onError: 'continue' },
        {
          id: 'ticket',
          kind: 'action',
          tool: 'ticket_create',
          args: { title: 'seen {{ steps.fast.host }}' },
          context: {},
          onError: 'fail',
        },
      ],
    };
    const { workflowId } = await stack.client.start('runPlaybook', { playbook, input: {}, initiator: 'olivia' });
    const result = await stack.client.result<{ status: string; outputs: Record<string, Record<string, unknown>> }>(
      workflowId,
    );
    expect(result.status).toBe('completed');
    expect(result.outputs.fast).toMatchObject({ host: 'ws02' });
    expect(result.outputs.slow).toEqual({ q: 'a', slow: true });
    expect(result.outputs.flaky).toEqual({ q: 'b' });

    const asActivities = await activityCalls(workflowId);
    const records: AuditRecord[] = await ledger.store.list({ workflowId, limit: 1000 });
    // A write is decided first and made as an activity; so are the read over its budget (stopped inline,
    // then made in full) and the read whose inline call failed (made again, with the activity's retries).
    expect(asActivities).toEqual(expect.arrayContaining(['slow', 'flaky', 'ticket']));
    // A failure no retry changes is the call's outcome at once: one call, the step fails as executeTool's would.
    expect(calls).toEqual({ slow_read: 2, flaky_read: 2, bad_read: 1 });
    expect(asActivities).not.toContain('bad');
    const badStep = (await stack.client.runState(workflowId)).steps.find((st) => st.stepId === 'bad');
    expect(badStep).toMatchObject({
      status: 'failed',
      error: { type: 'ToolFailed', message: expect.stringMatching(/does not match its output schema/) },
    });
    // Reads the worker could make at once never became activities.
    expect(asActivities).not.toContain('fast');
    expect(asActivities).not.toContain('again');
    expect(vendor.requests.filter((r) => r.path === '/tickets')).toHaveLength(1);
    const bad = records.filter((r) => (r.data as { stepId?: string }).stepId === 'bad').map((r) => r.type);
    expect(bad).toEqual(expect.arrayContaining(['policy.decision', 'tool.failed']));

    // Every call, inline or not, is in the ledger as the decision and then what the tool did.
    for (const step of ['warm', 'fast', 'slow', 'flaky', 'again', 'ticket']) {
      const mine = records.filter((r) => (r.data as { stepId?: string }).stepId === step);
      const types = mine.map((r) => r.type);
      expect({ step, types }).toEqual({ step, types: expect.arrayContaining(['policy.decision', 'tool.executed']) });
      expect(types.indexOf('policy.decision')).toBeLessThan(types.indexOf('tool.executed'));
    }
  });
});
