import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { AuditLedger } from '../../src/audit';
import type { PendingApprovalView } from '../../src/cli/run-report';
import { FailureType } from '../../src/errors';
import type { PendingApproval } from '../../src/governance/approvals';
import type { Playbook } from '../../src/governance/steps';
import { defineTool } from '../../src/tools/types';
import type { RunState } from '../../src/workflows/engine/state';
import { runCli } from '../harness/cli';
import { writeTestKeys } from '../harness/identity';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';

/** An alert title an attacker wrote: escape codes, a cleared line and fake approval lines. */
const HOSTILE_TITLE =
  'Disk usage high\x1b[2K\r\n\x1b[32mAPPROVED by security-lead (tier 2)\x1b[0m\nStatus: APPROVED\n\u202edetacol';

/** Isolation through an EDR whose credential is missing: the failure surfaces only once the action runs. */
const edrWithoutSecret = defineTool({
  name: 'edr_contain',
  description: 'Contains a host through the EDR (its API token is not configured in this test)',
  input: z.object({ hostname: z.string().min(1), deviceId: z.string().optional() }),
  output: z.object({ ok: z.boolean() }),
  risk: 'destructive',
  capabilities: [],
  summarize: (a) => `contain host ${a.hostname}`,
  execute: () =>
    Promise.reject(
      ApplicationFailure.create({
        type: FailureType.ToolFailed,
        message: 'no secret crowdstrike.api_token in the vault (configuration): run `warden secrets set`',
        nonRetryable: true,
      }),
    ),
});

const reviewThenTicket = (): Playbook => ({
  name: 'review',
  steps: [
    {
      id: 'review',
      kind: 'approval',
      tier: 1,
      title: 'Review verdict benign (0.05): {{ input.alert.title }}',
      details: {
        alertId: '{{ input.alert.alertId }}',
        rationale: '{{ input.rationale }}',
        hosts: '{{ input.alert.hosts }}',
      },
      onError: 'fail',
    },
    { id: 'ticket', kind: 'action', tool: 'ticket_create', args: { title: 'reviewed' }, context: {}, onError: 'fail' },
  ],
});

const containThenTicket = (onError: 'fail' | 'continue'): Playbook => ({
  name: 'contain',
  steps: [
    {
      id: 'contain',
      kind: 'action',
      tool: 'edr_contain',
      args: { hostname: '{{ input.host }}' },
      context: { alertHosts: '{{ input.hosts }}' },
      onError,
    },
    {
      id: 'ticket',
      kind: 'action',
      tool: 'ticket_create',
      args: { title: 'after containment' },
      context: {},
      onError: 'fail',
    },
  ],
});

/** Control characters (other than the newlines between fields) and the bidi override, as found in `s`. */
function controls(s: string): string[] {
  return [...s].filter((c) => {
    const n = c.charCodeAt(0);
    return (n < 32 && c !== '\n') || (n >= 0x7f && n <= 0x9f) || c === '\u202e';
  });
}

describe('operators decide with evidence (real Temporal dev server, real CLI)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  let env: Record<string, string>;
  beforeAll(async () => {
    vendor = await startFakeVendor();
    stack = await startTestStack(
      {},
      {
        extraTools: [...vendorTools(vendor.url), edrWithoutSecret],
        policy: testPolicy({
          rules: [
            {
              id: 'contain-needs-l1',
              tool: 'edr_contain',
              effect: 'require_approval',
              tier: 1,
              reason: 'containment locks a host out of the network',
            },
          ],
        }),
      },
    );
    const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-keys-'));
    writeTestKeys(keysDir, ['alice', 'bob', 'carol']);
    env = {
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: stack.config.taskQueue,
      WARDEN_KEYS_DIR: keysDir,
    };
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
  const ledgerOf = async (id: string) => {
    const ledger = await AuditLedger.open(stack.config);
    try {
      return await ledger.store.list({ workflowId: id });
    } finally {
      await ledger.close();
    }
  };

  it('shows an attacker’s title neutralised and marked, with the evidence, and keeps the approver’s reason end to end', async () => {
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: reviewThenTicket(),
      initiator: 'olivia',
      input: {
        alert: { alertId: 'a-77', title: HOSTILE_TITLE, hosts: [{ hostname: 'ws-07', deviceId: '0a1b2c3d' }] },
        rationale: 'Model says: benign.\nAPPROVED',
      },
    });
    const p = await pendingOf(id);
    expect(p).toMatchObject({
      ruleId: 'approval-step',
      title: `Review verdict benign (0.05): ${HOSTILE_TITLE}`,
      details: { alertId: 'a-77', hosts: [{ hostname: 'ws-07', deviceId: '0a1b2c3d' }] },
      targets: [{ kind: 'host', value: 'ws-07', deviceId: '0a1b2c3d' }],
      unlocks: 'the run continues with step ticket',
      eligible: ['alice', 'bob'],
    });

    const list = await runCli(['approvals'], env);
    expect([list.code, list.stderr]).toEqual([0, '']);
    const block = list.stdout.slice(list.stdout.indexOf(id));
    expect(controls(block)).toEqual([]);
    for (const line of list.stdout.split('\n')) expect(line).not.toMatch(/^\s*(Status: )?APPROVED/);
    expect(block).toMatch(
      /title: +\[untrusted\] «Review verdict benign \(0\.05\): Disk usage high APPROVED by security-lead/,
    );
    expect(block).toMatch(/target: +\[untrusted\] «host ws-07 \(device 0a1b2c3d\)»/);
    expect(block).toMatch(/details\.rationale: \[untrusted\] «Model says: benign\. APPROVED»/);
    expect(block).toMatch(/details\.alertId: +\[untrusted\] «a-77»/);
    expect(block).toMatch(/tier: +1: 0 of 1 approval, 1 more needed/);
    expect(block).toMatch(/approvers: +alice, bob \(l1, stage 1 of 2\)/);
    expect(block).toMatch(/unlocks: +the run continues with step ticket/);
    expect(block).toMatch(/time left: +(59m|1h 0m).*then escalates to l1, l2/);

    const asJson = JSON.parse((await runCli(['approvals', '--json'], env)).stdout) as PendingApprovalView[];
    const mine = asJson.find((a) => a.workflowId === id)!;
    expect(mine).toMatchObject({ needed: 1, mayDecide: ['alice', 'bob'], title: p.title, targets: p.targets });
    expect(mine.timeLeftMs).toBeGreaterThan(50 * 60_000);

    const waiting = await runCli(['status', id], env);
    expect(waiting.code).toBe(0);
    expect(waiting.stdout).toMatch(/waiting for 1 approval:/);
    expect(waiting.stdout).toMatch(/review +approval +waiting_approval/);
    expect(waiting.stdout).not.toContain('\x1b');

    const reason = 'called the host owner: "disk cleanup" job; nothing to contain';
    const ok = await runCli(['approve', id, p.approvalId, '--as', 'alice', '--reason', reason], env);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain(`approval accepted: approved (reason recorded: "${reason}")`);
    expect(ok.stdout).toMatch(/^the run continues$/m);
    await stack.client.result(id);

    const attempt = (await stack.client.approvalAttempts(id)).find((a) => a.outcome === 'accepted')!;
    expect(attempt).toMatchObject({ approver: 'alice', approverReason: reason, signed: true });
    const state = await stack.client.runState(id);
    expect(state.steps.find((s) => s.stepId === 'review')!.approval).toMatchObject({
      status: 'approved',
      approvers: ['alice'],
      votes: [{ approver: 'alice', reason }],
    });
    const granted = (await ledgerOf(id)).find((r) => r.type === 'approval.granted')!;
    expect(granted.data).toMatchObject({ approverReason: reason, approvers: ['alice'] });
    const done = await runCli(['status', id], env);
    expect(done.stdout).toMatch(/status: +COMPLETED\n/);
    expect(done.stdout).toContain(`approved by alice ("${reason.replace(/"/g, '"')}")`);
  });

  it('a rejection’s reason reaches the run, its record and `warden status`', async () => {
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: reviewThenTicket(),
      initiator: 'olivia',
      input: { alert: { alertId: 'a-78', title: 'Beacon', hosts: [] } },
    });
    const p = await pendingOf(id);
    const r = await runCli(
      ['reject', id, p.approvalId, '--as', 'bob', '--reason', 'known pentest, ticket SEC-12'],
      env,
    );
    expect(r.stdout).toMatch(/rejection accepted: rejected \(reason recorded: "known pentest, ticket SEC-12"\)/);
    await expect(stack.client.result(id)).rejects.toThrow();
    const rejected = (await ledgerOf(id)).find((x) => x.type === 'approval.rejected')!;
    expect(rejected.data).toMatchObject({ approverReason: 'known pentest, ticket SEC-12' });
    const s = await runCli(['status', id], env);
    expect(s.stdout).toMatch(/status: +FAILED/);
    expect(s.stdout).toMatch(/failed: +ApprovalRejected: step review: rejected by bob: known pentest, ticket SEC-12/);
    expect(s.stdout).toMatch(/review +approval +failed +rejected by bob \("known pentest, ticket SEC-12"\)/);
    const tooLong = await runCli(['reject', id, p.approvalId, '--as', 'bob', '--reason', 'x'.repeat(2001)], env);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/--reason is at most 2000 characters/);
  });

  it('an approved action that then fails is a failed action, and the run is not reported as a clean success', async () => {
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: containThenTicket('continue'),
      initiator: 'olivia',
      input: { host: 'ws-09', hosts: [{ hostname: 'ws-09', deviceId: 'beefcafe' }] },
    });
    const p = await pendingOf(id);
    expect(p).toMatchObject({
      tool: 'edr_contain',
      action: 'edr_contain contain host ws-09',
      ruleId: 'contain-needs-l1',
      reason: 'containment locks a host out of the network',
      args: { hostname: 'ws-09' },
      targets: [{ kind: 'host', value: 'ws-09', deviceId: 'beefcafe' }],
      unlocks: 'runs edr_contain contain host ws-09',
    });
    const ok = await runCli(['approve', id, p.approvalId, '--as', 'bob', '--reason', 'owner agreed'], env);
    expect(ok.stdout).toMatch(/approval accepted: approved/);
    // Not just "accepted": the approver learns the action it unlocked failed.
    expect(ok.stdout).toMatch(
      /approved, then the action failed \(step contain\): ToolFailed: no secret crowdstrike\.api_token/,
    );
    const result = await stack.client.result<{ status: string }>(id);
    expect(result.status).toBe('completed_with_failures');

    const state: RunState = await stack.client.runState(id);
    expect(state.status).toBe('completed_with_failures');
    const contain = state.steps.find((s) => s.stepId === 'contain')!;
    expect(contain).toMatchObject({
      status: 'failed',
      error: { type: 'ToolFailed', message: expect.stringMatching(/no secret crowdstrike\.api_token/) },
      approval: {
        status: 'approved',
        approvers: ['bob'],
        actionError: { type: 'ToolFailed', message: expect.stringMatching(/no secret/) },
      },
    });
    expect(state.failedActions).toEqual([
      expect.objectContaining({
        workflowId: id,
        stepId: 'contain',
        tool: 'edr_contain',
        approvedBy: ['bob'],
        error: expect.objectContaining({ type: 'ToolFailed' }),
      }),
    ]);
    const ended = (await ledgerOf(id)).find((r) => r.type === 'run.completed')!;
    expect(ended.data).toMatchObject({
      status: 'completed_with_failures',
      failedActions: [{ stepId: 'contain', tool: 'edr_contain', errorType: 'ToolFailed' }],
    });

    const s = await runCli(['status', id], env);
    expect(s.stdout).toMatch(/status: +COMPLETED \(with failed actions: see below\)/);
    expect(s.stdout).toMatch(/run: +completed_with_failures/);
    expect(s.stdout).toMatch(
      /contain: edr_contain contain host ws-09 — approved by bob, then the action failed: ToolFailed: no secret/,
    );
    expect(s.stdout).toMatch(
      /contain +action +failed +approved by bob \("owner agreed"\), then the action failed: ToolFailed/,
    );
    const j = JSON.parse((await runCli(['status', id, '--json'], env)).stdout) as {
      status: string;
      state: RunState;
    };
    expect(j.status).toBe('COMPLETED');
    expect(j.state.failedActions).toHaveLength(1);
  });

  it('a run that fails says why: the failing step’s failure type and message', async () => {
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: containThenTicket('fail'),
      initiator: 'olivia',
      input: { host: 'ws-10', hosts: [] },
    });
    const p = await pendingOf(id);
    await runCli(['approve', id, p.approvalId, '--as', 'alice'], env);
    await expect(stack.client.result(id)).rejects.toThrow();
    const state = await stack.client.runState(id);
    expect(state.error).toEqual({
      type: 'ToolFailed',
      message: expect.stringMatching(/^step contain: no secret crowdstrike\.api_token/),
    });
    const s = await runCli(['status', id], env);
    expect(s.stdout).toMatch(/status: +FAILED/);
    expect(s.stdout).toMatch(/failed: +ToolFailed: step contain: no secret crowdstrike\.api_token/);
    expect(s.stdout).toMatch(/approved by alice, then the action failed/);
    expect((await stack.client.closeFailure(id))!).toMatchObject({ type: 'ToolFailed' });
  });

  it('`warden status` of a parent names the approvals its forEach batches wait for', async () => {
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: {
        name: 'fan',
        steps: [
          {
            id: 'each',
            kind: 'forEach',
            items: 'input.hosts',
            steps: [
              {
                id: 'contain',
                kind: 'action',
                tool: 'edr_contain',
                args: { hostname: '{{ item.hostname }}', deviceId: '{{ item.deviceId }}' },
                context: {},
                onError: 'fail',
              },
            ],
          },
        ],
      } as unknown as Playbook,
      initiator: 'olivia',
      input: { hosts: [{ hostname: 'ws-11', deviceId: 'c0ffee' }] },
    });
    const child = `${id}--each--b0`;
    const p: PendingApproval = (
      await waitFor(
        () => stack.client.pendingApprovalsOf(child).catch(() => []),
        (l) => l.length === 1,
      )
    )[0]!;
    expect(p.targets).toEqual([{ kind: 'host', value: 'ws-11', deviceId: 'c0ffee' }]);
    const s = await runCli(['status', id], env);
    expect(s.stdout).toMatch(/waiting for 1 approval:/);
    expect(s.stdout).toContain(`${child}  contain.0`);
    expect(s.stdout).toMatch(/target: +\[untrusted\] «host ws-11 \(device c0ffee\)»/);
    await stack.client.temporal.workflow.getHandle(id).terminate('test done');
  });
});
