import { randomUUID } from 'node:crypto';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { TypedSearchAttributes } from '@temporalio/common';
import type { ProvenanceInfo, RunProvenance } from '../../src/triggers/run-provenance';
import { runProvenance } from '../../src/triggers/run-provenance';
import { ScheduleManager } from '../../src/triggers/schedules';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';

/*
 * runProvenance() runs inside real workflow code here, on runs a real Schedule starts, runs a client starts
 * with forged search attributes, and runs that only claim a trigger in their input.
 */
describe('run provenance from workflowInfo (real Temporal dev server)', () => {
  jest.setTimeout(180_000);
  let stack: TestStack;
  let worker: Worker;
  let running: Promise<void>;
  let connection: NativeConnection;
  const taskQueue = `provenance-${randomUUID()}`;
  const scheduleId = `prov-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    stack = await startTestStack();
    connection = await NativeConnection.connect({ address: stack.config.temporal.address! });
    worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./fixtures/provenance-workflows') }),
    });
    running = worker.run();
  });
  afterAll(async () => {
    await stack?.client.temporal.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    worker?.shutdown();
    await running;
    await connection?.close();
    await stack?.stop();
  });

  const start = (workflowId: string, claimed: unknown, searchAttributes?: Record<string, unknown[]>) =>
    stack.client.temporal.workflow.execute('reportProvenance', {
      taskQueue,
      workflowId,
      args: claimed === undefined ? [] : [claimed],
      ...(searchAttributes ? { searchAttributes: searchAttributes as never } : {}),
    }) as Promise<RunProvenance>;

  it('reads the schedule id and scheduled time Temporal sets on a schedule-started run', async () => {
    await stack.client.temporal.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'reportProvenance',
        taskQueue,
        workflowId: `scheduled-${scheduleId}`,
        args: [{ type: 'schedule', ref: scheduleId }],
      },
      state: { paused: true },
    });
    const run = await new ScheduleManager(stack.client.temporal, taskQueue).trigger(scheduleId);
    const p = await stack.client.result<RunProvenance>(run!.workflowId);
    expect(p).toEqual({
      type: 'schedule',
      ref: scheduleId,
      scheduledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
      evidence: 'temporal-schedule',
    });
    expect(run!.workflowId.endsWith(p.scheduledAt!.replace('.000Z', 'Z'))).toBe(true);
  });

  it('flags a run whose input claims a schedule that Temporal did not record', async () => {
    expect(await start(`claim-${randomUUID()}`, { type: 'schedule', ref: scheduleId })).toMatchObject({
      type: 'unverified',
      evidence: 'none',
      claimed: { type: 'schedule', ref: scheduleId },
      discrepancy: expect.stringMatching(/Temporal records no schedule/),
    });
  });

  it('flags forged schedule search attributes that do not match the run id, and the schedule disowns the run', async () => {
    const id = `forged-${randomUUID()}`;
    const p = await start(id, { type: 'schedule', ref: scheduleId }, { TemporalScheduledById: [scheduleId] });
    expect(p).toMatchObject({
      type: 'schedule',
      discrepancy: expect.stringMatching(/does not carry the scheduled time/),
    });
    const forged = await stack.client.temporal.workflow.getHandle(id).describe();
    const schedules = new ScheduleManager(stack.client.temporal, taskQueue);
    expect(await schedules.confirmScheduledRun(scheduleId, id, forged.runId)).toBe(false);
  });

  it('takes a webhook or manual trigger as claimed, and a run without one as manual', async () => {
    expect(await start(`hook-${randomUUID()}`, { type: 'webhook', ref: 'crowdstrike/42' })).toEqual({
      type: 'webhook',
      ref: 'crowdstrike/42',
      evidence: 'claimed',
    });
    expect(await start(`manual-${randomUUID()}`, undefined)).toEqual({ type: 'manual', evidence: 'none' });
  });
});

describe('run provenance of threshold runs', () => {
  const info = (workflowId: string, parent?: string): ProvenanceInfo => ({
    workflowId,
    typedSearchAttributes: new TypedSearchAttributes(),
    parent: parent ? { workflowId: parent, runId: 'r', namespace: 'default' } : undefined,
  });
  const runId = 'threshold-run-failed-logins-alice-2026-01-01T00:00:00.000Z';
  const entityId = 'threshold-entity-failed-logins-0123456789ab-alice';

  it('trusts the parent Temporal recorded: a threshold entity of the rule the input names', () => {
    expect(
      runProvenance(info(runId, entityId), { type: 'threshold', ref: 'failed-logins/alice@2026-01-01T00:00:00.000Z' }),
    ).toEqual({
      type: 'threshold',
      ref: 'failed-logins/alice@2026-01-01T00:00:00.000Z',
      parentWorkflowId: entityId,
      evidence: 'threshold-parent',
    });
  });

  it('flags an input naming another rule than the parent entity, and a claim without a parent', () => {
    expect(runProvenance(info(runId, entityId), { type: 'threshold', ref: 'other-rule/alice@x' })).toMatchObject({
      type: 'threshold',
      evidence: 'threshold-parent',
      discrepancy: expect.stringMatching(/does not name the rule/),
    });
    expect(runProvenance(info(runId), { type: 'threshold', ref: 'failed-logins/alice@x' })).toMatchObject({
      type: 'unverified',
      discrepancy: expect.stringMatching(/no threshold entity/),
    });
  });
});
