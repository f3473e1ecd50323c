import { createLogger } from '../../src/telemetry/logger';
import { ToolRefusedError } from '../../src/tools/types';
import type { Capability, ToolContext } from '../../src/tools/types';
import type { WriteIntent } from '../../src/tools/write-intent';

/** A ToolContext for calling a tool's `execute` directly, and what the tool asked of it. */
export interface TestToolContext {
  ctx: ToolContext;
  /** Every capability the tool asked a credential for, in order. */
  credentialCalls: Capability[];
  /** Every write the tool announced before sending it, in order. */
  writeIntents: WriteIntent[];
}

/**
 * Builds a ToolContext whose `credential()` answers from `secrets` (provider → secret) and records each
 * call; an unknown provider is refused, as the broker refuses an ungranted capability.
 */
export function testToolContext(
  secrets: Record<string, string>,
  opts: { idempotencyKey?: string; signal?: AbortSignal; priorWrite?: WriteIntent } = {},
): TestToolContext {
  const credentialCalls: Capability[] = [];
  const writeIntents: WriteIntent[] = [];
  const ctx: ToolContext = {
    idempotencyKey: opts.idempotencyKey ?? 'alert-test-1/contain/0',
    workflowId: (opts.idempotencyKey ?? 'alert-test-1/contain/0').split('/')[0]!,
    signal: opts.signal ?? new AbortController().signal,
    logger: createLogger({ level: 'silent' }),
    heartbeat: () => undefined,
    announceWrite: (intent) => {
      writeIntents.push(intent);
      return Promise.resolve();
    },
    ...(opts.priorWrite ? { priorWrite: opts.priorWrite } : {}),
    credential: (capability) => {
      credentialCalls.push({ provider: capability.provider, scopes: [...capability.scopes] });
      const secret = secrets[capability.provider];
      return secret === undefined
        ? Promise.reject(new ToolRefusedError(`no credential granted for ${capability.provider}`))
        : Promise.resolve(secret);
    },
  };
  return { ctx, credentialCalls, writeIntents };
}
