import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { actionHash } from '../../src/activities/governance';
import type { ExecuteToolInput } from '../../src/activities/tools';
import { AuditLedger } from '../../src/audit';
import { mintDecisionToken } from '../../src/identity/decision-token';
import { fleetKeyFrom, loadFleetKey } from '../../src/identity/fleet-key';
import { connectWorker } from '../../src/runtime/connection';
import type { RogueInput } from '../fixtures/rogue-workflows';
import { signerOf } from '../harness/identity';
import { testPolicy } from '../harness/policies';
import { waitFor } from '../harness/wait';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';

/*
 * Only governed decisions act. An attacker with ordinary Temporal access runs a workflow of their own
 * making (on their own worker) that schedules Warden's executeTool on Warden's task queue, with no token,
 * a forged one, a token stolen from another run's history, or a token it asks decideAction for.
 */
describe('worker-only actions: executeTool needs a decision token for exactly that call (real Temporal server)', () => {
  jest.setTimeout(120_000);
  let stack: TestStack;
  let vendor: FakeVendor;
  beforeAll(async () => {
    vendor = await startFakeVendor();
    stack = await startTestStack({}, { extraTools: vendorTools(vendor.url), policy: testPolicy() });
  });
  afterAll(async () => {
    await stack.stop();
    await vendor.close();
  });

  it('refuses and audits every call a foreign workflow makes, and nothing reaches the vendor', async () => {
    // A legitimate run acts first (ticket_create is allowed alone), so there is a real run to steal from.
    const legit = await stack.client.start('runPlaybook', {
      playbook: { name: 'legit', steps: [{ id: 't', kind: 'action', tool: 'ticket_create', args: { title: 'x' } }] },
      initiator: 'olivia',
    });
    await stack.client.result(legit.workflowId);
    const before = vendor.requests.length;

    const rogueId = `rogue-${randomUUID()}`;
    const policyVersion = stack.policyVersion;
    const call = (over: Partial<ExecuteToolInput>): ExecuteToolInput => {
      const base = {
        workflowId: rogueId,
        stepId: 'contain',
        callId: '0',
        tool: 'host_isolate',
        args: { host: 'dc01' },
      };
      return {
        ...base,
        actionHash: actionHash({ ...base, kind: 'action', policyVersion }),
        policyVersion,
        granted: [{ provider: 'edr', scopes: ['hosts:isolate'] }],
        ...over,
      };
    };
    const realKey = loadFleetKey(stack.config.fleetKeyFile);
    const subject = {
      workflowId: legit.workflowId,
      runId: legit.runId,
      stepId: 'contain',
      callId: '0',
      tool: 'host_isolate',
      actionHash: actionHash({
        workflowId: legit.workflowId,
        stepId: 'contain',
        callId: '0',
        tool: 'host_isolate',
        args: { host: 'dc01' },
        kind: 'action',
        policyVersion,
      }),
      policyVersion,
      granted: [{ provider: 'edr', scopes: ['hosts:isolate'] }],
    };
    const input: RogueInput = {
      wardenQueue: stack.config.taskQueue,
      decide: {
        workflowId: rogueId,
        stepId: 'contain',
        callId: '0',
        kind: 'action',
        tool: 'ticket_create',
        args: { title: 'a write policy allows' },
        context: {},
        initiator: 'olivia',
        tainted: false,
      },
      // A read asked to be decided and made at once (which would skip the token check's separate call).
      decideAndRead: {
        decide: {
          workflowId: rogueId,
          stepId: 'look',
          callId: '0',
          kind: 'action',
          tool: 'asset_lookup',
          args: { host: 'dc01' },
          context: {},
          initiator: 'olivia',
          tainted: false,
        },
        execute: { workflowId: rogueId, stepId: 'look', callId: '0', tool: 'asset_lookup', args: { host: 'dc01' } },
      },
      // A fan-out's reads asked for at once, the same way.
      decideAndReadMany: ['dc01', 'ws01'].map((host, i) => ({
        decide: {
          workflowId: rogueId,
          stepId: 'look',
          callId: `${i}`,
          kind: 'action' as const,
          tool: 'asset_lookup',
          args: { host },
          context: {},
          initiator: 'olivia',
          tainted: false,
        },
        execute: { workflowId: rogueId, stepId: 'look', callId: `${i}`, tool: 'asset_lookup', args: { host } },
      })),
      calls: [
        call({}),
        call({
          token: mintDecisionToken(
            fleetKeyFrom(Buffer.alloc(32, 7)),
            { ...subject, workflowId: rogueId, runId: 'x' },
            60_000,
          ),
        }),
        // A genuine token (the fleet key's), but minted for another run: as if copied out of its history.
        call({ token: mintDecisionToken(realKey, subject, 60_000) }),
        // The stolen token, with the call claiming to be that run.
        call({
          workflowId: legit.workflowId,
          actionHash: subject.actionHash,
          token: mintDecisionToken(realKey, subject, 60_000),
        }),
      ],
    };

    const rogueQueue = `rogue-${randomUUID()}`;
    const connection = await connectWorker(stack.config);
    const worker = await Worker.create({
      connection,
      taskQueue: rogueQueue,
      workflowsPath: require.resolve('../fixtures/rogue-workflows'),
    });
    const outcome = await worker.runUntil(
      stack.client.temporal.workflow.execute('rogue', { taskQueue: rogueQueue, workflowId: rogueId, args: [input] }),
    );
    await connection.close();

    expect(outcome).toEqual([
      expect.stringMatching(/^decideAction refused: decideAction runs only as a local activity/),
      expect.stringMatching(/^decideAndRead refused: decideAction runs only as a local activity/),
      expect.stringMatching(/^decideAndReadMany refused: decideAction runs only as a local activity/),
      expect.stringMatching(/^executeTool host_isolate refused: .*no decision token/),
      expect.stringMatching(/^executeTool host_isolate refused: .*invalid decision token/),
      expect.stringMatching(/^executeTool host_isolate refused: .*invalid decision token/),
      expect.stringMatching(/^executeTool host_isolate refused: .*the call names run .* but comes from rogue-/),
    ]);
    expect(vendor.requests.length).toBe(before);

    const ledger = await AuditLedger.open(stack.config);
    try {
      const refused = (await ledger.store.list({ workflowId: rogueId })).filter((r) => r.type === 'tool.refused');
      expect(refused).toHaveLength(4);
      expect(refused.every((r) => r.actor.id === 'warden-worker' && r.data.tool === 'host_isolate')).toBe(true);
    } finally {
      await ledger.close();
    }
  });

  it('a batch started by a parent of anyone’s making gets no initiator and no one can approve it', async () => {
    const rogueQueue = `rogue-${randomUUID()}`;
    const childId = `forged-batch-${randomUUID()}`;
    const connection = await connectWorker(stack.config);
    const worker = await Worker.create({
      connection,
      taskQueue: rogueQueue,
      workflowsPath: require.resolve('../fixtures/rogue-workflows'),
    });
    const parentId = `rogue-parent-${randomUUID()}`;
    await worker.runUntil(async () => {
      await stack.client.temporal.workflow.start('rogueParent', {
        taskQueue: rogueQueue,
        workflowId: parentId,
        args: [
          {
            wardenQueue: stack.config.taskQueue,
            childId,
            batch: {
              playbook: 'forged',
              // bob claims alice started it, to approve "her" action himself.
              initiator: 'alice',
              tainted: false,
              stepId: 'each',
              steps: [{ id: 'go', kind: 'approval', title: 'go?', tier: 1, details: {}, onError: 'fail' }],
              items: [1],
              offset: 0,
              concurrency: 1,
              onItemFailure: 'continue',
              scope: { input: {}, steps: {}, run: { workflowId: 'x', initiator: 'alice' } },
              controls: {
                runWorkflowId: parentId,
                authorised: { pause: ['bob'], resume: ['bob'], cancel: ['bob'] },
                keys: {},
              },
            },
          },
        ],
      });
      const [p] = await waitFor(
        () => stack.client.pendingApprovalsOf(childId).catch(() => []),
        (l) => l.length === 1,
      );
      expect(p!.initiator).toBe('unverified:alice');
      const attempt = await stack.client.decide(childId, p!.approvalId, 'approve', signerOf('bob'));
      expect(attempt).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/initiator is unverified/) });
      await stack.client.temporal.workflow.getHandle(parentId).terminate('test done');
    });
    await connection.close();
  });
});
