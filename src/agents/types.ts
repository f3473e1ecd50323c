import type { z } from 'zod';

/** Limits that stop an agent step with BudgetExceeded; every one is enforced in workflow code. */
export interface AgentBudgets {
  /** LLM calls, including the one repair turn. @default 8 */
  maxTurns: number;
  /** Tool calls requested by the model, executed or not. @default 16 */
  maxToolCalls: number;
  /** Prompt + completion tokens over the whole step. @default 50000 */
  maxTokens: number;
  /** Workflow time from the first LLM call. @default 300000 (5 min; approval waits excluded) */
  wallTimeMs: number;
  /** The same tool with the same arguments this many times → loop breaker. @default 3 */
  maxRepeatedCalls: number;
  /** Refused calls (outside the allowlist, malformed, denied) tolerated before the step fails. @default 3 */
  maxViolations: number;
}

/** Default budgets. */
export const DEFAULT_BUDGETS: AgentBudgets = {
  maxTurns: 8,
  maxToolCalls: 16,
  maxTokens: 50_000,
  wallTimeMs: 300_000,
  maxRepeatedCalls: 3,
  maxViolations: 3,
};

/**
 * An agent: an LLM with instructions, a tool allowlist, an output schema and budgets. It acts under its
 * own identity (`agent:<name>`), never a human's; policy — not its prompt — decides what it may do.
 */
export interface AgentDefinition<O extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  /** Model name; @default the configured WARDEN_LLM_MODEL */
  model?: string;
  instructions: string;
  /** Tools the agent may ask for. Anything else is refused without execution. */
  allowedTools: string[];
  /** The final answer must validate against this (one repair turn, then LlmOutputInvalid). */
  output: O;
  budgets?: Partial<AgentBudgets>;
}

/** The identity an agent acts under in decisions, leases and records. */
export function agentIdentity(name: string): string {
  return `agent:${name}`;
}

/** Agents a worker can run, by name. */
export class AgentRegistry {
  private readonly agents = new Map<string, AgentDefinition>();

  constructor(agents: AgentDefinition[] = []) {
    for (const a of agents) this.register(a);
  }

  /** Adds an agent. @throws when the name is taken or malformed. */
  register(agent: AgentDefinition): this {
    if (this.agents.has(agent.name)) throw new Error(`agent "${agent.name}" is registered twice`);
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(agent.name)) throw new Error(`agent name "${agent.name}" must be kebab-case`);
    this.agents.set(agent.name, agent);
    return this;
  }

  get(name: string): AgentDefinition | undefined {
    return this.agents.get(name);
  }

  list(): AgentDefinition[] {
    return [...this.agents.values()];
  }
}
