import { randomUUID } from 'node:crypto';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Playbook } from '../../src/governance/steps';
import type { GovernorState } from '../../src/workflows/contract';
import type { ToolOutcomeSignal } from '../../src/workflows/contract';
import { reportToolOutcomeSignal, setKillSwitchSignal } from '../../src/workflows/contract';
import { runCli } from '../harness/cli';
import { testKeysDir } from '../harness/identity';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';
import { breakerReportFields } from '../../src/activities/identity';
import { loadFleetKey } from '../../src/identity/fleet-key';

function fanOut(n: number, tool = 'ticket_create', concurrency = 1): Playbook {
  return {
    name: 'fan-out',
    steps: [
      {
        id: 'each',
        kind: 'forEach',
        items: 'input.items',
        concurrency,
        batchSize: 100,
        onItemFailure: 'continue',
        onError: 'fail',
        steps: [
          {
            id: 'call',
            kind: 'action',
            tool,
            args: tool === 'rate_limited_call' ? { n: '{{ item }}' } : { title: 'item {{ item }}' },
            context: {},
            onError: 'fail',
          },
        ],
      },
    ],
  };
}

/** Delays a governor's state restore by `delay.ms` (0: no delay). */
function slowGovernorRestore(delay: { ms: number }): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        if (ctx.info.activityType === 'openGovernorState' && delay.ms)
          await new Promise((r) => setTimeout(r, delay.ms));
        return next(input);
      },
    },
  });
}

describe('fleet-wide controls: kill switch, circuit breaker, rate limit (real Temporal dev server)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  let env: Record<string, string>;
  const governorId = `governor-${randomUUID()}`;
  const restoreDelay = { ms: 0 };
  beforeAll(async () => {
    vendor = await startFakeVendor();
    env = {
      WARDEN_GOVERNOR_ID: governorId,
      WARDEN_BREAKER_THRESHOLD: '3',
      WARDEN_BREAKER_COOLDOWN_MS: '1500',
      WARDEN_RATE_LIMITS: 'slowvendor=4',
    };
    stack = await startTestStack(env, {
      extraTools: vendorTools(vendor.url),
      policy: testPolicy(),
      activityInterceptors: [slowGovernorRestore(restoreDelay)],
    });
    env = {
      ...env,
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: stack.config.taskQueue,
      WARDEN_KEYS_DIR: testKeysDir(['carol', 'alice', 'mallory']),
    };
  });
  afterAll(async () => {
    await stack.client.temporal.workflow
      .getHandle(governorId)
      .terminate('test done')
      .catch(() => undefined);
    await stack.stop();
    await vendor.close();
  });
  const writesOf = (id: string) => vendor.requests.filter((r) => r.idempotencyKey?.startsWith(`${id}--`));

  it('kill switch: a run in flight stops executing write tools within 5 s, then resumes exactly once per item when released', async () => {
    vendor.delayMs = 100;
    try {
      const items = Array.from({ length: 60 }, (_, i) => i);
      const { workflowId: id } = await stack.client.start('runPlaybook', {
        playbook: fanOut(60),
        input: { items },
        initiator: 'olivia',
      });
      await waitFor(
        async () => writesOf(id).length,
        (n) => n >= 3,
      );
      const on = await runCli(['kill-switch', 'on', '--as', 'alice', '--reason', 'suspected compromise'], env);
      expect(on.code).toBe(0);
      expect(on.stdout).toMatch(/killSwitch:\s+ON/);
      const engagedAt = Date.now();
      await new Promise((r) => setTimeout(r, 7_000));
      const late = writesOf(id).filter((r) => r.at > engagedAt + 5_000);
      expect(late).toEqual([]);
      const heldAt = writesOf(id).length;
      expect(heldAt).toBeLessThan(60);
      const status = await runCli(['kill-switch', 'status', '--json'], env);
      expect((JSON.parse(status.stdout) as GovernorState).killSwitch).toMatchObject({
        engaged: true,
        by: 'alice',
        reason: 'suspected compromise',
      });

      // Reads are not blocked by the kill switch.
      const read = await stack.client.start('runPlaybook', {
        playbook: {
          name: 'read',
          steps: [{ id: 'lookup', kind: 'action', tool: 'asset_lookup', args: { host: 'ws1' } }],
        },
        initiator: 'olivia',
      });
      expect((await stack.client.result<{ status: string }>(read.workflowId)).status).toBe('completed');

      // Releasing lets every held write go: only the highest tier's groups may (l2: carol), signed.
      const early = await runCli(['kill-switch', 'off', '--as', 'alice'], env);
      expect(early.code).toBe(1);
      expect(early.stderr).toMatch(/alice is not authorised to turn the kill switch off/);
      const forged = await runCli(['kill-switch', 'off', '--as', 'mallory'], env);
      expect(forged.stderr).toMatch(/mallory is not authorised/);
      // An unsigned release straight through Temporal (what any client with access could send).
      await stack.client.temporal.workflow
        .getHandle(governorId)
        .signal(setKillSwitchSignal, { engaged: false, by: 'carol', reason: 'forged' });
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await stack.client.governor(governorId).state(true)).killSwitch.engaged).toBe(true);
      expect(writesOf(id).length).toBe(heldAt);
      // Replace the governor with one of the attacker's making, handed a state with the switch off. While the
      // new governor restores its state from the ledger (slowed here, as by a large ledger) it must never read as
      // "off": workers poll it, and a workflow task that times out under load lets queries reach it mid-restore.
      restoreDelay.ms = 3_000;
      const seen: GovernorState[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          // A governor that has not run its first task yet refuses queries: workers then hold too.
          const st = await stack.client
            .governor(governorId)
            .state(true)
            .catch(() => undefined);
          if (st) seen.push(st);
        }
      })();
      await stack.client.temporal.workflow.start('governor', {
        workflowId: governorId,
        taskQueue: stack.config.taskQueue,
        args: [
          { state: { killSwitch: { engaged: false, by: 'carol' }, breakers: {}, changes: [] }, seal: 'ab'.repeat(32) },
        ],
        workflowIdConflictPolicy: 'TERMINATE_EXISTING',
      });
      const restarted = await waitFor(
        () => stack.client.governor(governorId).state(true),
        (st) => st.changes.some((c) => c.what === 'started from the audit ledger'),
      );
      restoreDelay.ms = 0;
      watching = false;
      await watcher;
      expect(restarted.killSwitch).toMatchObject({ engaged: true, by: 'alice', reason: 'suspected compromise' });
      expect(seen.filter((st) => !st.restoring && !st.killSwitch.engaged)).toEqual([]);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(writesOf(id).length).toBe(heldAt);
      // Delete the governor's execution outright (what anyone with Temporal admin access can do): workers that
      // find no governor start one, which restores the switch from the ledger; they never read "off" from nothing.
      const deletedRunId = (await stack.client.temporal.workflow.getHandle(governorId).describe()).runId;
      await stack.client.temporal.workflowService.deleteWorkflowExecution({
        namespace: stack.config.temporal.namespace,
        workflowExecution: { workflowId: governorId },
      });
      const reborn = await waitFor(
        () =>
          stack.client.temporal.workflow
            .getHandle(governorId)
            .describe()
            .catch(() => undefined),
        (d) => !!d && d.runId !== deletedRunId && d.status.name === 'RUNNING',
      );
      expect(reborn!.runId).not.toBe(deletedRunId);
      const restored = await waitFor(
        () => stack.client.governor(governorId).state(true),
        (st) => !st.restoring,
      );
      expect(restored.killSwitch).toMatchObject({ engaged: true, by: 'alice' });
      expect(writesOf(id).length).toBe(heldAt);
      expect((await runCli(['kill-switch', 'off', '--as', 'carol'], env)).code).toBe(0);
      const result = await stack.client.result<{ outputs: { each: { succeeded: number } } }>(id);
      expect(result.outputs.each.succeeded).toBe(60);
      const keys = writesOf(id).map((r) => r.idempotencyKey!);
      expect(new Set(keys).size).toBe(60);
      expect([...vendor.applied.entries()].filter(([k]) => k.startsWith(`${id}--`)).every(([, n]) => n === 1)).toBe(
        true,
      );
    } finally {
      vendor.delayMs = 0;
      // A failure above must not leave the switch on for the tests below.
      await runCli(['kill-switch', 'off', '--as', 'carol'], env);
    }
  });

  it('circuit breaker: opens after N consecutive failures, refuses calls without reaching the vendor, half-opens after the cooldown', async () => {
    vendor.failNext(3, 503);
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: { name: 'one', steps: [{ id: 'tk', kind: 'action', tool: 'ticket_create', args: { title: 'x' } }] },
      initiator: 'olivia',
    });
    const opened = await waitFor(
      () => stack.client.governor(governorId).state(true),
      (s) => s.breakers.ticketing?.state === 'open',
    );
    expect(opened.breakers.ticketing!.consecutiveFailures).toBe(3);
    const hits = vendor.requests.filter((r) => r.idempotencyKey === `${id}/tk/0`).length;
    expect(hits).toBe(3);
    // While open, a second run's call is refused before it reaches the vendor.
    const second = await stack.client.start('runPlaybook', {
      playbook: { name: 'two', steps: [{ id: 'tk', kind: 'action', tool: 'ticket_create', args: { title: 'y' } }] },
      initiator: 'olivia',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(vendor.requests.filter((r) => r.idempotencyKey === `${second.workflowId}/tk/0`)).toHaveLength(0);
    // After the cooldown a trial call goes through, succeeds, and closes the breaker; both runs finish.
    expect((await stack.client.result<{ status: string }>(id)).status).toBe('completed');
    expect((await stack.client.result<{ status: string }>(second.workflowId)).status).toBe('completed');
    const closed = await stack.client.governor(governorId).state(true);
    expect(closed.breakers.ticketing).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
    expect(closed.changes.map((c) => c.what)).toEqual(
      expect.arrayContaining([
        'breaker ticketing opened after 3 consecutive failures',
        'breaker ticketing closed (trial call succeeded)',
      ]),
    );
    const s = await stack.client.runState(id);
    expect(s.steps[0]!.status).toBe('completed');
  });

  it('breakers take reports only from the fleet’s workers, and threshold and cooldown only from configuration', async () => {
    const h = stack.client.temporal.workflow.getHandle(governorId);
    // What any Temporal client could send: a failure with a decades-long cooldown, then forged MACs.
    for (let i = 0; i < 5; i++)
      await h.signal(reportToolOutcomeSignal, {
        integration: 'edr',
        ok: false,
        threshold: 1,
        cooldownMs: 1e12,
      } as unknown as ToolOutcomeSignal);
    await h.signal(reportToolOutcomeSignal, {
      integration: 'edr',
      ok: false,
      at: new Date().toISOString(),
      nonce: 'cd'.repeat(16),
      mac: 'ab'.repeat(32),
    });
    // A genuine worker report (as read from the governor's history), replayed: counted once.
    const body = { integration: 'edr', ok: false, at: new Date().toISOString(), nonce: 'ef'.repeat(16) };
    const genuine = {
      ...body,
      mac: loadFleetKey(stack.config.fleetKeyFile).mac('breaker-report', breakerReportFields(governorId, body)),
    };
    await h.signal(reportToolOutcomeSignal, genuine);
    await h.signal(reportToolOutcomeSignal, genuine);
    const state = await waitFor(
      () => stack.client.governor(governorId).state(true),
      (st) => st.changes.filter((c) => c.what.startsWith('refused breaker report')).length >= 7,
    );
    expect(state.breakers.edr).toMatchObject({ state: 'closed', consecutiveFailures: 1 });
    expect(state.changes.map((c) => c.what)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^refused breaker report: malformed report: at/),
        'refused breaker report: report for edr not signed by a worker of this fleet',
        'refused breaker report: replayed report for edr',
      ]),
    );
  });

  it('rate limit: calls of a limited class run on their own task queue at no more than the configured rate', async () => {
    const items = Array.from({ length: 12 }, (_, i) => i);
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: fanOut(12, 'rate_limited_call', 12),
      input: { items },
      initiator: 'olivia',
    });
    await stack.client.result(id);
    const times = vendor.requests
      .filter((r) => r.path === '/limited' && r.idempotencyKey?.startsWith(`${id}--`))
      .map((r) => r.at)
      .sort((a, b) => a - b);
    expect(times).toHaveLength(12);
    // 12 calls at 4/s take about 2 s after the server's limiter lets its first burst through (CI measured
    // 1,994 ms); unlimited, they land within a few hundred. A lower bound with room, not a timing test.
    expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual(1_500);
    const history = await stack.client.temporal.workflow.getHandle(`${id}--each--b0`).fetchHistory();
    const queues = new Set(
      history
        .events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeTool')
        .map((e) => e.activityTaskScheduledEventAttributes!.taskQueue!.name),
    );
    expect([...queues]).toEqual([`${stack.config.taskQueue}--rl--slowvendor`]);
  });
});
