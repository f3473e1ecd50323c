import { approvalSignal } from '../../src/workflows/contract';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { FINAL, testAgent } from '../harness/agents';
import { testPolicy } from '../harness/policies';
import type { ScriptedLlm } from '../harness/scripted-llm';
import { startScriptedLlm } from '../harness/scripted-llm';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';
import { signedApproval } from '../harness/identity';

describe('OpenTelemetry traces (in-memory exporter, real Temporal dev server)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  let llm: ScriptedLlm;
  const exporter = new InMemorySpanExporter();
  beforeAll(async () => {
    vendor = await startFakeVendor();
    llm = await startScriptedLlm();
    stack = await startTestStack(
      { OPENAI_BASE_URL: llm.baseURL, OPENAI_API_KEY: 'sk-test' },
      {
        extraTools: vendorTools(vendor.url),
        policy: testPolicy(),
        agents: [testAgent('traced', ['asset_lookup', 'host_isolate'])],
        spanProcessor: new SimpleSpanProcessor(exporter),
      },
    );
  });
  afterAll(async () => {
    await stack.stop();
    await llm.close();
    await vendor.close();
  });

  it('exports run → step → agent turn → LLM call / tool call / approval wait with GenAI attributes', async () => {
    llm.script('model-traced', [
      { toolCalls: [{ name: 'asset_lookup', arguments: { host: 'ws01' } }], usage: { prompt: 321, completion: 12 } },
      { toolCalls: [{ name: 'host_isolate', arguments: { host: 'ws01' } }] },
      { content: FINAL, usage: { prompt: 400, completion: 30 } },
    ]);
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook: {
        name: 'traced',
        steps: [
          {
            id: 'score',
            kind: 'agent',
            agent: 'traced',
            input: { alert: 'x' },
            context: { asset: { criticality: 'low' } },
          },
        ],
      },
      initiator: 'olivia',
    });
    const [p] = await waitFor(
      () => stack.client.pendingApprovalsOf(workflowId),
      (l) => l.length === 1,
    );
    await stack.client.signal(workflowId, approvalSignal, signedApproval(p!, 'approve', 'alice'));
    await stack.client.result(workflowId);

    const spans = await waitFor(
      async () =>
        exporter
          .getFinishedSpans()
          .filter(
            (s) =>
              s.attributes.workflowId === workflowId ||
              s.attributes['warden.step.id'] ||
              s.name.startsWith('agent turn') ||
              s.name.startsWith('approval wait') ||
              s.name.includes('Activity'),
          ),
      (l) => l.some((s) => s.name === 'RunWorkflow:runPlaybook' && s.attributes.workflowId === workflowId),
    );
    const all = exporter.getFinishedSpans();
    const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: ReadableSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
    const ancestors = (s: ReadableSpan) => {
      const names: string[] = [];
      for (let p = parentOf(s); p; p = parentOf(p)) names.push(p.name);
      return names;
    };
    const run = spans.find((s) => s.name === 'RunWorkflow:runPlaybook' && s.attributes.workflowId === workflowId)!;
    const traceId = run.spanContext().traceId;
    const inRun = all.filter((s) => s.spanContext().traceId === traceId);
    const step = inRun.find((s) => s.name === 'step score')!;
    expect(parentOf(step)?.name).toBe('RunWorkflow:runPlaybook');
    const turns = inRun.filter((s) => s.name.startsWith('agent turn'));
    expect(turns.map((t) => t.name).sort()).toEqual(['agent turn 1', 'agent turn 2', 'agent turn 3']);
    for (const t of turns) expect(parentOf(t)).toBe(step);
    expect(turns[0]!.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'traced',
      'gen_ai.request.model': 'model-traced',
    });

    const llmCalls = inRun.filter((s) => s.name === 'RunActivity:callModel');
    expect(llmCalls).toHaveLength(3);
    for (const c of llmCalls)
      expect(ancestors(c)).toEqual(expect.arrayContaining(['step score', 'RunWorkflow:runPlaybook']));
    expect(ancestors(llmCalls[0]!).some((n) => n.startsWith('agent turn'))).toBe(true);
    expect(llmCalls.map((c) => c.attributes)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'model-traced',
          'gen_ai.usage.input_tokens': 321,
          'gen_ai.usage.output_tokens': 12,
        }),
      ]),
    );
    const toolCalls = inRun.filter((s) => s.name === 'RunActivity:executeTool');
    expect(toolCalls.map((t) => t.attributes['gen_ai.tool.name']).sort()).toEqual(['asset_lookup', 'host_isolate']);
    expect(toolCalls.find((t) => t.attributes['gen_ai.tool.name'] === 'host_isolate')!.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'warden.tool.risk': 'destructive',
    });
    for (const t of toolCalls) expect(ancestors(t).some((n) => n.startsWith('agent turn'))).toBe(true);
    const wait = inRun.find((s) => s.name.startsWith('approval wait'))!;
    expect(wait.attributes).toMatchObject({ 'warden.approval.tier': 1, 'warden.approval.action': 'host_isolate ws01' });
    expect(ancestors(wait)).toEqual(expect.arrayContaining(['agent turn 2', 'step score', 'RunWorkflow:runPlaybook']));
  });
});
