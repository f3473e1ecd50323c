import { Playbook } from '../../src/governance/steps';
import type { Step } from '../../src/governance/steps';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';
import { signerOf } from '../harness/identity';

const ticket = (id: string, title: string): Step => ({
  id,
  kind: 'action',
  tool: 'ticket_create',
  args: { title },
  context: {},
  onError: 'fail',
});

/** A `finally` step that files a ticket saying how the run ended. */
const record: Step = ticket('record', 'outcome {{ run.outcome }} {{ run.failure.type }}: {{ run.failure.message }}');

describe('finally steps and onError fallbacks (real Temporal dev server)', () => {
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

  const titlesOf = (id: string) =>
    vendor.requests
      .filter((r) => r.path === '/tickets' && r.idempotencyKey?.startsWith(`${id}/`))
      .map((r) => (r.body as { title: string }).title);
  const ending = async (id: string) =>
    stack.client.result<{ status: string }>(id).then(
      (r) => r.status,
      (err: Error & { cause?: Error }) => `failed: ${err.cause?.message ?? err.message}`,
    );

  it('a completed run runs its finally steps with run.outcome completed', async () => {
    const playbook: Playbook = { name: 'ok', steps: [ticket('work', 'work')], finally: [record] };
    const { workflowId: id } = await stack.client.start('runPlaybook', { playbook, initiator: 'olivia' });
    expect(await ending(id)).toBe('completed');
    expect(titlesOf(id)).toEqual(['work', 'outcome completed : ']);
  });

  it('a failed run still runs them, sees the failure, and is still reported failed', async () => {
    const playbook: Playbook = {
      name: 'fails',
      steps: [
        { id: 'denied', kind: 'action', tool: 'no_such_tool', args: {}, context: {}, onError: 'fail' },
        ticket('never', 'never'),
      ],
      finally: [record],
    };
    const { workflowId: id } = await stack.client.start('runPlaybook', { playbook, initiator: 'olivia' });
    expect(await ending(id)).toMatch(/^failed: step denied: /);
    expect((await stack.client.describe(id)).status).toBe('FAILED');
    expect(titlesOf(id)).toEqual([expect.stringMatching(/^outcome failed PolicyDenied: step denied: /)]);
  });

  it('a rejected approval fails the run; the finally steps run and record ApprovalRejected', async () => {
    const playbook: Playbook = {
      name: 'rejected',
      steps: [{ id: 'ask', kind: 'approval', title: 'go?', tier: 1, details: {}, onError: 'fail' }],
      finally: [record],
    };
    const { workflowId: id } = await stack.client.start('runPlaybook', { playbook, initiator: 'olivia' });
    const [p] = await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (l) => l.length === 1,
    );
    await stack.client.decide(id, p!.approvalId, 'reject', signerOf(p!.eligible[0]!), 'no');
    expect(await ending(id)).toMatch(/^failed: /);
    expect(titlesOf(id)).toEqual([expect.stringMatching(/^outcome failed ApprovalRejected/)]);
  });

  it('a cancel (control signal) during an approval wait: the run ends cancelled (failed, RunCancelled) and its finally steps still run', async () => {
    const playbook: Playbook = {
      name: 'cancelled',
      steps: [
        { id: 'ask', kind: 'approval', title: 'go?', tier: 1, details: {}, onError: 'fail' },
        ticket('after', 'after'),
      ],
      finally: [record],
    };
    const { workflowId: id } = await stack.client.start('runPlaybook', { playbook, initiator: 'olivia' });
    await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (l) => l.length === 1,
    );
    expect((await stack.client.control(id, 'cancel', signerOf('dave'), 'wrong alert')).outcome).toBe('accepted');
    // A cancelled run ends FAILED (RunCancelled, naming who cancelled): it did not complete.
    expect(await ending(id)).toBe('failed: run cancelled by dave: wrong alert');
    expect(titlesOf(id)).toEqual(['outcome cancelled : ']);
  });

  it('a cancel through Temporal itself: finally steps run, then the run ends CANCELED', async () => {
    const playbook: Playbook = {
      name: 'temporal-cancel',
      steps: [{ id: 'ask', kind: 'approval', title: 'go?', tier: 1, details: {}, onError: 'fail' }],
      finally: [record],
    };
    const { workflowId: id } = await stack.client.start('runPlaybook', { playbook, initiator: 'olivia' });
    await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (l) => l.length === 1,
    );
    await stack.client.temporal.workflow.getHandle(id).cancel();
    expect(await ending(id)).toMatch(/^failed: .*cancel/i);
    expect((await stack.client.describe(id)).status).toBe('CANCELLED');
    expect(titlesOf(id)).toEqual(['outcome cancelled : ']);
  });

  it('a completed run whose finally step fails has failed', async () => {
    const playbook: Playbook = {
      name: 'finally-fails',
      steps: [ticket('work', 'work')],
      finally: [{ id: 'broken', kind: 'action', tool: 'no_such_tool', args: {}, context: {}, onError: 'fail' }],
    };
    const { workflowId: id } = await stack.client.start('runPlaybook', { playbook, initiator: 'olivia' });
    expect(await ending(id)).toMatch(/^failed: step broken: /);
  });

  it('onError: continue with a fallback: the step output is the rendered fallback, failed: true and the error', async () => {
    const playbook: Playbook = {
      name: 'fallback',
      steps: [
        {
          id: 'flaky',
          kind: 'action',
          tool: 'no_such_tool',
          args: {},
          context: {},
          onError: 'continue',
          fallback: { verdict: 'unscored', why: '{{ error.type }}', host: '{{ input.host }}' },
        },
        ticket(
          'next',
          '{{ steps.flaky.verdict }} {{ steps.flaky.why }} {{ steps.flaky.host }} {{ steps.flaky.failed }}',
        ),
      ],
    };
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook,
      input: { host: 'ws-1' },
      initiator: 'olivia',
    });
    expect(await ending(id)).toBe('completed');
    expect(titlesOf(id)).toEqual(['unscored PolicyDenied ws-1 true']);
  });

  it('playbook validation: a fallback without onError: continue, and ids reused in finally, are refused', () => {
    const bad = Playbook.safeParse({
      name: 'bad',
      steps: [{ ...ticket('a', 'a'), fallback: { x: 1 } }],
      finally: [ticket('a', 'again')],
    });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => i.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'step "a" sets a fallback but not onError: continue',
        'step id "a" is used twice; ids must be unique',
      ]),
    );
  });
});
