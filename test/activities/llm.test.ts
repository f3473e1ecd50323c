import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLlmActivities } from '../../src/activities/llm';
import type { CallModelInput, ModelReply } from '../../src/activities/llm';
import { AgentRegistry } from '../../src/agents/types';
import { createLogger } from '../../src/telemetry/logger';
import { buildToolRegistry } from '../../src/tools';
import { FINAL, testAgent } from '../harness/agents';
import type { ScriptedLlm } from '../harness/scripted-llm';
import { startScriptedLlm } from '../harness/scripted-llm';

/*
 * callModel's availability window: it counts the time the endpoint failed (attempts and the backoff
 * between them), never the time a retry waited in the task queue behind other runs' calls.
 */

const WINDOW = 10_000;

describe('callModel availability window', () => {
  let llm: ScriptedLlm;
  let activities: ReturnType<typeof createLlmActivities>;
  beforeAll(async () => {
    llm = await startScriptedLlm();
    activities = createLlmActivities({
      agents: new AgentRegistry([testAgent('scorer', [])]),
      tools: buildToolRegistry([]),
      llm: {
        baseURL: llm.baseURL,
        apiKey: 'sk-test',
        model: 'unused',
        timeoutMs: 2_000,
        structuredOutput: 'none',
        availabilityWindowMs: WINDOW,
      },
      logger: createLogger({ level: 'silent' }),
    });
  });
  afterAll(() => llm.close());

  const input: CallModelInput = {
    workflowId: 'wf',
    stepId: 'score',
    agent: 'scorer',
    turn: 1,
    untrustedRule: '',
    messages: [{ role: 'user', content: 'triage' }],
  };
  /** Runs one attempt with the given activity info; resolves with its outcome and its last heartbeat. */
  const attempt = async (info: ConstructorParameters<typeof MockActivityEnvironment>[0]) => {
    const env = new MockActivityEnvironment(info);
    let beat: unknown;
    env.on('heartbeat', (d: unknown) => (beat = d));
    const call = (i: CallModelInput) => activities.callModel(i);
    const outcome: { reply?: ModelReply; err?: ApplicationFailure } = await env.run(call, input).then(
      (reply) => ({ reply: reply as ModelReply }),
      (err: unknown) => ({ err: err as ApplicationFailure }),
    );
    return { ...outcome, beat: beat as { unavailableMs: number; failedAt: number } };
  };

  it('an hour in the queue between attempts does not count; the backoff and the failed attempts do', async () => {
    llm.script('model-scorer', [{ status: 503 }], { repeatLast: true });
    const now = Date.now();
    // Earlier attempts failed for 3 s in all, the last at now - 1h - 2 s; the retry was due 2 s later (backoff),
    // then waited an hour in the queue.
    const queued = await attempt({
      attempt: 4,
      scheduledTimestampMs: now - 2 * 3_600_000,
      currentAttemptScheduledTimestampMs: now - 3_600_000,
      heartbeatDetails: { unavailableMs: 3_000, failedAt: now - 3_600_000 - 2_000 },
    });
    expect(queued.err).toBeInstanceOf(ApplicationFailure);
    expect(queued.err).toMatchObject({ type: 'LlmUnavailable', nonRetryable: false });
    expect(queued.beat.unavailableMs).toBeGreaterThanOrEqual(5_000);
    expect(queued.beat.unavailableMs).toBeLessThan(WINDOW);

    // Past the window in failures and backoff: give up (non-retryable) and say why.
    const spent = await attempt({
      attempt: 9,
      scheduledTimestampMs: now - 60_000,
      currentAttemptScheduledTimestampMs: now - 100,
      heartbeatDetails: { unavailableMs: 8_000, failedAt: now - 2_100 },
    });
    expect(spent.err).toMatchObject({ type: 'LlmUnavailable', nonRetryable: true });
    expect(spent.err?.message).toMatch(/unavailable for 10 s over 9 attempt\(s\).*giving up/);
  });

  it('a first attempt starts a fresh window, and a reply says how long the call waited before its answering attempt', async () => {
    llm.script('model-scorer', [{ content: FINAL }]);
    const now = Date.now();
    const ok = await attempt({
      attempt: 1,
      scheduledTimestampMs: now - 30_000,
      currentAttemptScheduledTimestampMs: now - 30_000,
    });
    expect(ok.reply).toMatchObject({ kind: 'final', valid: true });
    expect(ok.reply?.waitedMs).toBeGreaterThanOrEqual(30_000);
    expect(ok.beat.unavailableMs).toBeLessThan(5_000);
  });
});
