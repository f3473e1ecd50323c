import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import type { AuditEntry } from '../../src/activities/audit';
import { AuditLedger } from '../../src/audit';
import { connectWorker } from '../../src/runtime/connection';
import type { RogueInput } from '../fixtures/rogue-workflows';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';

/*
 * appendAudit accepts records only for the calling workflow. An attacker with ordinary Temporal access
 * runs a workflow of their own making (on their own worker) that schedules Warden's appendAudit on
 * Warden's task queue with records for a real run: as that run, or as itself under that run's keys.
 */
describe('appendAudit from a foreign workflow (real Temporal server, real SQLite ledger)', () => {
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

  it("refuses another run's records and keys, records the refusal in the caller's trail, and leaves the run's trail intact", async () => {
    const legit = await stack.client.start('runPlaybook', {
      playbook: { name: 'legit', steps: [{ id: 't', kind: 'action', tool: 'ticket_create', args: { title: 'x' } }] },
      initiator: 'olivia',
    });
    await stack.client.result(legit.workflowId);
    const ledger = await AuditLedger.open(stack.config);
    const trail = () => ledger.store.list({ workflowId: legit.workflowId });
    const before = await trail();
    expect(before.length).toBeGreaterThan(2);

    const rogueId = `rogue-${randomUUID()}`;
    const forged = (over: Partial<AuditEntry>): AuditEntry => ({
      idempotencyKey: `${legit.runId}/audit/${before.length + 5}`,
      workflowId: legit.workflowId,
      runId: legit.runId,
      type: 'approval.granted',
      actor: { kind: 'human', id: 'ciso' },
      data: { approver: 'ciso' },
      ...over,
    });
    const input: RogueInput = {
      wardenQueue: stack.config.taskQueue,
      calls: [],
      audit: [
        // The real run's ids and key: a forged approval in its trail.
        { records: [forged({})] },
        // The rogue run's own ids, but the real run's next key: the real run's next append would then fail.
        { records: [forged({})], asSelf: true },
      ],
    };
    const rogueQueue = `rogue-${randomUUID()}`;
    const connection = await connectWorker(stack.config);
    let rogueRunId = '';
    try {
      const worker = await Worker.create({
        connection,
        taskQueue: rogueQueue,
        workflowsPath: require.resolve('../fixtures/rogue-workflows'),
      });
      const outcome = await worker.runUntil(async () => {
        const handle = await stack.client.temporal.workflow.start('rogue', {
          taskQueue: rogueQueue,
          workflowId: rogueId,
          args: [input],
        });
        rogueRunId = handle.firstExecutionRunId;
        return (await handle.result()) as string[];
      });
      expect(outcome).toEqual([
        `appendAudit refused: audit record ${legit.runId}/audit/${before.length + 5} names workflow ${legit.workflowId} run ${legit.runId}, but was sent by workflow ${rogueId} run ${rogueRunId}; a run may only append its own records (nothing was written)`,
        expect.stringMatching(
          new RegExp(`^appendAudit refused: audit record key ${legit.runId}/audit/\\d+ does not start with the run id`),
        ),
      ]);
    } finally {
      await connection.close();
    }

    try {
      expect(await trail()).toEqual(before);
      const refused = await ledger.store.list({ workflowId: rogueId });
      expect(refused.map((r) => [r.type, r.runId, r.actor.id])).toEqual([
        ['audit.refused', rogueRunId, 'warden-worker'],
        ['audit.refused', rogueRunId, 'warden-worker'],
      ]);
      expect(refused[0]!.data).toMatchObject({ workflowType: 'rogue', records: 1 });
      await expect(ledger.verify()).resolves.toMatchObject({ ok: true });
    } finally {
      await ledger.close();
    }
  });
});
