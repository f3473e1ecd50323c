import { AuditLedger } from '../../src/audit';
import { controlFields } from '../../src/identity/signed-request';
import { controlSignal } from '../../src/workflows/contract';
import type { Playbook } from '../../src/governance/steps';
import { runCli } from '../harness/cli';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';
import { signerOf, testKeysDir } from '../harness/identity';

const tickets = (n: number): Playbook => ({
  name: 'tickets',
  steps: Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    kind: 'action' as const,
    tool: 'ticket_create',
    args: { title: `ticket ${i}` },
    context: {},
    onError: 'fail' as const,
  })),
});

describe('interrupts: pause, resume, cancel (real Temporal dev server)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  let env: Record<string, string>;
  beforeAll(async () => {
    vendor = await startFakeVendor();
    stack = await startTestStack({}, { extraTools: vendorTools(vendor.url), policy: testPolicy() });
    env = {
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: stack.config.taskQueue,
      WARDEN_KEYS_DIR: testKeysDir(['dave']),
    };
  });
  afterAll(async () => {
    await stack.stop();
    await vendor.close();
  });
  const state = (id: string) => stack.client.runState(id);
  /** A cancelled run ends FAILED with type RunCancelled (not COMPLETED); resolves with that failure. */
  const cancelledFailure = async (id: string) => {
    const err = (await stack.client.result(id).then(
      () => undefined,
      (e: unknown) => e,
    )) as { cause?: { type?: string; message?: string; details?: unknown[] } } | undefined;
    expect(err?.cause?.type).toBe('RunCancelled');
    expect((await stack.client.describe(id)).status).toBe('FAILED');
    return err!.cause!;
  };
  const ticketsOf = (id: string) =>
    vendor.requests.filter((r) => r.path === '/tickets' && r.idempotencyKey?.startsWith(`${id}/`));

  it('pause stops before the next step; resume continues; both are recorded', async () => {
    vendor.delayMs = 300;
    try {
      const { workflowId: id } = await stack.client.start('runPlaybook', { playbook: tickets(6), initiator: 'olivia' });
      await waitFor(
        async () => ticketsOf(id).length,
        (n) => n >= 1,
      );
      const paused = await runCli(['pause', id, '--as', 'dave', '--reason', 'investigating'], env);
      expect(paused.stdout).toMatch(/pause accepted/);
      const s = await waitFor(
        () => state(id),
        (x) => x.status === 'paused',
      );
      await new Promise((r) => setTimeout(r, 1_500));
      const during = ticketsOf(id).length;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(ticketsOf(id).length).toBe(during); // nothing new while paused
      expect(during).toBeLessThan(6);
      expect(s.controls[0]).toMatchObject({
        action: 'pause',
        by: 'dave',
        reason: 'investigating',
        outcome: 'accepted',
      });
      const again = await runCli(['pause', id, '--as', 'dave'], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/the run refused pause: already paused/);
      expect((await runCli(['resume', id, '--as', 'dave'], env)).stdout).toMatch(/resume accepted/);
      const result = await stack.client.result<{ status: string }>(id);
      expect(result.status).toBe('completed');
      expect(ticketsOf(id)).toHaveLength(6);
    } finally {
      vendor.delayMs = 0;
    }
  });

  it('cancel during an approval wait ends the run as cancelled and nothing executes', async () => {
    const playbook: Playbook = {
      name: 'gate',
      steps: [
        { id: 'ask', kind: 'approval', title: 'go ahead?', tier: 1, details: {}, onError: 'fail' },
        {
          id: 'after',
          kind: 'action',
          tool: 'ticket_create',
          args: { title: 'after approval' },
          context: {},
          onError: 'fail',
        },
      ],
    };
    const { workflowId: id } = await stack.client.start('runPlaybook', { playbook, initiator: 'olivia' });
    await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (p) => p.length === 1,
    );
    const cancel = await runCli(['cancel', id, '--as', 'dave', '--reason', 'wrong alert'], env);
    expect(cancel.stdout).toMatch(/cancel accepted/);
    const failure = await cancelledFailure(id);
    expect(failure.message).toBe('run cancelled by dave: wrong alert');
    const [result] = failure.details as [{ status: string; steps: { stepId: string; status: string }[] }];
    expect(result.status).toBe('cancelled');
    expect(result.steps.find((s) => s.stepId === 'ask')!.status).toBe('cancelled');
    expect(result.steps.find((s) => s.stepId === 'after')).toBeUndefined();
    // The ledger names who cancelled (the verified signer) and why.
    const ledger = await AuditLedger.open(stack.config);
    try {
      const records = await waitFor(
        () => ledger.store.list({ workflowId: id }),
        (rs) => rs.some((r) => r.type === 'run.cancelled'),
      );
      expect(records.find((r) => r.type === 'interrupt')).toMatchObject({
        actor: { kind: 'human', id: 'dave' },
        data: { action: 'cancel', outcome: 'accepted', reason: 'wrong alert' },
      });
    } finally {
      await ledger.close();
    }
    expect(ticketsOf(id)).toHaveLength(0);
    expect(await stack.client.pendingApprovalsOf(id)).toEqual([]);
  });

  it('cancel reaches forEach batches in flight and stops them', async () => {
    vendor.delayMs = 200;
    try {
      const playbook: Playbook = {
        name: 'fan-out',
        steps: [
          {
            id: 'each',
            kind: 'forEach',
            items: 'input.items',
            concurrency: 1,
            batchSize: 50,
            onItemFailure: 'continue',
            onError: 'fail',
            steps: [
              {
                id: 'tk',
                kind: 'action',
                tool: 'ticket_create',
                args: { title: 'item {{ item }}' },
                context: {},
                onError: 'fail',
              },
            ],
          },
        ],
      };
      const items = Array.from({ length: 40 }, (_, i) => i);
      const { workflowId: id } = await stack.client.start('runPlaybook', {
        playbook,
        input: { items },
        initiator: 'olivia',
      });
      const childPrefix = `${id}--each--b0/`;
      const childTickets = () => vendor.requests.filter((r) => r.idempotencyKey?.startsWith(childPrefix)).length;
      await waitFor(
        async () => childTickets(),
        (n) => n >= 2,
      );
      await stack.client.control(id, 'cancel', signerOf('dave'));
      await cancelledFailure(id);
      const atEnd = childTickets();
      await new Promise((r) => setTimeout(r, 1_500));
      expect(childTickets()).toBe(atEnd);
      expect(atEnd).toBeLessThan(40);
    } finally {
      vendor.delayMs = 0;
    }
  });

  it('a malformed control signal is refused and recorded, and the run carries on', async () => {
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: { name: 'gate', steps: [{ id: 'ask', kind: 'approval', title: 'ok?', tier: 1 }] },
      initiator: 'olivia',
    });
    await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (p) => p.length === 1,
    );
    await stack.client.signal(id, controlSignal, { action: 'explode' } as never);
    const s = await waitFor(
      () => state(id),
      (x) => x.controls.length === 1,
    );
    expect(s.controls[0]).toMatchObject({
      outcome: 'refused',
      note: expect.stringMatching(/malformed control payload/),
    });
    expect(s.status).toBe('running');
    await stack.client.control(id, 'cancel', signerOf('dave'));
    await cancelledFailure(id);
  });

  it('refuses unsigned, forged, unauthorised and replayed controls, and audits each', async () => {
    const { workflowId: id } = await stack.client.start('runPlaybook', {
      playbook: { name: 'gate', steps: [{ id: 'ask', kind: 'approval', title: 'ok?', tier: 1 }] },
      initiator: 'olivia',
    });
    await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (p) => p.length === 1,
    );
    const body = { action: 'cancel' as const, by: 'dave' };
    // What any Temporal client could send: no signature; dave's name with mallory's key; mallory herself.
    await stack.client.signal(id, controlSignal, { ...body, requestId: 'unsigned' });
    await stack.client.signal(id, controlSignal, {
      ...body,
      requestId: 'forged',
      signature: signerOf('mallory').sign('control', controlFields(id, body)),
    });
    expect(await stack.client.control(id, 'pause', signerOf('mallory'))).toMatchObject({
      outcome: 'refused',
      by: 'unverified:mallory',
      note: 'mallory is not authorised to pause runs (policy controls.pause)',
    });
    // dave's genuine signature, made for another run.
    await stack.client.signal(id, controlSignal, {
      ...body,
      requestId: 'other-run',
      signature: signerOf('dave').sign('control', controlFields('some-other-run', body)),
    });
    const s = await waitFor(
      () => state(id),
      (x) => x.controls.length === 4,
    );
    const note = (rid: string) => s.controls.find((c) => c.requestId === rid)?.note;
    expect(note('unsigned')).toMatch(/^unsigned: dave must sign/);
    expect(note('forged')).toMatch(/key mallory-test is not enrolled for dave/);
    expect(note('other-run')).toMatch(/^bad signature/);
    expect(s.status).toBe('running');
    // A genuine pause is accepted once; the same signed request again is a replay.
    const pause = { action: 'pause' as const, by: 'dave' };
    const signedPause = { ...pause, signature: signerOf('dave').sign('control', controlFields(id, pause)) };
    await stack.client.signal(id, controlSignal, { ...signedPause, requestId: 'p1' });
    await stack.client.signal(id, controlSignal, { ...signedPause, requestId: 'p1-replayed' });
    const after = await waitFor(
      () => state(id),
      (x) => x.controls.length === 6,
    );
    expect(after.controls.find((c) => c.requestId === 'p1')).toMatchObject({ outcome: 'accepted', by: 'dave' });
    expect(after.controls.find((c) => c.requestId === 'p1-replayed')?.note).toMatch(/^replayed/);
    await stack.client.control(id, 'cancel', signerOf('dave'));
    await stack.client.result(id).catch(() => undefined);
    const ledger = await AuditLedger.open(stack.config);
    try {
      const refused = (await ledger.store.list({ workflowId: id })).filter(
        (r) => r.type === 'interrupt' && r.data.outcome === 'refused',
      );
      expect(refused.map((r) => r.actor.id)).toEqual(expect.arrayContaining(['unverified:dave', 'unverified:mallory']));
    } finally {
      await ledger.close();
    }
  });
});
