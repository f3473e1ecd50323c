import type { ApprovalOutcome } from '../../governance/approvals';
import type { DecisionRecord } from '../../governance/decision';

export type { DecisionRecord };

/**
 * Lifecycle of a run. `completed_with_failures`: every step ran, but a governed action (a write or
 * destructive tool call that policy allowed or humans approved) failed; see `failedActions`.
 */
export type RunStatus = 'running' | 'paused' | 'completed' | 'completed_with_failures' | 'failed' | 'cancelled';

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
  /** How the step's approval ended; `actionError` when it was approved and the action then failed. */
  approval?: ApprovalOutcome & { approvalId: string; actionError?: StepError };
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

/** A governed action (write or destructive tool call) that policy allowed or humans approved, and that failed. */
export interface FailedAction {
  /** The run that attempted it (a forEach batch's own id for its items). */
  workflowId: string;
  stepId: string;
  callId: string;
  tool: string;
  /** The action as approvers saw it. */
  action: string;
  /** Who approved it, when it needed approval. */
  approvedBy?: string[];
  error: StepError;
  at: string;
}

/** What `runState` returns. */
export interface RunState {
  workflowId: string;
  playbook: string;
  initiator: string;
  status: RunStatus;
  /** Why the run failed: the failing step's failure type and message. */
  error?: StepError;
  /** Governed actions that failed (also when the run carried on past them). */
  failedActions?: FailedAction[];
  currentStep?: string;
  startedAt: string;
  steps: StepRecord[];
  decisions: DecisionRecord[];
  /** forEach batch decisions beyond the ones shown in `decisions` (each is in the audit ledger). */
  decisionsNotShown?: number;
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
