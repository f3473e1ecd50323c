import type { GenerateRequest, GenerateResult, LocalEngine } from '../../src/model/llama-runtime';
import { createModelServer } from '../../src/model/model-server';
import { createLogger } from '../../src/telemetry/logger';

/** An engine that answers a fixed text after a delay and records how many generations overlapped. */
function fakeEngine(text: string, opts: { delayMs?: number; finish?: 'stop' | 'length'; promptTokens?: number } = {}) {
  const seen: GenerateRequest[] = [];
  let running = 0;
  const stats = { maxConcurrent: 0 };
  const engine: LocalEngine = {
    contextSize: 1000,
    threads: 2,
    chatTemplate: 'Fake',
    countPromptTokens: () => opts.promptTokens ?? 100,
    async generate(req): Promise<GenerateResult> {
      seen.push(req);
      running++;
      stats.maxConcurrent = Math.max(stats.maxConcurrent, running);
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 20));
      running--;
      return { text, promptTokens: 100, completionTokens: 7, finish: opts.finish ?? 'stop', ms: 50, firstTokenMs: 10 };
    },
    close: () => Promise.resolve(),
  };
  return { engine, seen, stats };
}
const body = (extra: Record<string, unknown> = {}) => ({
  model: 'x',
  messages: [{ role: 'user', content: 'Say something.' }],
  ...extra,
});
const logger = createLogger({ level: 'silent' });

/** Serves `app` on a loopback port (Fastify's inject cannot load under Jest) and posts completions to it. */
async function serve(app: ReturnType<typeof createModelServer>) {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return async (payload: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    return { statusCode: res.status, headers: res.headers, json: <T = unknown>() => res.json() as Promise<T> };
  };
}

describe('local model server (fake engine)', () => {
  it('generates one request at a time, in arrival order, and answers each in OpenAI format', async () => {
    const { engine, seen, stats } = fakeEngine('hello');
    const app = createModelServer({ engine, modelId: 'tiny', logger });
    const post = await serve(app);
    const replies = await Promise.all([1, 2, 3].map((n) => post(body({ seed: n }))));
    expect(replies.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(stats.maxConcurrent).toBe(1);
    expect(seen.map((r) => r.seed)).toEqual([1, 2, 3]);
    expect(await replies[0]!.json()).toMatchObject({
      object: 'chat.completion',
      model: 'tiny',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hello' } }],
      usage: { prompt_tokens: 100, completion_tokens: 7, total_tokens: 107 },
    });
    expect(seen[0]!.temperature).toBe(0);
    await app.close();
  });

  it('answers 429 with Retry-After when the queue is full', async () => {
    const { engine } = fakeEngine('hello', { delayMs: 100 });
    const app = createModelServer({ engine, modelId: 'tiny', logger, maxQueue: 1 });
    const post = await serve(app);
    const replies = await Promise.all([1, 2, 3].map(() => post(body())));
    const busy = replies.filter((r) => r.statusCode === 429);
    expect(busy).toHaveLength(1);
    expect(busy[0]!.headers.get('retry-after')).toBe('2');
    expect(await busy[0]!.json()).toMatchObject({ error: { type: 'rate_limit_exceeded' } });
    await app.close();
  });

  it('caps max_tokens, and refuses a prompt that does not fit the context naming the setting to raise', async () => {
    const { engine, seen } = fakeEngine('hello');
    const app = createModelServer({ engine, modelId: 'tiny', logger, maxTokens: 50 });
    const post = await serve(app);
    await post(body({ max_tokens: 4000 }));
    expect(seen[0]!.maxTokens).toBe(50);
    const big = fakeEngine('hello', { promptTokens: 990 });
    const tight = createModelServer({ engine: big.engine, modelId: 'tiny', logger });
    const postTight = await serve(tight);
    const res = await postTight(body());
    expect(res.statusCode).toBe(400);
    expect((await res.json<{ error: { message: string } }>()).error.message).toMatch(/WARDEN_MODEL_CONTEXT_SIZE/);
    expect(big.seen).toHaveLength(0);
    await app.close();
    await tight.close();
  });

  it('reports an answer cut off by max_tokens as finish_reason length', async () => {
    const { engine } = fakeEngine('{"final": {"verd', { finish: 'length' });
    const app = createModelServer({ engine, modelId: 'tiny', logger });
    const post = await serve(app);
    const res = await post(body({ tools: [{ type: 'function', function: { name: 'asset_lookup' } }] }));
    expect(await res.json()).toMatchObject({
      choices: [{ finish_reason: 'length', message: { content: '{"final": {"verd' } }],
    });
    await app.close();
  });
});
