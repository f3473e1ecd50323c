import { approvalSignal } from '../../src/workflows/contract';
import { AuditLedger } from '../../src/audit';
import type { AppendInput, AuditRecord } from '../../src/audit';
import { FINAL, testAgent } from '../harness/agents';
import { testPolicy } from '../harness/policies';
import type { ScriptedLlm } from '../harness/scripted-llm';
import { startScriptedLlm } from '../harness/scripted-llm';
import type { TestStack } from '../harness/temporal';
import { startTestStack, testConfig } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';
import { signedApproval, signerOf } from '../harness/identity';

/** A ledger whose appends fail once *after* committing (as if the worker died before answering). */
function flakyLedger(inner: AuditLedger): { ledger: AuditLedger; failures: () => number } {
  let failures = 0;
  const failedOnce = new Set<string>();
  const ledger = Object.create(inner) as AuditLedger;
  ledger.appendMany = async (inputs: readonly AppendInput[]) => {
    const receipts = await inner.appendMany(inputs);
    const hit = receipts.find((r) => (r.record?.seq ?? 0) % 7 === 0 && !failedOnce.has(r.idempotencyKey));
    if (hit) {
      failedOnce.add(hit.idempotencyKey);
      failures++;
      throw new Error('connection reset after commit');
    }
    return receipts;
  };
  return { ledger, failures: () => failures };
}

describe('what a run records in the audit ledger (real Temporal server, real SQLite ledger)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  let llm: ScriptedLlm;
  let inner: AuditLedger;
  let flaky: ReturnType<typeof flakyLedger>;
  beforeAll(async () => {
    vendor = await startFakeVendor();
    llm = await startScriptedLlm();
    const config = testConfig();
    inner = await AuditLedger.open(config);
    flaky = flakyLedger(inner);
    stack = await startTestStack(
      { OPENAI_BASE_URL: llm.baseURL, OPENAI_API_KEY: 'sk-test', WARDEN_DATA_DIR: config.dataDir },
      {
        extraTools: vendorTools(vendor.url),
        policy: testPolicy(),
        agents: [testAgent('audited', ['asset_lookup'])],
        ledger: flaky.ledger,
      },
    );
  });
  afterAll(async () => {
    await stack.stop();
    await inner.close();
    await llm.close();
    await vendor.close();
  });

  it('records every step of all three styles, exactly once, in a chain that verifies', async () => {
    llm.script('model-audited', [
      { toolCalls: [{ name: 'asset_lookup', arguments: { host: 'ws01' } }], content: 'need the asset' },
      { content: FINAL },
    ]);
    const playbook = {
      name: 'audited',
      steps: [
        { id: 'score', kind: 'agent', agent: 'audited', input: { alert: 'x' } },
        {
          id: 'tickets',
          kind: 'forEach',
          items: 'input.items',
          batchSize: 2,
          steps: [{ id: 'tk', kind: 'action', tool: 'ticket_create', args: { title: 't{{ item }}' } }],
        },
        {
          id: 'contain',
          kind: 'action',
          tool: 'host_isolate',
          args: { host: 'ws01' },
          context: { asset: { criticality: 'low' } },
        },
      ],
    };
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook,
      input: { items: [1, 2, 3] },
      initiator: 'olivia',
    });
    const [p] = await waitFor(
      () => stack.client.pendingApprovalsOf(workflowId),
      (l) => l.length === 1,
    ).catch(async (e: Error) => {
      const desc = await stack.client.temporal.workflow.getHandle(workflowId).describe();
      const hist = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
      const tail = hist.events!.slice(-6).map((ev) => JSON.stringify(ev).slice(0, 600));
      throw new Error(`${e.message}\n${desc.status.name}\n${tail.join('\n')}`);
    });
    await stack.client.signal(workflowId, approvalSignal, signedApproval(p!, 'approve', 'olivia'));
    await stack.client.signal(workflowId, approvalSignal, signedApproval(p!, 'approve', 'mallory'));
    await stack.client.signal(workflowId, approvalSignal, signedApproval(p!, 'approve', 'bob', { reason: 'ok' }));
    await stack.client.control(workflowId, 'pause', signerOf('dave')).catch(() => undefined);
    await stack.client.control(workflowId, 'resume', signerOf('dave')).catch(() => undefined);
    await stack.client.result(workflowId);

    const all = await waitFor(
      () => inner.store.list({}),
      (rs) => rs.some((r) => r.workflowId === workflowId && r.type === 'run.completed'),
    );
    const mine = all.filter(
      (r: AuditRecord) => r.workflowId === workflowId || r.workflowId.startsWith(`${workflowId}--`),
    );
    const types = mine.map((r) => r.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'run.started',
        'agent.turn',
        'policy.decision',
        'tool.executed',
        'approval.requested',
        'approval.refused',
        'approval.granted',
        'interrupt',
        'run.completed',
      ]),
    );
    const started = mine.find((r) => r.type === 'run.started')!;
    expect(started.actor).toEqual({ kind: 'human', id: 'olivia' });
    const turn = mine.find((r) => r.type === 'agent.turn')!;
    expect(turn.actor).toEqual({ kind: 'agent', id: 'agent:audited' });
    expect(turn.data).toMatchObject({
      model: 'model-audited',
      promptDigest: expect.stringMatching(/^sha256:/),
      toolsChosen: ['asset_lookup'],
      rationale: 'need the asset',
    });
    const refused = mine.filter((r) => r.type === 'approval.refused');
    // Refused attempts carry no verified identity: the ledger records the name as a claim.
    expect(refused.map((r) => r.actor.id).sort()).toEqual(['unverified:mallory', 'unverified:olivia']);
    expect(refused.find((r) => r.actor.id === 'unverified:olivia')!.data.reason).toMatch(/^self-approval/);
    const granted = mine.find((r) => r.type === 'approval.granted')!;
    expect(granted.data.approvers).toEqual(['bob']);
    const decision = mine.find((r) => r.type === 'policy.decision' && r.data.tool === 'host_isolate')!;
    expect(decision.data).toMatchObject({
      effect: 'require_approval',
      tier: 1,
      ruleId: 'isolate-low',
      policyVersion: stack.policyVersion,
    });
    const executed = mine.filter((r) => r.type === 'tool.executed');
    expect(executed.map((r) => r.data.tool).sort()).toEqual([
      'asset_lookup',
      'host_isolate',
      'ticket_create',
      'ticket_create',
      'ticket_create',
    ]);
    expect(executed[0]!.data.outputDigest).toMatch(/^sha256:/);
    expect(mine.some((r) => r.traceId && /^[0-9a-f]{32}$/.test(r.traceId))).toBe(true);

    // Forced retries after commit happened, yet: no duplicate key, contiguous seqs, and the chain verifies.
    expect(flaky.failures()).toBeGreaterThan(0);
    expect(new Set(all.map((r) => r.idempotencyKey)).size).toBe(all.length);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
    const verdict = await inner.verify();
    expect(verdict).toMatchObject({ ok: true, checked: all.length });
  });
});
