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
  const countedReads: string[] = [];
  const countedRead = defineTool({
    name: 'counted_read',
    description: 'A lookup that remembers what it was asked',
    input: z.object({ q: z.string() }),
    output: z.object({ q: z.string(), n: z.number() }),
    risk: 'read',
    capabilities: [],
    execute: (args) => {
      countedReads.push(args.q);
      return Promise.resolve({ q: args.q, n: countedReads.length });
    },
  });
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
      {
        extraTools: [...vendorTools(vendor.url), slowRead, flakyRead, badRead, countedRead],
        policy: testPolicy({
          rules: [
            { id: 'not-that-one', tool: 'counted_read', when: "args.q == 'forbidden'", effect: 'deny', reason: 'no' },
          ],
        }),
        ledger,
      },
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

  /** The local activities of a run, by type, in the order their markers were recorded. */
  async function localActivities(workflowId: string): Promise<string[]> {
    const history = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    return history.events!.flatMap((e) => {
      const m = e.markerRecordedEventAttributes;
      const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
      return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type] : [];
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

  it("decides an inline forEach's first calls in one local activity, reads what it may, and sends the rest their own way", async () => {
    const each = (id: string, items: string, step: Playbook['steps'][number], extra: Record<string, unknown> = {}) =>
      ({
        id,
        kind: 'forEach',
        items,
        concurrency: 3,
        batchSize: 100,
        inline: true,
        onItemFailure: 'continue',
        onError: 'fail',
        steps: [step],
        ...extra,
      }) as Playbook['steps'][number];
    const playbook: Playbook = {
      name: 'fan-out-reads',
      steps: [
        // Reads policy allows are made in the one local activity; the one it denies is never made.
        each('reads', 'input.qs', {
          id: 'read',
          kind: 'action',
          tool: 'counted_read',
          args: { q: '{{ item }}' },
          context: {},
          onError: 'fail',
        }),
        // Writes are only decided there, then made as activities.
        each('writes', 'input.titles', {
          id: 'write',
          kind: 'action',
          tool: 'ticket_create',
          args: { title: '{{ item }}' },
          context: {},
          onError: 'fail',
        }),
        // Reads over the inline budget are given up there and made in full as activities.
        each('slow', 'input.slow', {
          id: 'slow_one',
          kind: 'action',
          tool: 'slow_read',
          args: { q: '{{ item }}' },
          context: {},
          onError: 'fail',
        }),
        // failFast: items after a failure must not act, so each item decides its own call, one by one.
        each(
          'strict',
          'input.strict',
          {
            id: 'strict_read',
            kind: 'action',
            tool: 'counted_read',
            args: { q: '{{ item }}' },
            context: {},
            onError: 'fail',
          },
          { onItemFailure: 'failFast', concurrency: 1, onError: 'continue' },
        ),
      ],
    };
    countedReads.length = 0;
    const slowBefore = calls.slow_read!;
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook,
      input: { qs: ['a', 'forbidden', 'b'], titles: ['t1', 't2'], slow: ['s1', 's2'], strict: ['x', 'forbidden', 'y'] },
      initiator: 'olivia',
    });
    type Each = {
      succeeded: number;
      failed: number;
      results: { index: number; status: string; output?: Record<string, unknown>; error?: { type: string } }[];
    };
    const result = await stack.client.result<{ status: string; outputs: Record<string, Each> }>(workflowId);
    expect(result.status).toBe('completed');
    const reads = result.outputs.reads!;
    expect(reads.results.map((r) => [r.index, r.status, r.error?.type])).toEqual([
      [0, 'completed', undefined],
      [1, 'failed', 'PolicyDenied'],
      [2, 'completed', undefined],
    ]);
    expect(reads.results[0]!.output).toEqual({ read: { q: 'a', n: expect.any(Number) } });
    expect(reads.results[2]!.output).toEqual({ read: { q: 'b', n: expect.any(Number) } });
    expect(result.outputs.writes).toMatchObject({ succeeded: 2, failed: 0 });
    expect(result.outputs.slow!.results.map((r) => r.output)).toEqual([
      { slow_one: { q: 's1', slow: true } },
      { slow_one: { q: 's2', slow: true } },
    ]);
    // failFast stopped at the denied item (failing the step): `y` was never decided nor read.
    const steps = (await stack.client.runState(workflowId)).steps;
    expect(steps.find((st) => st.stepId === 'strict')).toMatchObject({
      status: 'failed',
      error: { type: 'PolicyDenied' },
    });
    expect(steps.map((st) => st.stepId)).not.toContain('strict_read[2]');
    expect(countedReads.sort()).toEqual(['a', 'b', 'x']);
    // Each slow read: given up inline at the budget, then made in full as an activity.
    expect(calls.slow_read! - slowBefore).toBe(4);

    const local = await localActivities(workflowId);
    expect(local.filter((t) => t === 'decideAndReadMany')).toHaveLength(3);
    expect(local.filter((t) => t === 'decideAndRead')).toHaveLength(2); // strict: x, then the denied one
    expect((await activityCalls(workflowId)).sort()).toEqual(['slow_one', 'slow_one', 'write', 'write']);
    expect(
      vendor.requests.filter(
        (r) => r.path === '/tickets' && ['t1', 't2'].includes((r.body as { title?: string }).title ?? ''),
      ),
    ).toHaveLength(2);

    // Every call is in the ledger as its decision and then what the tool did; the denied ones as a denial only.
    const records: AuditRecord[] = await ledger.store.list({ workflowId, limit: 1000 });
    const of = (stepId: string, callId: string) =>
      records
        .filter((r) => {
          const d = r.data as { stepId?: string; callId?: string };
          return d.stepId === stepId && d.callId === callId;
        })
        .map((r) => r.type);
    for (const [stepId, callId] of [
      ['read', '0'],
      ['read', '2'],
      ['write', '0'],
      ['write', '1'],
      ['slow_one', '1'],
    ])
      expect({ stepId, callId, types: of(stepId!, callId!) }).toEqual({
        stepId,
        callId,
        types: expect.arrayContaining(['policy.decision', 'tool.executed']),
      });
    expect(of('read', '1')).toEqual(['policy.decision']);
    const denied = records.find(
      (r) =>
        r.type === 'policy.decision' &&
        (r.data as { stepId?: string; callId?: string }).stepId === 'read' &&
        (r.data as { callId?: string }).callId === '1',
    );
    expect(denied?.data).toMatchObject({ effect: 'deny', ruleId: 'not-that-one' });
  });
});
