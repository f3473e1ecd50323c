import type { ApprovalOutcome } from '../../governance/approvals';
import type { DecisionRecord } from '../../governance/decision';

export type { DecisionRecord };

/** Lifecycle of a run. */
export type RunStatus = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

/** Lifecycle of one step (or one call inside a forEach item). */
export type StepStatus = 'running' | 'waiting_approval' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** A failure as recorded: its type (src/errors.ts FailureType) and message. */
export interface StepError {
  type: string;
  message: string;
}

/** One step's record in the run state. */
export interface StepRecord {
  stepId: string;
  kind: string;
  status: StepStatus;
  startedAt: string;
  endedAt?: string;
  error?: StepError;
  approval?: ApprovalOutcome & { approvalId: string };
  /** forEach progress. */
  items?: { total: number; succeeded: number; failed: number };
}

/** A control signal as recorded, accepted or refused. */
export interface ControlRecord {
  action: string;
  by: string;
  reason?: string;
  requestId?: string;
  outcome: 'accepted' | 'refused';
  note: string;
  at: string;
}

/** What `runState` returns. */
export interface RunState {
  workflowId: string;
  playbook: string;
  initiator: string;
  status: RunStatus;
  currentStep?: string;
  startedAt: string;
  steps: StepRecord[];
  decisions: DecisionRecord[];
  controls: ControlRecord[];
  /** Escalations and approval timeouts, in order. */
  events: { at: string; what: string }[];
  /** Every LLM call of every agent step (moved into the audit ledger when that lands). */
  agentTurns: AgentTurnRecord[];
}

/** One agent turn as recorded: what the model was asked (by digest), what it chose and why, what it cost. */
export interface AgentTurnRecord {
  stepId: string;
  agent: string;
  turn: number;
  model: string;
  promptDigest: string;
  /** Untrusted sources shown to the model so far (e.g. `input`, `tool:lookup_ip`). */
  contextSources: string[];
  reply: 'tool_calls' | 'final' | 'invalid_final';
  toolCalls: { name: string; callId: string; outcome: string; argsDigest?: string }[];
  /** The model's stated rationale (its text alongside the choice), truncated. */
  rationale?: string;
  usage: { promptTokens: number; completionTokens: number };
  at: string;
}
