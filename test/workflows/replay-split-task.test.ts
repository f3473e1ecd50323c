import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { testPolicy } from '../harness/policies';
import { hostLookups } from '../harness/playbooks';
import { HARNESS_ENV } from '../harness/env';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';

type History = temporal.api.history.v1.IHistory;
const { EventType } = temporal.api.enums.v1;

/*
 * A burst of 50 alerts on two cores left every run unreplayable (each query and each worker restart then
 * failed it with "patch marker encountered for change warden-batch-attestation, but there is no
 * corresponding change command"): the worker answered the first workflow task with the identity check's
 * local activity marker, but the run's next commands — the forEach's `patched()` marker among them — went
 * out in a second task with no new event, while replay hands the local activity's result to the first
 * task's activation. Runs now settle every patch before their first local activity (engine/patches.ts).
 *
 * The race cannot be forced on a live server, so the test records a run and moves the commands after the
 * identity marker into a second workflow task, the layout those burst histories have, then replays it.
 */

/** The history with a workflow task (scheduled, started, completed) inserted after event `afterId`. */
function splitAfter(history: History, afterId: number): History {
  const plain = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), {
    longs: Number,
    enums: String,
    bytes: String,
    defaults: false,
  }) as { events: Record<string, unknown>[] };
  const shift = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(shift);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [
          k,
          /EventId$|^eventId$/.test(k) && typeof x === 'number' && x > afterId ? x + 3 : shift(x),
        ]),
      );
    return v;
  };
  const events = plain.events.map((e) => shift(e) as Record<string, unknown>);
  const at = events.findIndex((e) => e.eventId === afterId) + 1;
  const template = (type: string) => plain.events.find((e) => e.eventType === type)!;
  const completedId = afterId + 3;
  const inserted = [
    { ...template('EVENT_TYPE_WORKFLOW_TASK_SCHEDULED'), eventId: afterId + 1 },
    {
      ...template('EVENT_TYPE_WORKFLOW_TASK_STARTED'),
      eventId: afterId + 2,
      workflowTaskStartedEventAttributes: {
        ...(template('EVENT_TYPE_WORKFLOW_TASK_STARTED').workflowTaskStartedEventAttributes as object),
        scheduledEventId: afterId + 1,
      },
    },
    {
      ...template('EVENT_TYPE_WORKFLOW_TASK_COMPLETED'),
      eventId: completedId,
      workflowTaskCompletedEventAttributes: {
        ...(template('EVENT_TYPE_WORKFLOW_TASK_COMPLETED').workflowTaskCompletedEventAttributes as object),
        scheduledEventId: afterId + 1,
        startedEventId: afterId + 2,
      },
    },
  ];
  // The commands after the split belong to the new task, up to the next task's events.
  for (let i = at; i < events.length && !String(events[i]!.eventType).startsWith('EVENT_TYPE_WORKFLOW_TASK'); i++)
    for (const [k, attrs] of Object.entries(events[i]!))
      if (k.endsWith('Attributes') && attrs && typeof attrs === 'object' && 'workflowTaskCompletedEventId' in attrs)
        (attrs as Record<string, unknown>).workflowTaskCompletedEventId = completedId;
  events.splice(at, 0, ...inserted);
  return temporal.api.history.v1.History.fromObject({ events });
}

describe('replay when a local activity result and the next commands land in different workflow tasks (real Temporal dev server)', () => {
  jest.setTimeout(120_000);
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({}, { extraTools: vendorTools('http://127.0.0.1:9'), policy: testPolicy() });
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('a run replays whichever workflow task its forEach patch went out in', async () => {
    const playbook = hostLookups('split-task', { concurrency: 2 }, 'continue');
    const { workflowId } = await stack.client.start(
      'runPlaybook',
      { playbook, input: { hosts: ['ws1', 'ws2'] }, initiator: 'olivia' },
      { workflowId: `split-task-${Date.now()}` },
    );
    await stack.client.result(workflowId);
    const history = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const markerText = (e: (typeof events)[number]) =>
      Object.values(e.markerRecordedEventAttributes?.details ?? {})
        .flatMap((d) => d.payloads ?? [])
        .map((p) => Buffer.from(p.data ?? []).toString())
        .join(' ');
    const identify = events.find((e) => markerText(e).includes('"identifyRun"'));
    expect(identify).toBeDefined();
    // As recorded, the forEach's batch patch came after the identity check; in the split history it is
    // in the second task, as in the burst's histories.
    const split = splitAfter(history, Number(identify!.eventId));
    const splitEvents = split.events ?? [];
    const taskCompleted = splitEvents.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    expect(taskCompleted.length).toBe(
      events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length + 1,
    );
    const bundle = { workflowBundle: { codePath: process.env[HARNESS_ENV.bundle]! } };
    await expect(Worker.runReplayHistory(bundle, history, workflowId)).resolves.toBeUndefined();
    await expect(Worker.runReplayHistory(bundle, split, workflowId)).resolves.toBeUndefined();
  });
});
