import { wardenMetrics } from '../telemetry/metrics';
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import OpenAI from 'openai';
import { z } from 'zod';
import type { AgentBudgets, AgentRegistry } from '../agents/types';
import { DEFAULT_BUDGETS, agentIdentity } from '../agents/types';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';
import type { Logger } from '../telemetry/logger';
import { annotateActiveSpan } from '../telemetry/tracing';
import type { ToolRegistry } from '../tools/types';

/** A chat message as the workflow keeps it (OpenAI Chat Completions shape, workflow-safe). */
export interface ChatMessage {
  role: 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

/** What the workflow needs to know about an agent to run its loop. */
export interface AgentDescription {
  name: string;
  identity: string;
  model: string;
  allowedTools: string[];
  budgets: AgentBudgets;
  /**
   * Where and how long the workflow schedules this agent's LLM calls (absent from descriptions recorded
   * by builds before the LLM task queue: those runs replay their calls on the main queue).
   */
  llm?: { taskQueue: string; timeoutMs: number };
}

/** Input of `callModel`. */
export interface CallModelInput {
  workflowId: string;
  stepId: string;
  agent: string;
  turn: number;
  /** Standing rule about untrusted blocks, appended to the system prompt. */
  untrustedRule: string;
  messages: ChatMessage[];
}

/** Token usage of one call. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** What the model answered, parsed and (for a final answer) validated. */
export type ModelReply = {
  model: string;
  usage: Usage;
  /** sha256 of the exact request messages (the prompt reference recorded for audit). */
  promptDigest: string;
  /** The model's own words alongside its choice (its stated rationale). */
  content: string | null;
  /**
   * Time between the call's first scheduling and the start of the attempt that answered: queued behind
   * other calls, earlier failed attempts and their backoff. Not the agent's time (its wall-time budget
   * leaves it out).
   */
  waitedMs?: number;
} & (
  | { kind: 'tool_calls'; calls: { id: string; name: string; arguments: string }[] }
  | { kind: 'final'; valid: true; output: unknown }
  | { kind: 'final'; valid: false; error: string }
);

/** LLM settings (from config). */
export interface LlmSettings {
  baseURL: string | undefined;
  apiKey: string | undefined;
  model: string;
  timeoutMs: number;
  /** `json_schema` asks the server to constrain the final answer; `none` relies on validation alone. */
  structuredOutput: 'json_schema' | 'none';
  /** How long one call keeps retrying an unavailable endpoint, from its first attempt. @default 900000 */
  availabilityWindowMs?: number;
}

/** Dependencies of the LLM activities. */
export interface LlmDeps {
  agents: AgentRegistry;
  tools: ToolRegistry;
  llm: LlmSettings;
  logger: Logger;
  /** The task queue LLM calls are scheduled on (`llmTaskQueue(<main queue>)`); unset: the caller's queue. */
  llmTaskQueue?: string;
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function retryAfterMs(headers: unknown): number | undefined {
  const h = headers as { get?: (k: string) => string | null } | Record<string, string> | undefined;
  const raw =
    typeof h?.get === 'function' ? h.get('retry-after') : (h as Record<string, string> | undefined)?.['retry-after'];
  if (!raw) return undefined;
  const secs = Number(raw);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** Builds the LLM activities: `describeAgent` (local) and `callModel` (one LLM call per activity). */
export function createLlmActivities(deps: LlmDeps) {
  // One client per worker. maxRetries 0: Temporal's retry policy decides (and honours Retry-After).
  const client = new OpenAI({
    apiKey: deps.llm.apiKey ?? 'not-needed-for-local-endpoints',
    ...(deps.llm.baseURL ? { baseURL: deps.llm.baseURL } : {}),
    maxRetries: 0,
    timeout: deps.llm.timeoutMs,
  });

  const agentOrFail = (name: string) => {
    const agent = deps.agents.get(name);
    if (!agent) {
      throw ApplicationFailure.create({
        type: FailureType.ValidationError,
        nonRetryable: true,
        message: `agent "${name}" is not registered on this worker (the playbook's or the deployment's fault)`,
      });
    }
    return agent;
  };

  return {
    /** Resolves an agent's allowlist, model and budgets (a local activity: recorded in history). */
    describeAgent(input: { agent: string }): Promise<AgentDescription> {
      const a = agentOrFail(input.agent);
      return Promise.resolve({
        name: a.name,
        identity: agentIdentity(a.name),
        model: a.model ?? deps.llm.model,
        allowedTools: a.allowedTools,
        budgets: { ...DEFAULT_BUDGETS, ...a.budgets },
        ...(deps.llmTaskQueue ? { llm: { taskQueue: deps.llmTaskQueue, timeoutMs: deps.llm.timeoutMs } } : {}),
      });
    },

    /**
     * One Chat Completions call. Offers only the agent's allowed tools; validates a final answer against
     * the agent's output schema (the workflow decides on repair). 429 and 5xx are retried by Temporal,
     * after Retry-After when the server sends one; other 4xx fail at once (configuration's fault).
     */
    async callModel(input: CallModelInput): Promise<ModelReply> {
      const agent = agentOrFail(input.agent);
      const attemptStartedAt = Date.now();
      const ctx = Context.current();
      const { info } = ctx;
      // The availability window counts the time the endpoint failed us: earlier attempts and the backoff
      // between them, carried in the heartbeat details (which Temporal hands to the next attempt), never the
      // time a retry then waited in the queue behind other runs' calls.
      const prior = info.heartbeatDetails as { unavailableMs?: number; failedAt?: number } | undefined;
      const carried =
        info.attempt === 1
          ? 0
          : typeof prior?.unavailableMs === 'number'
            ? prior.unavailableMs +
              (typeof prior.failedAt === 'number'
                ? Math.max(0, info.currentAttemptScheduledTimestampMs - prior.failedAt)
                : 0)
            : // No details (should not happen): from the first scheduling, which over-counts queueing.
              Math.max(0, info.currentAttemptScheduledTimestampMs - info.scheduledTimestampMs);
      const windowMs = deps.llm.availabilityWindowMs ?? 900_000;
      const unavailableFor = () => carried + (Date.now() - attemptStartedAt);
      const progress = () => ({ unavailableMs: unavailableFor(), failedAt: Date.now() });
      const unavailable = (why: string, retryAfter?: number) => {
        const expired = unavailableFor() + (retryAfter ?? 0) >= windowMs;
        // The next attempt reads this (the worker flushes the last heartbeat before reporting the failure).
        ctx.heartbeat(progress());
        return ApplicationFailure.create({
          type: FailureType.LlmUnavailable,
          message: expired
            ? `${why}; the endpoint was unavailable for ${Math.round(unavailableFor() / 1000)} s over ${info.attempt} attempt(s) (WARDEN_LLM_AVAILABILITY_WINDOW_MS ${windowMs}): giving up`
            : why,
          nonRetryable: expired,
          nextRetryDelay: expired ? undefined : retryAfter,
        });
      };
      // A retry that starts after the window (e.g. after a heartbeat or start-to-close timeout) gives up at once.
      if (info.attempt > 1 && carried >= windowMs)
        throw unavailable(`LLM call for model ${agent.model ?? deps.llm.model} did not complete`);
      ctx.heartbeat(progress());
      const model = agent.model ?? deps.llm.model;
      const tools = agent.allowedTools
        .map((n) => deps.tools.get(n))
        .filter((t) => t !== undefined)
        .map((t) => ({
          type: 'function' as const,
          function: {
            name: t.name,
            description: t.description,
            parameters: z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }),
          },
        }));
      const system = `${agent.instructions}\n\n${input.untrustedRule}\n\nWhen you are done, answer with only a JSON object matching the required output schema.`;
      const messages = [
        { role: 'system' as const, content: system },
        ...input.messages,
      ] as OpenAI.Chat.ChatCompletionMessageParam[];
      const promptDigest = sha256(JSON.stringify({ model, messages }));
      const beat = setInterval(() => ctx.heartbeat(progress()), 2_000);
      let res: OpenAI.Chat.ChatCompletion;
      const callStarted = performance.now();
      const seconds = () => (performance.now() - callStarted) / 1000;
      try {
        res = await client.chat.completions.create(
          {
            model,
            messages,
            ...(tools.length ? { tools } : {}),
            ...(deps.llm.structuredOutput === 'json_schema'
              ? {
                  response_format: {
                    type: 'json_schema' as const,
                    json_schema: {
                      name: `${agent.name.replace(/-/g, '_')}_output`,
                      schema: z.toJSONSchema(agent.output, { unrepresentable: 'any' }),
                    },
                  },
                }
              : {}),
          },
          { signal: ctx.cancellationSignal },
        );
      } catch (err) {
        clearInterval(beat);
        const status: number | undefined =
          err instanceof OpenAI.APIError ? (err.status as number | undefined) : undefined;
        wardenMetrics().observeLlmCall(model, status === undefined ? 'error' : `http_${status}`, seconds());
        if (err instanceof OpenAI.APIError && err.status !== undefined) {
          const retryable = err.status === 429 || err.status === 408 || err.status >= 500;
          if (retryable)
            throw unavailable(`LLM endpoint answered ${err.status} for model ${model}`, retryAfterMs(err.headers));
          throw ApplicationFailure.create({
            type: FailureType.ValidationError,
            message: `LLM endpoint answered ${err.status} for model ${model} (check WARDEN_LLM_MODEL, OPENAI_BASE_URL and OPENAI_API_KEY)`,
            nonRetryable: true,
          });
        }
        // Network errors, timeouts, unparseable bodies: retry.
        throw unavailable(`LLM call failed: ${(err as Error).message}`);
      }
      clearInterval(beat);
      const choice = res.choices?.[0];
      const usage: Usage = {
        promptTokens: res.usage?.prompt_tokens ?? 0,
        completionTokens: res.usage?.completion_tokens ?? 0,
      };
      wardenMetrics().observeLlmCall(model, 'ok', seconds(), {
        prompt: usage.promptTokens,
        completion: usage.completionTokens,
      });
      const base = {
        model: res.model || model,
        usage,
        promptDigest,
        content: choice?.message?.content ?? null,
        waitedMs: Math.max(0, attemptStartedAt - info.scheduledTimestampMs),
      };
      annotateActiveSpan({
        'gen_ai.operation.name': 'chat',
        'gen_ai.system': 'openai',
        'gen_ai.agent.name': agent.name,
        'gen_ai.request.model': model,
        'gen_ai.response.model': res.model,
        'gen_ai.response.id': res.id,
        'gen_ai.response.finish_reasons': choice?.finish_reason ? [choice.finish_reason] : undefined,
        'gen_ai.usage.input_tokens': usage.promptTokens,
        'gen_ai.usage.output_tokens': usage.completionTokens,
      });
      deps.logger.info(
        { workflowId: input.workflowId, stepId: input.stepId, agent: agent.name, turn: input.turn, usage },
        'llm call',
      );
      const calls = (choice?.message?.tool_calls ?? []).filter((c) => c.type === 'function');
      if (calls.length) {
        return {
          ...base,
          kind: 'tool_calls',
          calls: calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
        };
      }
      const text = (choice?.message?.content ?? '').trim();
      let json: unknown;
      try {
        json = JSON.parse(text.replace(/^```(?:json)?\s*|\s*```$/g, ''));
      } catch {
        return { ...base, kind: 'final', valid: false, error: `the answer is not JSON: ${text.slice(0, 200)}` };
      }
      const parsed = agent.output.safeParse(json);
      if (!parsed.success)
        return {
          ...base,
          kind: 'final',
          valid: false,
          error: `the answer does not match the output schema: ${formatIssues(parsed.error, '(answer)')}`,
        };
      return { ...base, kind: 'final', valid: true, output: parsed.data };
    },
  };
}

/**
 * The task queue LLM calls run on: served by workers with WARDEN_LLM_CONCURRENCY slots (and the optional
 * fleet-wide WARDEN_LLM_RATE_PER_SECOND), so a burst of runs waits in Temporal rather than at the model.
 */
export function llmTaskQueue(taskQueue: string): string {
  return `${taskQueue}--llm`;
}
