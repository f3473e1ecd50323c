import path from 'node:path';
import { approvalNoticeText, slackEscape } from '../../src/activities/notify';
import { approvalLines, statusText } from '../../src/cli/run-report';
import type { PendingApproval } from '../../src/governance/approvals';
import { approvalTargets, boundedEvidence } from '../../src/governance/approval-evidence';
import { neutralizeUntrusted, showUntrusted } from '../../src/governance/untrusted';
import { loadPolicyFile } from '../../src/runtime/policy-file';
import { approveHint, tierGuide } from '../../src/usecases/alert-triage/demo';
import { ROOT } from '../harness/cli';

/** An alert title written by an attacker: colour codes, a cursor move, fake lines and a bidi override. */
const HOSTILE =
  'Disk usage high\x1b[2K\r\n\x1b[32mAPPROVED by security-lead (tier 2)\x1b[0m\nStatus: APPROVED\u202e\x07' +
  '»] [trusted] ok';

function pending(over: Partial<PendingApproval> = {}): PendingApproval {
  return {
    approvalId: 'human_review.0',
    workflowId: 'alert-x-1',
    stepId: 'human_review',
    action: `approve: ${HOSTILE}`,
    actionHash: 'sha256:aa',
    policyVersion: 'v1',
    reason: HOSTILE,
    ruleId: 'approval-step',
    title: HOSTILE,
    details: { alertId: 'a1', hosts: [{ hostname: 'ws-07', deviceId: 'f00dfeed' }] },
    targets: [{ kind: 'host', value: 'ws-07', deviceId: 'f00dfeed' }],
    unlocks: 'the run continues with steps contain, case',
    tier: 1,
    required: 1,
    stage: 0,
    stages: [
      { groups: ['soc-l1'], approvers: ['alice', 'bob'], timeoutMs: 4 * 3_600_000 },
      { groups: ['soc-l1', 'soc-l2'], approvers: ['alice', 'bob', 'carol', 'dave'], timeoutMs: 4 * 3_600_000 },
    ],
    keys: {},
    eligible: ['alice', 'bob'],
    approvals: [],
    requestedAt: '2026-01-01T00:00:00.000Z',
    stageDeadline: '2026-01-01T04:00:00.000Z',
    initiator: 'webhook:crowdstrike',
    ...over,
  };
}

/** Control characters (other than the newlines between fields) and the bidi override, as found in `s`. */
function controls(s: string): string[] {
  return [...s].filter((c) => {
    const n = c.charCodeAt(0);
    return (n < 32 && c !== '\n') || (n >= 0x7f && n <= 0x9f) || c === '\u202e';
  });
}

describe('untrusted text shown to approvers', () => {
  it('strips escape sequences, makes controls visible, collapses newlines and caps the length', () => {
    const out = neutralizeUntrusted(HOSTILE);
    expect(controls(out)).toEqual([]);
    expect(out).not.toContain('\n');
    expect(out).not.toContain('\n');
    expect(out).toContain('<U+202E>');
    expect(out).toContain('<U+0007>');
    expect(out).toMatch(/^Disk usage high APPROVED by security-lead \(tier 2\) Status: APPROVED/);
    const long = neutralizeUntrusted('x'.repeat(1000), 50);
    expect(long).toBe(`${'x'.repeat(50)}…[+950 chars]`);
  });

  it('marks it untrusted and quotes it so it cannot close its own quote', () => {
    const out = showUntrusted(HOSTILE);
    expect(out).toMatch(/^\[untrusted\] «[^«»]*»$/);
    expect(out).toContain('"] [trusted] ok»');
  });
});

describe('approval evidence', () => {
  it('names each target, with the device id the arguments, context or details carry', () => {
    expect(approvalTargets({ hostname: 'web-01', deviceId: 'abc' })).toEqual([
      { kind: 'host', value: 'web-01', deviceId: 'abc' },
    ]);
    expect(
      approvalTargets({ host: 'web-01' }, { alertHosts: [{ hostname: 'web-01', deviceId: 'd-1' }, { hostname: 'x' }] }),
    ).toEqual([{ kind: 'host', value: 'web-01', deviceId: 'd-1' }]);
    expect(approvalTargets({ user: 'jdoe' })).toEqual([{ kind: 'user', value: 'jdoe' }]);
    expect(approvalTargets({ type: 'domain', value: 'evil.example' })).toEqual([
      { kind: 'domain', value: 'evil.example' },
    ]);
    expect(approvalTargets({ hosts: [{ hostname: 'a', deviceId: '1' }, { hostname: 'b' }] })).toEqual([
      { kind: 'host', value: 'a', deviceId: '1' },
      { kind: 'host', value: 'b' },
    ]);
  });

  it('bounds large arguments or details', () => {
    expect(boundedEvidence({ a: 1 })).toEqual({ a: 1 });
    const cut = boundedEvidence({ big: 'y'.repeat(5000) }, 100);
    expect(typeof cut).toBe('string');
    expect(cut).toMatch(/…\[truncated \d+ chars\]$/);
  });

  it('the CLI shows the evidence, who may decide and the deadline — and no line of the attacker’s', () => {
    const now = Date.parse('2026-01-01T03:00:00.000Z');
    const text = approvalLines(pending(), now).join('\n');
    expect(controls(text)).toEqual([]);
    for (const line of text.split('\n')) expect(line).not.toMatch(/^\s*(Status: )?APPROVED/);
    expect(text).toMatch(/title: +\[untrusted\] «Disk usage high APPROVED by security-lead/);
    expect(text).toMatch(/target: +\[untrusted\] «host ws-07 \(device f00dfeed\)»/);
    expect(text).toMatch(/details\.alertId: +\[untrusted\] «a1»/);
    expect(text).toMatch(/details\.hosts: +\[untrusted\] «\[\{"hostname":"ws-07","deviceId":"f00dfeed"\}\]»/);
    expect(text).toMatch(/policy: +approval step of the playbook/);
    expect(text).toMatch(/tier: +1: 0 of 1 approval, 1 more needed/);
    expect(text).toMatch(/approvers: +alice, bob \(soc-l1, stage 1 of 2\)/);
    expect(text).toMatch(/unlocks: +the run continues with steps contain, case/);
    expect(text).toMatch(/time left: +1h 0m \(until 2026-01-01T04:00:00.000Z\), then escalates to soc-l1, soc-l2/);
    expect(text).toMatch(/decide: +warden approve alert-x-1 human_review\.0 --as <you> --reason/);
  });

  it('a policy-required action shows its rule, reason and arguments', () => {
    const p = pending({
      approvalId: 'isolate_host[0].0',
      tool: 'edr_isolate_host',
      action: 'edr_isolate_host crowdstrike: contain host dc-01',
      ruleId: 'isolate-critical-host',
      reason: 'isolating a critical, high-value or unknown host needs two approvers',
      title: undefined,
      details: undefined,
      args: { hostname: 'dc-01', deviceId: 'aa11' },
      targets: [{ kind: 'host', value: 'dc-01', deviceId: 'aa11' }],
      unlocks: 'runs edr_isolate_host crowdstrike: contain host dc-01',
      tier: 2,
      required: 2,
      stage: 0,
      stages: [{ groups: ['soc-l2'], approvers: ['carol', 'dave'], timeoutMs: 1000 }],
      eligible: ['carol', 'dave'],
      approvals: [{ approver: 'carol', at: '2026-01-01T00:10:00.000Z', reason: 'seen the beacon' }],
    });
    const text = approvalLines(p, Date.parse('2026-01-01T05:00:00.000Z')).join('\n');
    expect(text).toMatch(/action: +edr_isolate_host crowdstrike: contain host dc-01/);
    expect(text).toMatch(/arguments: +\[untrusted\] «\{"hostname":"dc-01","deviceId":"aa11"\}»/);
    expect(text).toMatch(/policy: +isolate-critical-host: isolating a critical/);
    expect(text).toMatch(/tier: +2: 1 of 2 approvals, 1 more needed/);
    expect(text).toMatch(/approvers: +dave \(soc-l2, stage 1 of 1\)/);
    expect(text).toMatch(/approved: +carol at 2026-01-01T00:10:00.000Z: seen the beacon/);
    expect(text).toMatch(/unlocks: +runs edr_isolate_host/);
    expect(text).toMatch(/time left: +0s .*then denied/);
  });

  it('notifications neutralise and mark untrusted text, and escape Slack markup', () => {
    const text = approvalNoticeText(pending({ title: `${HOSTILE} <!channel> <https://evil|click>` }), false);
    expect(controls(text)).toEqual([]);
    for (const line of text.split('\n')) expect(line).not.toMatch(/^\s*(Status: )?APPROVED/);
    expect(text).toMatch(/^Title: \[untrusted\] «Disk usage high/m);
    expect(text).toMatch(/^Target: \[untrusted\] «host ws-07 \(device f00dfeed\)»/m);
    expect(text).toMatch(/^May decide: alice, bob$/m);
    expect(text).toMatch(/^Approving the run continues with steps contain, case$/m);
    const slack = slackEscape(text);
    expect(slack).not.toMatch(/<!channel>|<https:/);
    expect(slack).toContain('&lt;!channel&gt;');
  });
});

describe('warden status text', () => {
  it('says why the run failed and which approved action failed', () => {
    const text = statusText({
      summary: {
        workflowId: 'r1',
        runId: 'x',
        type: 'runPlaybook',
        status: 'COMPLETED',
        taskQueue: 'q',
        startTime: '2026-01-01T00:00:00.000Z',
        closeTime: '2026-01-01T00:01:00.000Z',
        historyLength: 40,
      },
      state: {
        workflowId: 'r1',
        playbook: 'pb',
        initiator: 'olivia',
        status: 'completed_with_failures',
        startedAt: '2026-01-01T00:00:00.000Z',
        steps: [
          {
            stepId: 'contain',
            kind: 'action',
            status: 'failed',
            startedAt: '2026-01-01T00:00:00.000Z',
            error: { type: 'ToolFailed', message: 'no credential crowdstrike.api_token\x1b[31m' },
            approval: {
              status: 'approved',
              approvers: ['alice'],
              votes: [{ approver: 'alice', at: '2026-01-01T00:00:30.000Z', reason: 'host owner agreed' }],
              approvalId: 'contain.0',
              actionError: { type: 'ToolFailed', message: 'no credential crowdstrike.api_token\x1b[31m' },
            },
          },
        ],
        failedActions: [
          {
            workflowId: 'r1',
            stepId: 'contain',
            callId: '0',
            tool: 'host_isolate',
            action: 'host_isolate ws01',
            approvedBy: ['alice'],
            error: { type: 'ToolFailed', message: 'no credential crowdstrike.api_token' },
            at: '2026-01-01T00:00:40.000Z',
          },
        ],
        decisions: [],
        controls: [],
        events: [],
        agentTurns: [],
      },
      pending: [],
      unavailable: [],
    });
    expect(text).toMatch(/status: +COMPLETED \(with failed actions: see below\)/);
    expect(text).toMatch(/run: +completed_with_failures/);
    expect(text).toMatch(
      /contain: host_isolate ws01 — approved by alice, then the action failed: ToolFailed: no credential/,
    );
    expect(text).toMatch(
      /contain +action +failed +approved by alice \("host owner agreed"\), then the action failed: ToolFailed: no credential crowdstrike\.api_token$/m,
    );
    expect(text).not.toContain('\x1b');
  });
});

describe('warden dev: who may approve', () => {
  const doc = loadPolicyFile(path.join(ROOT, 'policy', 'default.yaml')).document;

  it('names the approvers of each tier from the policy, stage by stage', () => {
    const guide = tierGuide(doc).join('\n');
    expect(guide).toMatch(/tier 1 \(1 approver\): alice, bob \(soc-l1\); after 240 min also carol, dave \(soc-l2\)/);
    expect(guide).toMatch(/tier 2 \(2 approvers\): carol, dave \(soc-l2\)/);
  });

  it('suggests only an approver the policy lets decide the pending approval now', () => {
    const tier1 = approveHint(pending());
    expect(tier1).toMatch(/--as alice /);
    expect(tier1).toMatch(/may decide: alice, bob$/m);
    expect(tier1).not.toMatch(/carol|dave/);
    // The initiator and who already approved are never suggested.
    const tier2 = approveHint(
      pending({
        tier: 2,
        required: 2,
        eligible: ['carol', 'dave'],
        initiator: 'carol',
        approvals: [],
      }),
    );
    expect(tier2).toMatch(/--as dave /);
    expect(tier2).not.toMatch(/carol/);
    const nobody = approveHint(pending({ eligible: ['alice'], approvals: [{ approver: 'alice', at: 'x' }] }));
    expect(nobody).toMatch(/nobody the policy names may decide it/);
    expect(nobody).not.toMatch(/warden approve/);
  });
});
