import { isCancellation, proxyActivities, proxyLocalActivities, uuid4 } from '@temporalio/workflow';
import canonicalize from 'canonicalize';
import type { Activities } from '../../activities';
import type { AgentDescription, ChatMessage } from '../../activities/llm';
import { FailureType } from '../../errors';
import type { ExpressionScope } from '../../governance/expressions';
import { render } from '../../governance/expressions';
import { refusalDecision } from '../../governance/decision';
import type { AgentStep } from '../../governance/steps';
import { untrustedRule, wrapUntrusted } from '../../governance/untrusted';
import { StepFailure, describeError, now } from './failures';
import { inSpan } from './tracing';
import type { StepContext } from './step-context';
import type { AgentTurnRecord, StepRecord } from './state';

const { describeAgent } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });
/**
 * LLM-call proxies; `summary` is the line the Web UI shows for the activity. With `llm` (what
 * describeAgent recorded), calls go to the LLM task queue: no schedule-to-start limit (queueing behind other
 * runs' calls is not a failure), start-to-close bounded by the call's own timeout, and retries until the
 * activity itself gives up after WARDEN_LLM_AVAILABILITY_WINDOW_MS. Without it (a description recorded
 * before that queue existed), the original proxy, so those histories replay as they ran.
 */
const modelProxy = (summary: string, llm: AgentDescription['llm'], turn: number) =>
  llm
    ? proxyActivities<Activities>({
        summary,
        taskQueue: llm.taskQueue,
        // A run already talking to the model goes before runs yet to start (where the server applies
        // task-queue priorities): a burst then finishes runs one by one instead of all of them at the end.
        priority: { priorityKey: turn > 1 ? 2 : 3 },
        startToCloseTimeout: llm.timeoutMs + 30_000,
        heartbeatTimeout: '30 seconds',
        retry: {
          initialInterval: '2 seconds',
          backoffCoefficient: 2,
          maximumInterval: '60 seconds',
          // No attempt cap: the activity gives up (non-retryable) once its availability window is spent.
          nonRetryableErrorTypes: [FailureType.ValidationError],
        },
      })
    : proxyActivities<Activities>({
        summary,
        // The HTTP call is bounded by WARDEN_LLM_TIMEOUT_MS; the activity heartbeats meanwhile, so a crashed
        // worker's call is retried elsewhere after the heartbeat timeout rather than the start-to-close one.
        startToCloseTimeout: '3 minutes',
        heartbeatTimeout: '10 seconds',
        retry: {
          initialInterval: '1 second',
          maximumInterval: '30 seconds',
          maximumAttempts: 6,
          nonRetryableErrorTypes: [FailureType.ValidationError],
        },
      });

/** Refusals the model is told about and that count against its violation budget. */
const VIOLATIONS = new Set<string>([FailureType.PolicyDenied, FailureType.ValidationError]);

/** The identity of a call for the loop breaker: tool name and canonical arguments. */
function stableKey(name: string, rawArgs: string): string {
  try {
    return `${name} ${canonicalize(JSON.parse(rawArgs)) ?? ''}`;
  } catch {
    return `${name} ${rawArgs.trim()}`;
  }
}

/**
 * The agent loop, in workflow code: each LLM call and each tool call is its own activity, so every turn is
 * checkpointed and a crash resumes after the last completed call. Everything the model says is
 * untrusted: a tool call must name an allowed tool, parse, pass the tool's schema and pass policy (which
 * may send it to a human, durably) — the same governed path as a playbook action. Budgets and a loop
 * breaker stop it with BudgetExceeded; a final answer that fails the schema gets one repair turn, then
 * LlmOutputInvalid.
 */
export async function runAgentLoop(
  ctx: StepContext,
  step: AgentStep,
  scope: ExpressionScope,
  record: StepRecord,
): Promise<unknown> {
  const agent = await describeAgent({ agent: step.agent });
  const b = agent.budgets;
  const tag = uuid4().replace(/-/g, '').slice(0, 12);
  const input = render(step.input, scope);
  const context = render(step.context, scope);
  const sources = ['input'];
  const messages: ChatMessage[] = [
    {
      role: 'user',
      content: `${step.task ?? 'Complete your task for the data below.'}\n\n${wrapUntrusted('input', input, tag)}`,
    },
  ];
  // From here on the model has seen untrusted content: policy's tainted floors apply to the whole run.
  ctx.taint.mark();
  const started = Date.now();
  // Time spent waiting for humans is not the agent's: it does not count against its wall-time budget.
  // (0.1 counted it. Up to a wait both versions decide the same way, so no patch guards the change; a
  // `patched()` marker placed after the describeAgent local activity failed replay with a nondeterminism
  // error when a query replayed the run.)
  const waitedBefore = ctx.gate.waitedMs;
  // Nor is time waiting for the model: queued behind other runs' calls, or retrying while it was
  // unavailable (each reply says how long; replies recorded before it did say nothing and count as 0).
  let modelWaitMs = 0;
  const elapsed = () => Date.now() - started - (ctx.gate.waitedMs - waitedBefore) - modelWaitMs;
  const seen = new Map<string, number>();
  let turns = 0;
  let toolCalls = 0;
  let tokens = 0;
  let violations = 0;
  let repaired = false;
  const stop = (type: string, why: string): never => {
    throw new StepFailure(type, `agent ${agent.name}: ${why}`);
  };

  for (;;) {
    await ctx.checkpoint();
    if (turns >= b.maxTurns)
      stop(FailureType.BudgetExceeded, `used all ${b.maxTurns} turns without a valid final answer`);
    if (tokens >= b.maxTokens) stop(FailureType.BudgetExceeded, `used ${tokens} tokens (budget ${b.maxTokens})`);
    if (elapsed() > b.wallTimeMs) stop(FailureType.BudgetExceeded, `ran longer than ${b.wallTimeMs} ms`);
    turns++;
    const turnNo = turns;
    const done = await inSpan(
      `agent turn ${turnNo}`,
      {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': agent.name,
        'gen_ai.request.model': agent.model,
        'warden.agent.turn': turnNo,
      },
      async (): Promise<{ output: unknown } | undefined> => {
        const reply = await modelProxy(
          `agent ${agent.name}: LLM call, turn ${turns} (${agent.model})`,
          agent.llm,
          turns,
        ).callModel({
          workflowId: ctx.workflowId,
          stepId: step.id,
          agent: agent.name,
          turn: turns,
          untrustedRule: untrustedRule(tag),
          messages,
        });
        tokens += reply.usage.promptTokens + reply.usage.completionTokens;
        modelWaitMs += reply.waitedMs ?? 0;
        const turn: AgentTurnRecord = {
          stepId: step.id,
          agent: agent.identity,
          turn: turns,
          model: reply.model,
          promptDigest: reply.promptDigest,
          contextSources: [...new Set(sources)],
          reply: reply.kind === 'final' ? (reply.valid ? 'final' : 'invalid_final') : 'tool_calls',
          toolCalls: [],
          ...(reply.content ? { rationale: reply.content.slice(0, 2000) } : {}),
          usage: reply.usage,
          at: now(),
        };
        ctx.journal.agentTurn(turn, reply.kind === 'tool_calls' ? reply.calls.map((c) => c.name) : []);

        if (reply.kind === 'final') {
          if (reply.valid) return { output: reply.output };
          if (repaired)
            stop(FailureType.LlmOutputInvalid, `final answer still invalid after one repair turn: ${reply.error}`);
          repaired = true;
          messages.push(
            { role: 'assistant', content: reply.content },
            {
              role: 'user',
              content: `Your answer was rejected: ${reply.error}. Answer again with only a JSON object that matches the required schema.`,
            },
          );
          return undefined;
        }

        messages.push({
          role: 'assistant',
          content: reply.content,
          tool_calls: reply.calls.map((c) => ({
            id: c.id,
            type: 'function' as const,
            function: { name: c.name, arguments: c.arguments },
          })),
        });
        for (const [i, call] of reply.calls.entries()) {
          toolCalls++;
          const callId = `${turns}.${i}`;
          if (toolCalls > b.maxToolCalls)
            stop(FailureType.BudgetExceeded, `asked for more than ${b.maxToolCalls} tool calls`);
          const key = stableKey(call.name, call.arguments);
          const repeats = (seen.get(key) ?? 0) + 1;
          seen.set(key, repeats);
          if (repeats > b.maxRepeatedCalls)
            stop(
              FailureType.BudgetExceeded,
              `repeated the identical call ${call.name} ${repeats} times (loop breaker)`,
            );

          let answer: string;
          let outcome: string;
          let argsDigest: string | undefined;
          const refuse = (ruleId: string, reason: string) =>
            ctx.journal.decision(refusalDecision(call.name, ruleId, reason), {
              stepId: step.id,
              callId,
              kind: 'action',
              actor: agent.identity,
              tainted: ctx.taint.tainted,
            });
          const violation = (why: string) => {
            violations++;
            if (violations > b.maxViolations)
              stop(
                FailureType.PolicyDenied,
                `${violations} refused tool calls (budget ${b.maxViolations}); last: ${why}`,
              );
          };
          if (!agent.allowedTools.includes(call.name)) {
            refuse('agent-allowlist', `tool "${call.name}" is not in ${agent.name}'s allowlist`);
            outcome = 'refused: not in allowlist';
            answer = `refused: tool "${call.name}" is not available to you. Available tools: ${agent.allowedTools.join(', ') || 'none'}.`;
            violation(outcome);
          } else {
            let args: unknown;
            try {
              args = JSON.parse(call.arguments || '{}');
            } catch {
              args = undefined;
            }
            if (args === undefined || typeof args !== 'object' || args === null || Array.isArray(args)) {
              refuse('malformed-arguments', 'the arguments are not a JSON object');
              outcome = 'refused: malformed arguments';
              answer =
                'refused: the arguments are not a valid JSON object. Call the tool again with arguments matching its schema.';
              violation(outcome);
            } else {
              try {
                const res = await ctx.call({
                  stepId: step.id,
                  callId,
                  tool: call.name,
                  args,
                  context,
                  record,
                  agent: agent.identity,
                });
                argsDigest = res.decision.actionHash;
                outcome = 'executed';
                answer = wrapUntrusted(`tool:${call.name}`, res.output, tag);
                sources.push(`tool:${call.name}`);
              } catch (err) {
                if (isCancellation(err)) throw err;
                const e = describeError(err);
                if (e.type === FailureType.RunCancelled) throw err;
                outcome = `${e.type}: ${e.message}`.slice(0, 300);
                answer = `not executed (${e.type}): ${e.message}`;
                if (VIOLATIONS.has(e.type)) violation(outcome);
              }
            }
          }
          turn.toolCalls.push({ name: call.name, callId, outcome, ...(argsDigest ? { argsDigest } : {}) });
          messages.push({ role: 'tool', tool_call_id: call.id, content: answer });
        }
        return undefined;
      },
    );
    if (done) return done.output;
  }
}
