import { MockActivityEnvironment } from '@temporalio/testing';
import type { ChatMessage, LlmSettings, ModelReply } from '../../../activities/llm';
import { createLlmActivities } from '../../../activities/llm';
import { AgentRegistry, DEFAULT_BUDGETS } from '../../../agents/types';
import type { AgentStep } from '../../../governance/steps';
import { untrustedRule, wrapUntrusted } from '../../../governance/untrusted';
import type { Logger } from '../../../telemetry/logger';
import { ToolRegistry } from '../../../tools/types';
import type { TicketClassification } from '../agent';
import { ticketClassifier } from '../agent';
import { TRIAGE_PLAYBOOK, loadPlaybook } from '../trigger';

/** One classification as the eval saw it. */
export interface EvalAnswer {
  classification: TicketClassification | null;
  turns: number;
  promptTokens: number;
  completionTokens: number;
  error?: string;
}

/** The task the triage playbook gives the classifier (read from the playbook, so the eval asks the same). */
export function classifyTask(): string {
  const step = loadPlaybook(TRIAGE_PLAYBOOK).steps.find((s) => s.id === 'classify') as AgentStep | undefined;
  return step?.task ?? 'Complete your task for the data below.';
}

/**
 * Runs agent:ticket-classifier on one input through the production model call (`callModel`: same system
 * prompt, untrusted-data wrapping, structured output and validation), with the agent loop's rules: a tool
 * call is refused (the classifier has none), an invalid answer gets one repair turn, at most maxTurns calls.
 */
export function createEvalClassifier(llm: LlmSettings, logger: Logger) {
  const activities = createLlmActivities({
    agents: new AgentRegistry([ticketClassifier]),
    tools: new ToolRegistry(),
    llm,
    logger,
  });
  const env = new MockActivityEnvironment();
  const task = classifyTask();
  const maxTurns = ticketClassifier.budgets?.maxTurns ?? DEFAULT_BUDGETS.maxTurns;
  return async (input: unknown, runId: string): Promise<EvalAnswer> => {
    const tag = `ev${Math.random().toString(36).slice(2, 10)}`;
    const messages: ChatMessage[] = [{ role: 'user', content: `${task}\n\n${wrapUntrusted('input', input, tag)}` }];
    const out: EvalAnswer = { classification: null, turns: 0, promptTokens: 0, completionTokens: 0 };
    let repaired = false;
    while (out.turns < maxTurns) {
      out.turns++;
      let reply: ModelReply;
      try {
        const call = (input: Parameters<typeof activities.callModel>[0]) => activities.callModel(input);
        reply = await env.run(call, {
          workflowId: runId,
          stepId: 'classify',
          agent: ticketClassifier.name,
          turn: out.turns,
          untrustedRule: untrustedRule(tag),
          messages,
        });
      } catch (err) {
        return { ...out, error: (err as Error).message };
      }
      out.promptTokens += reply.usage.promptTokens;
      out.completionTokens += reply.usage.completionTokens;
      if (reply.kind === 'final' && reply.valid)
        return { ...out, classification: reply.output as TicketClassification };
      if (reply.kind === 'final') {
        if (repaired) return { ...out, error: reply.error };
        repaired = true;
        messages.push(
          { role: 'assistant', content: reply.content },
          {
            role: 'user',
            content: `Your answer was rejected: ${reply.error}. Answer again with only a JSON object that matches the required schema.`,
          },
        );
        continue;
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
      for (const c of reply.calls)
        messages.push({
          role: 'tool',
          tool_call_id: c.id,
          content: `refused: tool "${c.name}" is not available to you. Available tools: none.`,
        });
    }
    return { ...out, error: out.error ?? `no valid answer in ${maxTurns} turns` };
  };
}
