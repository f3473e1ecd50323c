import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { AuditLedger } from '../../src/audit';
import { parsePolicy } from '../../src/runtime/policy-file';
import { defineTool } from '../../src/tools/types';
import { runCli } from '../harness/cli';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';

const CANARY = `canary-${Math.random().toString(36).slice(2)}-secret`;

/** Tools that use the canary credential: a normal one, a leaky one, and one asking beyond its grant. */
function canaryTools(vendorUrl: string) {
  const cap = { provider: 'vendorx', scopes: ['tickets:write'] };
  return [
    defineTool({
      name: 'vendorx_ticket',
      description: 'Creates a ticket at VendorX with an API key',
      input: z.object({ title: z.string() }),
      output: z.object({ status: z.number() }),
      risk: 'write',
      capabilities: [cap],
      execute: async (args, ctx) => {
        const key = await ctx.credential(cap);
        const res = await fetch(`${vendorUrl}/vendorx/tickets`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'idempotency-key': ctx.idempotencyKey,
            'content-type': 'application/json',
          },
          body: JSON.stringify(args),
        });
        return { status: res.status };
      },
    }),
    defineTool({
      name: 'vendorx_leaky',
      description: 'Fails with an error message that contains its key (a careless integration)',
      input: z.object({}),
      output: z.object({}),
      risk: 'write',
      capabilities: [cap],
      execute: async (_args, ctx) => {
        const key = await ctx.credential(cap);
        throw new Error(`VendorX rejected token ${key} (base64 ${Buffer.from(key).toString('base64')})`);
      },
    }),
    defineTool({
      name: 'vendorx_admin',
      description: 'Asks for an admin scope the policy does not grant',
      input: z.object({}),
      output: z.object({}),
      risk: 'write',
      capabilities: [{ provider: 'vendorx', scopes: ['admin'] }],
      execute: async (_args, ctx) => {
        await ctx.credential({ provider: 'vendorx', scopes: ['admin'] });
        return {};
      },
    }),
  ];
}

describe('secrets never leak (canary through a real run)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  const exporter = new InMemorySpanExporter();
  beforeAll(async () => {
    process.env.WARDEN_SECRET_VENDORX_API_TOKEN = CANARY;
    vendor = await startFakeVendor();
    const base = testPolicy().document;
    const policy = parsePolicy({
      ...base,
      rules: [
        ...base.rules,
        { id: 'vendorx', tool: ['vendorx_ticket', 'vendorx_leaky', 'vendorx_admin'], effect: 'allow' },
      ],
      capabilities: { vendorx: ['tickets:write'] },
    });
    stack = await startTestStack(
      {},
      { extraTools: canaryTools(vendor.url), policy, spanProcessor: new SimpleSpanProcessor(exporter) },
    );
  });
  afterAll(async () => {
    delete process.env.WARDEN_SECRET_VENDORX_API_TOKEN;
    await stack.stop();
    await vendor.close();
  });

  it('uses the secret through a lease, refuses an ungranted scope, scrubs a leaky error, and the canary appears nowhere', async () => {
    const playbook = {
      name: 'canary',
      steps: [
        { id: 'ticket', kind: 'action', tool: 'vendorx_ticket', args: { title: 'hello' } },
        { id: 'leaky', kind: 'action', tool: 'vendorx_leaky', args: {}, onError: 'continue' },
        { id: 'admin', kind: 'action', tool: 'vendorx_admin', args: {}, onError: 'continue' },
      ],
    };
    const { workflowId } = await stack.client.start('runPlaybook', { playbook, initiator: 'olivia' });
    await stack.client.result(workflowId);

    // The real call carried the secret to the vendor — the only place it should go.
    const sent = vendor.requests.find((r) => r.path === '/vendorx/tickets');
    expect(sent).toBeDefined();
    const state = await stack.client.runState(workflowId);
    const step = (id: string) => state.steps.find((s) => s.stepId === id)!;
    expect(step('ticket').status).toBe('completed');
    expect(step('leaky').error!.message).toContain('[redacted]');
    expect(step('admin').error).toMatchObject({
      type: 'PolicyDenied',
      message: expect.stringMatching(/vendorx:admin|admin/),
    });

    const history = JSON.stringify(await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory());
    const b64 = Buffer.from(CANARY).toString('base64');
    const places: Record<string, string> = {
      history,
      runState: JSON.stringify(state),
      logs: stack.logLines.join('\n'),
      spans: JSON.stringify(
        exporter
          .getFinishedSpans()
          .map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
      ),
    };
    const env = { TEMPORAL_ADDRESS: stack.config.temporal.address!, WARDEN_TASK_QUEUE: stack.config.taskQueue };
    places.cliStatus = (await runCli(['status', workflowId, '--json'], env)).stdout;
    const ledger = await AuditLedger.open(stack.config);
    try {
      const records = await ledger.store.list({});
      expect(records.some((r) => r.workflowId === workflowId && r.type === 'tool.executed')).toBe(true);
      places.audit = JSON.stringify(records);
    } finally {
      await ledger.close();
    }
    places.cliAudit = (
      await runCli(['audit', 'show', workflowId], { ...env, WARDEN_DATA_DIR: stack.config.dataDir })
    ).stdout;
    for (const [where, text] of Object.entries(places)) {
      expect({ where, leaked: text.includes(CANARY) || text.includes(b64) }).toEqual({ where, leaked: false });
    }
    // The refusal was recorded where operators look (the worker log), naming the capability, not the secret.
    expect(stack.logLines.some((l) => l.includes('credential lease refused') && l.includes('admin'))).toBe(true);
  });
});
