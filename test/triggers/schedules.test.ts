import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { AuditLedger } from '../../src/audit';
import { UserError } from '../../src/errors';
import type { Playbook } from '../../src/governance/steps';
import type { ScheduleDefinition } from '../../src/triggers/schedule-spec';
import { parseScheduleDefinition } from '../../src/triggers/schedule-spec';
import { syncSchedules } from '../../src/triggers/schedule-sync';
import { ScheduleManager } from '../../src/triggers/schedules';
import type { RunPlaybookInput } from '../../src/workflows/catalog';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';

const report: Playbook = {
  name: 'nightly-report',
  steps: [
    {
      id: 'ticket',
      kind: 'action',
      tool: 'ticket_create',
      args: { title: 'report for {{ input.team }}' },
      context: {},
      onError: 'fail',
    },
  ],
};

describe('schedule trigger (Temporal Schedules on the real dev server)', () => {
  jest.setTimeout(120_000);
  let stack: TestStack;
  let vendor: FakeVendor;
  let schedules: ScheduleManager;
  const made: string[] = [];
  const def = (over: Partial<ScheduleDefinition> = {}): ScheduleDefinition => {
    const id = over.id ?? `sched-test-${randomUUID().slice(0, 8)}`;
    made.push(id);
    return parseScheduleDefinition({
      every: '1h',
      paused: true,
      playbook: report,
      input: { team: 'blue' },
      ...over,
      id,
    });
  };

  beforeAll(async () => {
    vendor = await startFakeVendor();
    stack = await startTestStack({}, { extraTools: vendorTools(vendor.url), policy: testPolicy() });
    schedules = new ScheduleManager(stack.client.temporal, stack.config.taskQueue);
  });
  afterAll(async () => {
    for (const id of made) await schedules?.delete(id).catch(() => undefined);
    await stack?.stop();
    await vendor?.close();
  });

  it('create → trigger: a runPlaybook run starts with its schedule provenance and acts', async () => {
    const d = def({ description: 'nightly report for team blue' });
    await schedules.create(d);
    const run = await schedules.trigger(d.id);
    expect(run?.workflowId).toMatch(new RegExp(`^scheduled-${d.id}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    const handle = stack.client.temporal.workflow.getHandle(run!.workflowId);
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    expect(vendor.requests.filter((r) => r.idempotencyKey?.startsWith(`${run!.workflowId}/`))).toHaveLength(1);

    // What Temporal recorded: the schedule id and scheduled time as search attributes, the trigger in the input.
    const described = await handle.describe();
    expect(described.searchAttributes).toMatchObject({ TemporalScheduledById: [d.id] });
    expect(described.typedSearchAttributes).toBeDefined();
    const started = (await handle.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    const input = defaultPayloadConverter.fromPayload<RunPlaybookInput>(started.input!.payloads![0]!);
    expect(input).toMatchObject({ initiator: `schedule:${d.id}`, trigger: { type: 'schedule', ref: d.id } });
    expect(described.memo).toMatchObject({ managedBy: 'warden', schedule: d.id });
    // The schedule itself confirms the run (the check a forged search attribute cannot pass).
    expect(await schedules.confirmScheduledRun(d.id, run!.workflowId, run!.runId)).toBe(true);
    expect(await schedules.confirmScheduledRun(d.id, run!.workflowId, randomUUID())).toBe(false);
    // ...which the worker asked before trusting the run as the schedule's.
    const ledger = await AuditLedger.open(stack.config);
    try {
      const records = await ledger.store.list({ workflowId: run!.workflowId, limit: 50 });
      expect(records.find((r) => r.type === 'run.started')?.data).toMatchObject({
        initiator: `schedule:${d.id}`,
        initiatorVerified: true,
        via: 'temporal-schedule',
      });
    } finally {
      await ledger.close();
    }
  });

  it('a run whose starter wrote the schedule search attributes itself is not trusted as scheduled', async () => {
    const d = def();
    await schedules.create(d);
    // A client with start rights forges what a schedule run looks like: the search attributes, the id
    // carrying the scheduled time, the input's trigger. Only the schedule itself can say it started it.
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const workflowId = `scheduled-${d.id}-${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
    const handle = await stack.client.temporal.workflow.start('runPlaybook', {
      taskQueue: stack.config.taskQueue,
      workflowId,
      args: [
        {
          playbook: report,
          input: { team: 'red' },
          initiator: `schedule:${d.id}`,
          trigger: { type: 'schedule', ref: d.id },
        },
      ],
      searchAttributes: { TemporalScheduledById: [d.id], TemporalScheduledStartTime: [at] },
    });
    await handle.result().catch(() => undefined);
    const state = await stack.client.runState(workflowId);
    expect(state.initiator).toBe(`unverified:schedule:${d.id}`);
    const ledger = await AuditLedger.open(stack.config);
    try {
      const records = await ledger.store.list({ workflowId, limit: 50 });
      expect(records.find((r) => r.type === 'run.started')?.data).toMatchObject({
        initiatorVerified: false,
        unverifiedBecause: expect.stringMatching(/did not start this run/),
      });
    } finally {
      await ledger.close();
    }
  });

  it('describes, lists, pauses, unpauses and deletes a schedule', async () => {
    const d = def({ catchupWindow: '5m', overlap: 'buffer-one', description: 'team red' });
    await schedules.create(d);
    expect(await schedules.describe(d.id)).toMatchObject({
      id: d.id,
      description: 'team red',
      playbook: 'nightly-report',
      spec: 'every 1h',
      paused: true,
      managed: true,
      overlap: 'buffer-one',
      catchupWindow: '5m',
      actionsTaken: 0,
    });
    const listed = await waitFor(
      () => schedules.list(),
      (l) => l.some((s) => s.id === d.id),
    );
    expect(listed.find((s) => s.id === d.id)).toMatchObject({
      spec: 'every 1h',
      paused: true,
      playbook: 'nightly-report',
    });
    expect((await schedules.unpause(d.id)).paused).toBe(false);
    expect((await schedules.describe(d.id)).nextRuns.length).toBeGreaterThan(0);
    expect(await schedules.pause(d.id, 'change freeze')).toMatchObject({ paused: true, note: 'change freeze' });
    await schedules.delete(d.id);
    await expect(schedules.describe(d.id)).rejects.toThrow(
      new UserError(`no schedule "${d.id}" — list schedules with \`warden schedule ls\``),
    );
  });

  it('reads a cron schedule back as the cron line', async () => {
    const d = def({ cron: ['0 9 * * 1-5'], every: undefined });
    await schedules.create(d);
    expect((await schedules.describe(d.id)).spec).toBe('cron 0 9 * * 1-5');
    const listed = await waitFor(
      () => schedules.list(),
      (l) => l.some((s) => s.id === d.id),
    );
    expect(listed.find((s) => s.id === d.id)?.spec).toBe('cron 0 9 * * 1-5');
  });

  it('refuses bad schedules with one clear line and creates nothing', async () => {
    const id = `sched-bad-${randomUUID().slice(0, 8)}`;
    made.push(id);
    await expect(schedules.create(def({ id, cron: ['61 25 * * *'], every: undefined }))).rejects.toThrow(
      /^Temporal refused schedule "sched-bad-[0-9a-f]+": /,
    );
    await expect(schedules.describe(id)).rejects.toThrow(/no schedule/);
    expect(() => def({ cron: ['* * * * *'] })).toThrow(/give exactly one of cron .* and every/);
    expect(() => def({ every: 'often' })).toThrow(/every: must be a duration/);
    expect(() => def({ catchupWindow: '0s' })).toThrow(/catchupWindow: must be a duration/);
    expect(() => def({ overlap: 'sometimes' as never })).toThrow(/overlap/);
    const dup = def();
    await schedules.create(dup);
    await expect(schedules.create(dup)).rejects.toThrow(/already exists/);
  });

  it('syncs declarations idempotently: created paused unless enabled, unchanged, updated; a pause survives', async () => {
    const a = `sched-sync-a-${randomUUID().slice(0, 8)}`;
    const b = `sched-sync-b-${randomUUID().slice(0, 8)}`;
    made.push(a, b);
    const resolve = (name: string) => {
      if (name !== 'nightly-report') throw new UserError(`unknown playbook "${name}"`);
      return report;
    };
    const decls = [
      { id: a, description: 'A', interval: '24h', playbook: 'nightly-report', input: { team: 'a' } },
      { id: b, description: 'B', cron: ['0 3 * * *'], playbook: 'nightly-report', input: {}, enabledByDefault: true },
    ];
    expect(await syncSchedules(schedules, decls, resolve)).toEqual([
      { id: a, outcome: 'created' },
      { id: b, outcome: 'created' },
    ]);
    expect((await schedules.describe(a)).paused).toBe(true);
    expect((await schedules.describe(b)).paused).toBe(false);
    expect((await syncSchedules(schedules, decls, resolve)).map((r) => r.outcome)).toEqual(['unchanged', 'unchanged']);

    await schedules.unpause(a, 'approved by ops');
    const changed = [{ ...decls[0]!, input: { team: 'a2' } }, decls[1]!];
    expect((await syncSchedules(schedules, changed, resolve)).map((r) => r.outcome)).toEqual(['updated', 'unchanged']);
    expect((await schedules.describe(a)).paused).toBe(false);
    const run = await schedules.trigger(a);
    await stack.client.result(run!.workflowId);
    expect(vendor.requests.some((r) => (r.body as { title?: string }).title === 'report for a2')).toBe(true);

    await expect(
      syncSchedules(
        schedules,
        [
          { ...decls[0]!, playbook: 'missing' },
          { ...decls[1]!, interval: '1h' },
        ],
        resolve,
      ),
    ).rejects.toThrow(/unknown playbook "missing".*give exactly one of cron.*nothing was synced/);
  });

  it('starts runs on time by itself (a 2 s interval on the dev server; the time-skipping server has no Schedules)', async () => {
    const d = def({ every: '2s', paused: false });
    await schedules.create(d);
    const view = await waitFor(
      () => schedules.describe(d.id),
      (v) => v.recentRuns.length >= 3,
      60_000,
    );
    await schedules.pause(d.id);
    // Each run carries its nominal time (Temporal's TemporalScheduledStartTime): 2 s apart, on the grid.
    const times: number[] = [];
    for (const r of view.recentRuns) {
      const sa = (await stack.client.temporal.workflow.getHandle(r.workflowId).describe()).searchAttributes;
      const at = (sa.TemporalScheduledStartTime?.[0] as Date | undefined)?.getTime();
      expect(r.workflowId.endsWith(new Date(at!).toISOString().replace('.000Z', 'Z'))).toBe(true);
      times.push(at!);
    }
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      expect(gap % 2000).toBe(0);
      expect(gap).toBeGreaterThanOrEqual(2000);
    }
  });
});
