import type { ExpressionScope } from '../../governance/expressions';
import type { Step } from '../../governance/steps';
import type { DecisionRecord, FailedAction, StepError } from './state';
import type { ControlAuthority } from '../contract';

/** Input of the `forEachBatch` child workflow: one batch of a forEach step's items. */
export interface ForEachBatchInput {
  playbook: string;
  initiator: string;
  tainted: boolean;
  stepId: string;
  steps: Step[];
  items: unknown[];
  /** Index of the first item in the whole list (idempotency keys and results use global indexes). */
  offset: number;
  concurrency: number;
  onItemFailure: 'continue' | 'failFast';
  scope: ExpressionScope;
  /** Who may control the parent run (absent from parents that predate signed controls). */
  controls?: ControlAuthority;
  /** The parent's fleet-key MAC over this input and the child's id: only a Warden run can vouch for a batch. */
  attestation?: string;
}

/** One item's outcome. */
export interface ItemResult {
  index: number;
  status: 'completed' | 'failed';
  output?: unknown;
  error?: StepError;
}

/** Result of `forEachBatch`. */
export interface ForEachBatchResult {
  items: ItemResult[];
  /** True when the batch stopped early on a cancel. */
  cancelled?: boolean;
  /** The batch's policy decisions, so the parent's runState (and its case) shows every decision. */
  decisions?: DecisionRecord[];
  /** The batch's governed actions that failed, so the parent run is not reported as a clean success. */
  failedActions?: FailedAction[];
  /** True when the batch showed untrusted content to a model: the parent run is tainted too. */
  tainted?: boolean;
}
