import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../../src/config';
import type { ApprovalAttempt, PendingApproval } from '../../src/governance/approvals';
import type { Playbook } from '../../src/governance/steps';
import { resolveTestServer } from '../../src/runtime/temporal-binaries';
import type { RunPlaybookResult } from '../../src/workflows/catalog';
import type { RunState } from '../../src/workflows/engine/state';
import type { WardenWorker } from '../../src/worker';
import { createWardenWorker, installRuntime } from '../../src/worker';
import { HARNESS_ENV } from '../harness/env';
import { testPolicy } from '../harness/policies';
import { memoryLogger } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';
import { signedApproval, signerOf } from '../harness/identity';
import { signStart } from '../../src/identity/start-attestation';

/*
 * Approval timeouts are Temporal timers, so they survive worker restarts and can be tested in minutes of
 * workflow time per second of wall time on the time-skipping test server (timers only: DESIGN.md trap 12).
 * The server skips time only while a client awaits a result or the test calls env.sleep; otherwise it
 * stands still, which lets the test signal and query "mid-wait".
 */

const HOUR = 3_600_000;

/** Tier 1 under testPolicy: stage 1 asks l1 [alice, bob] for 4 h, stage 2 adds l2 [carol, dave, erin] for 8 h. */
const isolateLowHost: Playbook = {
  name: 'isolate',
  steps: [
    { id: 'lookup', kind: 'action', tool: 'asset_lookup', args: { host: 'ws01' }, context: {}, onError: 'fail' },
    {
      id: 'contain',
      kind: 'action',
      tool: 'host_isolate',
      args: { host: '{{ steps.lookup.host }}' },
      context: { asset: '{{ steps.lookup }}' },
      onError: 'fail',
    },
  ],
};

describe('approval timeouts and escalation (time-skipping test server)', () => {
  let env: TestWorkflowEnvironment;
  let ww: WardenWorker;
  let running: Promise<void>;
  let vendor: FakeVendor;
  let logLines: string[];
  let taskQueue: string;

  beforeAll(async () => {
    const bundlePath = process.env[HARNESS_ENV.bundle];
    if (!bundlePath) throw new Error('no workflow bundle (jest globalSetup did not run)');
    const { logger, lines } = memoryLogger();
    logLines = lines;
    // Before the environment creates the SDK runtime, so the SDK's own logs land in the same lines.
    installRuntime(logger);
    vendor = await startFakeVendor();
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: resolveTestServer() } },
    });
    taskQueue = `timeouts-${randomUUID()}`;
    ww = await createWardenWorker({
      config: loadConfig({
        TEMPORAL_ADDRESS: env.address,
        WARDEN_TASK_QUEUE: taskQueue,
        WARDEN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'warden-timeouts-')),
        WARDEN_LOG_LEVEL: 'debug',
        WARDEN_SHUTDOWN_GRACE_MS: '2000',
      }),
      logger,
      connection: env.nativeConnection,
      workflowBundle: { codePath: bundlePath },
      extraTools: vendorTools(vendor.url),
      policy: testPolicy({ timeouts: ['4h', '8h'] }),
    });
    running = ww.run();
  });

  afterAll(async () => {
    ww?.shutdown();
    await running;
    await ww?.close();
    await env?.teardown();
    await vendor?.close();
  });

  // Started as `warden run` does: signed by the initiator, so the run's initiator is verified.
  const start = (initiator = 'olivia'): Promise<WorkflowHandle> => {
    const workflowId = `timeouts-${randomUUID()}`;
    const attestation = signStart(signerOf(initiator), { workflowId, initiator, playbook: isolateLowHost, input: {} });
    return env.client.workflow.start('runPlaybook', {
      taskQueue,
      workflowId,
      args: [{ playbook: isolateLowHost, input: {}, initiator, attestation }],
    });
  };
  const pendingOf = (h: WorkflowHandle) =>
    waitFor(
      () => h.query<PendingApproval[]>('pendingApprovals'),
      (l) => l.length === 1,
    ).then((l) => l[0]!);
  const isolations = (h: WorkflowHandle) =>
    vendor.requests.filter((r) => r.path === '/isolate' && r.idempotencyKey?.startsWith(`${h.workflowId}/`));
  const notices = (h: WorkflowHandle) =>
    logLines
      .map((l) => JSON.parse(l) as { msg?: string; workflowId?: string; escalated?: boolean; groups?: string })
      .filter((l) => l.msg === 'approval needed' && l.workflowId === h.workflowId)
      .map(({ escalated, groups }) => ({ escalated, groups }));

  it('fails the run with ApprovalTimedOut after both stages (12 h of workflow time) and escalates to l2 on the way', async () => {
    const handle = await start();
    const p = await pendingOf(handle);
    expect(p).toMatchObject({ approvalId: 'contain.0', stage: 0, eligible: ['alice', 'bob'] });

    // Awaiting the result lets the server skip to each timer: 4 h, then 8 h more.
    const err: unknown = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({
      type: 'ApprovalTimedOut',
      message: 'step contain: no decision after 2 escalation stage(s): denied',
    });

    // Workflow time, from the history the server recorded.
    const events = (await handle.fetchHistory()).events!;
    const startedAt = tsToMs(events[0]!.eventTime);
    const endedAt = tsToMs(events[events.length - 1]!.eventTime);
    expect(events[events.length - 1]!.workflowExecutionFailedEventAttributes).toBeTruthy();
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(12 * HOUR);

    const state = await handle.query<RunState>('runState');
    expect(state.status).toBe('failed');
    expect(state.steps.find((s) => s.stepId === 'contain')).toMatchObject({
      status: 'failed',
      error: { type: 'ApprovalTimedOut' },
      approval: { status: 'timed_out', approvalId: 'contain.0' },
    });
    expect(state.events.map((e) => e.what)).toEqual([
      'approval contain.0 escalated to l1, l2',
      'approval contain.0 timed out: denied',
    ]);
    const [escalatedAt, timedOutAt] = state.events.map((e) => Date.parse(e.at) - startedAt);
    expect(escalatedAt).toBeGreaterThanOrEqual(4 * HOUR);
    expect(escalatedAt).toBeLessThan(5 * HOUR);
    expect(timedOutAt).toBeGreaterThanOrEqual(12 * HOUR);

    // Approvers were told once per stage; nothing acted on the world.
    expect(notices(handle)).toEqual([
      { escalated: false, groups: 'l1' },
      { escalated: true, groups: 'l1, l2' },
    ]);
    expect(isolations(handle)).toHaveLength(0);
  });

  it('lets an l2 member approve only after the first stage timed out, and then isolates exactly once', async () => {
    const handle = await start();
    const p = await pendingOf(handle);
    const before = await env.currentTimeMs();
    const attempts = () => handle.query<ApprovalAttempt[]>('approvalAttempts');
    // Signed on the test server's clock, which skips ahead hours (a real signer's clock is the server's).
    const approveAsCarol = async (requestId: string) =>
      handle.signal(
        'approval',
        signedApproval(p, 'approve', 'carol', { requestId, at: new Date(await env.currentTimeMs()) }),
      );

    await approveAsCarol('too-early');
    const early = await waitFor(attempts, (a) => a.length === 1);
    expect(early[0]).toMatchObject({
      requestId: 'too-early',
      outcome: 'refused',
      reason: 'carol is not in the approver groups for tier 1 (l1)',
    });
    expect((await pendingOf(handle)).stage).toBe(0);

    // Past the 4 h stage timeout, not yet past the 12 h total.
    await env.sleep('5h');
    const escalated = await waitFor(
      () => pendingOf(handle),
      (x) => x.stage === 1,
    );
    expect(escalated.eligible).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(4 * HOUR);
    expect(isolations(handle)).toHaveLength(0);

    await approveAsCarol('after-escalation');
    const later = await waitFor(attempts, (a) => a.length === 2);
    expect(later[1]).toMatchObject({ requestId: 'after-escalation', outcome: 'accepted', reason: 'approved' });

    const result = (await handle.result()) as RunPlaybookResult;
    expect(result.status).toBe('completed');
    expect(result.steps.find((s) => s.stepId === 'contain')!.approval).toMatchObject({
      status: 'approved',
      approvers: ['carol'],
    });
    expect(isolations(handle)).toHaveLength(1);
    expect(vendor.applied.get(`${handle.workflowId}/contain/0`)).toBe(1);
    const state = await handle.query<RunState>('runState');
    expect(state.events.map((e) => e.what)).toEqual(['approval contain.0 escalated to l1, l2']);
    expect(notices(handle)).toEqual([
      { escalated: false, groups: 'l1' },
      { escalated: true, groups: 'l1, l2' },
    ]);
  });
});
