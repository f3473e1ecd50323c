import type { Decision } from '../../governance/decision';
import type { ApprovalGate } from './approval-gate';
import type { Journal } from './journal';
import type { StepRecord } from './state';

/** Whether the run has shown untrusted content to a model; once set, policy applies its `tainted` floors. */
export class Taint {
  constructor(private value = false) {}

  get tainted(): boolean {
    return this.value;
  }

  /** Marks the run tainted, for good. */
  mark(): void {
    this.value = true;
  }
}

/** One action to take through governance: a playbook action or an agent's tool call. */
export interface GovernedCall {
  stepId: string;
  callId: string;
  tool: string;
  args: unknown;
  context: unknown;
  record: StepRecord;
  /** The agent identity when an agent asked (`agent:<name>`); a playbook step otherwise. */
  agent?: string;
}

/** What the governed call path needs from its run. */
export interface GovernanceContext {
  readonly workflowId: string;
  readonly initiator: string;
  readonly journal: Journal;
  readonly gate: ApprovalGate;
  readonly taint: Taint;
  /** The run's input (a forEach batch's: its parent's): use cases establish policy facts from it. */
  readonly runInput: unknown;
  /** The run takes the lean paths (patches.ts LEAN_STEPS_PATCH): fewer promises, same commands. */
  readonly lean: boolean;
}

/**
 * The narrow view of a run that step kinds (the agent loop, fan-out) depend on — never the runner itself:
 * its identity, journal and taint, the safe point for pause/cancel, and the one governed call path.
 */
export interface StepContext extends GovernanceContext {
  readonly playbook: string;
  /** Pause and cancel take effect here: between steps, items and agent turns. */
  checkpoint(): Promise<void>;
  /** {@link checkpoint} only when the run is paused or cancelled, else undefined (lean runs). */
  checkpointIfHeld(): Promise<void> | undefined;
  /** Policy → (approval) → tool activity; throws StepFailure when denied, rejected or invalid. */
  call(call: GovernedCall): Promise<{ output: unknown; decision: Decision }>;
}
