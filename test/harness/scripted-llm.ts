import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer of the fake model. */
export type ScriptedTurn =
  | {
      toolCalls: { name: string; arguments: string | Record<string, unknown> }[];
      content?: string;
      delayMs?: number;
      usage?: { prompt: number; completion: number };
    }
  | { content: string; delayMs?: number; usage?: { prompt: number; completion: number } }
  | { status: number; retryAfter?: number; delayMs?: number }
  | { malformedBody: true; delayMs?: number }
  /** Holds the request open until `release()` (crash tests). */
  | { hold: true };

/** A request the fake model received. */
export interface LlmRequest {
  model: string;
  body: {
    messages: { role: string; content: string | null }[];
    tools?: { function: { name: string } }[];
    response_format?: unknown;
  };
  authorization?: string;
  at: number;
}

/**
 * A scripted OpenAI-compatible Chat Completions server (real HTTP, spoken to by the real `openai` client).
 * Scripts are keyed by model name; each request to a model takes its next turn (the last one repeats when
 * `repeatLast` is set). It can misbehave on purpose: 429 with Retry-After, 5xx, malformed bodies, slow
 * answers, and tool calls a compromised model would make.
 */
export interface ScriptedLlm {
  baseURL: string;
  requests: LlmRequest[];
  script(model: string, turns: ScriptedTurn[], opts?: { repeatLast?: boolean }): void;
  requestsFor(model: string): LlmRequest[];
  /** Most requests that were in progress at once (a request ends when answered or its client hangs up). */
  readonly peakConcurrent: number;
  /** Requests answered 429 because more than `maxConcurrent` were in progress. */
  readonly overCapacity: number;
  /** Resolves when a held request arrives; call `release()` to let it answer with the next turn. */
  waitForHold(): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

/** Options of {@link startScriptedLlm}. */
export interface ScriptedLlmOptions {
  /**
   * Like a real model server with N slots: beyond this many requests in progress (answered or abandoned
   * ones no longer count), answer 429 with `retryAfter` seconds, without taking a scripted turn.
   */
  maxConcurrent?: number;
  /** Retry-After of those 429s, in seconds. @default 1 */
  retryAfter?: number;
}

export async function startScriptedLlm(opts: ScriptedLlmOptions = {}): Promise<ScriptedLlm> {
  const scripts = new Map<string, { turns: ScriptedTurn[]; next: number; repeatLast: boolean }>();
  const requests: LlmRequest[] = [];
  let live = 0;
  let peakConcurrent = 0;
  let overCapacity = 0;
  let holdWaiters: (() => void)[] = [];
  let held: (() => void)[] = [];
  let seq = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // GET /v1/models (what `warden doctor` asks): the scripted models, as OpenAI lists models.
      if (req.method === 'GET' && req.url?.endsWith('/models')) {
        const data = [...scripts.keys()].map((id) => ({ id, object: 'model', owned_by: 'scripted' }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
        return;
      }
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LlmRequest['body'] & { model: string };
      requests.push({ model: body.model, body, authorization: req.headers.authorization, at: Date.now() });
      live++;
      peakConcurrent = Math.max(peakConcurrent, live);
      res.once('close', () => live--);
      if (opts.maxConcurrent !== undefined && live > opts.maxConcurrent) {
        overCapacity++;
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(opts.retryAfter ?? 1) })
          .end(JSON.stringify({ error: { message: 'busy: all slots taken', type: 'rate_limit_exceeded' } }));
        return;
      }
      const s = scripts.get(body.model);
      if (!s) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ error: { message: `model ${body.model} has no script`, type: 'invalid_request_error' } }),
          );
        return;
      }
      const idx = s.next < s.turns.length ? s.next++ : s.repeatLast ? s.turns.length - 1 : -1;
      const turn = s.turns[idx];
      if (!turn) {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: 'script exhausted' } }));
        return;
      }
      const answer = (t: ScriptedTurn) => {
        if ('hold' in t) {
          held.push(() => {
            const after = s.turns[s.next < s.turns.length ? s.next++ : s.turns.length - 1];
            if (after) answer(after);
          });
          holdWaiters.forEach((w) => w());
          holdWaiters = [];
          return;
        }
        if ('status' in t) {
          res.writeHead(t.status, {
            'content-type': 'application/json',
            ...(t.retryAfter !== undefined ? { 'retry-after': String(t.retryAfter) } : {}),
          });
          res.end(JSON.stringify({ error: { message: `scripted ${t.status}`, type: 'rate_limit_error' } }));
          return;
        }
        if ('malformedBody' in t) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "x", "choices": [ {"message": ');
          return;
        }
        const message =
          'toolCalls' in t
            ? {
                role: 'assistant',
                content: t.content ?? null,
                tool_calls: t.toolCalls.map((c) => ({
                  id: `call_${++seq}`,
                  type: 'function',
                  function: {
                    name: c.name,
                    arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
                  },
                })),
              }
            : { role: 'assistant', content: t.content };
        const usage = 'usage' in t && t.usage ? t.usage : { prompt: 100, completion: 20 };
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${++seq}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [{ index: 0, message, finish_reason: 'toolCalls' in t ? 'tool_calls' : 'stop' }],
            usage: {
              prompt_tokens: usage.prompt,
              completion_tokens: usage.completion,
              total_tokens: usage.prompt + usage.completion,
            },
          }),
        );
      };
      const delay = 'delayMs' in turn ? (turn.delayMs ?? 0) : 0;
      if (delay) setTimeout(() => answer(turn), delay);
      else answer(turn);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    script(model, turns, opts = {}) {
      scripts.set(model, { turns, next: 0, repeatLast: Boolean(opts.repeatLast) });
    },
    requestsFor: (model) => requests.filter((r) => r.model === model),
    get peakConcurrent() {
      return peakConcurrent;
    },
    get overCapacity() {
      return overCapacity;
    },
    waitForHold: () => new Promise<void>((r) => (held.length ? r() : holdWaiters.push(r))),
    release() {
      const h = held;
      held = [];
      h.forEach((f) => f());
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
