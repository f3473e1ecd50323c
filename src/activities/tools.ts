import { wardenMetrics } from '../telemetry/metrics';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';
import type { Logger } from '../telemetry/logger';
import { annotateActiveSpan } from '../telemetry/tracing';
import type { Capability, ToolRegistry } from '../tools/types';
import type { CredentialBroker, Lease } from '../credentials';
import { LeaseError, scrub } from '../credentials';
import { ToolRefusedError } from '../tools/types';
import { VendorError, VendorRefusedError } from '../tools/containment/vendor-http';
import type { BreakerState, GovernorState } from '../workflows/contract';
import type { GovernorClient } from './governor-client';
import { actionHash } from './governance';
import { canonicalHash } from '../audit/hash';
import type { AuditLedger } from '../audit';
import type { DecisionToken } from '../identity/decision-token';
import { decisionTokenProblem } from '../identity/decision-token';
import type { FleetKey } from '../identity/fleet-key';
import type { RecordHeartbeat } from './tool-heartbeat';
import { ToolHeartbeat, WriteIntentNotRecorded } from './tool-heartbeat';

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
  /** Capabilities policy granted this call; anything else is refused by the broker. */
  granted?: Capability[];
  /** Who acts: `agent:<name>` or `system`. Leases name it, and whom it acts for. */
  actor?: string;
  onBehalfOf?: string;
  /** The decision token `decideAction` or `authorizeApproved` minted for exactly this call. */
  token?: DecisionToken;
}

/** Result of `executeTool`. */
export interface ExecuteToolResult {
  output: unknown;
  durationMs: number;
  /** sha256 of the canonical result, for the audit record. */
  outputDigest: string;
  /** Capabilities leased for the call (never the secrets). */
  capabilitiesUsed: string[];
}

/** Dependencies of the tool activity. */
export interface ToolActivityDeps {
  tools: ToolRegistry;
  governor: GovernorClient;
  logger: Logger;
  killSwitchMode: 'wait' | 'fail';
  broker: CredentialBroker;
  breakerThreshold: number;
  breakerCooldownMs: number;
  fleetKey: FleetKey;
  ledger: Pick<AuditLedger, 'append'>;
  /**
   * Records a tool's write intent with the Temporal server before the tool writes (the worker's client).
   * Unset (tests, embedders): the intent is only queued as a heartbeat, and a worker killed within the
   * heartbeat throttle interval after the write may lose it.
   */
  recordHeartbeat?: RecordHeartbeat;
}

function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** The breaker as seen now: an open breaker past its cooldown lets a trial call through (half-open). */
export function effectiveBreaker(b: BreakerState | undefined, nowMs: number): BreakerState['state'] {
  if (!b || b.state === 'closed') return 'closed';
  return b.openUntil !== undefined && nowMs >= b.openUntil ? 'half_open' : b.state;
}

/**
 * A read made inside another activity of the run (`decideAndRead`, a local activity) rather than as its own
 * `executeTool` activity: it must not wait on Temporal (the caller holds the run's workflow task), so it
 * uses governor state the caller already holds, and it stops when `signal` aborts (the caller's budget).
 */
export interface InlineToolCall {
  governorState: GovernorState;
  signal: AbortSignal;
}

/** The inline call was given up (over its budget, or not a read after all): make it as an activity instead. */
export class InlineCallAbandoned extends Error {
  constructor(reason: string) {
    super(`inline call abandoned: ${reason}`);
    this.name = 'InlineCallAbandoned';
  }
}

/** Calls a tool under governance; see `executeTool`. `inline` only from worker code, never from a caller. */
export type ToolRunner = (input: ExecuteToolInput, inline?: InlineToolCall) => Promise<ExecuteToolResult>;

/** Builds the tool activity: the single point where a run acts on the world. */
export function createToolActivities(deps: ToolActivityDeps, run: ToolRunner = createToolRunner(deps)) {
  return {
    /**
     * Validates, checks the kill switch and circuit breaker, executes the tool with its idempotency key
     * (workflowId/stepId/callId), and validates the result. Heartbeats while running so a dead worker is
     * noticed within the heartbeat timeout. (Only the input is taken: whatever else a caller sends is ignored.)
     */
    executeTool(input: ExecuteToolInput): Promise<ExecuteToolResult> {
      return run(input);
    },
  };
}

/** Builds the function behind the tool activity (and behind `decideAndRead`'s inline reads). */
export function createToolRunner(deps: ToolActivityDeps): ToolRunner {
  /**
   * Checked here, just before acting, rather than only in workflows: runs that are starting, children and
   * successors are all covered, and a change takes effect within the governor cache time.
   */
  async function holdWhileKillSwitchOn(ctx: Context, beats: ToolHeartbeat, tool: string): Promise<void> {
    for (;;) {
      const { killSwitch, restoring } = await deps.governor.state();
      if (restoring) {
        // A restarting governor does not know the switch yet: hold rather than guess "off".
        beats.beat({ waiting: 'governor restoring its state' });
        await ctx.sleep(500);
        continue;
      }
      if (!killSwitch.engaged) return;
      if (deps.killSwitchMode === 'fail') {
        throw nonRetryable(
          FailureType.KillSwitchEngaged,
          `kill switch is on (by ${killSwitch.by ?? 'unknown'}${killSwitch.reason ? `: ${killSwitch.reason}` : ''}): ${tool} was not executed`,
        );
      }
      beats.beat({ waiting: 'kill switch' });
      await ctx.sleep(1_000);
    }
  }

  return async function runTool(input: ExecuteToolInput, inline?: InlineToolCall): Promise<ExecuteToolResult> {
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
    // Only a governed decision acts: a token minted by policy or by verified approvals, for this very run.
    const run = ctx.info.workflowExecution;
    const problem = !run
      ? 'not called by a workflow'
      : run.workflowId !== input.workflowId
        ? `the call names run ${input.workflowId} but comes from ${run.workflowId}`
        : decisionTokenProblem(
            deps.fleetKey,
            {
              ...run,
              stepId: input.stepId,
              callId: input.callId,
              tool: input.tool,
              actionHash: expected,
              policyVersion: input.policyVersion,
              granted: input.granted ?? [],
            },
            input.token,
          );
    if (problem) {
      log.warn({ reason: problem }, 'tool call refused: no valid decision token');
      await deps.ledger
        .append({
          idempotencyKey: `${run?.workflowId ?? input.workflowId}/${run?.runId ?? '-'}/${ctx.info.activityId}/tool.refused`,
          workflowId: run?.workflowId ?? input.workflowId,
          ...(run ? { runId: run.runId } : {}),
          type: 'tool.refused',
          actor: { kind: 'system', id: 'warden-worker' },
          data: { tool: input.tool, stepId: input.stepId, callId: input.callId, reason: problem },
        })
        .catch((e: unknown) => log.error({ err: (e as Error).message }, 'could not audit a refused tool call'));
      throw nonRetryable(FailureType.PolicyDenied, `${input.tool} refused: ${problem}; not executed`);
    }
    const risk = tool.riskFor ? tool.riskFor(parsed.data) : tool.risk;
    if (inline && risk !== 'read') throw new InlineCallAbandoned(`${input.tool} is a ${risk} here`);
    const beats = new ToolHeartbeat(ctx, deps.recordHeartbeat);
    if (beats.prior) log.info({ priorWrite: beats.prior }, 'an earlier attempt of this call announced a write');
    if (risk !== 'read') await holdWhileKillSwitchOn(ctx, beats, input.tool);

    const integration = tool.integration ?? tool.name;
    annotateActiveSpan({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool.name,
      'gen_ai.tool.call.id': `${input.stepId}/${input.callId}`,
      'warden.tool.risk': risk,
      'warden.tool.integration': integration,
      'warden.action_hash': input.actionHash,
    });
    const breaker = (inline ? inline.governorState : await deps.governor.state()).breakers[integration];
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
    const beat = setInterval(() => beats.beat(), 2_000);
    const leases: Lease[] = [];
    const clean = (text: string) => scrub(text, leases);
    // A lease lives no longer than this attempt may run, and is revoked when it ends (finally below).
    const ttlMs = Math.max(
      1_000,
      (ctx.info.startToCloseTimeoutMs ?? 60_000) - (Date.now() - ctx.info.currentAttemptScheduledTimestampMs),
    );
    const credential = async (capability: Capability): Promise<string> => {
      if (
        !tool.capabilities.some(
          (c) => c.provider === capability.provider && capability.scopes.every((s) => c.scopes.includes(s)),
        )
      ) {
        throw new ToolRefusedError(`${tool.name} did not declare the ${capability.provider} capability it asked for`);
      }
      try {
        const lease = await deps.broker.lease({
          workflowId: input.workflowId,
          stepId: input.stepId,
          callId: input.callId,
          capability,
          ttlMs,
          actor: input.actor?.startsWith('agent:')
            ? { kind: 'agent', id: input.actor }
            : { kind: 'system', id: 'warden' },
          onBehalfOf: input.onBehalfOf ?? 'unknown',
          granted: input.granted ?? [],
        });
        leases.push(lease);
        return lease.reveal();
      } catch (err) {
        if (err instanceof LeaseError) throw new ToolRefusedError(err.message);
        throw err;
      }
    };
    let raw: unknown;
    const observe = (outcome: string) =>
      wardenMetrics().observeToolCall(tool.name, integration, outcome, (Date.now() - started) / 1000);
    try {
      raw = await tool.execute(parsed.data, {
        idempotencyKey: `${input.workflowId}/${input.stepId}/${input.callId}`,
        // Checked above against Temporal's record of the calling run.
        workflowId: input.workflowId,
        signal: inline ? AbortSignal.any([ctx.cancellationSignal, inline.signal]) : ctx.cancellationSignal,
        logger: log,
        ...beats.toolContext(),
        credential,
        ...(input.onBehalfOf ? { onBehalfOf: input.onBehalfOf } : {}),
      });
    } catch (err) {
      clearInterval(beat);
      // Our own budget, not the integration, ended it: no metric, no breaker report; the run calls again.
      if (inline?.signal.aborted && !ctx.cancellationSignal.aborted) throw new InlineCallAbandoned('over its budget');
      observe(
        err instanceof ToolRefusedError
          ? 'refused'
          : err instanceof ApplicationFailure
            ? (err.type ?? 'failed')
            : FailureType.ToolFailed,
      );
      // Error texts leave the activity (history, logs, the model): scrub every leased value first.
      const message = clean((err as Error).message ?? String(err));
      // A vendor's own refusal (4xx) is the vendor's answer, not policy's: its own type, no retry, no breaker.
      if (err instanceof VendorRefusedError)
        throw nonRetryable(FailureType.VendorRefused, `${input.tool} refused by the vendor: ${message}`);
      // A refusal by rule is not an integration failure: no breaker report, no retry.
      if (err instanceof ToolRefusedError)
        throw nonRetryable(FailureType.PolicyDenied, `${input.tool} refused: ${message}`);
      // Temporal, not the vendor, failed to take the write intent: retried, no breaker report.
      if (err instanceof WriteIntentNotRecorded)
        throw ApplicationFailure.create({ type: FailureType.ToolFailed, message: `${input.tool}: ${message}` });
      log.warn({ err: message }, 'tool failed');
      // An inline attempt is not counted against the breaker: the activity that makes the call again is.
      if (!inline)
        await deps.governor
          .report(integration, false, deps.fleetKey)
          .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'could not report to the governor'));
      if (err instanceof ApplicationFailure) {
        throw ApplicationFailure.create({
          type: err.type ?? undefined,
          message: clean(err.message),
          nonRetryable: err.nonRetryable ?? undefined,
        });
      }
      if (err instanceof VendorError)
        throw ApplicationFailure.create({
          type: FailureType.VendorUnavailable,
          message: `${input.tool} failed: ${message}`,
          // The vendor's own Retry-After (429) instead of the retry policy's backoff.
          ...(err.details.retryAfterMs !== undefined ? { nextRetryDelay: err.details.retryAfterMs } : {}),
        });
      throw ApplicationFailure.create({ type: FailureType.ToolFailed, message: `${input.tool} failed: ${message}` });
    } finally {
      for (const l of leases) l.revoke('activity ended');
    }
    clearInterval(beat);
    if (breaker && (breaker.consecutiveFailures > 0 || breaker.state !== 'closed')) {
      await deps.governor.report(integration, true, deps.fleetKey).catch(() => undefined);
    }
    const out = tool.output.safeParse(raw);
    observe(out.success ? 'ok' : 'invalid_output');
    if (!out.success) {
      throw nonRetryable(
        FailureType.ToolFailed,
        `${input.tool} returned a result that does not match its output schema (a tool defect): ${formatIssues(out.error, '(result)')}`,
      );
    }
    log.info({ durationMs: Date.now() - started, risk }, 'tool executed');
    return {
      output: out.data,
      durationMs: Date.now() - started,
      outputDigest: canonicalHash(out.data),
      capabilitiesUsed: leases.map((l) => `${l.capability.provider}:${l.capability.scopes.join(',')}`),
    };
  };
}
