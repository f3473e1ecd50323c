/**
 * The closed set of Warden failure types.
 *
 * Activities throw `ApplicationFailure.create({ type: FailureType.X, ... })`; workflows branch on
 * `failure.type` (never `instanceof`, which breaks across the workflow sandbox). Messages say who is at
 * fault: the user's input, the configuration, the model, or Warden itself.
 */
export const FailureType = {
  ValidationError: 'ValidationError',
  PolicyDenied: 'PolicyDenied',
  ApprovalRejected: 'ApprovalRejected',
  ApprovalTimedOut: 'ApprovalTimedOut',
  BudgetExceeded: 'BudgetExceeded',
  LlmOutputInvalid: 'LlmOutputInvalid',
  /** The LLM endpoint stayed unavailable (429, 5xx, timeouts) for the whole availability window. */
  LlmUnavailable: 'LlmUnavailable',
  ToolFailed: 'ToolFailed',
  /** The vendor refused the call (a 4xx: bad credentials, missing API scope, unknown resource): not policy's doing. */
  VendorRefused: 'VendorRefused',
  /** The vendor could not answer (5xx, 429, timeout, network): retried; the type a run sees when retries ran out. */
  VendorUnavailable: 'VendorUnavailable',
  KillSwitchEngaged: 'KillSwitchEngaged',
  CircuitOpen: 'CircuitOpen',
  RunCancelled: 'RunCancelled',
} as const;
/** A failure type name. */
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** A configuration problem (the operator's to fix): lists every problem at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A problem the user can fix (bad input, unknown id, unreachable server); the CLI prints it without a stack. */
export class UserError extends Error {
  override readonly name = 'UserError';
}
