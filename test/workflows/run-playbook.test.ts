import { approvalSignal } from '../../src/workflows/contract';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import type { Playbook } from '../../src/governance/steps';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';
import { signedApproval } from '../harness/identity';

describe('runPlaybook: action, approval, branch and forEach steps (real Temporal dev server)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  beforeAll(async () => {
    vendor = await startFakeVendor();
    stack = await startTestStack(
      { WARDEN_HTTP_ALLOWED_HOSTS: vendor.host },
      { extraTools: vendorTools(vendor.url), policy: testPolicy() },
    );
  });
  afterAll(async () => {
    await stack.stop();
    await vendor.close();
  });

  const pending = (id: string) => stack.client.pendingApprovalsOf(id);
  const state = (id: string) => stack.client.runState(id);

  it('runs a mixed playbook: lookup → branch → forEach tickets → approval → isolate', async () => {
    const playbook: Playbook = {
      name: 'mixed',
      steps: [
        {
          id: 'lookup',
          kind: 'action',
          tool: 'asset_lookup',
          args: { host: '{{ input.host }}' },
          context: {},
          onError: 'fail',
        },
        {
          id: 'route',
          kind: 'branch',
          when: "steps.lookup.criticality == 'critical'",
          then: [
            {
              id: 'note_critical',
              kind: 'action',
              tool: 'ticket_create',
              args: { title: 'critical host {{ steps.lookup.host }}' },
              context: {},
              onError: 'fail',
            },
          ],
          else: [
            {
              id: 'note_low',
              kind: 'action',
              tool: 'ticket_create',
              args: { title: 'low host' },
              context: {},
              onError: 'fail',
            },
          ],
          onError: 'fail',
        },
        {
          id: 'per_user',
          kind: 'forEach',
          items: 'input.users',
          concurrency: 2,
          batchSize: 2,
          onItemFailure: 'continue',
          steps: [
            {
              id: 'user_ticket',
              kind: 'action',
              tool: 'ticket_create',
              args: { title: 'reset {{ item }}', item: '{{ index }}' },
              context: {},
              onError: 'fail',
            },
          ],
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
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook,
      input: { host: 'dc01', users: ['u1', 'u2', 'u3'] },
      initiator: 'olivia',
    });
    const [p] = await waitFor(
      () => pending(workflowId),
      (l) => l.length === 1,
    );
    expect(p!.tier).toBe(2);
    expect(p!.required).toBe(2);
    expect(p!.action).toBe('host_isolate dc01');
    expect(p!.reason).toMatch(/critical host needs two approvers/);
    expect(vendor.requests.filter((r) => r.path === '/isolate')).toHaveLength(0);

    await stack.client.signal(workflowId, approvalSignal, signedApproval(p!, 'approve', 'carol'));
    await stack.client.signal(workflowId, approvalSignal, signedApproval(p!, 'approve', 'dave'));
    const result = await stack.client.result<{
      status: string;
      outputs: Record<string, { taken?: string; total?: number; succeeded?: number }>;
    }>(workflowId);
    expect(result.status).toBe('completed');
    expect(result.outputs.route!.taken).toBe('then');
    expect(result.outputs.per_user).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    const isolate = vendor.requests.filter((r) => r.path === '/isolate');
    expect(isolate).toHaveLength(1);
    expect(isolate[0]!.idempotencyKey).toBe(`${workflowId}/contain/0`);
    const tickets = vendor.requests
      .filter((r) => r.path === '/tickets')
      .map((r) => (r.body as { title: string }).title);
    expect(tickets.sort()).toEqual(['critical host dc01', 'reset u1', 'reset u2', 'reset u3']);
    const s = await state(workflowId);
    expect(s.decisions.map((d) => `${d.stepId}:${d.effect}:${d.ruleId}`)).toEqual(
      expect.arrayContaining([
        'lookup:allow:default:read',
        'note_critical:allow:tickets-run-alone',
        'contain:require_approval:isolate-critical',
      ]),
    );
    expect(new Set(s.decisions.map((d) => d.policyVersion))).toEqual(new Set([stack.policyVersion]));

    // Readable in the Web UI: the run, each tool call, each policy decision and the approval wait carry summaries.
    const history = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
    const summary = (e: { userMetadata?: { summary?: Payload | null } | null }) =>
      e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : undefined;
    const summaries = history.events!.map((e) => summary(e as never)).filter(Boolean);
    expect(summaries).toEqual(
      expect.arrayContaining([
        'playbook mixed — started by olivia',
        'step lookup → asset_lookup {"host":"dc01"}',
        'step contain → host_isolate dc01',
        'notify l2: waiting for tier-2 approval (l2): host_isolate dc01',
      ]),
    );
    const markers = history.events!.filter((e) => e.markerRecordedEventAttributes);
    expect(markers.length).toBeGreaterThan(0);
  });
});
