import { approvalSignal } from '../../src/workflows/contract';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AuditLedger } from '../../src/audit';
import { WardenClient } from '../../src/client';
import type { Playbook } from '../../src/governance/steps';
import { resolveTemporalCli } from '../../src/runtime/temporal-binaries';
import { runCli } from '../harness/cli';
import { signedApproval, signerOf, writeTestKeys } from '../harness/identity';
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
    await send(signedApproval(p, 'approve', 'olivia', { requestId: 'self' }));
    await send(signedApproval(p, 'approve', 'mallory', { requestId: 'stranger' }));
    await send(signedApproval({ ...p, approvalId: 'contain.99' }, 'approve', 'alice', { requestId: 'unknown' }));
    await send({ ...signedApproval(p, 'approve', 'alice'), decision: 'maybe', requestId: 'malformed' });
    await send(signedApproval({ ...p, actionHash: 'sha256:0000' }, 'approve', 'alice', { requestId: 'hash' }));
    await send(signedApproval(p, 'approve', 'agent:alert-scorer', { requestId: 'agent', signAs: 'alice' }));
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

    await send(signedApproval(p, 'approve', 'alice', { requestId: 'ok' }));
    await stack.client.result(id);
    expect(isolations(id)).toHaveLength(1);
    expect(got.every((a) => !a.signed)).toBe(true);
    expect((await attempts(id)).find((a) => a.requestId === 'ok')).toMatchObject({
      outcome: 'accepted',
      signed: true,
      keyId: 'alice-test',
    });
    await send(signedApproval(p, 'approve', 'bob', { requestId: 'late' })).catch(() => undefined);
  });

  it('refuses forged, unsigned, replayed, cross-run and revoked-key approvals, and audits each refusal', async () => {
    const id = await start(isolate('low'));
    const other = await start(isolate('low'));
    const p = await pendingOf(id);
    const q = await pendingOf(other);
    const send = (payload: unknown) => stack.client.signal(id, approvalSignal, payload);
    // bob's name, mallory's key: the attacker has Temporal access but not bob's private key.
    await send(signedApproval(p, 'approve', 'bob', { requestId: 'forged', signAs: 'mallory' }));
    // The payload the old free-text field accepted.
    const { signature: _s, ...unsigned } = signedApproval(p, 'approve', 'bob', { requestId: 'unsigned' });
    await send(unsigned);
    // A real signature by alice, but for the other run's approval (same approval id, same tool).
    await send({ ...signedApproval(q, 'approve', 'alice'), requestId: 'cross-run', actionHash: p.actionHash });
    // alice's real signature, with the decision flipped after signing.
    await send({ ...signedApproval(p, 'reject', 'alice'), decision: 'approve', requestId: 'tampered' });
    // A key that is not enrolled for bob.
    await send(signedApproval(p, 'approve', 'bob', { requestId: 'stale-key', signAs: 'bob-old' }));
    const got = await waitFor(
      () => attempts(id),
      (a) => a.length === 5,
    );
    const reason = (rid: string) => got.find((a) => a.requestId === rid)?.reason;
    expect(reason('forged')).toMatch(/key mallory-test is not enrolled for bob/);
    expect(reason('unsigned')).toMatch(/^unsigned: bob must sign/);
    expect(reason('cross-run')).toMatch(/^bad signature/);
    expect(reason('tampered')).toMatch(/^bad signature/);
    expect(reason('stale-key')).toMatch(/key bob-old-test is not enrolled for bob/);
    expect(got.every((a) => a.outcome === 'refused' && !a.signed)).toBe(true);
    expect(isolations(id)).toHaveLength(0);

    // A valid signed approval is accepted once; the very same payload replayed is refused.
    const good = signedApproval(p, 'approve', 'alice', { requestId: 'good' });
    const replay = { ...good, requestId: 'replay' };
    await send(good);
    await stack.client.result(id);
    await stack.client.signal(other, approvalSignal, { ...replay, approvalId: q.approvalId, actionHash: q.actionHash });
    const onOther = await waitFor(
      () => attempts(other),
      (a) => a.length === 1,
    );
    expect(onOther[0]).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/^bad signature/) });
    // Every refusal is in the audit ledger with its reason.
    const ledger = await AuditLedger.open(stack.config);
    try {
      const refusals = (await ledger.store.list({ workflowId: id })).filter((r) => r.type === 'approval.refused');
      expect(refusals.map((r) => (r.data as { reason: string }).reason)).toEqual(
        expect.arrayContaining([expect.stringMatching(/not enrolled for bob/), expect.stringMatching(/^unsigned/)]),
      );
      expect(refusals.map((r) => r.actor.id)).toContain('unverified:bob');
    } finally {
      await ledger.close();
    }
    await stack.client.temporal.workflow.getHandle(other).terminate('test done');
  });

  it('refuses a key revoked in the directory, and replays of an accepted decision', async () => {
    const revoked = testPolicy();
    const doc = { ...revoked.document };
    doc.principals = {
      ...doc.principals,
      bob: { keys: [{ ...doc.principals.bob!.keys[0]!, revokedAt: '2026-01-01T00:00:00Z' }] },
    };
    const stack2 = await startTestStack(
      {},
      { extraTools: vendorTools(vendor.url), policy: { document: doc, version: `${revoked.version}-revoked` } },
    );
    try {
      const id = (await stack2.client.start('runPlaybook', { playbook: isolate('low'), initiator: 'olivia' }))
        .workflowId;
      const p = (
        await waitFor(
          () => stack2.client.pendingApprovalsOf(id),
          (l) => l.length === 1,
        )
      )[0]!;
      const first = await stack2.client.decide(id, p.approvalId, 'approve', signerOf('bob'));
      expect(first).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/bob-test of bob was revoked/) });
      const rejected = signedApproval(p, 'reject', 'alice', { reason: 'fp', requestId: 'r1' });
      await stack2.client.signal(id, approvalSignal, rejected);
      await expect(stack2.client.result(id)).rejects.toThrow();
    } finally {
      await stack2.stop();
    }
  });

  it('self-approval through a second name is refused: the initiator is who signed the start, never a bare claim', async () => {
    // A client with Temporal access but no service attestation: what any user of the official SDK has.
    const plain = new WardenClient(stack.client.temporal, stack.config.taskQueue);
    // alice starts a run claiming to be bob, then approves it herself.
    const claimed = await plain.start('runPlaybook', { playbook: isolate('low'), initiator: 'bob' });
    const p1 = await pendingOf(claimed.workflowId);
    expect(p1.initiator).toBe('unverified:bob');
    expect(await stack.client.decide(claimed.workflowId, p1.approvalId, 'approve', signerOf('alice'))).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/initiator is unverified \(unverified:bob\)/),
    });
    // alice's signature on a start that names carol does not make carol the initiator either.
    const forged = await plain.start('runPlaybook', {
      playbook: isolate('low'),
      initiator: 'carol',
      attestation: { kind: 'principal', signature: signerOf('alice').sign('start', ['x']) },
    });
    expect((await pendingOf(forged.workflowId)).initiator).toBe('unverified:carol');
    // Signed by alice herself: she is the verified initiator, so she cannot approve; bob can.
    const signed = await plain.start(
      'runPlaybook',
      { playbook: isolate('low'), initiator: 'alice' },
      { signer: signerOf('alice') },
    );
    const p3 = await pendingOf(signed.workflowId);
    expect(p3.initiator).toBe('alice');
    expect(await stack.client.decide(signed.workflowId, p3.approvalId, 'approve', signerOf('alice'))).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/^self-approval: alice initiated this run/),
    });
    expect(await stack.client.decide(signed.workflowId, p3.approvalId, 'approve', signerOf('bob'))).toMatchObject({
      outcome: 'accepted',
    });
    await stack.client.result(signed.workflowId);
    // The ledger's run start says how the initiator is known.
    const ledger = await AuditLedger.open(stack.config);
    try {
      const startOf = async (id: string) =>
        (await ledger.store.list({ workflowId: id })).find((r) => r.type === 'run.started')!.data;
      expect(await startOf(signed.workflowId)).toMatchObject({
        initiator: 'alice',
        initiatorVerified: true,
        via: 'signature:alice-test',
      });
      expect(await startOf(claimed.workflowId)).toMatchObject({
        initiator: 'unverified:bob',
        initiatorVerified: false,
        unverifiedBecause: expect.stringMatching(/no attestation/),
      });
    } finally {
      await ledger.close();
    }
    for (const id of [claimed.workflowId, forged.workflowId])
      await stack.client.temporal.workflow.getHandle(id).terminate('test done');
  });

  it('rejection fails the step with ApprovalRejected and nothing executes', async () => {
    const id = await start(isolate('low'));
    const p = await pendingOf(id);
    await stack.client.signal(id, approvalSignal, signedApproval(p, 'reject', 'bob', { reason: 'false positive' }));
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
    const carol = signedApproval(p, 'approve', 'carol', { requestId: 'c1' });
    await stack.client.signal(id, approvalSignal, carol);
    // The same signed request again (only the unsigned requestId changed): a replay counts nothing.
    await stack.client.signal(id, approvalSignal, { ...carol, requestId: 'c1-replayed' });
    await stack.client.signal(id, approvalSignal, signedApproval(p, 'approve', 'carol', { requestId: 'c2' }));
    const got = await waitFor(
      () => attempts(id),
      (a) => a.length === 3,
    );
    expect(got[0]).toMatchObject({ outcome: 'accepted', reason: expect.stringMatching(/1 of 2/) });
    expect(got[1]).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/^replayed/) });
    expect(got[2]).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/carol already approved/) });
    expect(isolations(id)).toHaveLength(0);
    await stack.client.signal(id, approvalSignal, signedApproval(p, 'approve', 'erin'));
    const result = await stack.client.result<{ steps: { stepId: string; approval?: { approvers: string[] } }[] }>(id);
    expect(result.steps.find((s) => s.stepId === 'contain')!.approval!.approvers).toEqual(['carol', 'erin']);
    expect(isolations(id)).toHaveLength(1);
  });

  it('`warden approvals` lists it and `warden approve` signs with the local key and reports refusals and acceptance', async () => {
    const id = await start(isolate('low'), 'olivia');
    const p = await pendingOf(id);
    const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-keys-'));
    writeTestKeys(keysDir, ['olivia', 'alice']);
    const env = {
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: stack.config.taskQueue,
      WARDEN_KEYS_DIR: keysDir,
    };
    const list = await runCli(['approvals'], env);
    expect(list.code).toBe(0);
    const block = list.stdout.slice(list.stdout.indexOf(`${id}  ${p.approvalId}`)).split('\n\n')[0]!;
    expect(block).toMatch(/action: +host_isolate ws01\n/);
    expect(block).toMatch(/policy: +isolate-low: isolation of a low-criticality host needs one approver/);
    expect(block).toMatch(/tier: +1: 0 of 1 approval, 1 more needed/);
    expect(block).toMatch(/approvers: +alice, bob \(l1, stage 1 of 2\)/);
    const self = await runCli(['approve', id, p.approvalId, '--as', 'olivia'], env);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/the run refused the approve: self-approval/);
    const keyless = await runCli(['approve', id, p.approvalId, '--as', 'bob'], env);
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/no signing key for bob .* run `warden keys init --as bob`/);
    const missing = await runCli(['approve', id, 'nope.0', '--as', 'alice'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/has no pending approval "nope.0" \(pending: contain.0\)/);
    const ok = await runCli(['approve', id, p.approvalId, '--as', 'alice', '--reason', 'confirmed'], env);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/approval accepted: approved/);
    await stack.client.result(id);
    expect(isolations(id)).toHaveLength(1);
    expect((await attempts(id)).at(-1)).toMatchObject({ approver: 'alice', signed: true, keyId: 'alice-test' });
  });

  it('accepts a signed decision sent with the official temporal CLI (`warden approve --print-signal`)', async () => {
    const id = await start(isolate('low'));
    const p = await pendingOf(id);
    const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-keys-'));
    writeTestKeys(keysDir, ['bob']);
    const env = {
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: stack.config.taskQueue,
      WARDEN_KEYS_DIR: keysDir,
    };
    const printed = await runCli(
      ['approve', id, p.approvalId, '--as', 'bob', '--reason', "via temporal CLI, bob's call", '--print-signal'],
      env,
    );
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^temporal workflow signal --workflow-id \S+ --name approval --input '/);
    // Run exactly what was printed, through a shell, against the test server.
    await promisify(execFile)('sh', [
      '-c',
      printed.stdout.trim().replace(/^temporal /, `'${resolveTemporalCli()}' `) +
        ` --address ${stack.config.temporal.address!}`,
    ]);
    await stack.client.result(id);
    expect(isolations(id)).toHaveLength(1);
    expect((await attempts(id))[0]).toMatchObject({
      approver: 'bob',
      outcome: 'accepted',
      signed: true,
      reason: 'approved',
    });
  });
});
