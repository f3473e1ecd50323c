import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from '../telemetry/logger';
import { formatIssues } from '../governance/issues';
import { ChatCompletionRequest, planGeneration, toAssistantMessage } from './chat-protocol';
import type { GrammarLimits } from './grammar-schema';
import { DEFAULT_GRAMMAR_LIMITS } from './grammar-schema';
import type { LocalEngine } from './llama-runtime';

/** The line `warden model serve` prints once it accepts requests (`warden dev` waits for it); group 1 is the base URL. */
export const MODEL_READY_PATTERN = /model server listening on (http:\/\/\S+)/;

/** Options for {@link createModelServer}. */
export interface ModelServerOptions {
  engine: LocalEngine;
  /** The id reported by /v1/models and in every completion. */
  modelId: string;
  logger: Logger;
  /** Upper bound on completion tokens, whatever the request asks. @default 384 */
  maxTokens?: number;
  /** Tool rounds after which only a final answer is offered (see chat-protocol.ts). @default 1 */
  maxToolRounds?: number;
  /** Requests allowed to wait behind the one generating; more get 429 with Retry-After. @default 16 */
  maxQueue?: number;
  limits?: GrammarLimits;
  /**
   * Constrain answers with the grammar. Only the benchmark turns this off, to measure what the grammar is
   * worth: the prompt stays the same, the model is merely asked. @default true
   */
  constrain?: boolean;
}

type ApiError = { status: number; message: string; type: string; headers?: Record<string, string> };
const fail = (status: number, message: string, type = 'invalid_request_error', headers?: Record<string, string>) => {
  const e = new Error(message) as Error & ApiError;
  Object.assign(e, { status, type, headers });
  return e;
};

/**
 * An OpenAI-compatible HTTP API over one local model: POST /v1/chat/completions (tools → `tool_calls`,
 * `response_format: json_schema` → grammar-constrained JSON, usage counts) and GET /v1/models, /healthz.
 * One generation at a time (a 2-core machine gains nothing from two); waiting requests queue, a full queue
 * answers 429 with Retry-After, and a request whose client went away is dropped or stopped. Bind it to
 * loopback: it has no authentication (a bearer token, if sent, is ignored, like Ollama does).
 */
export function createModelServer(opts: ModelServerOptions): FastifyInstance {
  const limits = opts.limits ?? DEFAULT_GRAMMAR_LIMITS;
  const maxTokens = opts.maxTokens ?? 384;
  const maxToolRounds = opts.maxToolRounds ?? 1;
  const maxQueue = opts.maxQueue ?? 16;
  const log: FastifyBaseLogger = opts.logger.child({ component: 'model-server' });
  const app: FastifyInstance = Fastify({ loggerInstance: log, bodyLimit: 4 * 1024 * 1024 });
  let tail: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  const created = Math.floor(Date.now() / 1000);

  app.get('/healthz', () => ({ ok: true, model: opts.modelId }));
  app.get('/v1/models', () => ({
    object: 'list',
    data: [{ id: opts.modelId, object: 'model', created, owned_by: 'warden-local' }],
  }));

  app.post('/v1/chat/completions', async (request, reply) => {
    const parsed = ChatCompletionRequest.safeParse(request.body);
    if (!parsed.success) throw fail(400, `invalid chat completion request: ${formatIssues(parsed.error, 'body')}`);
    const req = parsed.data;
    const plan = planGeneration(req, { limits, maxToolRounds });
    const promptTokens = opts.engine.countPromptTokens(plan.history);
    const wanted = Math.min(req.max_completion_tokens ?? req.max_tokens ?? maxTokens, maxTokens);
    if (promptTokens + wanted > opts.engine.contextSize) {
      throw fail(
        400,
        `the prompt has ${promptTokens} tokens and the answer may take ${wanted}, more than the local model's context of ` +
          `${opts.engine.contextSize} tokens: raise WARDEN_MODEL_CONTEXT_SIZE, shorten the input, or use a larger endpoint`,
        'context_length_exceeded',
      );
    }
    if (waiting >= maxQueue) {
      throw fail(429, `the local model is busy (${waiting} requests waiting); retry shortly`, 'rate_limit_exceeded', {
        'retry-after': '2',
      });
    }
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    waiting++;
    const run = tail.then(async () => {
      waiting--;
      if (abort.signal.aborted) return undefined;
      return opts.engine.generate({
        history: plan.history,
        grammar: opts.constrain === false ? undefined : plan.grammar,
        maxTokens: wanted,
        temperature: req.temperature ?? 0,
        seed: req.seed ?? undefined,
        signal: abort.signal,
      });
    });
    tail = run.catch(() => undefined);
    const out = await run;
    if (!out) return reply; // the client is gone
    const { message, finish_reason } = toAssistantMessage(plan, out.text, out.finish === 'length');
    log.info(
      {
        mode: plan.mode,
        promptTokens: out.promptTokens,
        completionTokens: out.completionTokens,
        ms: out.ms,
        finish_reason,
      },
      'chat completion',
    );
    return {
      id: `chatcmpl-${randomBytes(12).toString('base64url')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: opts.modelId,
      system_fingerprint: `warden-local-${opts.engine.chatTemplate}`,
      choices: [{ index: 0, message, finish_reason, logprobs: null }],
      usage: {
        prompt_tokens: out.promptTokens,
        completion_tokens: out.completionTokens,
        total_tokens: out.promptTokens + out.completionTokens,
      },
      // Not OpenAI's: the same extra field llama.cpp's server sends, for benchmarks and curious operators.
      timings: {
        prompt_n: out.promptTokens,
        prompt_ms: out.firstTokenMs,
        predicted_n: out.completionTokens,
        predicted_ms: out.ms - out.firstTokenMs,
        predicted_per_second:
          out.completionTokens > 1 ? ((out.completionTokens - 1) * 1000) / Math.max(1, out.ms - out.firstTokenMs) : 0,
      },
    };
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: { message: `${request.method} ${request.url} is not served here`, type: 'invalid_request_error' },
    }),
  );
  app.setErrorHandler((err: Error & Partial<ApiError> & { statusCode?: number }, _request, reply) => {
    const status = err.status ?? err.statusCode ?? 500;
    if (status >= 500) log.error({ err }, 'chat completion failed');
    for (const [k, v] of Object.entries(err.headers ?? {})) void reply.header(k, v);
    const message =
      status >= 500 ? `the local model failed: ${err.message} (Warden's fault; see its log)` : err.message;
    return reply
      .code(status)
      .send({ error: { message, type: err.type ?? 'invalid_request_error', param: null, code: null } });
  });
  return app;
}
