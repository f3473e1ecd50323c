import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import { FailureType } from '../../errors';
import type { ExpressionScope } from '../../governance/expressions';
import { ExpressionError, render } from '../../governance/expressions';
import type { Step } from '../../governance/steps';
import type { StepError } from './state';

/** A failure that ends a step, with its type from the closed set (src/errors.ts). */
export class StepFailure extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Workflow time as ISO text (deterministic under replay). */
export function now(): string {
  return new Date().toISOString();
}

/** Maps anything a step can throw to its recorded type and message (branching on `type`, not instanceof of app classes). */
export function describeError(err: unknown): StepError {
  if (err instanceof StepFailure) return { type: err.type, message: err.message };
  if (err instanceof ExpressionError) return { type: FailureType.ValidationError, message: err.message };
  if (err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure)
      return { type: cause.type ?? FailureType.ToolFailed, message: cause.message };
    return { type: FailureType.ToolFailed, message: cause?.message ?? err.message };
  }
  if (err instanceof ApplicationFailure) return { type: err.type ?? FailureType.ToolFailed, message: err.message };
  return { type: FailureType.ToolFailed, message: (err as Error).message ?? String(err) };
}

/**
 * The output of a step that failed with `onError: continue`: its rendered `fallback` (if any), `failed:
 * true` and the error. The fallback renders with the error in scope (`{{ error.type }}`); one that does not
 * render is reported beside the step's own error.
 */
export function failedOutput(step: Step, scope: ExpressionScope, error: StepError): Record<string, unknown> {
  let fallback: unknown = {};
  if ((step.kind === 'action' || step.kind === 'agent') && step.fallback) {
    try {
      fallback = render(step.fallback, { ...scope, error });
    } catch (err) {
      return { failed: true, error, fallbackError: describeError(err) };
    }
  }
  return { ...(fallback as Record<string, unknown>), failed: true, error };
}
