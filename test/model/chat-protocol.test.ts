import { ChatCompletionRequest, planGeneration, toAssistantMessage } from '../../src/model/chat-protocol';
import type { GrammarSchema } from '../../src/model/grammar-schema';
import { DEFAULT_GRAMMAR_LIMITS } from '../../src/model/grammar-schema';

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'asset_lookup',
      description: 'Looks up an asset.',
      parameters: { type: 'object', properties: { host: { type: 'string' } }, required: ['host'] },
    },
  },
  {
    type: 'function',
    function: { name: 'intel_lookup', parameters: { type: 'object', properties: { indicator: { type: 'string' } } } },
  },
];
const VERDICT = {
  type: 'object',
  properties: { verdict: { type: 'string', enum: ['benign', 'malicious'] } },
  required: ['verdict'],
};
const request = (extra: Record<string, unknown> = {}) =>
  ChatCompletionRequest.parse({
    model: 'whatever',
    messages: [
      { role: 'system', content: 'You score alerts.' },
      { role: 'user', content: 'Score host web-01.' },
    ],
    tools: TOOLS,
    response_format: { type: 'json_schema', json_schema: { name: 'v', schema: VERDICT } },
    ...extra,
  });
const afterOneRound = () =>
  request({
    messages: [
      { role: 'system', content: 'You score alerts.' },
      { role: 'user', content: 'Score host web-01.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'asset_lookup', arguments: '{"host":"web-01"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: '{"criticality":"high"}' },
    ],
  });
const opts = { limits: DEFAULT_GRAMMAR_LIMITS, maxToolRounds: 1 };
const branchKeys = (g: GrammarSchema | undefined) =>
  ('oneOf' in (g ?? {}) ? (g as { oneOf: GrammarSchema[] }).oneOf : [g]).map((b) =>
    JSON.stringify((b as { properties: Record<string, unknown> }).properties),
  );

describe('chat protocol of the local model server', () => {
  it('offers every tool and a final answer as one grammar, and lists the tools in the system prompt', () => {
    const plan = planGeneration(request(), opts);
    expect(plan.mode).toBe('envelope');
    const branches = branchKeys(plan.grammar);
    expect(branches).toEqual([
      JSON.stringify({
        tool: { const: 'asset_lookup' },
        arguments: { type: 'object', properties: { host: { type: 'string', maxLength: 120 } } },
      }),
      JSON.stringify({ tool: { const: 'intel_lookup' }, arguments: { type: 'object', properties: {} } }),
      JSON.stringify({ final: { type: 'object', properties: { verdict: { enum: ['benign', 'malicious'] } } } }),
    ]);
    const system = plan.history[0];
    expect(system?.type).toBe('system');
    expect(system && 'text' in system ? system.text : '').toMatch(
      /^You score alerts\.\n\nTools you can call:\n- asset_lookup: Looks up an asset\. Arguments: \{"host": string\}/,
    );
  });

  it('after maxToolRounds offers only the final answer, with the same system prompt (its evaluation is reused)', () => {
    const first = planGeneration(request(), opts);
    const second = planGeneration(afterOneRound(), opts);
    expect(branchKeys(second.grammar)).toEqual([
      JSON.stringify({ final: { type: 'object', properties: { verdict: { enum: ['benign', 'malicious'] } } } }),
    ]);
    expect(second.history[0]).toEqual(first.history[0]);
    expect(second.history.slice(1)).toEqual([
      { type: 'user', text: 'Score host web-01.' },
      { type: 'model', response: ['{"tool":"asset_lookup","arguments":{"host":"web-01"}}'] },
      {
        type: 'user',
        text: 'Result of asset_lookup:\n{"criticality":"high"}\n\nUse the results you have: give your final answer now, as {"final": ...}.',
      },
    ]);
    expect(branchKeys(planGeneration(afterOneRound(), { ...opts, maxToolRounds: 2 }).grammar)).toHaveLength(3);
  });

  it('honours tool_choice: required (no final), a named function (only it), none (final only)', () => {
    expect(branchKeys(planGeneration(request({ tool_choice: 'required' }), opts).grammar)).toHaveLength(2);
    const named = planGeneration(
      request({ tool_choice: { type: 'function', function: { name: 'intel_lookup' } } }),
      opts,
    );
    expect(branchKeys(named.grammar)).toEqual([
      JSON.stringify({ tool: { const: 'intel_lookup' }, arguments: { type: 'object', properties: {} } }),
    ]);
    expect(branchKeys(planGeneration(request({ tool_choice: 'none' }), opts).grammar)).toHaveLength(1);
  });

  it('without tools constrains the content to the response_format schema, or leaves text free', () => {
    const json = planGeneration(request({ tools: undefined }), opts);
    expect(json).toMatchObject({ mode: 'json', grammar: { type: 'object' } });
    const text = planGeneration(request({ tools: undefined, response_format: undefined }), opts);
    expect(text).toMatchObject({ mode: 'text', grammar: undefined });
  });

  it('answers a tool envelope with OpenAI tool_calls whose arguments are a JSON string', () => {
    const plan = planGeneration(request(), opts);
    const out = toAssistantMessage(
      plan,
      '{ "tool": "asset_lookup", "arguments": { "host": "web-01" } }\n\n\n\n',
      false,
    );
    expect(out.finish_reason).toBe('tool_calls');
    expect(out.message.content).toBeNull();
    expect(out.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_/) as string,
        type: 'function',
        function: { name: 'asset_lookup', arguments: '{"host":"web-01"}' },
      },
    ]);
  });

  it('answers a final envelope with the JSON content, and a cut-off answer with finish_reason length', () => {
    const plan = planGeneration(request(), opts);
    expect(toAssistantMessage(plan, '{"final": {"verdict": "benign"}}', false)).toMatchObject({
      finish_reason: 'stop',
      message: { content: '{"verdict":"benign"}' },
    });
    expect(toAssistantMessage(plan, '{"final": {"verd', true)).toMatchObject({
      finish_reason: 'length',
      message: { content: '{"final": {"verd' },
    });
  });

  it('rejects what it does not serve (streaming, n > 1) at validation', () => {
    expect(ChatCompletionRequest.safeParse({ messages: [{ role: 'user', content: 'hi' }], stream: true }).success).toBe(
      false,
    );
    expect(ChatCompletionRequest.safeParse({ messages: [{ role: 'user', content: 'hi' }], n: 2 }).success).toBe(false);
    expect(ChatCompletionRequest.safeParse({ messages: [] }).success).toBe(false);
  });
});
