import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Playbook } from '../../src/governance/steps';
import { setCurrentBuild } from '../../src/runtime/deployments';
import { WARDEN_VERSION } from '../../src/version';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';
import { signerOf } from '../harness/identity';
import { setKillSwitchSignal } from '../../src/workflows/contract';
import os from 'node:os';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { ExecuteToolInput } from '../../src/activities/tools';
import { mintDecisionToken } from '../../src/identity/decision-token';
import { loadFleetKey } from '../../src/identity/fleet-key';

/** The workflow bundle of Warden 0.1.0 (scripts/record-release-bundle.js), the build a fleet upgrades from. */
const OLD_BUNDLE = path.join(__dirname, '..', 'fixtures', 'releases', '0.1.0-workflows.js.gz');

/** Waits for approval, then acts; then a forEach whose items each wait for approval too. */
const playbook: Playbook = {
  name: 'upgrade-in-flight',
  steps: [
    { id: 'lookup', kind: 'action', tool: 'asset_lookup', args: { host: 'ws01' }, context: {}, onError: 'fail' },
    {
      id: 'review',
      kind: 'approval',
      title: 'Contain {{ steps.lookup.host }}?',
      tier: 1,
      details: { host: '{{ steps.lookup.host }}' },
      onError: 'fail',
    },
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

/**
 * The 0.1.0 build's activities executed tool calls without decision tokens (they came later). The old
 * stack here runs 0.1.0 workflow code with today's activities, so this interceptor plays the old build's
 * part: it gives each tool call the token its workflow code never asks for.
 */
function tokenlessToolCalls(fleetKeyFile: string): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      execute(input, next) {
        if (ctx.info.activityType !== 'executeTool') return next(input);
        const call = input.args[0] as ExecuteToolInput;
        const run = ctx.info.workflowExecution;
        const token = mintDecisionToken(
          loadFleetKey(fleetKeyFile),
          {
            workflowId: run!.workflowId,
            runId: run!.runId,
            stepId: call.stepId,
            callId: call.callId,
            tool: call.tool,
            actionHash: call.actionHash,
            policyVersion: call.policyVersion,
            granted: call.granted ?? [],
          },
          60_000,
        );
        return next({ ...input, args: [{ ...call, token }] });
      },
    },
  });
}

describe('safe fleet upgrades (Worker Versioning on a real Temporal server)', () => {
  jest.setTimeout(180_000);
  let vendor: FakeVendor;
  let old: TestStack | undefined;
  let next: TestStack | undefined;
  beforeAll(async () => {
    vendor = await startFakeVendor();
  });
  afterAll(async () => {
    await old?.stop().catch(() => undefined);
    await next?.stop();
    await vendor.close();
  });

  it('moves runs waiting for approval from the 0.1.0 build to this build, where they complete', async () => {
    const deployment = `warden-upgrade-${randomUUID().slice(0, 8)}`;
    const taskQueue = `upgrade-${randomUUID()}`;
    // One fleet: both builds share the fleet key, as a deployment's workers do.
    const fleetKeyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'warden-fleet-')), 'fleet.key');
    const env = {
      WARDEN_TASK_QUEUE: taskQueue,
      WARDEN_WORKER_DEPLOYMENT: deployment,
      WARDEN_FLEET_KEY_FILE: fleetKeyFile,
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
    };
    const tools = vendorTools(vendor.url);

    // The fleet runs 0.1.0: its workflow code, today's activities (activities stay backward compatible).
    const code = zlib.gunzipSync(fs.readFileSync(OLD_BUNDLE)).toString('utf8');
    old = await startTestStack(
      { ...env, WARDEN_BUILD_ID: '0.1.0' },
      {
        extraTools: tools,
        policy: testPolicy(),
        workflowBundle: { code },
        activityInterceptors: [tokenlessToolCalls(fleetKeyFile)],
      },
    );
    await setCurrentBuild(old.client.temporal, deployment, '0.1.0');
    const ids = await Promise.all(
      [0, 1, 2].map(async () => (await old!.client.start('runPlaybook', { playbook, initiator: 'olivia' })).workflowId),
    );
    for (const id of ids)
      await waitFor(
        () => old!.client.pendingApprovalsOf(id),
        (p) => p.length === 1,
      );
    // The 0.1.0 governor takes an unsigned kill-switch change (a drill: engaged and released).
    const governorId = env.WARDEN_GOVERNOR_ID;
    for (const engaged of [true, false])
      await old.client.temporal.workflow.signalWithStart('governor', {
        workflowId: governorId,
        taskQueue,
        args: [{}],
        signal: setKillSwitchSignal,
        signalArgs: [{ engaged, by: 'ops', reason: `drill ${engaged ? 'on' : 'off'}` }],
      });
    await waitFor(
      () => old!.client.governor(governorId).state(true),
      (st) => st.killSwitch.reason === 'drill off',
    );

    // Deploy: the old workers stop, the new build starts and becomes current.
    await old.stop();
    old = undefined;
    next = await startTestStack(
      { ...env, WARDEN_BUILD_ID: WARDEN_VERSION },
      { extraTools: tools, policy: testPolicy() },
    );
    await setCurrentBuild(next.client.temporal, deployment, WARDEN_VERSION);

    // The governor replays its 0.1.0 history, then hands over to the verifying governor with its state:
    // the same unsigned change the old build took is now refused.
    await next.client.temporal.workflow
      .getHandle(governorId)
      .signal(setKillSwitchSignal, { engaged: true, by: 'ops', reason: 'unsigned after upgrade' });
    const gov = await waitFor(
      () => next!.client.governor(governorId).state(true),
      (st) => st.changes.some((c) => c.what.startsWith('refused kill-switch change')),
      60_000,
    );
    expect(gov.killSwitch).toMatchObject({ engaged: false, by: 'ops', reason: 'drill off' });
    expect(gov.changes.at(-1)!.what).toMatch(/ops is not authorised to turn the kill switch on/);

    // Each waiting run is decided on the new build, through its new synchronous decision path.
    for (const id of ids) {
      const [review] = await next.client.pendingApprovalsOf(id);
      const attempt = await next.client.decide(id, review!.approvalId, 'approve', signerOf('alice'), 'upgrade test');
      expect(attempt).toMatchObject({ outcome: 'accepted', approver: 'alice' });
      const contain = await waitFor(
        () => next!.client.pendingApprovalsOf(id),
        (p) => p.length === 1 && p[0]!.approvalId !== review!.approvalId,
      );
      expect(contain[0]).toMatchObject({ stepId: 'contain', tier: 1 });
      await next.client.decide(id, contain[0]!.approvalId, 'approve', signerOf('bob'));
    }
    for (const id of ids) {
      const result = await next.client.result<{ status: string; decisions: { stepId: string; effect: string }[] }>(id);
      expect(result.status).toBe('completed');
      expect(result.decisions.map((d) => `${d.stepId}:${d.effect}`)).toEqual([
        'lookup:allow',
        'review:require_approval',
        'contain:require_approval',
      ]);
      // The containment ran exactly once, after the upgrade, with the run's idempotency key.
      expect(
        vendor.requests.filter((r) => r.path === '/isolate' && r.idempotencyKey?.startsWith(`${id}/`)),
      ).toHaveLength(1);
      // The last workflow task was completed by the new build.
      const history = await next.client.temporal.workflow.getHandle(id).fetchHistory();
      const builds = (history.events ?? [])
        .map((e) => e.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId)
        .filter((b): b is string => Boolean(b));
      expect(builds[0]).toBe('0.1.0');
      expect(builds[builds.length - 1]).toBe(WARDEN_VERSION);
    }
  });
});
