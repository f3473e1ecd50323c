import { z } from 'zod';
import type { AgentDefinition } from '../../src/agents/types';

/** The triage verdict test agents must produce. */
export const Verdict = z.object({
  verdict: z.enum(['benign', 'suspicious', 'malicious']),
  confidence: z.number().min(0).max(1),
  rationale: z.string().min(1),
});

/** A test agent whose model name selects its script on the scripted LLM server. */
export function testAgent(
  name: string,
  allowedTools: string[],
  budgets: AgentDefinition['budgets'] = {},
): AgentDefinition {
  return {
    name,
    description: `test agent ${name}`,
    model: `model-${name}`,
    instructions: 'You score security alerts. Use tools to gather context, then answer with a verdict.',
    allowedTools,
    output: Verdict,
    budgets: { maxTurns: 6, maxRepeatedCalls: 2, ...budgets },
  };
}

/** A valid final answer, as model text. */
export const FINAL = JSON.stringify({ verdict: 'suspicious', confidence: 0.6, rationale: 'unusual login source' });
