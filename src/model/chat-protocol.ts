import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { GrammarLimits, GrammarSchema } from './grammar-schema';
import { describeGrammarSchema, toGrammarSchema } from './grammar-schema';
import type { LlamaHistoryItem } from './llama-runtime';

/*
 * OpenAI Chat Completions ⇄ a small local model.
 *
 * Tool calling with a 100M-parameter model only works when the decoder cannot go wrong. So the assistant
 * turn is constrained by a grammar over one JSON "envelope":
 *     {"tool": "<one of the offered names>", "arguments": {…that tool's parameters…}}
 *   | {"final": <the response_format schema, or a string>}
 * and translated back: `tool` → `message.tool_calls` (arguments as a JSON string), `final` → `content`.
 * Earlier turns are rendered in the same envelope so the model sees its own protocol; tool results come
 * back as user turns. Once the conversation holds `maxToolRounds` tool rounds only `final` is offered, so
 * a tiny model cannot loop on the same lookup (the agent's own budgets still apply on top).
 */

const Text = z.union([
  z.string(),
  z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()),
  z.null(),
]);
const Message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: Text.optional(),
    tool_calls: z
      .array(z.object({ id: z.string(), function: z.object({ name: z.string(), arguments: z.string() }) }).loose())
      .nullish(),
    tool_call_id: z.string().nullish(),
  })
  .loose();

/** The request body of POST /v1/chat/completions (the subset served; unknown fields are ignored). */
export const ChatCompletionRequest = z
  .object({
    model: z.string().default(''),
    messages: z.array(Message).min(1),
    tools: z
      .array(
        z.object({
          type: z.literal('function'),
          function: z.object({
            name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
            description: z.string().optional(),
            parameters: z.record(z.string(), z.unknown()).optional(),
          }),
        }),
      )
      .nullish(),
    tool_choice: z
      .union([
        z.enum(['none', 'auto', 'required']),
        z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
      ])
      .nullish(),
    response_format: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('text') }),
        z.object({ type: z.literal('json_object') }),
        z.object({
          type: z.literal('json_schema'),
          json_schema: z.object({ name: z.string(), schema: z.record(z.string(), z.unknown()).optional() }).loose(),
        }),
      ])
      .nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    seed: z.number().int().nullish(),
    stream: z.literal(false).nullish(),
    n: z.literal(1).nullish(),
  })
  .loose();
/** The request body of POST /v1/chat/completions. */
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** How to decode one request. */
export interface GenerationPlan {
  history: LlamaHistoryItem[];
  grammar: GrammarSchema | undefined;
  /** `envelope`: tool-or-final JSON; `json`: the content is JSON; `text`: free text. */
  mode: 'envelope' | 'json' | 'text';
}

type Msg = ChatCompletionRequest['messages'][number];
const textOf = (c: Msg['content']): string =>
  typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => p.text ?? '').join('') : '';

function finalSchema(req: ChatCompletionRequest, limits: GrammarLimits): GrammarSchema | undefined {
  const rf = req.response_format;
  if (rf?.type === 'json_schema') return toGrammarSchema(rf.json_schema.schema ?? {}, limits);
  if (rf?.type === 'json_object') return { type: 'object', additionalProperties: true };
  return undefined;
}

/** Plans the decoding of a validated request (pure). */
export function planGeneration(
  req: ChatCompletionRequest,
  opts: { limits: GrammarLimits; maxToolRounds: number },
): GenerationPlan {
  const final = finalSchema(req, opts.limits);
  const rounds = req.messages.filter((m) => m.role === 'assistant' && m.tool_calls?.length).length;
  const choice = req.tool_choice ?? 'auto';
  let tools = choice === 'none' ? [] : (req.tools ?? []).map((t) => t.function);
  if (typeof choice === 'object') tools = tools.filter((t) => t.name === choice.function.name);
  const mayFinish = choice !== 'required' && typeof choice !== 'object';
  const offered = rounds >= opts.maxToolRounds && mayFinish ? [] : tools;
  const envelope = (req.tools?.length ?? 0) > 0;

  const system: string[] = [];
  const history: LlamaHistoryItem[] = [];
  const names = new Map<string, string>();
  const push = (item: LlamaHistoryItem) => {
    const last = history[history.length - 1];
    if (item.type === 'user' && last?.type === 'user') last.text += `\n\n${item.text}`;
    else history.push(item);
  };
  for (const m of req.messages) {
    const text = textOf(m.content);
    if (m.role === 'system' || m.role === 'developer') system.push(text);
    else if (m.role === 'user') push({ type: 'user', text });
    else if (m.role === 'assistant') {
      for (const c of m.tool_calls ?? []) names.set(c.id, c.function.name);
      const calls = (m.tool_calls ?? []).map((c) => {
        let args: unknown = c.function.arguments;
        try {
          args = JSON.parse(c.function.arguments);
        } catch {
          // keep the raw text: it is what the model said
        }
        return JSON.stringify({ tool: c.function.name, arguments: args });
      });
      const said = calls.length ? calls.join('\n') : envelope ? envelopeFinal(text) : text;
      push({ type: 'model', response: [said] });
    } else {
      const name = (m.tool_call_id ? names.get(m.tool_call_id) : undefined) ?? 'tool';
      push({ type: 'user', text: `Result of ${name}:\n${text}` });
    }
  }

  if (!envelope) {
    if (system.length) history.unshift({ type: 'system', text: system.join('\n\n') });
    return { history, grammar: final, mode: final ? 'json' : 'text' };
  }
  const finalShape = final ?? { type: 'string' as const, maxLength: opts.limits.maxStringLength };
  const argsOf = (t: (typeof tools)[number]) =>
    toGrammarSchema(t.parameters ?? { type: 'object', properties: {} }, opts.limits);
  const branches: GrammarSchema[] = offered.map((t) => ({
    type: 'object',
    properties: { tool: { const: t.name }, arguments: argsOf(t) },
  }));
  if (mayFinish || branches.length === 0) branches.push({ type: 'object', properties: { final: finalShape } });
  // The system prompt depends only on the request's tools and schema, never on the round: the server keeps
  // the evaluated prefix of the previous request, so a stable prompt is evaluated once per agent, not per turn.
  const lines = tools.map((t) => `- ${t.name}: ${t.description ?? ''} Arguments: ${describeGrammarSchema(argsOf(t))}`);
  system.push(
    [
      lines.length ? `Tools you can call:\n${lines.join('\n')}` : '',
      'Reply with exactly one JSON object and nothing else:',
      lines.length ? '{"tool": "<tool name>", "arguments": {...}} to call a tool, or' : '',
      `{"final": ${describeGrammarSchema(finalShape)}} when you have the answer.`,
    ]
      .filter(Boolean)
      .join('\n'),
  );
  history.unshift({ type: 'system', text: system.join('\n\n') });
  if (offered.length === 0 && history[history.length - 1]?.type === 'user')
    push({
      type: 'user',
      text: `${rounds > 0 ? 'Use the results you have: give' : 'Give'} your final answer now, as {"final": ...}.`,
    });
  return { history, grammar: branches.length === 1 ? branches[0] : { oneOf: branches }, mode: 'envelope' };
}

function envelopeFinal(text: string): string {
  try {
    return JSON.stringify({ final: JSON.parse(text) as unknown });
  } catch {
    return JSON.stringify({ final: text });
  }
}

/** The assistant message and finish reason for what the model generated under a plan. */
export function toAssistantMessage(
  plan: GenerationPlan,
  text: string,
  cutOff: boolean,
): {
  message: {
    role: 'assistant';
    content: string | null;
    refusal: null;
    tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  };
  finish_reason: 'stop' | 'length' | 'tool_calls';
} {
  const plain = { role: 'assistant' as const, refusal: null };
  if (cutOff) return { message: { ...plain, content: text }, finish_reason: 'length' };
  if (plan.mode !== 'envelope') return { message: { ...plain, content: text.trim() }, finish_reason: 'stop' };
  let env: { tool?: unknown; arguments?: unknown; final?: unknown };
  try {
    // Under the grammar the text is exactly one object; unconstrained (benchmark baseline) it may be fenced.
    env = JSON.parse(text.trim().replace(/^```(?:json)?\s*|\s*```$/g, '')) as typeof env;
  } catch {
    return { message: { ...plain, content: text }, finish_reason: 'stop' };
  }
  if (typeof env.tool === 'string') {
    const call = {
      id: `call_${randomBytes(9).toString('base64url')}`,
      type: 'function' as const,
      function: { name: env.tool, arguments: JSON.stringify(env.arguments ?? {}) },
    };
    return { message: { ...plain, content: null, tool_calls: [call] }, finish_reason: 'tool_calls' };
  }
  const content = typeof env.final === 'string' ? env.final : JSON.stringify(env.final ?? null);
  return { message: { ...plain, content }, finish_reason: 'stop' };
}
