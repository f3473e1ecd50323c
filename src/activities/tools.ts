import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';
import type { Logger } from '../telemetry/logger';
import { annotateActiveSpan } from '../telemetry/tracing';
import type { ToolRegistry } from '../tools/types';
import { ToolRefusedError } from '../tools/types';
import type { BreakerState } from '../workflows/definitions';
import type { GovernorClient } from './governor-client';
import { actionHash } from './governance';

/** Input of `executeTool`. */
export interface ExecuteToolInput {
  workflowId: string;
  stepId: string;
  callId: string;
  tool: string;
  args: unknown;
  /** The hash policy (and any approver) saw; the call is refused if the arguments no longer match it. */
  actionHash: string;
  policyVersion: string;
}

/** Result of `executeTool`. */
export interface ExecuteToolResult {
  output: unknown;
  durationMs: number;
}

/** Dependencies of the tool activity. */
export interface ToolActivityDeps {
  tools: ToolRegistry;
  governor: GovernorClient;
  logger: Logger;
  killSwitchMode: 'wait' | 'fail';
  breakerThreshold: number;
  breakerCooldownMs: number;
}

function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** The breaker as seen now: an open breaker past its cooldown lets a trial call through (half-open). */
export function effectiveBreaker(b: BreakerState | undefined, nowMs: number): BreakerState['state'] {
  if (!b || b.state === 'closed') return 'closed';
  return b.openUntil !== undefined && nowMs >= b.openUntil ? 'half_open' : b.state;
}

/** Builds the tool activity: the single point where a run acts on the world. */
export function createToolActivities(deps: ToolActivityDeps) {
  /**
   * Checked here, just before acting, rather than only in workflows: runs that are starting, children and
   * successors are all covered, and a change takes effect within the governor cache time.
   */
  async function holdWhileKillSwitchOn(ctx: Context, tool: string): Promise<void> {
    for (;;) {
      const { killSwitch } = await deps.governor.state();
      if (!killSwitch.engaged) return;
      if (deps.killSwitchMode === 'fail') {
        throw nonRetryable(
          FailureType.KillSwitchEngaged,
          `kill switch is on (by ${killSwitch.by ?? 'unknown'}${killSwitch.reason ? `: ${killSwitch.reason}` : ''}): ${tool} was not executed`,
        );
      }
      ctx.heartbeat({ waiting: 'kill switch' });
      await ctx.sleep(1_000);
    }
  }

  return {
    /**
     * Validates, checks the kill switch and circuit breaker, executes the tool with its idempotency key
     * (workflowId/stepId/callId), and validates the result. Heartbeats while running so a dead worker is
     * noticed within the heartbeat timeout.
     */
    async executeTool(input: ExecuteToolInput): Promise<ExecuteToolResult> {
      const ctx = Context.current();
      const log = deps.logger.child({
        workflowId: input.workflowId,
        stepId: input.stepId,
        callId: input.callId,
        tool: input.tool,
        attempt: ctx.info.attempt,
      });
      const tool = deps.tools.get(input.tool);
      if (!tool) throw nonRetryable(FailureType.PolicyDenied, `tool "${input.tool}" is not registered on this worker`);
      const parsed = tool.input.safeParse(input.args);
      if (!parsed.success) {
        throw nonRetryable(
          FailureType.ValidationError,
          `arguments for ${input.tool} are invalid: ${formatIssues(parsed.error, '(args)')}`,
        );
      }
      const expected = actionHash({
        kind: 'action',
        tool: input.tool,
        args: parsed.data,
        workflowId: input.workflowId,
        stepId: input.stepId,
        callId: input.callId,
        policyVersion: input.policyVersion,
      });
      if (expected !== input.actionHash) {
        throw nonRetryable(
          FailureType.PolicyDenied,
          `${input.tool}: the arguments differ from the ones policy decided on (action hash mismatch); not executed`,
        );
      }
      const risk = tool.riskFor ? tool.riskFor(parsed.data) : tool.risk;
      if (risk !== 'read') await holdWhileKillSwitchOn(ctx, input.tool);

      const integration = tool.integration ?? tool.name;
      annotateActiveSpan({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': tool.name,
        'gen_ai.tool.call.id': `${input.stepId}/${input.callId}`,
        'warden.tool.risk': risk,
        'warden.tool.integration': integration,
        'warden.action_hash': input.actionHash,
      });
      const breaker = (await deps.governor.state()).breakers[integration];
      const breakerNow = effectiveBreaker(breaker, Date.now());
      if (breakerNow === 'open') {
        const waitMs = Math.max((breaker?.openUntil ?? Date.now()) - Date.now(), 1_000);
        throw ApplicationFailure.create({
          type: FailureType.CircuitOpen,
          message: `circuit breaker for ${integration} is open after ${breaker?.consecutiveFailures ?? '?'} consecutive failures; retrying in ${Math.ceil(waitMs / 1000)} s`,
          nextRetryDelay: waitMs,
        });
      }

      const started = Date.now();
      const beat = setInterval(() => ctx.heartbeat(), 2_000);
      let raw: unknown;
      try {
        raw = await tool.execute(parsed.data, {
          idempotencyKey: `${input.workflowId}/${input.stepId}/${input.callId}`,
          signal: ctx.cancellationSignal,
          logger: log,
          heartbeat: (d) => ctx.heartbeat(d),
          credential: (capability) => {
            if (!tool.capabilities.some((c) => c.provider === capability.provider)) {
              return Promise.reject(new ToolRefusedError(`${tool.name} did not declare the ${capability.provider} capability`));
            }
            return Promise.reject(new ToolRefusedError(`no credential broker is configured for ${capability.provider}`));
          },
        });
      } catch (err) {
        clearInterval(beat);
        // A refusal by rule is not an integration failure: no breaker report, no retry.
        if (err instanceof ToolRefusedError)
          throw nonRetryable(FailureType.PolicyDenied, `${input.tool} refused: ${err.message}`);
        log.warn({ err: (err as Error).message }, 'tool failed');
        await deps.governor
          .report({ integration, ok: false, threshold: deps.breakerThreshold, cooldownMs: deps.breakerCooldownMs })
          .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'could not report to the governor'));
        if (err instanceof ApplicationFailure) throw err;
        throw ApplicationFailure.create({
          type: FailureType.ToolFailed,
          message: `${input.tool} failed: ${(err as Error).message}`,
        });
      }
      clearInterval(beat);
      if (breaker && (breaker.consecutiveFailures > 0 || breaker.state !== 'closed')) {
        await deps.governor
          .report({ integration, ok: true, threshold: deps.breakerThreshold, cooldownMs: deps.breakerCooldownMs })
          .catch(() => undefined);
      }
      const out = tool.output.safeParse(raw);
      if (!out.success) {
        throw nonRetryable(
          FailureType.ToolFailed,
          `${input.tool} returned a result that does not match its output schema (a tool defect): ${formatIssues(out.error, '(result)')}`,
        );
      }
      log.info({ durationMs: Date.now() - started, risk }, 'tool executed');
      return { output: out.data, durationMs: Date.now() - started };
    },
  };
}
