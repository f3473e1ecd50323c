import { approvalSignal } from '../../src/workflows/contract';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Playbook } from '../../src/governance/steps';
import { resolveTemporalCli } from '../../src/runtime/temporal-binaries';
import { runCli } from '../harness/cli';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';

const isolate = (criticality: 'low' | 'critical'): Playbook => ({
  name: 'isolate',
  steps: [
    {
      id: 'lookup',
      kind: 'action',
      tool: 'asset_lookup',
      args: { host: criticality === 'critical' ? 'dc01' : 'ws01' },
      context: {},
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
});

describe('approval gates (real Temporal dev server)', () => {
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

  const pendingOf = async (id: string) =>
    waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (l) => l.length === 1,
    ).then((l) => l[0]!);
  const attempts = (id: string) => stack.client.approvalAttempts(id);
  const isolations = (id: string) =>
    vendor.requests.filter((r) => r.path === '/isolate' && r.idempotencyKey?.startsWith(`${id}/`));
  const start = async (pb: Playbook, initiator = 'olivia') =>
    (await stack.client.start('runPlaybook', { playbook: pb, initiator })).workflowId;

  it('refuses self-approval, non-members, unknown ids, malformed payloads and a different action hash — and records each', async () => {
    const id = await start(isolate('low'));
    const p = await pendingOf(id);
    expect(p.eligible).toEqual(['alice', 'bob']);
    const send = (payload: unknown) => stack.client.signal(id, approvalSignal, payload);
    await send({ approvalId: p.approvalId, decision: 'approve', approver: 'olivia', requestId: 'self' });
    await send({ approvalId: p.approvalId, decision: 'approve', approver: 'mallory', requestId: 'stranger' });
    await send({ approvalId: 'contain.99', decision: 'approve', approver: 'alice', requestId: 'unknown' });
    await send({ approvalId: p.approvalId, decision: 'maybe', approver: 'alice', requestId: 'malformed' });
    await send({
      approvalId: p.approvalId,
      decision: 'approve',
      approver: 'alice',
      actionHash: 'sha256:0000',
      requestId: 'hash',
    });
    await send({ approvalId: p.approvalId, decision: 'approve', approver: 'agent:alert-scorer', requestId: 'agent' });
    const got = await waitFor(
      () => attempts(id),
      (a) => a.length === 6,
    );
    const reason = (rid: string) => got.find((a) => a.requestId === rid);
    expect(reason('self')).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/^self-approval/) });
    expect(reason('stranger')).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/mallory is not in the approver groups for tier 1/),
    });
    expect(reason('unknown')).toMatchObject({ outcome: 'refused', reason: 'unknown approvalId for this run' });
    expect(reason('malformed')).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/malformed approval payload: decision/),
    });
    expect(reason('hash')).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/action hash mismatch/) });
    expect(reason('agent')).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/not in the approver groups|agents cannot approve/),
    });
    // Nothing ran, the run still waits, and it was not wedged by the bad signals.
    expect(isolations(id)).toHaveLength(0);
    expect(await stack.client.pendingApprovalsOf(id)).toHaveLength(1);

    await send({
      approvalId: p.approvalId,
      decision: 'approve',
      approver: 'alice',
      actionHash: p.actionHash,
      requestId: 'ok',
    });
    await stack.client.result(id);
    expect(isolations(id)).toHaveLength(1);
    await send({ approvalId: p.approvalId, decision: 'approve', approver: 'bob', requestId: 'late' }).catch(
      () => undefined,
    );
  });

  it('rejection fails the step with ApprovalRejected and nothing executes', async () => {
    const id = await start(isolate('low'));
    const p = await pendingOf(id);
    await stack.client.signal(id, approvalSignal, {
      approvalId: p.approvalId,
      decision: 'reject',
      approver: 'bob',
      reason: 'false positive',
    });
    await expect(stack.client.result(id)).rejects.toThrow();
    const s = await stack.client.runState(id);
    const contain = s.steps.find((x) => x.stepId === 'contain')!;
    expect(contain.status).toBe('failed');
    expect(contain.error).toEqual({ type: 'ApprovalRejected', message: 'rejected by bob: false positive' });
    expect(isolations(id)).toHaveLength(0);
  });

  it('the highest tier needs two distinct approvers', async () => {
    const id = await start(isolate('critical'));
    const p = await pendingOf(id);
    expect(p).toMatchObject({ tier: 2, required: 2 });
    await stack.client.signal(id, approvalSignal, {
      approvalId: p.approvalId,
      decision: 'approve',
      approver: 'carol',
      requestId: 'c1',
    });
    await stack.client.signal(id, approvalSignal, {
      approvalId: p.approvalId,
      decision: 'approve',
      approver: 'carol',
      requestId: 'c2',
    });
    const got = await waitFor(
      () => attempts(id),
      (a) => a.length === 2,
    );
    expect(got[0]).toMatchObject({ outcome: 'accepted', reason: expect.stringMatching(/1 of 2/) });
    expect(got[1]).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/carol already approved/) });
    expect(isolations(id)).toHaveLength(0);
    await stack.client.signal(id, approvalSignal, { approvalId: p.approvalId, decision: 'approve', approver: 'erin' });
    const result = await stack.client.result<{ steps: { stepId: string; approval?: { approvers: string[] } }[] }>(id);
    expect(result.steps.find((s) => s.stepId === 'contain')!.approval!.approvers).toEqual(['carol', 'erin']);
    expect(isolations(id)).toHaveLength(1);
  });

  it('`warden approvals` lists it and `warden approve` reports refusals and acceptance', async () => {
    const id = await start(isolate('low'), 'olivia');
    const p = await pendingOf(id);
    const env = { TEMPORAL_ADDRESS: stack.config.temporal.address!, WARDEN_TASK_QUEUE: stack.config.taskQueue };
    const list = await runCli(['approvals'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`${id}\\s+${p.approvalId.replace('.', '\\.')}\\s+host_isolate ws01\\s+1 \\(0/1\\)\\s+l1`),
    );
    const self = await runCli(['approve', id, p.approvalId, '--as', 'olivia'], env);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/the run refused the approve: self-approval/);
    const missing = await runCli(['approve', id, 'nope.0', '--as', 'alice'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/has no pending approval "nope.0" \(pending: contain.0\)/);
    const ok = await runCli(['approve', id, p.approvalId, '--as', 'alice', '--reason', 'confirmed'], env);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/approval accepted: approved/);
    await stack.client.result(id);
    expect(isolations(id)).toHaveLength(1);
  });

  it('accepts a decision sent with the official temporal CLI', async () => {
    const id = await start(isolate('low'));
    const p = await pendingOf(id);
    const payload = JSON.stringify({
      approvalId: p.approvalId,
      decision: 'approve',
      approver: 'bob',
      reason: 'via temporal CLI',
    });
    await promisify(execFile)(resolveTemporalCli(), [
      'workflow',
      'signal',
      '--address',
      stack.config.temporal.address!,
      '--workflow-id',
      id,
      '--name',
      'approval',
      '--input',
      payload,
    ]);
    await stack.client.result(id);
    expect(isolations(id)).toHaveLength(1);
    expect((await attempts(id))[0]).toMatchObject({ approver: 'bob', outcome: 'accepted' });
  });
});
