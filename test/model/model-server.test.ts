import OpenAI from 'openai';
import { z } from 'zod';
import { Verdict, testAgent } from '../harness/agents';
import type { LocalModelServer } from '../harness/local-model';
import { startLocalModelServer } from '../harness/local-model';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';

const AssetArgs = z.object({ host: z.string() });
const TOOLS: OpenAI.Chat.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'asset_lookup',
      description: 'Looks up an asset in the inventory',
      parameters: z.toJSONSchema(AssetArgs, { io: 'input' }),
    },
  },
];
const RESPONSE_FORMAT = {
  type: 'json_schema' as const,
  json_schema: { name: 'verdict', schema: z.toJSONSchema(Verdict) as Record<string, unknown> },
};
const MESSAGES: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You score security alerts. Use tools to gather context, then answer with a verdict.' },
  {
    role: 'user',
    content:
      'Score this alert.\n<untrusted-a1b2c3 source="input">\n{"rule":"impossible travel sign-in","host":"web-01","user":"jdoe"}\n</untrusted-a1b2c3>',
  },
];

describe('warden model serve: the embedded local model (real model, real openai client)', () => {
  jest.setTimeout(180_000);
  let server: LocalModelServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startLocalModelServer();
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0, timeout: 90_000 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lists the model it serves', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([server.modelId]);
  });

  it('answers an agent turn in OpenAI format: a tool call with JSON-string arguments, or a schema-valid answer', async () => {
    const res = await client.chat.completions.create({
      model: 'any-name-is-served-by-the-local-model',
      messages: MESSAGES,
      tools: TOOLS,
      response_format: RESPONSE_FORMAT,
    });
    expect(res).toMatchObject({ object: 'chat.completion', model: server.modelId });
    const choice = res.choices[0]!;
    const calls = choice.message.tool_calls ?? [];
    if (calls.length > 0) {
      expect(choice.finish_reason).toBe('tool_calls');
      const call = calls[0]!;
      expect(call).toMatchObject({ type: 'function', id: expect.stringMatching(/^call_/) as string });
      if (call.type !== 'function') throw new Error('not a function call');
      expect(call.function.name).toBe('asset_lookup');
      expect(AssetArgs.safeParse(JSON.parse(call.function.arguments)).success).toBe(true);
    } else {
      expect(choice.finish_reason).toBe('stop');
      expect(Verdict.safeParse(JSON.parse(choice.message.content ?? '')).success).toBe(true);
    }
    expect(res.usage!.prompt_tokens).toBeGreaterThan(50);
    expect(res.usage!.completion_tokens).toBeGreaterThan(3);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
  });

  it('after a tool result gives a final answer that passes the output schema (the grammar guarantees it)', async () => {
    const started = Date.now();
    const res = await client.chat.completions.create({
      model: 'local',
      messages: [
        ...MESSAGES,
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'asset_lookup', arguments: '{"host":"web-01"}' } },
          ],
        },
        {
          role: 'tool',
          tool_call_id: 'call_1',
          content:
            '<untrusted-a1b2c3 source="tool:asset_lookup">\n{"host":"web-01","criticality":"high"}\n</untrusted-a1b2c3>',
        },
      ],
      tools: TOOLS,
      response_format: RESPONSE_FORMAT,
      max_tokens: 120,
    });
    const choice = res.choices[0]!;
    expect(choice.message.tool_calls ?? []).toEqual([]);
    expect(choice.finish_reason).toBe('stop');
    const verdict = Verdict.parse(JSON.parse(choice.message.content ?? ''));
    expect(verdict.confidence).toBeGreaterThanOrEqual(0);
    // Not asserted (a loaded CI machine varies a lot), but printed so a slow model shows up in the log.
    console.log(`local model final answer in ${Date.now() - started} ms: ${choice.message.content}`);
  });

  it('refuses what it cannot serve with OpenAI-style errors that say why', async () => {
    const stream = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    expect(stream.status).toBe(400);
    expect(((await stream.json()) as { error: { message: string } }).error.message).toMatch(/stream/);
    const missing = await fetch(`${server.baseURL}/embeddings`, { method: 'POST' });
    expect(missing.status).toBe(404);
  });

  describe('an agent step on the local model (real Temporal, the unchanged agent code path)', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startTestStack(
        { OPENAI_BASE_URL: server.baseURL, WARDEN_LLM_TIMEOUT_MS: '90000' },
        {
          extraTools: vendorTools('http://127.0.0.1:9').filter((t) => t.name === 'asset_lookup'),
          agents: [testAgent('local-scorer', ['asset_lookup'])],
        },
      );
    });
    afterAll(async () => {
      await stack?.stop();
    });

    it('scores an alert end to end: every turn on the local model, a verdict that passes the schema', async () => {
      const { workflowId } = await stack.client.start('runPlaybook', {
        playbook: {
          name: 'local-model',
          steps: [{ id: 'score', kind: 'agent', agent: 'local-scorer', input: '{{ input }}' }],
        },
        input: { alert: { rule: 'impossible travel sign-in', host: 'web-01', user: 'jdoe' } },
        initiator: 'olivia',
      });
      const result = await stack.client.result<{ outputs: { score: unknown } }>(workflowId);
      expect(Verdict.safeParse(result.outputs.score).success).toBe(true);
      const state = await stack.client.runState(workflowId);
      expect(state.agentTurns.length).toBeGreaterThanOrEqual(1);
      for (const turn of state.agentTurns) {
        expect(turn).toMatchObject({ agent: 'agent:local-scorer', model: server.modelId });
        expect(turn.usage.promptTokens).toBeGreaterThan(0);
      }
      expect(state.agentTurns.at(-1)!.reply).toBe('final');
    });
  });
});
