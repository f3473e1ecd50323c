import type { ApprovalOutcome } from '../../governance/approvals';

/** Lifecycle of a run. */
export type RunStatus = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

/** Lifecycle of one step (or one call inside a forEach item). */
export type StepStatus = 'running' | 'waiting_approval' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** A policy decision as the run records it (moved into the audit ledger when that lands). */
export interface DecisionRecord {
  stepId: string;
  callId: string;
  kind: 'action' | 'approval';
  tool?: string;
  action: string;
  effect: 'allow' | 'require_approval' | 'deny';
  tier?: number;
  ruleId: string;
  reason: string;
  policyVersion: string;
  actionHash: string;
  at: string;
}

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
}
